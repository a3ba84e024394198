//! `maas-esxi curtin-hook` as curtin runs it. Synthetic ESXi 6.7 and 7.0+ disks go through `image
//! finalize`; the partition holding `curtin/` is copied into a directory that stands for curtin's mount of
//! it; the hook runs through `curtin/curtin-hooks`, with curtin's environment and `$CONFIG` holding the
//! whole MAAS config as one line of JSON; the directory is written back into the partition, as the kernel
//! would. Then partition 6 is checked with mtools and fsck.fat and the rest of the disk byte for byte.
//! Also: configs with errors (nothing written, a diagnostic that shows a window of the line and no
//! secret), and the lookup of the mounted partition on recorded mount tables and sysfs trees.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use maas_esxi::hook::target::{self, Lookup, Target};

use crate::disk::{Disk, Layout};
use crate::finalize::check_only_partition_changed;
use crate::maas::Token;
use crate::root;

/// The whole MAAS config of the fixture as curtin writes `$CONFIG`, after `edit`.
fn config_json(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    crate::curtin::config_json(&root(), edit)
}

/// A finalized disk and the directory that stands for curtin's mount of the partition holding curtin/.
struct Deployment {
    dir: tempfile::TempDir,
    disk: Disk,
    pristine: Disk,
    target: PathBuf,
}

