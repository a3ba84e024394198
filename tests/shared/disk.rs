//! Synthetic ESXi boot disks, shared by the tests of `image finalize`, the curtin hook and the first boot: a
//! GPT laid out as the ESXi 6.7 or 7.0+ installer leaves it, its FAT partitions formatted by mkfs.fat
//! (dosfstools) and holding a file each, data at fixed offsets in the others; and mtools to look into a FAT
//! partition, copy it into a directory (what curtin's mount shows) and write the directory back (what the
//! kernel does when the mount goes away).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const SECTOR: u64 = 512;
pub const MIB: u64 = 1 << 20;

/// Partition type GUIDs of ESXi boot disks.
const EFI_SYSTEM: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const BASIC_DATA: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
const VMFS_L: &str = "4EB2EA39-7855-4790-A79E-FAE495E10F36";
const VMFS: &str = "AA31E02A-400F-11DB-9590-000C2911D1B8";
const VMKDIAG: &str = "9D275380-40AD-11DB-BF97-000C2911D1B8";

/// Which installer's partition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// 1 EFI (FAT16), then on disk 5 and 6 bootbanks (FAT16), 7 vmkDiagnostic 110 MiB, 8 store (FAT16)
    /// 286 MiB, 9 vmkDiagnostic 2.5 GiB, 2 scratch 4 GiB, 3 the datastore taking the rest.
    Esxi67,
    /// 1 EFI (FAT16), 5 and 6 bootbanks (FAT16), 7 OSDATA (VMFS-L), 8 the datastore taking the rest.
    Esxi7,
}

/// The shape of a synthetic ESXi disk.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub release: Release,
    /// Logical size of the disk.
    pub len: u64,
    /// Size of partition 1 (it starts at sector 64, as on ESXi).
    pub p1: u64,
    /// Size of each bootbank (5 and 6).
    pub bootbank: u64,
    /// `mkfs.fat -F` argument for the bootbanks, or `None` to leave them unformatted.
    pub bootbank_fat: Option<&'static str>,
    /// Size of OSDATA (partition 7 on 7.0+).
    pub osdata: u64,
    /// Write every byte (zeros included) instead of leaving holes.
    pub dense: bool,
}

impl Layout {
    /// ESXi 6.7 as its installer lays out a disk: 4 MiB partition 1, 250 MiB bootbanks.
    pub const ESXI_67: Layout = Layout {
        release: Release::Esxi67,
        len: 8 << 30,
        p1: 4 * MIB,
        bootbank: 250 * MIB,
        bootbank_fat: Some("16"),
        osdata: 0,
        dense: false,
    };

    /// ESXi 7.0 and later on small media: 100 MiB partition 1, 500 MiB bootbanks.
    pub const ESXI_7: Layout = Layout {
        release: Release::Esxi7,
        len: 4 << 30,
        p1: 100 * MIB,
        bootbank: 500 * MIB,
        bootbank_fat: Some("16"),
        osdata: 1 << 30,
        dense: false,
    };
}

/// A synthetic disk and where its partitions are.
#[derive(Clone, Debug)]
pub struct Disk {
    pub path: PathBuf,
    pub layout: Layout,
    /// Byte range of each partition, by number.
    pub parts: BTreeMap<u32, Range<u64>>,
    /// The FAT partitions.
    pub fat: Vec<u32>,
}

impl Disk {
    /// Builds a disk with `layout` at `path`, which must not exist. Its holes are where `cp --sparse`
    /// puts them, so that copies of it have the same holes (the gzip stream depends on them).
    pub fn build(path: &Path, layout: Layout) -> Disk {
        let built = path.with_extension("building");
        let disk = Disk::build_at(&built, layout);
        let disk = disk.copy_to(path);
        std::fs::remove_file(&built).expect("remove the disk being built");
        disk
    }

