//! The build media checked by independent tools: the kickstart USB image (sfdisk, mtools, fsck.fat), and
//! ISO inspection and in-place patching on mock ESXi installer ISOs made with xorriso, read back with
//! xorriso and isoinfo, and booted with isolinux in QEMU (TCG).
//!
//! Needs: xorriso, genisoimage (isoinfo, and `-udf`), mtools, dosfstools, fdisk, isolinux, syslinux-common,
//! qemu-system-x86. These tests never skip.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use maas_esxi::image::media::iso::{self, Patched, VersionSource};
use maas_esxi::image::media::kickstart::{self, BOOT_OPTIONS, Options};
use maas_esxi::image::media::usb;
use maas_esxi::image::rejected::Rejected;

/// A BOOT.CFG shaped like ESXi 8.0's (module list shortened).
const BOOT_CFG: &str = "bootstate=0\ntitle=Loading ESXi installer\ntimeout=5\nprefix=\nkernel=/b.b00\n\
                        kernelopt=runweasel cdromBoot\n\
                        modules=/jumpstrt.gz --- /useropts.gz --- /k.b00 --- /s.v00 --- /imgpayld.tgz\n\
                        build=8.0.3-0.35.24280767\nupdated=0\n";

/// The isolinux configuration of the mock ISOs: print BOOT.CFG on the serial port, then power off.
const ISOLINUX_CFG: &str = "SERIAL 0 115200\nPROMPT 0\nTIMEOUT 1\nDEFAULT show\nONTIMEOUT off\n\
                            LABEL show\n  COM32 cat.c32\n  APPEND BOOT.CFG\nLABEL off\n  COM32 poweroff.c32\n";

