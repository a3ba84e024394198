//! `maas-esxi image finalize` on synthetic ESXi 6.7 and 7.0+ disks: the gzip stream (gzip, zcat, flate2),
//! bytes outside partition 6, output independent of the thread count, partition 6 under fsck.fat and mtools,
//! the hook wrapper, and the failures (no space, no GPT, no FAT, no output directory).
//!
//! Disks are built by the shared test module `disk`. Needs dosfstools, mtools and gzip.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::disk::{Disk, Layout, MIB, Release, noise, run, same_bytes, text};

/// The partition finalize writes into.
const P6: u32 = 6;

/// ESXi 7.0+ with 64 MiB bootbanks, 2 GiB of which a few MiB are data.
const SPARSE: Layout = Layout {
    release: Release::Esxi7,
    len: 2 << 30,
    p1: 100 * MIB,
    bootbank: 64 * MIB,
    bootbank_fat: Some("16"),
    osdata: 256 * MIB,
    dense: false,
};

/// The same partitions, smaller (gzip and zcat take a second per 200 MiB), every byte allocated.
const DENSE: Layout = Layout {
    len: 64 * MIB,
    p1: 16 * MIB,
    bootbank: 8 * MIB,
    osdata: 8 * MIB,
    dense: true,
    ..SPARSE
};

/// Bootbanks of 4 MiB, too small for the binaries of the tests that fail.
const SMALL: Layout = Layout {
    len: 64 * MIB,
    p1: 4 * MIB,
    bootbank: 4 * MIB,
    osdata: 8 * MIB,
    ..SPARSE
};

/// A test's scratch directory with its disk.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
    pub disk: Disk,
}

impl Scratch {
    /// A directory holding `disk.img` built with `layout`.
    pub fn new(layout: Layout) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("maas-esxi-finalize-")
            .tempdir()
            .expect("temporary directory");
        let disk = Disk::build(&dir.path().join("disk.img"), layout);
        Scratch { dir, disk }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn disk(&self) -> PathBuf {
        self.disk.path.clone()
    }

    /// A copy of the disk under `name`, with the same holes.
    pub fn copy_disk(&self, name: &str) -> Disk {
        self.disk.copy_to(&self.path(name))
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a scratch file");
        path
    }

    /// Names in the scratch directory, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("list scratch directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn finalize(disk: &Path, out: &Path, binary: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .args(["image", "finalize", "--raw"])
        .arg(disk)
        .arg("--out")
        .arg(out)
        .arg("--binary")
        .arg(binary)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("maas-esxi runs")
}

fn finalize_ok(disk: &Path, out: &Path, binary: &Path, extra: &[&str]) {
    let result = finalize(disk, out, binary, extra);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "finalize failed:\n{stderr}");
    assert!(result.stdout.is_empty(), "stdout is for artifacts only");
    assert!(
        stderr.contains("wrote curtin/curtin-hooks and curtin/maas-esxi"),
        "{stderr}"
    );
}

/// A file read from a position on, with its holes served as zeros without reading them: reading gigabytes
/// of holes is slow (the kernel fills the page cache with zero pages).
struct HoleAware {
    file: File,
    /// The allocated ranges, from `SEEK_DATA`/`SEEK_HOLE`.
    data: Vec<std::ops::Range<u64>>,
    pos: u64,
    len: u64,
}

impl HoleAware {
    fn open(path: &Path, from: u64) -> HoleAware {
        let file = File::open(path).expect("open");
        let len = file.metadata().expect("metadata").len();
        let mut data = Vec::new();
        let mut pos = 0;
        while pos < len {
            let start = match rustix::fs::seek(&file, rustix::fs::SeekFrom::Data(pos)) {
                Ok(start) => start,
                Err(rustix::io::Errno::NXIO) => break,
                Err(e) => panic!("SEEK_DATA on {}: {e}", path.display()),
            };
            let end =
                rustix::fs::seek(&file, rustix::fs::SeekFrom::Hole(start)).expect("SEEK_HOLE");
            data.push(start..end.min(len));
            pos = end;
        }
        HoleAware {
            file,
            data,
            pos: from,
            len,
        }
    }
}