    fn build_at(path: &Path, layout: Layout) -> Disk {
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

        let mut gpt = gptman::GPT::new_from(
            &mut file,
            SECTOR,
            guid("D15C0000-0000-4000-8000-00000000E5C1"),
        )
        .expect("new GPT");
        let last = gpt.header.last_usable_lba;
        let sectors = |bytes: u64| bytes / SECTOR;
        // Partitions in the order they lie on the disk: (number, type, size in sectors or 0 for the rest, FAT).
        let bootbank_fat = layout.bootbank_fat;
        let order: Vec<(u32, &str, u64, Option<&str>)> = match layout.release {
            Release::Esxi67 => vec![
                (1, EFI_SYSTEM, sectors(layout.p1), Some("16")),
                (5, BASIC_DATA, sectors(layout.bootbank), bootbank_fat),
                (6, BASIC_DATA, sectors(layout.bootbank), bootbank_fat),
                (7, VMKDIAG, sectors(110 * MIB), None),
                (8, BASIC_DATA, sectors(286 * MIB), Some("16")),
                (9, VMKDIAG, sectors(2560 * MIB), None),
                (2, BASIC_DATA, sectors(4096 * MIB), None),
                (3, VMFS, 0, None),
            ],
            Release::Esxi7 => vec![
                (1, EFI_SYSTEM, sectors(layout.p1), Some("16")),
                (5, BASIC_DATA, sectors(layout.bootbank), bootbank_fat),
                (6, BASIC_DATA, sectors(layout.bootbank), bootbank_fat),
                (7, VMFS_L, sectors(layout.osdata), None),
                (8, VMFS, 0, None),
            ],
        };
        let mut parts = BTreeMap::new();
        let mut fat = Vec::new();
        let mut next: u64 = 64;
        for (number, kind, size, fs) in order {
            let start = if number == 1 {
                next
            } else {
                next.div_ceil(2048) * 2048
            };
            let end = if size == 0 { last } else { start + size - 1 };
            assert!(end <= last, "the layout does not fit the disk");
            gpt[number] = gptman::GPTPartitionEntry {
                partition_type_guid: guid(kind),
                unique_partition_guid: guid(&format!(
                    "00000000-0000-4000-8000-0000000000{number:02}"
                )),
                starting_lba: start,
                ending_lba: end,
                attribute_bits: 0,
                partition_name: "".into(),
            };
            parts.insert(number, start * SECTOR..(end + 1) * SECTOR);
            if let Some(fs) = fs {
                fat.push((number, fs));
            }
            next = end + 1;
        }
        gpt.write_into(&mut file).expect("write GPT");
        gptman::GPT::write_protective_mbr_into(&mut file, SECTOR).expect("write protective MBR");
        drop(file);

        let disk = Disk {
            path: path.to_path_buf(),
            layout,
            parts,
            fat: fat.iter().map(|(n, _)| *n).collect(),
        };
        for (number, fs) in fat {
            disk.format(number, fs);
        }
        disk.fill();
        disk
    }

    fn format(&self, number: u32, fs: &str) {
        let range = self.range(number);
        let len = range.end - range.start;
        let mut mkfs = Command::new(tool("mkfs.fat"));
        mkfs.args(["-F", fs, "-i", &format!("1dd06b{number:02}"), "-n", "ESXI"]);
        mkfs.args(["--offset", &(range.start / SECTOR).to_string()]);
        // One sector per cluster gives FAT16 enough clusters on small partitions, and FAT32 on 64 MiB.
        if fs == "32" || len < 32 * MIB {
            mkfs.args(["-s", "1"]);
        }
        run(mkfs.arg(&self.path).arg((len / 1024).to_string()));
    }