const SYSLINUX_MODULES: &str = "/usr/lib/syslinux/modules/bios";

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("maas-esxi-media-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use crate::run_tool as run;

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

/// A kickstart rendered by the library, with a fixed hash.
fn ks_cfg() -> String {
    kickstart::render(&Options {
        root_password_hash: Some(
            "$6$maasesxi$oGoQ93st54vgk6O.UHj1hVnL7hr9iagZ/X7kElV.hwZkamqR1vPkLy2ggki6Kk3J5Egi77KFlrog9LVdmVQl.0"
                .to_string(),
        ),
        ..Options::default()
    })
    .expect("the kickstart renders")
}

#[test]
fn the_usb_image_is_read_by_sfdisk_mtools_and_fsck() {
    let dir = Scratch::new("usb");
    let img = dir.path("usb.img");
    let ks = ks_cfg();
    usb::write_kickstart_image(&img, ks.as_bytes()).expect("the image is written");

    let dump = text(&run("sfdisk", &["--dump", s(&img)]));
    assert!(dump.contains("label: dos"), "{dump}");
    assert!(
        dump.contains("start=        2048, size=       63488, type=e"),
        "{dump}"
    );

    let at_1m = format!("{}@@1M", s(&img));
    let listing = text(&run("mdir", &["-i", &at_1m, "::"]));
    assert!(listing.contains("KICKSTART"), "{listing}");
    assert!(listing.contains("KS       CFG"), "{listing}");
    let read_back = run("mtype", &["-i", &at_1m, "::KS.CFG"]).stdout;
    assert!(read_back == ks.as_bytes(), "mtype gives back other bytes");

    let bytes = std::fs::read(&img).expect("the image");
    let partition = dir.path("partition.img");
    std::fs::write(&partition, &bytes[1 << 20..]).expect("the partition");
    let fsck = run("fsck.fat", &["-n", s(&partition)]);
    assert!(
        text(&fsck).contains("1 files") || text(&fsck).contains("2 files"),
        "{}",
        text(&fsck)
    );

    use std::os::unix::fs::MetadataExt;
    let allocated = std::fs::metadata(&img).expect("metadata").blocks() * 512;
    assert!(
        allocated < 4 << 20,
        "the image is sparse, yet {allocated} bytes are allocated"
    );
}

/// Lays out a mock ESXi installer tree: isolinux, the modules it needs, BOOT.CFG at the root and in
/// EFI/BOOT, the kernel and base system files, and a stand-in EFI boot image.
fn esxi_tree(dir: &Scratch, boot_cfg: &str, isolinux_cfg: &str) -> PathBuf {
    let tree = dir.path("tree");
    std::fs::create_dir_all(tree.join("EFI/BOOT")).expect("tree");
    std::fs::copy("/usr/lib/ISOLINUX/isolinux.bin", tree.join("ISOLINUX.BIN"))
        .expect("isolinux.bin (Debian package isolinux)");
    for module in ["ldlinux", "libcom32", "libutil", "cat", "poweroff"] {
        std::fs::copy(
            Path::new(SYSLINUX_MODULES).join(format!("{module}.c32")),
            tree.join(format!("{}.C32", module.to_uppercase())),
        )
        .expect("syslinux modules (Debian package syslinux-common)");
    }
    let files = [
        ("ISOLINUX.CFG", isolinux_cfg.as_bytes().to_vec()),
        ("BOOT.CFG", boot_cfg.as_bytes().to_vec()),
        ("EFI/BOOT/BOOT.CFG", boot_cfg.as_bytes().to_vec()),
        ("B.B00", b"kernel".to_vec()),
        ("K.B00", b"vmkernel".to_vec()),
        ("S.V00", b"base system".to_vec()),
        ("EFIBOOT.IMG", vec![0xf6; 32 << 10]),
    ];
    for (name, content) in files {
        std::fs::write(tree.join(name), content).expect("tree file");
    }
    tree
}

/// `xorriso -as mkisofs` with isolinux for BIOS and EFIBOOT.IMG for UEFI, like the ESXi ISO.
fn mkiso(tree: &Path, iso: &Path, volume_id: &str, trees: &[&str]) {
    let mut args = vec!["-as", "mkisofs", "-o", s(iso), "-V", volume_id];
    args.extend_from_slice(if trees.is_empty() {
        &["--norock"]
    } else {
        trees
    });
    args.extend_from_slice(&[
        "-b",
        "ISOLINUX.BIN",
        "-c",
        "BOOT.CAT",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "-eltorito-alt-boot",
        "-e",
        "EFIBOOT.IMG",
        "-no-emul-boot",
        s(tree),
    ]);
    run("xorriso", &args);
}

fn patched_boot_cfg() -> String {
    BOOT_CFG.replace(
        "kernelopt=runweasel cdromBoot\n",
        &format!("kernelopt=runweasel cdromBoot {BOOT_OPTIONS}\n"),
    )
}

/// xorriso's view of a file's data: first sector, sectors and size.
fn report_lba(iso: &Path, path: &str) -> (u64, u64, u64) {
    let out = run(
        "xorriso",
        &["-indev", s(iso), "-find", path, "-exec", "report_lba", "--"],
    );
    let report = format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    let line = report
        .lines()
        .find(|l| l.starts_with("File data lba:"))
        .unwrap_or_else(|| panic!("xorriso reports {path}: {report}"));
    let fields: Vec<u64> = line["File data lba:".len()..]
        .split(',')
        .take(4)
        .map(|f| f.trim().parse().expect("a number"))
        .collect();
    (fields[1], fields[2], fields[3])
}

/// A file as xorriso extracts it (from the tree it loads: Rock Ridge if present, else ECMA-119).
fn xorriso_extract(iso: &Path, path: &str, dir: &Scratch) -> String {
    let out = dir.path("extracted");
    let _ = std::fs::remove_file(&out);
    run(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            s(iso),
            "-extract",
            path,
            s(&out),
        ],
    );
    std::fs::read_to_string(&out).expect("the extracted file")
}

/// A file as isoinfo reads it through one tree: `""` ECMA-119, `"-J"` Joliet, `"-R"` Rock Ridge.
fn isoinfo_extract(iso: &Path, path: &str, tree: &str) -> String {
    let path = if tree.is_empty() {
        format!("{path};1")
    } else {
        path.to_string()
    };
    let mut args = vec!["-i", s(iso), "-x", &path];
    if !tree.is_empty() {
        args.push(tree);
    }
    text(&run("isoinfo", &args))
}

fn both_endian(value: u64) -> [u8; 8] {
    let v = u32::try_from(value).expect("a small file");
    let mut out = [0; 8];
    out[..4].copy_from_slice(&v.to_le_bytes());
    out[4..].copy_from_slice(&v.to_be_bytes());
    out
}

