//! `maas-esxi image finalize` on synthetic ESXi 7.0+ disks: the gzip stream (gzip, zcat, flate2), bytes
//! outside partition 1, output independent of the thread count, partition 1 under fsck.fat and mtools, the
//! hook wrapper, and the failures (no space, no GPT, no FAT, no output directory).
//!
//! Disks are built here: the GPT with gptman, partition 1 formatted by mkfs.fat (dosfstools), data written
//! at fixed offsets. Needs dosfstools, mtools and gzip.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SECTOR: u64 = 512;
const MIB: u64 = 1 << 20;

/// Partition type GUIDs of an ESXi 7.0+ boot disk.
const EFI_SYSTEM: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const BASIC_DATA: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
const VMFS_L: &str = "4EB2EA39-7855-4790-A79E-FAE495E10F36";
const VMFS: &str = "AA31E02A-400F-11DB-9590-000C2911D1B8";

/// The shape of a synthetic ESXi disk.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Logical size of the disk.
    len: u64,
    /// Size of partition 1 (it starts at sector 64, as on ESXi).
    p1: u64,
    /// `mkfs.fat -F` argument for partition 1, or `None` to leave it unformatted.
    fat: Option<&'static str>,
    /// Sizes of the bootbanks (5, 6) and of the VMFS-L partition (7); 8 takes the rest.
    bootbank: u64,
    osdata: u64,
    /// Write every byte (zeros included) instead of leaving holes.
    dense: bool,
}

/// ESXi 7.0+ with a 100 MiB FAT16 partition 1, 2 GiB of which a few MiB are data.
const SPARSE: Layout = Layout {
    len: 2 << 30,
    p1: 100 * MIB,
    fat: Some("16"),
    bootbank: 64 * MIB,
    osdata: 256 * MIB,
    dense: false,
};

/// The same partitions, smaller (gzip and zcat take a second per 200 MiB), every byte allocated.
const DENSE: Layout = Layout {
    len: 64 * MIB,
    p1: 32 * MIB,
    fat: Some("16"),
    bootbank: 8 * MIB,
    osdata: 8 * MIB,
    dense: true,
};

/// ESXi 6.x's 4 MiB partition 1.
const SMALL: Layout = Layout {
    len: 64 * MIB,
    p1: 4 * MIB,
    fat: Some("16"),
    bootbank: 8 * MIB,
    osdata: 8 * MIB,
    dense: false,
};

/// A test's scratch directory with its disk.
struct Scratch {
    dir: tempfile::TempDir,
    layout: Layout,
    /// Byte range of partition 1.
    p1: std::ops::Range<u64>,
}

impl Scratch {
    /// A directory holding `disk.img` built with `layout`.
    fn new(layout: Layout) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("maas-esxi-finalize-")
            .tempdir()
            .expect("temporary directory");
        let p1 = build_disk(&dir.path().join("disk.img"), layout);
        Scratch { dir, layout, p1 }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn disk(&self) -> PathBuf {
        self.path("disk.img")
    }

    /// A copy of the disk under `name`, with the same holes.
    fn copy_disk(&self, name: &str) -> PathBuf {
        let to = self.path(name);
        let sparse = if self.layout.dense {
            "--sparse=never"
        } else {
            "--sparse=always"
        };
        run(Command::new("cp").arg(sparse).arg(self.disk()).arg(&to));
        to
    }

