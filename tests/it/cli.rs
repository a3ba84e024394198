//! The command-line contract: exit statuses, stdout for the artifact only, stderr for people, `--strict`.

use std::process::{Command, Output, Stdio};

use crate::{root, snapshot};

fn maas_esxi(args: &[&str], stdin: Option<&str>) -> Output {
    maas_esxi_bytes_opt(args, stdin.map(str::as_bytes))
}

fn maas_esxi_bytes(args: &[&str], stdin: &[u8]) -> Output {
    maas_esxi_bytes_opt(args, Some(stdin))
}

fn maas_esxi_bytes_opt(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maas-esxi"));
    cmd.args(args)
        .current_dir(root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("maas-esxi runs");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(text)
            .expect("stdin accepts the config");
    }
    child.wait_with_output().expect("maas-esxi finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit code, stdout and stderr together, as one snapshot.
fn transcript(args: &[&str], stdin: Option<&str>) -> String {
    crate::transcript(args, &maas_esxi(args, stdin))
}

#[test]
fn translate_prints_only_the_script_on_stdout() {
    let out = maas_esxi(
        &["translate", "fixtures/network/v1-physical-static-dns.yaml"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("#!/bin/sh\n"));
    assert!(
        out.stderr.is_empty(),
        "a clean config prints nothing on stderr"
    );
}

#[test]
fn warnings_go_to_stderr_and_do_not_fail() {
    let out = maas_esxi(
        &["translate", "fixtures/network/v1-bond-lacp-vlan.yaml"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("#!/bin/sh\n"));
    assert!(text(&out.stderr).starts_with("warning: bond `bond0` (802.3ad)"));
}

#[test]
fn strict_turns_warnings_into_errors_and_prints_nothing_on_stdout() {
    snapshot(
        "cli-strict",
        transcript(
            &[
                "translate",
                "--strict",
                "fixtures/network/v1-bond-lacp-vlan.yaml",
            ],
            None,
        ),
    );
    let out = maas_esxi(
        &[
            "translate",
            "--strict",
            "fixtures/network/v1-bond-lacp-vlan.yaml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn json_plan_carries_its_format_version() {
    let out = maas_esxi(
        &[
            "translate",
            "--format",
            "json",
            "fixtures/network/v2-bond-lacp-vlan.yaml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(plan["format-version"], 2);
    assert_eq!(
        plan["network"]["vswitches"][0]["teaming"]["load-balancing"],
        "iphash"
    );
}

#[test]
fn stdin_is_read_for_dash() {
    let config = std::fs::read_to_string(root().join("fixtures/network/v1-dhcp-both.yaml"))
        .expect("fixture");
    let out = maas_esxi(&["translate", "-"], Some(&config));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--type=dhcp"));
}

#[test]
fn rejected_input_exits_1_with_a_diagnostic() {
    snapshot(
        "cli-rejected",
        transcript(&["translate", "fixtures/invalid/bad-address.yaml"], None),
    );
}

#[test]
fn validate_reports_every_file_and_fails_if_one_is_bad() {
    snapshot(
        "cli-validate-two",
        transcript(
            &[
                "validate",
                "fixtures/network/v1-physical-static-dns.yaml",
                "fixtures/invalid/duplicate-id.yaml",
            ],
            None,
        ),
    );
    let ok = maas_esxi(
        &["validate", "fixtures/network/v1-physical-static-dns.yaml"],
        None,
    );
    assert_eq!(ok.status.code(), Some(0));
    assert!(ok.stdout.is_empty());
    assert_eq!(text(&ok.stderr), "checked 1 file: 0 errors, 0 warnings\n");
}

#[test]
fn validate_short_prints_one_line_per_diagnostic() {
    snapshot(
        "cli-validate-short",
        transcript(
            &[
                "validate",
                "--format",
                "short",
                "fixtures/network/v1-bond-tlb-alb.yaml",
                "fixtures/invalid/bad-mac.yaml",
            ],
            None,
        ),
    );
}

#[test]
fn colour_follows_the_color_flag() {
    let args = |color: &'static str| {
        [
            "--color",
            color,
            "validate",
            "fixtures/invalid/bad-mac.yaml",
        ]
    };
    let has_escape = |out: &Output| out.stderr.contains(&0x1b);
    assert!(has_escape(&maas_esxi(&args("always"), None)));
    assert!(!has_escape(&maas_esxi(&args("never"), None)));
    // stderr is a pipe here: `auto` means no colour.
    assert!(!has_escape(&maas_esxi(&args("auto"), None)));
    let plain = maas_esxi(&args("never"), None);
    let coloured = maas_esxi(&args("always"), None);
    assert_eq!(
        strip_ansi(&text(&coloured.stderr)),
        text(&plain.stderr),
        "colour changes nothing but the escapes"
    );
}

#[test]
fn repeated_warnings_are_grouped() {
    let mut config = String::from("network:\n  version: 2\n  ethernets:\n");
    for i in 0..40 {
        config.push_str(&format!(
            "    e{i}: {{match: {{macaddress: \"02:00:00:00:00:{i:02x}\"}}}}\n"
        ));
    }
    config.push_str("  bonds:\n");
    for i in 0..20 {
        config.push_str(&format!(
            "    bond{i}: {{interfaces: [e{}, e{}], parameters: {{mode: 802.3ad}}, dhcp4: true}}\n",
            2 * i,
            2 * i + 1
        ));
    }
    let out = maas_esxi(&["validate", "-"], Some(&config));
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("warning: bond").count(), 1, "{stderr}");
    assert!(
        stderr.contains("= note: 19 more like this: `bond1` at 46:54, `bond10` at 55:57, "),
        "{stderr}"
    );
    assert!(
        stderr.contains("`bond14` at 59:57, and 13 more\n"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("checked 1 file: 0 errors, 20 warnings\n"),
        "{stderr}"
    );
    // Machine-readable output keeps every one.
    let out = maas_esxi(&["validate", "--format", "json", "-"], Some(&config));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(
        doc["files"][0]["diagnostics"].as_array().map(Vec::len),
        Some(20)
    );
}

/// The text with ANSI escape sequences (`ESC [ ... letter`) removed.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn validate_json_lists_diagnostics_on_stdout() {
    let out = maas_esxi(
        &[
            "validate",
            "--format",
            "json",
            "fixtures/invalid/mtu-too-small.yaml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["format-version"], 1);
    let d = &doc["files"][0]["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "mtu");
    assert_eq!(d["span"]["line"], 7);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        maas_esxi(&["translate", "--format", "xml", "x.yaml"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(maas_esxi(&["validate"], None).status.code(), Some(2));
    assert_eq!(maas_esxi(&["frobnicate"], None).status.code(), Some(2));
}

#[test]
fn unreadable_files_exit_3() {
    snapshot(
        "cli-missing-file",
        transcript(&["translate", "fixtures/does-not-exist.yaml"], None),
    );
    assert_eq!(
        maas_esxi(&["validate", "fixtures/does-not-exist.yaml"], None)
            .status
            .code(),
        Some(3)
    );
}

#[test]
fn binary_input_is_rejected_not_a_crash() {
    let out = maas_esxi(
        &["translate", "-"],
        Some("\u{0}\u{1}network: {version: 1}\u{7f}"),
    );
    assert_eq!(out.status.code(), Some(1));
    let out = maas_esxi(&["validate", "/proc/self/exe"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not UTF-8"));
    // The bad byte has a place: line 2, after the text before it on that line.
    let out = maas_esxi_bytes(&["validate", "-"], b"network:\n  ver\xffsion: 1\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--> <stdin>:2:6"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn only_spanning_tree_that_is_on_is_reported_as_ignored() {
    let config =
        std::fs::read_to_string(root().join("fixtures/network/v2-bridge.yaml")).expect("fixture");
    let off = maas_esxi(&["translate", "-"], Some(&config));
    assert_eq!(off.status.code(), Some(0));
    assert!(
        text(&off.stderr).is_empty(),
        "a vSwitch runs no spanning tree, as `stp: false` asks: {}",
        text(&off.stderr)
    );
    let on = maas_esxi(
        &["translate", "-"],
        Some(&config.replace("stp: false", "stp: true")),
    );
    assert_eq!(on.status.code(), Some(0));
    assert!(
        text(&on.stderr)
            .starts_with("warning: bridge `br0` parameters stp, forward-delay are ignored\n"),
        "{}",
        text(&on.stderr)
    );
}

#[test]
fn translate_without_a_config_on_a_terminal_is_a_usage_error_not_a_silent_wait() {
    let (controller, terminal) = crate::pty(80);
    let child = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .arg("translate")
        .current_dir(root())
        .stdin(terminal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("maas-esxi runs");
    // Were maas-esxi to read the terminal, end-of-file ends the read, so the test fails, not hangs.
    use std::io::Write;
    let mut controller = controller;
    controller
        .write_all(b"\x04")
        .expect("the terminal takes Ctrl-D");
    let out = child.wait_with_output().expect("maas-esxi finishes");
    drop(controller);
    snapshot(
        "cli-translate-terminal",
        crate::transcript(&["translate"], &out),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_blank_vm_network_name_is_a_usage_error() {
    snapshot(
        "cli-blank-vm-network",
        transcript(
            &[
                "translate",
                "--vm-network",
                "",
                "fixtures/network/v1-dhcp-both.yaml",
            ],
            None,
        ),
    );
}

#[test]
fn validate_explains_its_arguments() {
    snapshot(
        "cli-validate-help",
        transcript(&["validate", "--help"], None),
    );
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_definitions() {
    let bash = maas_esxi(&["completions", "bash"], None);
    assert_eq!(bash.status.code(), Some(0));
    let script = text(&bash.stdout);
    assert!(script.contains("complete -F _maas__esxi"), "{script}");
    assert!(
        script.contains("--root-password-file"),
        "image build's options are completed"
    );
    let fish = maas_esxi(&["completions", "fish"], None);
    assert!(text(&fish.stdout).contains("complete -c maas-esxi"));

    let man = maas_esxi(&["man"], None);
    assert_eq!(man.status.code(), Some(0));
    let page = text(&man.stdout);
    assert!(page.contains(".TH maas-esxi 1"), "{page}");
    assert!(page.contains("translate"), "the subcommands are listed");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = maas_esxi(&["man", "--dir", &dir.path().display().to_string()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the pages")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "maas-esxi.1",
        "maas-esxi-translate.1",
        "maas-esxi-validate.1",
        "maas-esxi-image-build.1",
        "maas-esxi-image-finalize.1",
        "maas-esxi-image-kickstart.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    let build = std::fs::read_to_string(dir.path().join("maas-esxi-image-build.1")).expect("page");
    assert!(build.contains("root\\-password\\-file"), "{build}");
}

#[test]
fn a_storage_only_config_gives_a_script_without_a_network_part() {
    let config = "fixtures/storage/vmfs7-default-single-disk.yaml";
    let out = maas_esxi(&["translate", config], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(
        script.contains("\nstep storage fatal storage_part\n"),
        "no storage step"
    );
    assert!(
        !script.contains("network_part"),
        "a network part without a network config"
    );
    let out = maas_esxi(&["translate", "--format", "json", config], None);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(plan.get("network").is_none());
    assert_eq!(plan["storage"]["datastores"][0]["name"], "datastore1");
}

#[test]
fn a_config_with_neither_network_nor_storage_is_rejected() {
    snapshot(
        "cli-nothing-found",
        transcript(&["validate", "-"], Some("reporting:\n  maas: {}\n")),
    );
}

#[test]
fn errors_in_both_halves_are_reported_at_once() {
    let config = "\
network:
  version: 1
  config:
  - type: vlan
    name: vlan4095
    vlan_link: eno1
    vlan_id: 4095
  - type: physical
    name: eno1
    mac_address: '52:54:00:12:34:56'
    subnets: [{type: dhcp4}]
storage:
  version: 1
  config:
  - {id: sda, type: disk, grub_device: true, serial: S1}
  - {id: sda-part8, type: partition, device: sda, number: 8, size: 100G}
  - {id: ds, name: vm/store, type: vmfs6, devices: [sda-part8]}
";
    let out = maas_esxi(&["validate", "-"], Some(config));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("VLAN id 4095 is out of range"), "{stderr}");
    assert!(stderr.contains("datastore name \"vm/store\""), "{stderr}");
}