/// Checks that `after` differs from `before` only in the data sectors of the patched files (which now
/// hold `content`, zero-padded) and in directory-record length fields that went from `old` to the
/// length of `content`. Returns how many such length fields changed.
fn changed_length_fields(
    before: &[u8],
    after: &[u8],
    files: &[(u64, u64)],
    old: u64,
    content: &str,
) -> usize {
    assert_eq!(
        before.len(),
        after.len(),
        "the patched ISO has another size"
    );
    let sector = 2048;
    let mut in_files = BTreeSet::new();
    for &(lba, sectors) in files {
        let range = (lba * sector) as usize..((lba + sectors) * sector) as usize;
        let mut expected = content.as_bytes().to_vec();
        expected.resize(range.len(), 0);
        assert!(
            after[range.clone()] == expected[..],
            "the data of the file at sector {lba}"
        );
        in_files.extend(range);
    }
    let (old_field, new_field) = (both_endian(old), both_endian(content.len() as u64));
    let mut fields = BTreeSet::new();
    for p in (0..before.len()).filter(|p| before[*p] != after[*p] && !in_files.contains(p)) {
        let field = (p.saturating_sub(7)..=p).find(|&q| {
            before.get(q..q + 8) == Some(&old_field[..])
                && after.get(q..q + 8) == Some(&new_field[..])
        });
        let field =
            field.unwrap_or_else(|| panic!("byte {p} changed outside the files and length fields"));
        fields.insert(field);
    }
    fields.len()
}

fn rejected(result: anyhow::Result<impl std::fmt::Debug>) -> Rejected {
    let err = result.expect_err("the input is refused");
    err.downcast_ref::<Rejected>()
        .unwrap_or_else(|| panic!("a Rejected error, not {err:#}"))
        .clone()
}

#[test]
fn inspect_reads_the_installer_and_its_version() {
    let dir = Scratch::new("inspect");
    let tree = esxi_tree(&dir, BOOT_CFG, ISOLINUX_CFG);
    let plain = dir.path("plain.iso");
    mkiso(&tree, &plain, "ESXI-8.0U3-24280767-STANDARD", &[]);
    let info = iso::inspect(&plain).expect("an ESXi installer");
    assert_eq!(info.volume_id, "ESXI-8.0U3-24280767-STANDARD");
    let version = info.version.clone().expect("a version");
    assert_eq!(version.to_string(), "8.0.3 (build 24280767)");
    assert_eq!(
        (version.major, version.minor, version.source),
        (8, 0, VersionSource::BootCfg)
    );
    assert_eq!(info.kernelopt, "runweasel cdromBoot");
    assert!(
        info.uefi && !info.joliet && !info.rock_ridge && !info.udf,
        "{info:?}"
    );

    let rrj = dir.path("rrj.iso");
    mkiso(&tree, &rrj, "ESXI", &["-R", "-J"]);
    let info = iso::inspect(&rrj).expect("an ESXi installer");
    assert!(info.joliet && info.rock_ridge && !info.udf, "{info:?}");
}

#[test]
fn the_version_falls_back_to_the_menu_then_the_volume_id() {
    let dir = Scratch::new("version");
    let without_build = BOOT_CFG.replace("build=8.0.3-0.35.24280767\n", "");
    let menu = format!("MENU TITLE ESXi-7.0U3g-20328353-standard Boot Menu\n{ISOLINUX_CFG}");
    let tree = esxi_tree(&dir, &without_build, &menu);
    let from_menu = dir.path("menu.iso");
    mkiso(&tree, &from_menu, "CDROM", &[]);
    let version = iso::inspect(&from_menu)
        .expect("an installer")
        .version
        .expect("a version");
    assert_eq!(version.to_string(), "7.0U3g (build 20328353)");
    assert_eq!(version.source, VersionSource::IsolinuxMenu);

    std::fs::write(tree.join("ISOLINUX.CFG"), ISOLINUX_CFG).expect("menu without a title");
    let from_volume = dir.path("volume.iso");
    mkiso(&tree, &from_volume, "ESXI-6.7.0-8169922-STANDARD", &[]);
    let version = iso::inspect(&from_volume)
        .expect("an installer")
        .version
        .expect("a version");
    assert_eq!(
        (version.major, version.minor, version.build),
        (6, 7, Some(8169922))
    );
    assert_eq!(version.source, VersionSource::VolumeId);

    let unknown = dir.path("unknown.iso");
    mkiso(&tree, &unknown, "CDROM", &[]);
    assert_eq!(iso::inspect(&unknown).expect("an installer").version, None);
}