    /// Writes `bytes` to `name` and returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a scratch file");
        path
    }

    /// The mtools image argument for partition 1 of `disk`.
    fn mtools_image(&self, disk: &Path) -> String {
        format!("{}@@{}", disk.display(), self.p1.start)
    }

    /// Partition 1 of `disk`, extracted into its own file.
    fn extract_p1(&self, disk: &Path) -> PathBuf {
        let mut bytes = vec![0; (self.p1.end - self.p1.start) as usize];
        File::open(disk)
            .expect("open disk")
            .read_exact_at(&mut bytes, self.p1.start)
            .expect("read partition 1");
        self.file("p1.img", &bytes)
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

/// Builds an ESXi-like disk; returns partition 1's byte range.
fn build_disk(path: &Path, layout: Layout) -> std::ops::Range<u64> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .expect("create disk");
    if layout.dense {
        let zeros = vec![0; MIB as usize];
        for _ in 0..layout.len / MIB {
            file.write_all(&zeros).expect("write zeros");
        }
    }
    file.set_len(layout.len).expect("set disk size");

    let sectors = |bytes: u64| bytes / SECTOR;
    let p1_start = 64;
    let p1_end = p1_start + sectors(layout.p1) - 1;
    let p5_start = (p1_end + 1 + 4095) / 2048 * 2048;
    let p5_end = p5_start + sectors(layout.bootbank) - 1;
    let p6_end = p5_end + sectors(layout.bootbank);
    let p7_end = p6_end + sectors(layout.osdata);
    let mut gpt = gptman::GPT::new_from(
        &mut file,
        SECTOR,
        guid("D15C0000-0000-4000-8000-00000000E5C1"),
    )
    .expect("new GPT");
    let p8_end = gpt.header.last_usable_lba;
    let partitions = [
        (1, EFI_SYSTEM, p1_start, p1_end),
        (5, BASIC_DATA, p5_start, p5_end),
        (6, BASIC_DATA, p5_end + 1, p6_end),
        (7, VMFS_L, p6_end + 1, p7_end),
        (8, VMFS, p7_end + 1, p8_end),
    ];
    for (number, kind, start, end) in partitions {
        gpt[number] = gptman::GPTPartitionEntry {
            partition_type_guid: guid(kind),
            unique_partition_guid: guid(&format!("00000000-0000-4000-8000-0000000000{number:02}")),
            starting_lba: start,
            ending_lba: end,
            attribute_bits: 0,
            partition_name: "".into(),
        };
    }
    gpt.write_into(&mut file).expect("write GPT");
    gptman::GPT::write_protective_mbr_into(&mut file, SECTOR).expect("write protective MBR");
    drop(file);

    if let Some(fat) = layout.fat {
        let mut mkfs = Command::new(tool("mkfs.fat"));
        mkfs.args(["-F", fat, "-i", "1dd06b51", "-n", "BOOT", "--offset", "64"]);
        // One sector per cluster gives FAT16 enough clusters on 4 MiB, and FAT32 on 64 MiB.
        if fat == "32" || layout.p1 < 32 * MIB {
            mkfs.args(["-s", "1"]);
        }
        run(mkfs.arg(path).arg((layout.p1 / 1024).to_string()));
    }

    // Data in partitions 5 to 8, some near the end of the disk: text and noise.
    let byte = |sector: u64| sector * SECTOR;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open disk");
    let writes = [
        (byte(p5_start), text(MIB as usize, 1)),
        (byte(p5_end + 1) + 12_345, noise(512 << 10, 2)),
        (byte(p6_end + 1) + MIB, noise(2 * MIB as usize, 3)),
        (byte(p6_end + 1) + 3 * MIB + 100, text(700_000, 4)),
        (byte(p7_end + 1) + MIB / 2, text(3 * MIB as usize / 2, 5)),
        (byte(p8_end) - 3 * MIB, noise(MIB as usize + 999, 6)),
    ];
    for (at, bytes) in writes {
        file.write_all_at(&bytes, at).expect("write data");
    }
    byte(p1_start)..byte(p1_end + 1)
}