    /// A file in every FAT partition, data at fixed offsets in the others, some near the end of the disk.
    fn fill(&self) {
        let dir = self.path.with_extension("fill");
        std::fs::create_dir_all(&dir).expect("scratch directory");
        for &number in &self.fat {
            let name = match number {
                1 => "BOOTX64.EFI",
                6 => "boot.cfg",
                _ => "state.tgz",
            };
            let file = dir.join(name);
            std::fs::write(&file, noise(40_000 + number as usize, u64::from(number)))
                .expect("write a file for the partition");
            run(mtools("mcopy", &self.mtools_image(number))
                .arg(&file)
                .arg(format!("::{name}")));
        }
        std::fs::remove_dir_all(&dir).expect("remove scratch directory");
        let file = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .expect("open disk");
        for (&number, range) in &self.parts {
            if self.fat.contains(&number) {
                continue;
            }
            let len = range.end - range.start;
            let seed = u64::from(number);
            file.write_all_at(
                &text((MIB as usize).min(len as usize / 2), seed),
                range.start,
            )
            .expect("write data");
            if len > 4 * MIB {
                let tail = noise(MIB as usize + 999, seed + 10);
                file.write_all_at(&tail, range.end - 2 * MIB)
                    .expect("write data");
            }
        }
    }

    pub fn range(&self, number: u32) -> Range<u64> {
        self.parts
            .get(&number)
            .unwrap_or_else(|| panic!("the disk has no partition {number}"))
            .clone()
    }

    /// The mtools image argument for partition `number`.
    pub fn mtools_image(&self, number: u32) -> String {
        format!("{}@@{}", self.path.display(), self.range(number).start)
    }

    /// The same disk under another name, with the same holes.
    pub fn copy_to(&self, to: &Path) -> Disk {
        let sparse = if self.layout.dense {
            "--sparse=never"
        } else {
            "--sparse=always"
        };
        run(Command::new("cp").arg(sparse).arg(&self.path).arg(to));
        Disk {
            path: to.to_path_buf(),
            ..self.clone()
        }
    }

    /// Names in the root directory of FAT partition `number`, directories with a trailing `/`, sorted.
    pub fn root(&self, number: u32) -> Vec<String> {
        let out = run(mtools("mdir", &self.mtools_image(number)).args(["-b", "::"]));
        let mut names: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .map(|l| l.trim_start_matches("::/").to_string())
            .collect();
        names.sort();
        names
    }