#[test]
fn what_is_not_an_esxi_installer_is_rejected_naming_the_file() {
    let dir = Scratch::new("reject");
    let not_iso = dir.path("notes.txt");
    std::fs::write(&not_iso, "not an image\n".repeat(4096)).expect("a text file");
    let r = rejected(iso::inspect(&not_iso));
    assert_eq!(
        r.message,
        format!(
            "{} is not an ISO 9660 image: it has no volume descriptor at sector 16",
            not_iso.display()
        )
    );

    let other = dir.path("other");
    std::fs::create_dir_all(other.join("DOCS")).expect("tree");
    std::fs::write(other.join("DOCS/README.TXT"), "hello\n").expect("file");
    let other_iso = dir.path("other.iso");
    run(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-o",
            s(&other_iso),
            "-V",
            "DOCS",
            s(&other),
        ],
    );
    let r = rejected(iso::inspect(&other_iso));
    assert_eq!(
        r.message,
        format!(
            "{} is not a VMware ESXi installer ISO: it has no /BOOT.CFG",
            other_iso.display()
        )
    );
    let r = rejected(iso::patch_boot_options(
        &other_iso,
        &dir.path("x.iso"),
        BOOT_OPTIONS,
    ));
    assert!(r.message.ends_with("it has no /BOOT.CFG"), "{}", r.message);
    assert!(!dir.path("x.iso").exists());

    let tree = esxi_tree(&dir, BOOT_CFG, ISOLINUX_CFG);
    std::fs::remove_file(tree.join("S.V00")).expect("drop the base system");
    let no_base = dir.path("no-base.iso");
    mkiso(&tree, &no_base, "ESXI", &[]);
    let r = rejected(iso::inspect(&no_base));
    assert!(
        r.message
            .ends_with("the base system /S.V00 that /BOOT.CFG boots is not on it"),
        "{}",
        r.message
    );
}

#[test]
fn the_patch_changes_only_the_boot_cfg_sectors_and_lengths_and_is_idempotent() {
    let dir = Scratch::new("patch");
    let tree = esxi_tree(&dir, BOOT_CFG, ISOLINUX_CFG);
    let plain = dir.path("plain.iso");
    mkiso(&tree, &plain, "ESXI-8.0U3-24280767-STANDARD", &[]);
    let before = std::fs::read(&plain).expect("the ISO");
    let patched = dir.path("patched.iso");

    let outcome = iso::patch_boot_options(&plain, &patched, BOOT_OPTIONS).expect("patching works");
    let kernelopt = format!("runweasel cdromBoot {BOOT_OPTIONS}");
    let Patched::InPlace(files) = outcome else {
        panic!("the options fit: {outcome:?}");
    };
    let summary: Vec<_> = files
        .iter()
        .map(|f| (f.path.as_str(), f.kernelopt.as_str(), f.changed, f.records))
        .collect();
    assert_eq!(
        summary,
        [
            ("/BOOT.CFG", kernelopt.as_str(), true, 1),
            ("/EFI/BOOT/BOOT.CFG", kernelopt.as_str(), true, 1)
        ]
    );
    assert!(
        std::fs::read(&plain).expect("the source") == before,
        "the source ISO is untouched"
    );

    let expected = patched_boot_cfg();
    for path in iso::BOOT_CFG_PATHS {
        assert_eq!(
            xorriso_extract(&patched, path, &dir),
            expected,
            "xorriso reads {path}"
        );
        assert_eq!(
            isoinfo_extract(&patched, path, ""),
            expected,
            "isoinfo reads {path}"
        );
    }
    let after = std::fs::read(&patched).expect("the patched ISO");
    let data: Vec<(u64, u64)> = iso::BOOT_CFG_PATHS
        .iter()
        .map(|path| {
            let (lba, sectors, size) = report_lba(&patched, path);
            assert_eq!(size, expected.len() as u64);
            (lba, sectors)
        })
        .collect();
    assert_eq!(
        changed_length_fields(&before, &after, &data, BOOT_CFG.len() as u64, &expected),
        2
    );
    assert_eq!(
        iso::inspect(&patched)
            .expect("still an installer")
            .kernelopt,
        kernelopt
    );

    let twice = dir.path("twice.iso");
    let again = iso::patch_boot_options(&patched, &twice, BOOT_OPTIONS).expect("patching again");
    let Patched::InPlace(files) = again else {
        panic!("the options still fit: {again:?}");
    };
    assert!(
        files.iter().all(|f| !f.changed && f.records == 0),
        "{files:?}"
    );
    assert!(
        std::fs::read(&twice).expect("twice") == after,
        "patching twice changes nothing"
    );

    let same = rejected_or_io(iso::patch_boot_options(&patched, &patched, BOOT_OPTIONS));
    assert!(same.contains("it is the source ISO itself"), "{same}");
}