/// A GUID in its text form as the 16 bytes of a GPT (first three fields little-endian).
fn guid(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .split('-')
        .flat_map(|field| {
            (0..field.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&field[i..i + 2], 16).expect("hex"))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&hex);
    bytes[0..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    bytes
}

/// Deterministic bytes that deflate does not shrink.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Text that deflate shrinks, but not to nothing.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 80);
    let mut i = seed;
    while out.len() < len {
        let line = format!(
            "esxcli network vswitch standard portgroup add --portgroup-name=pg{} --vswitch-name=vSwitch{} # {}\n",
            i % 97,
            i % 5,
            i * 7919 % 100_003
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// A system tool, also found in the sbin directories a non-root PATH may lack.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (packages dosfstools, mtools, gzip)"))
}

/// Runs a command that must succeed; returns its stdout.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.stdin(Stdio::null()).output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
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

/// Whether files `a` and `b` are equal in `range`.
fn cmp_range(a: &Path, b: &Path, range: std::ops::Range<u64>) -> bool {
    let (mut a, mut b) = (
        HoleAware::open(a, range.start),
        HoleAware::open(b, range.start),
    );
    let (mut x, mut y) = (vec![0; 4 * MIB as usize], vec![0; 4 * MIB as usize]);
    let mut at = range.start;
    while at < range.end {
        let n = (range.end - at).min(4 * MIB) as usize;
        a.read_exact(&mut x[..n]).expect("read");
        b.read_exact(&mut y[..n]).expect("read");
        if x[..n] != y[..n] {
            return false;
        }
        at += n as u64;
    }
    true
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

/// No byte of `disk` outside partition 1 differs from `pristine`.
fn check_outside_p1_unchanged(scratch: &Scratch, disk: &Path, pristine: &Path) {
    let len = std::fs::metadata(disk).expect("disk").len();
    assert_eq!(len, std::fs::metadata(pristine).expect("pristine").len());
    assert!(
        cmp_range(disk, pristine, 0..scratch.p1.start),
        "bytes before partition 1 changed"
    );
    assert!(
        cmp_range(disk, pristine, scratch.p1.end..len),
        "bytes after partition 1 changed"
    );
    assert!(
        !cmp_range(disk, pristine, scratch.p1.clone()),
        "partition 1 did not change"
    );
}

/// fsck.fat finds nothing to fix in partition 1 of `disk`.
fn check_fsck_clean(scratch: &Scratch, disk: &Path) {
    let p1 = scratch.extract_p1(disk);
    let out = Command::new(tool("fsck.fat"))
        .arg("-n")
        .arg(&p1)
        .output()
        .expect("fsck.fat runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "fsck.fat -n found problems:\n{report}"
    );
    std::fs::remove_file(p1).expect("remove extracted partition");
}

/// mdir lists both files and mtype gives back exactly what was written: the wrapper and `binary`.
fn check_mtools(scratch: &Scratch, disk: &Path, binary: &[u8]) {
    let image = scratch.mtools_image(disk);
    let mtool = |name: &str, path: &str| {
        run(Command::new(tool(name))
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-i", &image, path]))
    };
    let listing = String::from_utf8_lossy(&mtool("mdir", "::curtin")).into_owned();
    assert!(listing.contains(" curtin-hooks\n"), "{listing}");
    assert!(listing.contains(" maas-esxi\n"), "{listing}");
    assert_eq!(
        String::from_utf8_lossy(&mtool("mtype", "::curtin/curtin-hooks")),
        maas_esxi::image::finalize::HOOK_SCRIPT
    );
    assert!(
        mtool("mtype", "::curtin/maas-esxi") == binary,
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
        &twin,
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
    check_outside_p1_unchanged(&s, &s.disk(), &pristine);
    check_fsck_clean(&s, &s.disk());
    check_mtools(&s, &s.disk(), &binary);
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
        &twin,
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
    check_outside_p1_unchanged(&s, &s.disk(), &pristine);
    check_fsck_clean(&s, &s.disk());
    check_mtools(&s, &s.disk(), &binary);

    // Again over the curtin/ of the first run, with a smaller binary.
    let smaller = text(100_000, 9);
    let smaller_path = s.file("maas-esxi", &smaller);
    finalize_ok(&s.disk(), &out, &smaller_path, &[]);
    check_zcat(&out, &s.disk());
    check_outside_p1_unchanged(&s, &s.disk(), &pristine);
    check_fsck_clean(&s, &s.disk());
    check_mtools(&s, &s.disk(), &smaller);
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

    // Copy curtin/ out as curtin runs it: from its own directory, by absolute path.
    let curtin = s.path("target/curtin");
    std::fs::create_dir_all(&curtin).expect("mkdir");
    for name in ["curtin-hooks", "maas-esxi"] {
        let to = curtin.join(name);
        run(Command::new(tool("mcopy"))
            .env("MTOOLS_SKIP_CHECK", "1")
            .args([
                "-n",
                "-i",
                &s.mtools_image(&s.disk()),
                &format!("::curtin/{name}"),
            ])
            .arg(&to));
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
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
fn a_binary_too_big_for_a_4_mib_partition_1_fails_and_changes_nothing() {
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
            "error: not enough space in partition 1 of {}: curtin/ needs 5.0 MiB but ",
            s.disk().display()
        )),
        "{stderr}"
    );
    assert!(
        error.ends_with(
            " are free (ESXi 6.x has a 4 MB partition 1, 7.0 and later 100 MB; see the README for the small \
             static build of maas-esxi)\n"
        ),
        "{stderr}"
    );
    assert_eq!(
        s.listing(),
        ["disk.img", "maas-esxi", "pristine.img"],
        "no output, no temporary file"
    );
    assert!(
        cmp_range(&s.disk(), &pristine, 0..SMALL.len),
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
fn a_partition_1_without_fat_fails_clearly() {
    let s = Scratch::new(Layout { fat: None, ..SMALL });
    let binary_path = s.file("maas-esxi", b"#!/bin/sh\n");
    let result = finalize(&s.disk(), &s.path("esxi.dd.gz"), &binary_path, &[]);
    assert_eq!(result.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.ends_with(&format!(
            "error: partition 1 of {} is not a FAT file system: Invalid boot sector signature\n",
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
        cmp_range(&s.disk(), &pristine, 0..SMALL.len),
        "the disk changed"
    );
}

#[test]
fn a_fat32_partition_1_stays_fsck_clean() {
    let s = Scratch::new(Layout {
        len: 128 * MIB,
        p1: 64 * MIB,
        fat: Some("32"),
        ..SMALL
    });
    let pristine = s.copy_disk("pristine.img");
    let binary = noise(MIB as usize, 11);
    let binary_path = s.file("maas-esxi", &binary);
    finalize_ok(&s.disk(), &s.path("esxi.dd.gz"), &binary_path, &[]);
    check_decodes_to(&s.path("esxi.dd.gz"), &s.disk());
    check_outside_p1_unchanged(&s, &s.disk(), &pristine);
    check_fsck_clean(&s, &s.disk());
    check_mtools(&s, &s.disk(), &binary);
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
        cmp_range(&s.disk(), &pristine, 0..SMALL.len),
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