impl Deployment {
    fn new(layout: Layout) -> Deployment {
        let dir = tempfile::Builder::new()
            .prefix("maas-esxi-hook-")
            .tempdir()
            .expect("temporary directory");
        let disk = Disk::build(&dir.path().join("disk.img"), layout);
        let out = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
            .args(["image", "finalize", "--raw"])
            .arg(&disk.path)
            .arg("--out")
            .arg(dir.path().join("esxi.dd.gz"))
            .arg("--binary")
            .arg(env!("CARGO_BIN_EXE_maas-esxi"))
            .stdin(Stdio::null())
            .output()
            .expect("maas-esxi runs");
        assert!(
            out.status.success(),
            "finalize failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pristine = disk.copy_to(&dir.path().join("pristine.img"));
        // curtin takes the partition that has a curtin/ directory.
        assert_eq!(disk.with_curtin_dir(), [6]);
        let target = dir.path().join("target");
        disk.copy_out(6, &target);
        // A vfat mount shows files as executable (fmask=0022).
        for name in ["curtin-hooks", "maas-esxi"] {
            let file = target.join("curtin").join(name);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Deployment {
            dir,
            disk,
            pristine,
            target,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `curtin/curtin-hooks` as curtin does: no arguments, its environment, `$CONFIG` a JSON file.
    fn hook(&self, config: &str) -> Output {
        let config_file = self.path("config.json");
        std::fs::write(&config_file, config).expect("write $CONFIG");
        let work = self.path("work");
        std::fs::create_dir_all(&work).expect("working directory");
        Command::new(self.target.join("curtin/curtin-hooks"))
            .env("CONFIG", &config_file)
            .env("TARGET_MOUNT_POINT", &self.target)
            .env("WORKING_DIR", &work)
            .env("OUTPUT_FSTAB", work.join("fstab"))
            .env("OUTPUT_INTERFACES", work.join("interfaces"))
            .env("OUTPUT_NETWORK_CONFIG", work.join("network_config"))
            .env("OUTPUT_NETWORK_STATE", work.join("network_state"))
            .env(
                "CURTIN_REPORTSTACK",
                "cmd-install/stage-curthooks/builtin/cmd-curthooks",
            )
            .env("MAAS_ESXI_TARGET_DISK", &self.disk.path)
            .current_dir(&work)
            .stdin(Stdio::null())
            .output()
            .expect("curtin-hooks runs")
    }
}

/// Every file under `dir`, by relative path, with its bytes.
pub(crate) fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("list directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path.strip_prefix(root).expect("under root");
                out.insert(
                    name.display().to_string(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The whole deployment on one disk layout.
fn deploy(layout: Layout) {
    let d = Deployment::new(layout);

    // A config with an error fails the hook and writes nothing.
    let before = tree(&d.target);
    let bad = d.hook(&config_json(|c| {
        c["network"]["config"][0]["mtu"] = 100.into()
    }));
    let message = stderr(&bad);
    assert_eq!(bad.status.code(), Some(1), "{message}");
    assert!(
        message.starts_with("error: MTU 100 ")
            && message.contains(&format!("--> {}:1:", d.path("config.json").display())),
        "{message}"
    );
    assert!(
        tree(&d.target) == before,
        "a rejected config changed the target"
    );

    // An earlier bundle, which the hook replaces.
    let maas = d.target.join("maas");
    std::fs::create_dir_all(&maas).expect("mkdir");
    std::fs::write(maas.join("credentials"), "{\"stale\": true}").expect("write");
    std::fs::write(maas.join("user-data"), "stale").expect("write");

    let config = config_json(|_| {});
    let good = d.hook(&config);
    let message = stderr(&good);
    assert_eq!(good.status.code(), Some(0), "{message}");
    assert_eq!(
        message,
        format!(
            "maas-esxi curtin-hook: wrote maas/firstboot.sh, maas/maas-md and maas/credentials into \
             partition 6 of {} at {}; removed curtin/\n",
            d.disk.path.display(),
            d.target.display()
        )
    );

    let files = tree(&d.target);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "boot.cfg",
            "maas/credentials",
            "maas/firstboot.sh",
            "maas/maas-md"
        ]
    );
    let translated = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .arg("translate")
        .arg(d.path("config.json"))
        .output()
        .expect("maas-esxi runs");
    assert!(translated.status.success());
    assert!(
        files["maas/firstboot.sh"] == translated.stdout,
        "the bundle's script is not what translate prints"
    );
    assert_eq!(files["maas/maas-md"], maas_esxi::bundle::HELPER.as_bytes());
    let credentials: serde_json::Value =
        serde_json::from_slice(&files["maas/credentials"]).expect("JSON");
    let token = Token::fixture();
    assert_eq!(
        credentials,
        serde_json::json!({
            "endpoint": "http://10.20.0.2:5248/MAAS/metadata/status/x7kqfp",
            "consumer_key": token.consumer_key,
            "token_key": token.token_key,
            "token_secret": token.token_secret,
        })
    );

    // The kernel writes the mount back into the partition.
    d.disk.copy_in(6, &d.target);
    assert_eq!(d.disk.root(6), ["boot.cfg", "maas/"]);
    for (name, bytes) in &files {
        assert!(
            d.disk.read(6, name) == *bytes,
            "{name} differs in partition 6"
        );
    }
    if let Err(report) = d.disk.fsck(6) {
        panic!("fsck.fat -n found problems in partition 6:\n{report}");
    }
    assert!(
        d.disk.with_curtin_dir().is_empty(),
        "curtin/ is left somewhere"
    );
    check_only_partition_changed(&d.disk, &d.pristine, 6);
}

#[test]
fn the_hook_leaves_the_bundle_in_partition_6_of_an_esxi_67_disk() {
    deploy(Layout::ESXI_67);
}

#[test]
fn the_hook_leaves_the_bundle_in_partition_6_of_an_esxi_7_disk() {
    deploy(Layout::ESXI_7);
}

/// Runs the hook through the library on a config with an error: what it prints.
fn rejected(config: &str) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("config.json");
    std::fs::write(&file, config).expect("write");
    let target = dir.path().join("target");
    let mut out = Vec::new();
    let status = maas_esxi::hook::install(
        &maas_esxi::hook::Paths {
            config: file,
            mount_point: target.clone(),
            disk: None,
            mount_table: PathBuf::from("/nonexistent"),
            sysfs: PathBuf::from("/nonexistent"),
        },
        &mut out,
    )
    .expect("a rejected config is not an IO error");
    assert_eq!(status, 1);
    assert!(!target.exists(), "a rejected config wrote something");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn diagnostics_show_the_config_line_around_the_error_and_no_secret() {
    let token = Token::fixture();
    let endpoint = "ftp://10.20.0.2/MAAS/metadata/status/x7kqfp";
    let cases = [
        config_json(|c| c["reporting"]["maas"]["endpoint"] = endpoint.into()),
        config_json(|c| c["network"]["config"][0]["mtu"] = 100.into()),
        // Broken JSON right after the token: the secrets are found without parsing.
        config_json(|_| {}).replace("\"type\":\"webhook\"", "\"type\":webhook\"") + "{",
    ];
    for config in &cases {
        let out = rejected(config);
        for secret in token.secrets() {
            assert!(!out.contains(secret), "a secret in:\n{out}");
        }
        let lines: Vec<&str> = out.lines().collect();
        let source = lines
            .iter()
            .find(|l| l.starts_with("1 | "))
            .unwrap_or_else(|| panic!("no source line in:\n{out}"));
        assert!(
            source.chars().count() < 200,
            "the whole line is shown: {source}"
        );
    }
    // The caret stands under the endpoint (its span includes the quotes), the masked token beside it.
    let out = rejected(&cases[0]);
    let lines: Vec<&str> = out.lines().collect();
    let source = lines
        .iter()
        .position(|l| l.starts_with("1 | "))
        .expect("source");
    let at = lines[source]
        .find("\"ftp://")
        .expect("the endpoint is shown");
    assert_eq!(lines[source + 1].find('^'), Some(at), "{out}");
    let stars = "*".repeat(18);
    assert!(
        lines[source].contains(&format!("\"{stars}\",\"endpoint\""))
            && lines[source].contains(&format!("\"token_key\":\"{stars}\"")),
        "{out}"
    );
}

#[test]
fn the_mounted_partition_is_found_in_recorded_mount_tables_and_sysfs() {
    let fixtures = root().join("fixtures/hook");
    let sysfs = fixtures.join("sys");
    let target = "/tmp/tmpa8k2jq3x/target";
    let found = |disk: &str, device: &str| {
        Ok(Target {
            disk: PathBuf::from(disk),
            device: Some(device.to_string()),
        })
    };
    let cases: [(&str, &str, Result<Target, &str>); 11] = [
        ("sata", target, found("/dev/sda", "/dev/sda6")),
        ("nvme", target, found("/dev/nvme0n1", "/dev/nvme0n1p6")),
        ("mmc", target, found("/dev/mmcblk0", "/dev/mmcblk0p6")),
        (
            "virtio-escaped",
            "/tmp/tmp with space/target/",
            found("/dev/vda", "/dev/vda6"),
        ),
        ("shadowed", target, found("/dev/sda", "/dev/sda6")),
        (
            "partition-1",
            target,
            Err("is partition 1 of /dev/sda (/dev/sda1), not partition 6, the altbootbank"),
        ),
        (
            "multipath",
            target,
            Err("is mounted from /dev/mapper/mpatha-part6, a device-mapper device (multipath"),
        ),
        (
            "device-mapper",
            target,
            Err("is mounted from /dev/dm-1, a device-mapper device (mpatha-part6) (multipath"),
        ),
        (
            "whole-disk",
            target,
            Err("is mounted from /dev/vda, a whole disk, not a partition of one"),
        ),
        ("not-mounted", target, Err("is not a mount point in ")),
        (
            "not-a-disk",
            target,
            Err("is mounted from tmpfs, which is not a disk partition"),
        ),
    ];
    for (case, mount_point, want) in cases {
        let table = fixtures.join("mounts").join(case);
        let got = target::mounted(
            Path::new(mount_point),
            Lookup {
                mount_table: &table,
                sysfs: &sysfs,
            },
        );
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{case}"),
            (Err(e), Err(want)) => {
                let e = format!("{e:#}");
                assert!(e.contains(want), "{case}: {e}");
                if !case.starts_with("not-") && case != "whole-disk" {
                    assert!(
                        e.contains("--disk or MAAS_ESXI_TARGET_DISK") || case == "partition-1",
                        "{case}: {e}"
                    );
                }
            }
            (got, want) => panic!("{case}: {got:?} instead of {want:?}"),
        }
    }
}

#[test]
fn a_device_mapper_target_fails_the_hook_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("config.json");
    std::fs::write(&config, config_json(|_| {})).expect("write");
    let fixtures = root().join("fixtures/hook");
    let mount_point = dir.path().join("target");
    let table = dir.path().join("mounts");
    let recorded = std::fs::read_to_string(fixtures.join("mounts/multipath")).expect("fixture");
    std::fs::write(
        &table,
        recorded.replace(
            "/tmp/tmpa8k2jq3x/target",
            &mount_point.display().to_string(),
        ),
    )
    .expect("write");
    std::fs::create_dir(&mount_point).expect("mkdir");
    let out = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .arg("curtin-hook")
        .arg("--mount-table")
        .arg(&table)
        .arg("--sysfs")
        .arg(fixtures.join("sys"))
        .env("CONFIG", &config)
        .env("TARGET_MOUNT_POINT", &mount_point)
        .env_remove("MAAS_ESXI_TARGET_DISK")
        .output()
        .expect("maas-esxi runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {} is mounted from /dev/mapper/mpatha-part6, a device-mapper device (multipath, LVM or \
             dm-crypt): which disk and partition lie under it cannot be told; name the disk curtin wrote \
             the image to with --disk or MAAS_ESXI_TARGET_DISK\n",
            mount_point.display()
        )
    );
    assert!(tree(&mount_point).is_empty(), "the hook wrote something");

    // Without curtin's environment the hook says what is missing.
    let out = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .arg("curtin-hook")
        .env_remove("CONFIG")
        .output()
        .expect("maas-esxi runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        "error: CONFIG is not set: curtin sets it when it runs the hook\n"
    );
}