fn rejected_or_io(result: anyhow::Result<Patched>) -> String {
    format!("{:#}", result.expect_err("refused"))
}

#[test]
fn rock_ridge_and_joliet_records_are_patched_too() {
    let dir = Scratch::new("rrj");
    let tree = esxi_tree(&dir, BOOT_CFG, ISOLINUX_CFG);
    let rrj = dir.path("rrj.iso");
    mkiso(&tree, &rrj, "ESXI", &["-R", "-J"]);
    let before = std::fs::read(&rrj).expect("the ISO");
    let patched = dir.path("patched.iso");
    let Patched::InPlace(files) =
        iso::patch_boot_options(&rrj, &patched, BOOT_OPTIONS).expect("patching works")
    else {
        panic!("the options fit");
    };
    assert!(
        files.iter().all(|f| f.changed && f.records == 2),
        "{files:?}"
    );
    let expected = patched_boot_cfg();
    for path in iso::BOOT_CFG_PATHS {
        for tree in ["", "-J", "-R"] {
            assert_eq!(
                isoinfo_extract(&patched, path, tree),
                expected,
                "isoinfo {tree} reads {path}"
            );
        }
    }
    let data: Vec<(u64, u64)> = iso::BOOT_CFG_PATHS
        .iter()
        .map(|path| {
            let (lba, sectors, _) = report_lba(&patched, path);
            (lba, sectors)
        })
        .collect();
    let after = std::fs::read(&patched).expect("the patched ISO");
    assert_eq!(
        changed_length_fields(&before, &after, &data, BOOT_CFG.len() as u64, &expected),
        4
    );
}

#[test]
fn options_that_do_not_fit_or_a_udf_bridge_make_the_patch_impossible() {
    let dir = Scratch::new("impossible");
    // A BOOT.CFG that fills its sector but for 20 bytes.
    let filler = format!("# {}\n", "x".repeat(2048 - 20 - BOOT_CFG.len() - 3));
    let full = format!("{BOOT_CFG}{filler}");
    assert_eq!(full.len(), 2048 - 20);
    let tree = esxi_tree(&dir, &full, ISOLINUX_CFG);
    let iso_path = dir.path("full.iso");
    mkiso(&tree, &iso_path, "ESXI", &[]);
    let dst = dir.path("patched.iso");
    let outcome = iso::patch_boot_options(&iso_path, &dst, BOOT_OPTIONS).expect("a verdict");
    let grown = full.len() + BOOT_OPTIONS.len() + 1;
    assert_eq!(
        outcome,
        Patched::NotPossible(format!(
            "the options do not fit in /BOOT.CFG of {}: it would grow to {grown} bytes, its sectors hold 2048",
            iso_path.display()
        ))
    );
    assert!(
        !dst.exists(),
        "nothing is written when the patch is impossible"
    );

    let tree = dir.path("tree");
    std::fs::write(tree.join("BOOT.CFG"), BOOT_CFG).expect("a normal BOOT.CFG");
    std::fs::write(tree.join("EFI/BOOT/BOOT.CFG"), BOOT_CFG).expect("a normal BOOT.CFG");
    let udf = dir.path("udf.iso");
    run(
        "genisoimage",
        &[
            "-quiet",
            "-udf",
            "-o",
            s(&udf),
            "-V",
            "ESXI",
            "-b",
            "ISOLINUX.BIN",
            "-c",
            "BOOT.CAT",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            s(&tree),
        ],
    );
    assert!(iso::inspect(&udf).expect("an installer").udf);
    let outcome = iso::patch_boot_options(&udf, &dst, BOOT_OPTIONS).expect("a verdict");
    assert!(
        matches!(&outcome, Patched::NotPossible(reason) if reason.contains("UDF")),
        "{outcome:?}"
    );
    assert!(!dst.exists());
}

#[test]
fn isolinux_reads_the_patched_boot_cfg_in_a_bios_boot() {
    let dir = Scratch::new("boot");
    let tree = esxi_tree(&dir, BOOT_CFG, ISOLINUX_CFG);
    let plain = dir.path("plain.iso");
    mkiso(&tree, &plain, "ESXI", &[]);
    let patched = dir.path("patched.iso");
    iso::patch_boot_options(&plain, &patched, BOOT_OPTIONS).expect("patching works");

    let serial = dir.path("serial.log");
    let mut qemu = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            "tcg",
            "-m",
            "128",
            "-display",
            "none",
            "-nic",
            "none",
            "-no-reboot",
        ])
        .args(["-serial", &format!("file:{}", s(&serial))])
        .args(["-boot", "d", "-cdrom", s(&patched)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64 runs (Debian package qemu-system-x86)");
    // A watchdog only: isolinux prints the file and powers off well within it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = qemu.try_wait().expect("qemu's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            panic!(
                "the guest did not power off; serial: {}",
                std::fs::read_to_string(&serial).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "qemu exits cleanly after the guest powers off"
    );
    let log = std::fs::read_to_string(&serial)
        .expect("the serial log")
        .replace("\r\n", "\n");
    assert!(log.contains("ISOLINUX"), "{log}");
    assert!(
        log.contains(&patched_boot_cfg()),
        "isolinux printed BOOT.CFG with its new length:\n{log}"
    );
}

