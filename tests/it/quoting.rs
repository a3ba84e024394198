//! Every string survives the template's shell quoting: run through a POSIX shell, it comes back byte for byte.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use maas_esxi::plan::{
    Dns, Fallback, Ipv4, Ipv6, Network, Nic, Plan, PortGroup, Teaming, VSwitch, Vmk,
};
use maas_esxi::render::{script, shell_quote};
use proptest::prelude::*;

fn shell() -> &'static str {
    if Command::new("busybox")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
    {
        "busybox"
    } else {
        "sh"
    }
}

fn run_sh<K: AsRef<OsStr>, V: AsRef<OsStr>>(program: &str, env: &[(K, V)]) -> std::process::Output {
    let mut cmd = Command::new(shell());
    if shell() == "busybox" {
        cmd.arg("sh");
    }
    cmd.arg("-c")
        .arg(program)
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("the shell runs")
}

/// An `esxcli` first in PATH that records each call's arguments and answers every call with an empty CSV
/// table; the directory it lives in goes with it.
struct Recorder {
    dir: PathBuf,
}

impl Recorder {
    fn new(tag: &str) -> Recorder {
        let dir =
            std::env::temp_dir().join(format!("maas-esxi-quoting-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let esxcli = dir.join("esxcli");
        // Each call's arguments NUL-separated, then a newline.
        std::fs::write(&esxcli, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done >> \"$CALLS\"\nprintf '\\n' >> \"$CALLS\"\necho 'Name,'\n").expect("stub");
        std::fs::set_permissions(&esxcli, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let _ = std::fs::remove_file(dir.join("calls"));
        Recorder { dir }
    }

    /// The environment of a script that calls it: PATH, where it records, no log.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "PATH".into(),
                format!(
                    "{}:{}",
                    self.dir.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            ),
            ("CALLS".into(), self.dir.join("calls").display().to_string()),
            ("MAAS_ESXI_LOG".into(), "/dev/null".into()),
        ]
    }

    /// The arguments of each call so far.
    fn calls(&self) -> Vec<Vec<String>> {
        let recorded = std::fs::read(self.dir.join("calls")).unwrap_or_default();
        let mut calls = vec![Vec::new()];
        for arg in recorded.split(|&b| b == 0) {
            let arg = match arg.strip_prefix(b"\n") {
                Some(rest) => {
                    calls.push(Vec::new());
                    rest
                }
                None => arg,
            };
            calls
                .last_mut()
                .expect("one call at least")
                .push(String::from_utf8_lossy(arg).into_owned());
        }
        // The last piece is what follows the last call's newline: nothing.
        calls.last_mut().expect("one call at least").pop();
        calls.retain(|c| !c.is_empty());
        calls
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Strings a config could carry, weighted towards the ones that break naive quoting.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        proptest::collection::vec(
            prop_oneof![
                Just("'"),
                Just("\""),
                Just("$("),
                Just(")"),
                Just("`"),
                Just("\\"),
                Just("\n"),
                Just(" "),
                Just("*"),
                Just(";"),
                Just("$HOME"),
                Just("\t"),
                Just("é")
            ],
            0..12
        )
        .prop_map(|v| v.concat()),
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn quoted_strings_come_back_intact(s in nasty()) {
        let out = run_sh::<&str, &str>(&format!("printf '%s' {}", shell_quote(&s)), &[]);
        prop_assert!(out.status.success());
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout).into_owned(), s);
    }
}

fn plan_named(name: &str) -> Plan {
    Plan {
        format_version: maas_esxi::plan::FORMAT_VERSION,
        network: Some(Network {
            nics: vec![Nic {
                mac: "52:54:00:00:00:01".into(),
                link: name.into(),
            }],
            vswitches: vec![VSwitch {
                name: "vSwitch0".into(),
                link: name.into(),
                mtu: 1500,
                uplinks: vec![0],
                teaming: Teaming {
                    load_balancing: "portid",
                    active: vec![0],
                    standby: vec![],
                },
            }],
            portgroups: vec![PortGroup {
                name: name.into(),
                vswitch: "vSwitch0".into(),
                vlan: 0,
            }],
            vmks: vec![Vmk {
                name: "vmk0".into(),
                portgroup: name.into(),
                link: name.into(),
                mac: None,
                mtu: 1500,
                ipv4: Ipv4::Dhcp,
                ipv6: Ipv6 {
                    dhcpv6: false,
                    router_adv: false,
                    addresses: vec![],
                },
                management: true,
            }],
            routes: vec![],
            dns: Dns {
                servers: vec![],
                search: vec![name.into()],
            },
            fallback: Some(Fallback {
                vmk: "vmk0".into(),
                portgroup: name.into(),
                vswitch: "vSwitch0".into(),
                uplink: Some(0),
                mac: None,
                vlan: 0,
                vswitch_mtu: 1500,
                mtu: 1500,
                ipv4: Ipv4::Dhcp,
            }),
        }),
        storage: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A whole generated script, run by the shell against a recording `esxcli`, passes a port group name
    /// with quotes, `$()`, spaces or newlines to esxcli as exactly one argument, unchanged.
    #[test]
    fn names_reach_esxcli_intact(name in nasty().prop_filter("a name", |s| !s.is_empty())) {
        let esxcli = Recorder::new(&format!("run-{}", name.len()));
        let out = run_sh(&script(&plan_named(&name)), &esxcli.env());
        let args: Vec<String> = esxcli.calls().concat();
        let wanted = format!("--portgroup-name={name}");
        prop_assert!(args.contains(&wanted), "no argument {:?} in {:?}\nstderr: {}", wanted, args, String::from_utf8_lossy(&out.stderr));
        let search = format!("--domain={name}");
        prop_assert!(args.contains(&search), "no argument {:?}", search);
    }

    /// A dry run of the same script only reads, and prints its changes so that a shell, given them, passes
    /// esxcli exactly the arguments the real run passes. (This `esxcli` lists no NIC and forgets every change,
    /// so the real run goes on to rebuild the management vmk, which a dry run leaves out.)
    #[test]
    fn a_dry_run_prints_commands_a_shell_reads_back_intact(name in nasty().prop_filter("a name", |s| !s.is_empty())) {
        let script = script(&plan_named(&name));
        let real = Recorder::new(&format!("real-{}", name.len()));
        run_sh(&script, &real.env());
        let changes: Vec<Vec<String>> = real.calls().into_iter().filter(|c| !c.iter().any(|a| a == "--formatter=csv")).collect();
        let dry = Recorder::new(&format!("dry-{}", name.len()));
        let mut env = dry.env();
        env.push(("MAAS_ESXI_DRY_RUN".into(), "1".into()));
        let printed = run_sh(&script, &env);
        let read_only = dry.calls().iter().all(|c| c.iter().any(|a| a == "--formatter=csv"));
        prop_assert!(read_only, "the dry run changed something: {:?}", dry.calls());
        let pasted = Recorder::new(&format!("pasted-{}", name.len()));
        let out = run_sh(&String::from_utf8_lossy(&printed.stdout), &pasted.env());
        let pasted = pasted.calls();
        let wanted = [format!("--portgroup-name={name}"), format!("--domain={name}")];
        prop_assert!(wanted.iter().all(|w| pasted.iter().any(|c| c.contains(w))), "no {:?} in {:?}", wanted, pasted);
        prop_assert!(changes.starts_with(&pasted), "printed:\n{}\n{}", String::from_utf8_lossy(&printed.stdout), String::from_utf8_lossy(&out.stderr));
    }
}