    /// The FAT partitions that have a `curtin/` directory: those curtin could take as its target.
    pub fn with_curtin_dir(&self) -> Vec<u32> {
        self.fat
            .iter()
            .copied()
            .filter(|&n| {
                self.root(n)
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case("curtin/"))
            })
            .collect()
    }

    /// The bytes of `path` (`dir/name`) in FAT partition `number`.
    pub fn read(&self, number: u32, path: &str) -> Vec<u8> {
        run(mtools("mtype", &self.mtools_image(number)).arg(format!("::{path}")))
    }

    /// Copies everything in FAT partition `number` into the directory `to`.
    pub fn copy_out(&self, number: u32, to: &Path) {
        std::fs::create_dir_all(to).expect("create the directory");
        if self.root(number).is_empty() {
            return;
        }
        run(mtools("mcopy", &self.mtools_image(number))
            .args(["-s", "-n", "::*"])
            .arg(to));
    }

    /// Makes FAT partition `number` hold exactly what the directory `from` holds.
    pub fn copy_in(&self, number: u32, from: &Path) {
        let image = self.mtools_image(number);
        for entry in self.root(number) {
            let (tool, name) = match entry.strip_suffix('/') {
                Some(dir) => ("mdeltree", dir),
                None => ("mdel", entry.as_str()),
            };
            run(mtools(tool, &image).arg(format!("::{name}")));
        }
        let entries: Vec<PathBuf> = std::fs::read_dir(from)
            .expect("read the directory")
            .map(|e| e.expect("entry").path())
            .collect();
        if !entries.is_empty() {
            run(mtools("mcopy", &image).arg("-s").args(&entries).arg("::"));
        }
    }

    /// `fsck.fat -n` on FAT partition `number`: what it reports, if anything is wrong.
    pub fn fsck(&self, number: u32) -> Result<(), String> {
        let copy = self.path.with_extension(format!("p{number}"));
        self.extract(number, &copy);
        let out = Command::new(tool("fsck.fat"))
            .arg("-n")
            .arg(&copy)
            .stdin(Stdio::null())
            .output()
            .expect("fsck.fat runs");
        std::fs::remove_file(&copy).expect("remove the extracted partition");
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Partition `number` in a file of its own, with holes where the disk has them (reading gigabytes of
    /// holes is slow: the kernel fills the page cache with zero pages).
    pub fn extract(&self, number: u32, to: &Path) {
        let range = self.range(number);
        let disk = File::open(&self.path).expect("open disk");
        let out = File::create(to).expect("create the partition file");
        out.set_len(range.end - range.start)
            .expect("size the partition file");
        let mut buf = vec![0; 4 * MIB as usize];
        for data in data_ranges(&disk, range) {
            let mut at = data.start;
            while at < data.end {
                let n = (data.end - at).min(buf.len() as u64) as usize;
                disk.read_exact_at(&mut buf[..n], at).expect("read disk");
                out.write_all_at(&buf[..n], at - self.range(number).start)
                    .expect("write the partition file");
                at += n as u64;
            }
        }
    }
}

/// The allocated parts of `file` within `within`, from `SEEK_DATA`/`SEEK_HOLE`.
pub fn data_ranges(file: &File, within: Range<u64>) -> Vec<Range<u64>> {
    let mut ranges = Vec::new();
    let mut pos = within.start;
    while pos < within.end {
        let start = match rustix::fs::seek(file, rustix::fs::SeekFrom::Data(pos)) {
            Ok(start) => start,
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => panic!("SEEK_DATA: {e}"),
        };
        if start >= within.end {
            break;
        }
        let end = rustix::fs::seek(file, rustix::fs::SeekFrom::Hole(start)).expect("SEEK_HOLE");
        ranges.push(start..end.min(within.end));
        pos = end;
    }
    ranges
}

/// Whether files `a` and `b` hold the same bytes in `range`, reading only where either has data.
pub fn same_bytes(a: &Path, b: &Path, range: Range<u64>) -> bool {
    let (a, b) = (
        File::open(a).expect("open a file to compare"),
        File::open(b).expect("open a file to compare"),
    );
    let mut spans = data_ranges(&a, range.clone());
    spans.extend(data_ranges(&b, range));
    spans.sort_by_key(|r| r.start);
    let (mut x, mut y) = (vec![0; 4 * MIB as usize], vec![0; 4 * MIB as usize]);
    let mut done = 0;
    for span in spans {
        let mut at = span.start.max(done);
        while at < span.end {
            let n = (span.end - at).min(x.len() as u64) as usize;
            let (xs, ys) = (read_at(&a, &mut x[..n], at), read_at(&b, &mut y[..n], at));
            if xs != ys {
                return false;
            }
            at += n as u64;
        }
        done = done.max(span.end);
    }
    true
}

/// Reads `buf.len()` bytes at `at`, zeros past the end of the file.
fn read_at<'b>(file: &File, buf: &'b mut [u8], at: u64) -> &'b [u8] {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => panic!("read: {e}"),
        }
    }
    buf[filled..].fill(0);
    buf
}

/// An mtools command on `image`, without its check of the drive's geometry.
pub fn mtools(name: &str, image: &str) -> Command {
    let mut cmd = Command::new(tool(name));
    cmd.env("MTOOLS_SKIP_CHECK", "1").args(["-i", image]);
    cmd
}

/// A GUID in its text form as the 16 bytes of a GPT (first three fields little-endian).
pub fn guid(text: &str) -> [u8; 16] {
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
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
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
pub fn text(len: usize, seed: u64) -> Vec<u8> {
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
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (packages dosfstools, mtools, gzip)"))
}

/// Runs a command that must succeed; returns its stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    run_output(cmd).stdout
}

/// Runs a command that must succeed, without input; returns what it printed.
pub fn run_output(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} runs: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