/// `image build` on a mock installer whose isolinux waits at its prompt forever: the build gets through
/// preflight, the media and QEMU's start, then times out. `-v` shows the QEMU command line, `-q` only the
/// error, and the timeout exits 4, not 3.
#[test]
fn image_build_that_times_out_exits_4_and_shows_qemu_with_verbose() {
    let dir = Scratch::new("timeout");
    let tree = esxi_tree(
        &dir,
        BOOT_CFG,
        "PROMPT 1\nTIMEOUT 0\nDEFAULT show\nLABEL show\n  COM32 cat.c32\n",
    );
    mkiso(&tree, &dir.path("esxi.iso"), "ESXI-8.0U3", &[]);
    let hash = "$6$maasesxi$sHM0QxzFu35uKTjPicW6I0aPfDytON7KUEzVVmW3BZpyr/8wolzpT0ZDcsR6iuzzH2Nv6w3qQKEBHjDIqNWBF1";
    let command = |flag: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_maas-esxi"));
        command
            .args([
                flag,
                "image",
                "build",
                "--iso",
                "esxi.iso",
                "--accel",
                "tcg",
                "--timeout",
                "3s",
                "--cpus",
                "2",
                "--root-password-hash",
                hash,
                "--out",
                "esxi.dd.gz",
            ])
            .current_dir(&dir.0)
            .stdin(Stdio::null());
        command
    };
    let build = |flag: &str| {
        let out = command(flag).output().expect("maas-esxi runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).replace(s(&dir.0), "$DIR"),
        )
    };
    let (status, verbose) = build("-v");
    assert_eq!(status, Some(4), "{verbose}");
    assert!(
        verbose.contains("qemu-system-x86_64 \\\n  -name maas-esxi-build \\\n")
            && verbose.contains("QEMU command line:\n/"),
        "{verbose}"
    );
    assert!(
        verbose.contains("boot options: written into the ISO copy\n"),
        "{verbose}"
    );
    assert!(
        verbose.contains(
            "error: the build failed while installing ESXi: the installation did not finish within \
             --timeout 0:00:03"
        ),
        "{verbose}"
    );
    let (status, quiet) = build("-q");
    assert_eq!(status, Some(4), "{quiet}");
    assert!(
        quiet.starts_with(
            "warning: --accel tcg: the installation is emulated, many times slower than with KVM; it \
             has --timeout 0:00:03\nerror: the build failed while installing ESXi: "
        ),
        "warnings and the error only:\n{quiet}"
    );
    assert!(!dir.path("esxi.dd.gz").exists());

    // On a terminal that reports no width, the live status shows the clock, the phase and the bytes.
    let (controller, terminal) = crate::pty(0);
    let mut child = command("--quiet")
        .arg("--verbose")
        .stdout(Stdio::null())
        .stderr(terminal)
        .spawn()
        .expect("maas-esxi runs");
    let shown = crate::read_pty(controller);
    assert_eq!(
        child.wait().expect("maas-esxi ends").code(),
        Some(2),
        "-q and -v conflict: {shown}"
    );
    let (controller, terminal) = crate::pty(0);
    let mut child = command("--verbose")
        .stdout(Stdio::null())
        .stderr(terminal)
        .spawn()
        .expect("maas-esxi runs");
    let shown = crate::read_pty(controller);
    assert_eq!(
        child.wait().expect("maas-esxi ends").code(),
        Some(4),
        "{shown}"
    );
    assert!(shown.contains("[00:00:0"), "the elapsed time:\n{shown}");
    assert!(shown.contains("installing ESXi, "), "the phase:\n{shown}");
    assert!(shown.contains(" written ("), "bytes and rate:\n{shown}");
    assert!(!shown.contains("[0:00:0"), "no plain lines:\n{shown}");
}