impl Read for HoleAware {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.pos;
        let next = self.data.iter().find(|r| r.end > pos);
        let (n, hole) = match next {
            Some(r) if r.start <= pos => ((r.end - pos).min(buf.len() as u64) as usize, false),
            Some(r) => ((r.start - pos).min(buf.len() as u64) as usize, true),
            None => (
                (self.len.saturating_sub(pos)).min(buf.len() as u64) as usize,
                true,
            ),
        };
        if hole {
            buf[..n].copy_from_slice(&vec![0; n]);
        } else {
            self.file.read_exact_at(&mut buf[..n], pos)?;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads `stream` to its end and checks that it holds exactly the bytes of `disk`.
fn check_same_bytes(mut stream: impl Read, disk: &Path) {
    let mut disk = HoleAware::open(disk, 0);
    let (mut want, mut got) = (vec![0; MIB as usize], vec![0; MIB as usize]);
    let mut at = 0u64;
    loop {
        let n = disk.read(&mut want).expect("read disk");
        stream
            .read_exact(&mut got[..n])
            .expect("the stream is as long as the disk");
        assert!(
            want[..n] == got[..n],
            "the stream differs from the disk at byte {at}"
        );
        if n == 0 {
            break;
        }
        at += n as u64;
    }
    assert_eq!(
        stream.read(&mut got).expect("end of stream"),
        0,
        "the stream is longer than the disk"
    );
}

/// `zcat GZ | cmp - DISK`, with the comparison on this side of the pipe.
fn check_zcat(gz: &Path, disk: &Path) {
    let mut zcat = Command::new("zcat")
        .arg(gz)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("zcat runs");
    check_same_bytes(zcat.stdout.take().expect("piped stdout"), disk);
    assert!(zcat.wait().expect("zcat ends").success(), "zcat failed");
}

/// No byte of `disk` outside partition `number` differs from `pristine`, and partition `number` did change.
pub(crate) fn check_only_partition_changed(disk: &Disk, pristine: &Disk, number: u32) {
    let len = std::fs::metadata(&disk.path).expect("disk").len();
    assert_eq!(
        len,
        std::fs::metadata(&pristine.path).expect("pristine").len()
    );
    let range = disk.range(number);
    assert!(
        same_bytes(&disk.path, &pristine.path, 0..range.start),
        "bytes before partition {number} changed"
    );
    assert!(
        same_bytes(&disk.path, &pristine.path, range.end..len),
        "bytes after partition {number} changed"
    );
    assert!(
        !same_bytes(&disk.path, &pristine.path, range),
        "partition {number} did not change"
    );
}

/// fsck.fat finds nothing to fix in partition 6 of `disk`.
fn check_fsck_clean(disk: &Disk) {
    if let Err(report) = disk.fsck(P6) {
        panic!("fsck.fat -n found problems in partition 6:\n{report}");
    }
}

/// Partition 6 holds `curtin/` with the wrapper and exactly `binary`, besides the file it had; no other
/// partition has a `curtin/`.
fn check_mtools(disk: &Disk, binary: &[u8]) {
    assert_eq!(
        disk.with_curtin_dir(),
        [P6],
        "only partition 6 holds curtin/"
    );
    assert_eq!(disk.root(P6), ["boot.cfg", "curtin/"]);
    assert_eq!(
        String::from_utf8_lossy(&disk.read(P6, "curtin/curtin-hooks")),
        maas_esxi::image::finalize::HOOK_SCRIPT
    );
    assert!(
        disk.read(P6, "curtin/maas-esxi") == binary,
        "maas-esxi differs"
    );
}

/// The whole gzip stream decodes, with flate2, to the bytes of `disk`, in one member.
fn check_decodes_to(gz: &Path, disk: &Path) {
    let mut decoder =
        flate2::read::GzDecoder::new(std::io::BufReader::new(File::open(gz).expect("open gz")));
    check_same_bytes(&mut decoder, disk);
    let mut rest = Vec::new();
    decoder
        .into_inner()
        .read_to_end(&mut rest)
        .expect("read the rest");
    assert!(rest.is_empty(), "bytes after the single gzip member");
}

#[test]
fn sparse_disk_round_trips_and_does_not_depend_on_threads() {
    let s = Scratch::new(SPARSE);
    let allocated = std::fs::metadata(s.disk()).expect("disk").blocks() * 512;
    assert!(
        allocated < SPARSE.len / 8,
        "the scratch file system did not keep the disk sparse"
    );
    let pristine = s.copy_disk("pristine.img");
    let twin = s.copy_disk("twin.img");
    let binary = noise(3 * MIB as usize, 7);
    let binary_path = s.file("maas-esxi", &binary);

    finalize_ok(
        &s.disk(),
        &s.path("one.dd.gz"),
        &binary_path,
        &["--threads", "1"],
    );
    finalize_ok(
        &twin.path,
        &s.path("three.dd.gz"),
        &binary_path,
        &["--threads", "3"],
    );

    let one = std::fs::read(s.path("one.dd.gz")).expect("output");
    assert!(
        one == std::fs::read(s.path("three.dd.gz")).expect("output"),
        "1 and 3 threads differ"
    );
    assert!(
        one.len() < 20 * MIB as usize,
        "holes were compressed: {} bytes",
        one.len()
    );
    check_decodes_to(&s.path("one.dd.gz"), &s.disk());
    check_only_partition_changed(&s.disk, &pristine, P6);
    check_fsck_clean(&s.disk);
    check_mtools(&s.disk, &binary);
}

#[test]
fn an_esxi_67_disk_gets_curtin_into_its_250_mib_partition_6() {
    let s = Scratch::new(Layout::ESXI_67);
    let pristine = s.copy_disk("pristine.img");
    let binary = noise(5 * MIB as usize, 12);
    let binary_path = s.file("maas-esxi", &binary);
    finalize_ok(&s.disk(), &s.path("esxi.dd.gz"), &binary_path, &[]);
    check_only_partition_changed(&s.disk, &pristine, P6);
    check_fsck_clean(&s.disk);
    check_mtools(&s.disk, &binary);
}

#[test]
fn dense_disk_passes_gzip_zcat_fsck_and_mtools_and_can_be_finalized_again() {
    let s = Scratch::new(DENSE);
    let allocated = std::fs::metadata(s.disk()).expect("disk").blocks() * 512;
    assert!(allocated >= DENSE.len, "the disk is not dense");
    let pristine = s.copy_disk("pristine.img");
    let twin = s.copy_disk("twin.img");
    let binary = noise(3 * MIB as usize, 8);
    let binary_path = s.file("maas-esxi", &binary);
    let out = s.path("esxi.dd.gz");

    finalize_ok(&s.disk(), &out, &binary_path, &["--threads", "3"]);
    finalize_ok(
        &twin.path,
        &s.path("twin.dd.gz"),
        &binary_path,
        &["--threads", "1"],
    );
    assert!(
        std::fs::read(&out).expect("output")
            == std::fs::read(s.path("twin.dd.gz")).expect("output"),
        "1 and 3 threads differ"
    );
    run(Command::new("gzip").arg("-t").arg(&out));
    check_zcat(&out, &s.disk());
    check_only_partition_changed(&s.disk, &pristine, P6);
    check_fsck_clean(&s.disk);
    check_mtools(&s.disk, &binary);

    // Again over the curtin/ of the first run, with a smaller binary.
    let smaller = text(100_000, 9);
    let smaller_path = s.file("maas-esxi", &smaller);
    finalize_ok(&s.disk(), &out, &smaller_path, &[]);
    check_zcat(&out, &s.disk());
    check_only_partition_changed(&s.disk, &pristine, P6);
    check_fsck_clean(&s.disk);
    check_mtools(&s.disk, &smaller);
}

#[test]
fn the_hook_runs_the_binary_next_to_it_with_arguments_and_environment() {
    let s = Scratch::new(SMALL);
    let fake = b"#!/bin/sh\nprintf '%s\\n' \"$@\" \"CONFIG=$CONFIG\" \"TARGET_MOUNT_POINT=$TARGET_MOUNT_POINT\"\n";
    let fake_path = s.file("fake-maas-esxi", fake);
    let result = finalize(&s.disk(), &s.path("esxi.dd.gz"), &fake_path, &[]);
    assert_eq!(result.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.starts_with(&format!(
            "warning: {} is not an x86-64 ELF executable\n",
            fake_path.display()
        )),
        "{stderr}"
    );

    // Copy the partition out as curtin mounts it, and run the hook from its own directory, by absolute path.
    let target = s.path("target");
    s.disk.copy_out(P6, &target);
    let curtin = target.join("curtin");
    for name in ["curtin-hooks", "maas-esxi"] {
        std::fs::set_permissions(curtin.join(name), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let output = run(Command::new(curtin.join("curtin-hooks"))
        .args(["one", "two words"])
        .env("CONFIG", "/tmp/config with space.json")
        .env("TARGET_MOUNT_POINT", "/tmp/target")
        .current_dir("/"));
    assert_eq!(
        String::from_utf8_lossy(&output),
        "curtin-hook\none\ntwo words\nCONFIG=/tmp/config with space.json\nTARGET_MOUNT_POINT=/tmp/target\n"
    );
}

#[test]
fn a_binary_too_big_for_partition_6_fails_and_changes_nothing() {
    let s = Scratch::new(SMALL);
    let pristine = s.copy_disk("pristine.img");
    let binary_path = s.file("maas-esxi", &noise(5 * MIB as usize, 10));
    let result = finalize(&s.disk(), &s.path("esxi.dd.gz"), &binary_path, &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(3), "{stderr}");
    let (warning, error) = stderr.split_once('\n').expect("two lines");
    assert_eq!(
        warning,
        format!(
            "warning: {} is not an x86-64 ELF executable",
            binary_path.display()
        )
    );
    assert!(
        error.starts_with(&format!(
            "error: not enough space in partition 6 of {}: curtin/ needs 5.0 MiB but ",
            s.disk().display()
        )),
        "{stderr}"
    );
    assert!(
        error.ends_with(
            " are free (partition 6 is 250 MB on ESXi 6.7, 500 MB to 4 GB on 7.0 and later; see the README \
             for the small static build of maas-esxi)\n"
        ),
        "{stderr}"
    );
    assert_eq!(
        s.listing(),
        ["disk.img", "maas-esxi", "pristine.img"],
        "no output, no temporary file"
    );
    assert!(
        same_bytes(&s.disk(), &pristine.path, 0..SMALL.len),
        "the disk changed"
    );
}

#[test]
fn a_disk_without_gpt_fails_clearly() {
    let s = tempfile::tempdir().expect("temporary directory");
    let disk = s.path().join("blank.img");
    File::create(&disk)
        .and_then(|f| f.set_len(8 * MIB))
        .expect("blank disk");
    let result = finalize(&disk, &s.path().join("esxi.dd.gz"), &disk, &[]);
    assert_eq!(result.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&result.stderr),
        format!(
            "warning: {0} is not an x86-64 ELF executable\nerror: reading GPT of {0}: no GPT: no \"EFI PART\" \
             header for 512- or 4096-byte sectors at the start or the end\n",
            disk.display()
        )
    );
    assert!(!s.path().join("esxi.dd.gz").exists());
}

#[test]
fn a_partition_6_without_fat_fails_clearly() {
    let s = Scratch::new(Layout {
        bootbank_fat: None,
        ..SMALL
    });
    let binary_path = s.file("maas-esxi", b"#!/bin/sh\n");
    let result = finalize(&s.disk(), &s.path("esxi.dd.gz"), &binary_path, &[]);
    assert_eq!(result.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.ends_with(&format!(
            "error: partition 6 of {} is not a FAT file system: Invalid boot sector signature\n",
            s.disk().display()
        )),
        "{stderr}"
    );
    assert_eq!(s.listing(), ["disk.img", "maas-esxi"]);
}

#[test]
fn a_missing_output_directory_fails_before_the_disk_changes() {
    let s = Scratch::new(SMALL);
    let pristine = s.copy_disk("pristine.img");
    let binary_path = s.file("maas-esxi", b"#!/bin/sh\n");
    let result = finalize(&s.disk(), &s.path("missing/esxi.dd.gz"), &binary_path, &[]);
    assert_eq!(result.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!(
            "error: image finalize cannot start:\n  - {}, the directory of --out, does not exist",
            s.path("missing").display()
        )),
        "{stderr}"
    );
    assert!(
        same_bytes(&s.disk(), &pristine.path, 0..SMALL.len),
        "the disk changed"
    );
}

#[test]
fn a_fat32_partition_6_stays_fsck_clean() {
    let s = Scratch::new(Layout {
        len: 256 * MIB,
        bootbank: 64 * MIB,
        bootbank_fat: Some("32"),
        ..SMALL
    });
    let pristine = s.copy_disk("pristine.img");
    let binary = noise(MIB as usize, 11);
    let binary_path = s.file("maas-esxi", &binary);
    finalize_ok(&s.disk(), &s.path("esxi.dd.gz"), &binary_path, &[]);
    check_decodes_to(&s.path("esxi.dd.gz"), &s.disk());
    check_only_partition_changed(&s.disk, &pristine, P6);
    check_fsck_clean(&s.disk);
    check_mtools(&s.disk, &binary);
}

#[test]
fn a_directory_as_out_and_a_dynamic_binary_are_refused_before_anything_is_written() {
    let s = Scratch::new(SMALL);
    let pristine = s.copy_disk("pristine.img");
    std::fs::create_dir(s.path("images")).expect("a directory");
    let binary_path = s.file("maas-esxi", &crate::dynamic_elf());
    let result = finalize(&s.disk(), &s.path("images"), &binary_path, &[]);
    let dir = s.dir.path().display().to_string();
    assert_eq!(result.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&result.stderr).replace(&dir, "$S"),
        "error: image finalize cannot start:\n  \
         - --out $S/images is a directory; name the image file, e.g. --out $S/images/vmware-esxi.dd.gz\n  \
         - $S/maas-esxi is dynamically linked: in MAAS's ephemeral Ubuntu it runs only if that system's \
         C library is as new as this host's, else the deployment fails; install the static build in the \
         maas-esxi source directory with `cargo install --locked --path .`, or give one with --binary\n"
    );
    assert!(
        same_bytes(&s.disk(), &pristine.path, 0..SMALL.len),
        "the disk changed"
    );
    assert!(
        std::fs::read_dir(s.path("images"))
            .expect("listing")
            .next()
            .is_none(),
        "nothing was written into the directory"
    );
}

#[test]
fn quiet_prints_nothing_and_verbose_prints_each_step() {
    use maas_esxi::image::finalize::PARTITION;
    let s = Scratch::new(SMALL);
    let binary_path = s.file("maas-esxi", &noise(MIB as usize, 12));
    let quiet = finalize(&s.disk(), &s.path("q.dd.gz"), &binary_path, &["-q"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        format!(
            "warning: {} is not an x86-64 ELF executable\n",
            binary_path.display()
        ),
        "warnings only"
    );
    let verbose = finalize(&s.disk(), &s.path("v.dd.gz"), &binary_path, &["-v"]);
    assert_eq!(verbose.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    for step in [
        format!("binary: {} (1.0 MiB)", binary_path.display()),
        format!("partition {PARTITION} of {}: bytes ", s.disk().display()),
        format!("wrote curtin/curtin-hooks and curtin/maas-esxi into partition {PARTITION} (FAT"),
        "compressing into ".to_string(),
        format!("compressing {}: 100% of 64 MiB\n", s.disk().display()),
        "renamed ".to_string(),
    ] {
        assert!(stderr.contains(&step), "{step:?} in:\n{stderr}");
    }
}

#[test]
fn progress_on_a_terminal_shows_a_bar_and_survives_zero_columns() {
    let s = Scratch::new(SMALL);
    let binary_path = s.file("maas-esxi", &noise(MIB as usize, 13));
    for columns in [0, 100] {
        let (controller, terminal) = crate::pty(columns);
        let mut child = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
            .args(["image", "finalize", "--raw"])
            .arg(s.disk())
            .arg("--out")
            .arg(s.path("t.dd.gz"))
            .arg("--binary")
            .arg(&binary_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(terminal)
            .spawn()
            .expect("maas-esxi runs");
        let shown = crate::read_pty(controller);
        let status = child.wait().expect("maas-esxi finishes");
        assert!(status.success(), "{columns} columns: {status}\n{shown}");
        assert!(
            shown.contains(&format!("compressing {} [", s.disk().display())),
            "a bar at {columns} columns:\n{shown}"
        );
        assert!(
            shown.contains("MiB/s"),
            "a rate at {columns} columns:\n{shown}"
        );
        assert!(
            !shown.contains("% of"),
            "no plain lines on a terminal:\n{shown}"
        );
        assert!(shown.contains("wrote curtin/curtin-hooks"), "{shown}");
    }
}
