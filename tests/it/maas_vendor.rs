//! The vendor-data helper the bundle carries (`maas_esxi::bundle::VENDOR`): what it plans for each
//! vendor-data fixture (NTP servers with pools as servers, files to write, Ubuntu's keys and files listed
//! as not applicable), the files it writes (encodings, modes, appending, what ESXi keeps across reboots),
//! a second plan that finds nothing to do, and vendor-data it refuses or entries it fails, each said
//! once with what is wrong and never with what a file holds. And vermin, for the Python 3.5 floor of
//! every Python file of the bundle. Needs python3.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A `$MAAS_ESXI_ROOT` with the bundle's Python files in `altbootbank/maas`.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("altbootbank/maas")).expect("mkdir");
        for (path, source) in maas_esxi::bundle::PYTHON {
            std::fs::write(dir.path().join("altbootbank").join(path), source).expect("write");
        }
        Root { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs maas-vendor; its status, stdout and stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new("python3")
            .arg(self.path("altbootbank/maas/maas-vendor"))
            .args(args)
            .env("MAAS_ESXI_ROOT", self.dir.path())
            .output()
            .expect("python3 runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The plan for vendor-data `text`, one record a line with its fields joined by `|`.
    fn plan(&self, text: &[u8]) -> Vec<String> {
        let file = self.path("vendor-data");
        std::fs::write(&file, text).expect("write");
        let (status, stdout, stderr) = self.run(&["plan", &file.to_string_lossy()]);
        assert_eq!(status, 0, "{stderr}");
        stdout.lines().map(|l| l.replace('\x1f', "|")).collect()
    }

    /// Writes every file the plan for `text` lists, as firstboot.sh does; returns their paths.
    fn write_all(&self, text: &[u8]) -> Vec<String> {
        let file = self.path("vendor-data").to_string_lossy().into_owned();
        let mut written = Vec::new();
        for record in self.plan(text) {
            let fields: Vec<&str> = record.split('|').collect();
            if fields[0] == "file" {
                let (status, _, stderr) = self.run(&["write", &file, fields[1], fields[2]]);
                assert_eq!(status, 0, "{stderr}");
                written.push(fields[2].to_string());
            }
        }
        written
    }

    fn mode(&self, path: &str) -> u32 {
        std::fs::metadata(self.path(path.trim_start_matches('/')))
            .expect("written")
            .permissions()
            .mode()
            & 0o7777
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(crate::root().join("fixtures/vendor-data").join(name)).expect("fixture")
}

/// vendor-data as MAAS wraps it, around a cloud-config given as YAML text.
fn wrapped(cloud_config: &str) -> Vec<u8> {
    let quoted = serde_json::to_string(&format!("#cloud-config\n{cloud_config}")).expect("JSON");
    // A JSON string is a YAML double-quoted scalar.
    format!("cloud-init: {quoted}\n").into_bytes()
}

const POOL_NOTE: &str =
    "becomes a server: ESXi's NTP client takes servers only, and ntpd uses one address of the name";

#[test]
fn ntp_servers_and_pools_become_servers_and_ubuntus_keys_and_files_are_not_applicable() {
    let root = Root::new();
    let plan = root.plan(&fixture("ntp-servers-pools-ubuntu-keys.yaml"));
    assert_eq!(
        plan,
        [
            "note|not applicable to ESXi, ignored: 'packages', 'runcmd', 'snap', 'system_info'".to_string(),
            format!("note|ntp: pool 0.ubuntu.pool.ntp.org {POOL_NOTE}"),
            format!("note|ntp: pool ntp.maas {POOL_NOTE}"),
            "ntp|10.20.0.2".into(),
            "ntp|fd42:20::2".into(),
            "ntp|0.ubuntu.pool.ntp.org".into(),
            "ntp|ntp.maas".into(),
            "note|/lib/systemd/system/maas_hardware_sync.timer: not written, a systemd unit, and ESXi has no systemd".into(),
            "note|/lib/systemd/system/maas_hardware_sync.service: not written, a systemd unit, and ESXi has no systemd".into(),
            "note|/etc/maas/maas-machine-creds.yml: not written, MAAS's hardware sync for Ubuntu, whose machine token stays off the host".into(),
        ]
    );
    let token = crate::maas::Token::fixture();
    for secret in token.secrets() {
        assert!(
            !plan.iter().any(|r| r.contains(secret)),
            "a secret in the plan"
        );
    }
}

#[test]
fn the_vcenter_settings_are_written_private_for_the_first_boot_only() {
    let root = Root::new();
    let text = fixture("vcenter.yaml");
    assert_eq!(
        root.plan(&text),
        [
            "note|not applicable to ESXi, ignored: 'system_info'",
            "ntp|10.20.0.2",
            "note|/altbootbank/maas/vcenter.yaml: for this first boot only (mode 0600): the bundle is removed after it",
            "file|0|/altbootbank/maas/vcenter.yaml",
        ]
    );
    assert_eq!(root.write_all(&text), ["/altbootbank/maas/vcenter.yaml"]);
    assert_eq!(
        std::fs::read_to_string(root.path("altbootbank/maas/vcenter.yaml")).expect("written"),
        "vcenter_datacenter: DC-West\nvcenter_password: 'V\"c3nter: p@ss #1 ''x'''\nvcenter_server: 127.0.0.2\n\
         vcenter_username: administrator@vsphere.local\n"
    );
    assert_eq!(root.mode("/altbootbank/maas/vcenter.yaml"), 0o600);
}

#[test]
fn files_are_decoded_written_with_their_modes_and_not_written_twice() {
    let root = Root::new();
    // ESXi keeps /etc/rc.local.d/local.sh across reboots: its configuration backup saves the files in /etc
    // marked with the sticky bit.
    let local = root.path("etc/rc.local.d/local.sh");
    std::fs::create_dir_all(local.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&local, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o1755)).expect("chmod");

    let text = fixture("write-files.yaml");
    assert_eq!(
        root.plan(&text),
        [
            format!("note|ntp: pool ntp.example.com {POOL_NOTE}"),
            "ntp|ntp.example.com".into(),
            "note|/etc/motd: not kept across reboots: ESXi's root file system is in memory".into(),
            "file|0|/etc/motd".into(),
            "file|1|/scratch/maas/blob.bin".into(),
            "file|2|/vmfs/volumes/datastore1/maas/local.sh".into(),
            "file|3|/etc/rc.local.d/local.sh".into(),
            "note|/etc/netplan/50-maas.yaml: not written, netplan configuration, which ESXi does not use".into(),
        ]
    );
    root.write_all(&text);
    assert_eq!(
        std::fs::read_to_string(root.path("etc/motd")).expect("written"),
        "Deployed by MAAS: été ☃\n"
    );
    assert_eq!(root.mode("/etc/motd"), 0o644);
    assert_eq!(
        std::fs::read(root.path("scratch/maas/blob.bin")).expect("written"),
        b"\x00\x01binary\xff\n"
    );
    assert_eq!(root.mode("/scratch/maas/blob.bin"), 0o600);
    let script = std::fs::read_to_string(root.path("vmfs/volumes/datastore1/maas/local.sh"))
        .expect("written");
    assert!(
        script.starts_with("#!/bin/sh\n# local configuration\n"),
        "{script}"
    );
    assert_eq!(root.mode("/vmfs/volumes/datastore1/maas/local.sh"), 0o755);
    assert_eq!(
        std::fs::read_to_string(&local).expect("appended"),
        "#!/bin/sh\n# added by vendor-data\n"
    );
    assert_eq!(
        root.mode("/etc/rc.local.d/local.sh"),
        0o644,
        "the mode vendor-data gives, as cloud-init sets it"
    );
    assert!(!root.path("etc/netplan").exists());
    assert!(
        !root.path("etc/motd.maas-esxi").exists(),
        "a temporary file is left"
    );

    // A second time, nothing is written again: not even the line appended.
    let again = root.plan(&text);
    assert!(!again.iter().any(|r| r.starts_with("file|")), "{again:#?}");
    assert_eq!(
        again
            .iter()
            .filter(|r| r.ends_with(": already as vendor-data has it"))
            .count(),
        4
    );
    // A write for a path the entry does not have is refused.
    let file = root.path("vendor-data").to_string_lossy().into_owned();
    let (status, _, stderr) = root.run(&["write", &file, "0", "/etc/shadow"]);
    assert_eq!(status, 2, "{stderr}");
}

#[test]
fn what_cannot_be_applied_fails_alone_and_says_why() {
    let root = Root::new();
    let plan = root.plan(&wrapped(
        "ntp:\n  servers: [10.0.0.1, 'bad name!']\n  pools: ntp.example.com\n  peers: [x]\nwrite_files:\n\
         - {path: relative/file, content: x}\n- {path: /etc/a, content: 'abc', encoding: base64}\n\
         - {path: /etc/b, source: {uri: 'http://x/y'}}\n- {path: /etc/c, content: fine, permissions: 'rwx'}\n\
         - {path: /etc/d, content: secret-content, append: maybe}\n- {path: /etc/e, content: x, owner: 'nobody:nogroup', foo: 1}\n\
         - {path: /altbootbank/maas/firstboot.sh, content: 'exit 0'}\n",
    ));
    assert_eq!(
        plan,
        [
            "note|ntp: 'peers' is not applicable to ESXi, ignored",
            "fail|ntp: 'bad name!' in servers is not an address or a host name",
            "fail|ntp: pools is not a list",
            "ntp|10.0.0.1",
            "fail|write_files entry 0 has no absolute path",
            "fail|/etc/a: the content is not base64 (Incorrect padding)",
            "fail|/etc/b: content from a URL (source) is not supported",
            "note|/etc/c: permissions 'rwx' are not an octal mode, 0644 instead (as cloud-init does)",
            "note|/etc/c: not kept across reboots: ESXi's root file system is in memory",
            "file|3|/etc/c",
            "fail|/etc/d: append: 'maybe' is neither true nor false",
            "note|/etc/e: 'foo' is not applicable to ESXi, ignored",
            "note|/etc/e: owner 'nobody:nogroup' is not applied, files on ESXi are root's",
            "note|/etc/e: not kept across reboots: ESXi's root file system is in memory",
            "file|5|/etc/e",
            "fail|/altbootbank/maas/firstboot.sh: not written, the first-boot bundle's files are its own",
        ]
    );
    assert!(!plan.iter().any(|r| r.contains("secret-content")));

    // NTP turned off, a cloud-config that is empty, nothing at all.
    assert_eq!(
        root.plan(&wrapped("ntp: {enabled: false, servers: [10.0.0.1]}\n")),
        ["note|ntp: turned off in vendor-data, ESXi's NTP is left as it is"]
    );
    assert!(root.plan(&wrapped("")).is_empty());
    assert_eq!(root.plan(b""), ["note|MAAS sent no vendor-data"]);
}

#[test]
fn vendor_data_that_is_not_maass_is_refused_with_its_place() {
    let root = Root::new();
    assert_eq!(
        root.plan(b"cloud-init: \"#cloud-config\\nntp: {servers: [1.5]}\\n\"\n"),
        [
            "fail|the cloud-config in MAAS's vendor-data, line 2, column 17: a floating-point number (1.5) is not supported"
        ]
    );
    assert_eq!(
        root.plan(&wrapped("a: &anchor 1\n")),
        [
            "fail|the cloud-config in MAAS's vendor-data, line 2, column 4: an anchor (&): anchors and aliases are not supported"
        ]
    );
    assert_eq!(
        root.plan(b"cloud-init: |\n  #cloud-config\n"),
        [
            "fail|MAAS's vendor-data, line 1, column 13: a block scalar (|): block scalars are not supported"
        ]
    );
    assert_eq!(
        root.plan(b"cloud-init: \"#!/bin/sh\\necho hi\\n\"\n"),
        [
            "fail|the cloud-init part of MAAS's vendor-data is not a #cloud-config document (it begins '#!/bin/sh'); nothing else is applied on ESXi"
        ]
    );
    assert_eq!(
        root.plan(b"\xff\xfe"),
        ["fail|MAAS's vendor-data is not UTF-8 text"]
    );
    assert_eq!(
        root.plan(b"other: 1\n"),
        [
            "note|not applicable to ESXi, ignored: 'other'",
            "note|no cloud-init part in MAAS's vendor-data"
        ]
    );
}

/// vermin (PyPI) finds nothing in the bundle's Python that Python 3.5 lacks; it does find an f-string.
#[test]
fn the_bundles_python_needs_nothing_newer_than_python_3_5() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (path, source) in maas_esxi::bundle::PYTHON {
        let name = Path::new(path)
            .file_name()
            .expect("a name")
            .to_string_lossy();
        let file = dir
            .path()
            .join(format!("{}.py", name.trim_end_matches(".py")));
        std::fs::write(&file, source).expect("write");
        let (ok, report) = vermin(&file);
        assert!(ok, "vermin, {path}:\n{report}");
        assert!(report.contains("Minimum required versions: "), "{report}");
    }
    let newer = dir.path().join("newer.py");
    std::fs::write(&newer, "x = 1\nprint(f\"{x}\")\n").expect("write");
    let (ok, report) = vermin(&newer);
    assert!(!ok, "vermin let an f-string through:\n{report}");
}

/// Runs vermin with Python 3.5 as the target; whether it passed, and its report.
fn vermin(file: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-c", "import sys, vermin; sys.exit(vermin.main())"])
        .args([
            "--target=3.5-",
            "--violations",
            "--no-tips",
            "--no-parse-comments",
        ])
        .arg(file)
        .output()
        .expect("python3 runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !report.contains("No module named"),
        "vermin is not installed (scripts/test installs it from PyPI):\n{report}"
    );
    (out.status.success(), report)
}
