//! Writing files into the `curtin/` directory of a FAT volume, with `fatfs`, and keeping the volume clean
//! for `fsck.fat`.
//!
//! `fatfs` 0.3.6 starts a new directory with a long-name entry before `.` and another before `..`, and
//! points `..` of a first-level directory at the root's cluster on FAT32. `fsck.fat` rejects both: the
//! first two entries of a directory must be the plain 8.3 entries `.` and `..`, and `..` of a first-level
//! directory holds cluster 0. So after `fatfs` has created `curtin/` and the volume is unmounted, this
//! module rewrites the directory's first four entries itself: `.` and `..` move to the first two slots
//! (with their own timestamps and attributes), the other two become deleted entries, which `fatfs` reuses
//! for the next file it adds. A directory that already starts with `.` and `..` keeps its layout.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use anyhow::{Context, bail};

/// The directory curtin looks for, and its 8.3 name.
pub const DIR: &str = "curtin";
const DIR_SHORT_NAME: &[u8; 11] = b"CURTIN     ";

/// One file to put into [`DIR`].
#[derive(Debug)]
pub struct NewFile<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// The volume before and after writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// `FAT12`, `FAT16` or `FAT32`.
    pub fat_type: &'static str,
    /// Free bytes before writing, not counting files of an earlier run that were replaced.
    pub free_before: u64,
    pub free_after: u64,
}

/// Writes `files` into [`DIR`] of the FAT volume at `range` of `disk`, replacing files of the same name.
/// Checks first that they fit; if they do not, nothing is written. `name` names the volume in messages.
pub fn write_files<D: Read + Write + Seek>(
    disk: &mut D,
    range: Range<u64>,
    files: &[NewFile<'_>],
    name: &str,
) -> anyhow::Result<Written> {
    let mut volume = fscommon::BufStream::new(
        fscommon::StreamSlice::new(&mut *disk, range.start, range.end)
            .with_context(|| format!("opening {name}"))?,
    );
    let (fat_type, cluster_size, free_before) = {
        let fs = fatfs::FileSystem::new(&mut volume, options())
            .with_context(|| format!("{name} is not a FAT file system"))?;
        let stats = fs
            .stats()
            .with_context(|| format!("reading the FAT of {name}"))?;
        let cluster_size = u64::from(stats.cluster_size());
        let free = u64::from(stats.free_clusters());
        let fat_type = match fs.fat_type() {
            fatfs::FatType::Fat12 => "FAT12",
            fatfs::FatType::Fat16 => "FAT16",
            fatfs::FatType::Fat32 => "FAT32",
        };
        make_room(&fs, files, cluster_size, free, name)?;
        fs.unmount().with_context(|| format!("writing {name}"))?;
        (fat_type, cluster_size, free * cluster_size)
    };
    volume.flush().with_context(|| format!("writing {name}"))?;
    fix_dot_entries(&mut volume)
        .with_context(|| format!("repairing the . and .. entries of {DIR}/ in {name}"))?;
    volume
        .flush()
        .and_then(|()| volume.seek(SeekFrom::Start(0)))
        .with_context(|| format!("writing {name}"))?;
    let free_after = {
        let fs = fatfs::FileSystem::new(&mut volume, options())
            .with_context(|| format!("mounting {name} again"))?;
        copy_files(&fs, files, name)?;
        let stats = fs
            .stats()
            .with_context(|| format!("reading the FAT of {name}"))?;
        fs.unmount().with_context(|| format!("writing {name}"))?;
        u64::from(stats.free_clusters()) * cluster_size
    };
    volume.flush().with_context(|| format!("writing {name}"))?;
    Ok(Written {
        fat_type,
        free_before,
        free_after,
    })
}

/// Whether the root of the FAT volume at `range` of `disk` has a directory `name`; the volume is only read.
pub fn has_dir<D: Read + Seek>(
    disk: &mut D,
    range: Range<u64>,
    name: &str,
) -> anyhow::Result<bool> {
    let volume = fscommon::StreamSlice::new(ReadOnly(disk), range.start, range.end)?;
    let fs = fatfs::FileSystem::new(volume, options()).context("not a FAT file system")?;
    let entry = find(&fs.root_dir(), name).context("reading the root directory")?;
    Ok(entry.is_some_and(|e| e.is_dir()))
}

/// A disk that refuses every write: what reads a FAT volume cannot change it.
struct ReadOnly<D>(D);

impl<D: Read> Read for ReadOnly<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<D: Seek> Seek for ReadOnly<D> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl<D> Write for ReadOnly<D> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "internal error, this is a bug: a write to a volume opened read-only",
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Checks that `files` fit into [`DIR`], counting the clusters of the files they replace as free, and
/// creates [`DIR`] if it is missing.
fn make_room<T: fatfs::ReadWriteSeek>(
    fs: &fatfs::FileSystem<T>,
    files: &[NewFile<'_>],
    cluster_size: u64,
    free: u64,
    name: &str,
) -> anyhow::Result<()> {
    let clusters = |len: u64| len.div_ceil(cluster_size);
    let root = fs.root_dir();
    let existing =
        find(&root, DIR).with_context(|| format!("reading the root directory of {name}"))?;
    let (reclaimed, new_dir) = match &existing {
        Some(entry) if entry.is_dir() => {
            let dir = entry.to_dir();
            let mut reclaimed = 0;
            for file in files {
                if let Some(old) =
                    find(&dir, file.name).with_context(|| format!("reading {DIR}/ in {name}"))?
                {
                    reclaimed += clusters(old.len());
                }
            }
            (reclaimed, 0)
        }
        Some(_) => bail!("{name} has a file named {DIR} where the {DIR}/ directory belongs"),
        None => (0, 1),
    };
    let needed: u64 = new_dir
        + files
            .iter()
            .map(|f| clusters(f.bytes.len() as u64))
            .sum::<u64>();
    if needed > free + reclaimed {
        bail!(
            "not enough space in {name}: {DIR}/ needs {} but only {} are free{} (partition 6 is 250 MB on ESXi \
             6.7, 500 MB to 4 GB on 7.0 and later; see the README for the small static build of maas-esxi)",
            super::size(needed * cluster_size),
            super::size((free + reclaimed) * cluster_size),
            if reclaimed > 0 {
                ", counting the files it replaces"
            } else {
                ""
            },
        );
    }
    if existing.is_none() {
        root.create_dir(DIR)
            .with_context(|| format!("creating {DIR}/ in {name}"))?;
    }
    Ok(())
}

/// Writes `files` into [`DIR`], truncating files of the same name first.
fn copy_files<T: fatfs::ReadWriteSeek>(
    fs: &fatfs::FileSystem<T>,
    files: &[NewFile<'_>],
    name: &str,
) -> anyhow::Result<()> {
    let dir = fs
        .root_dir()
        .open_dir(DIR)
        .with_context(|| format!("opening {DIR}/ in {name}"))?;
    for file in files {
        let path = format!("{DIR}/{}", file.name);
        let mut out = dir
            .create_file(file.name)
            .with_context(|| format!("creating {path} in {name}"))?;
        out.truncate()
            .and_then(|()| out.write_all(file.bytes))
            .and_then(|()| out.flush())
            .with_context(|| format!("writing {path} in {name}"))?;
    }
    Ok(())
}

/// Mount options: every entry is stamped 1980-01-01 00:00, the first valid FAT date, so the same inputs
/// give the same image bytes.
fn options() -> fatfs::FsOptions {
    fatfs::FsOptions::new().time_provider(&crate::image::media::usb::DOS_EPOCH)
}

/// The entry of `dir` named `name` (case-insensitive, as FAT names are), if any.
fn find<'a, T: fatfs::ReadWriteSeek>(
    dir: &fatfs::Dir<'a, T>,
    name: &str,
) -> io::Result<Option<fatfs::DirEntry<'a, T>>> {
    for entry in dir.iter() {
        let entry = entry?;
        if entry.file_name().eq_ignore_ascii_case(name) {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

const ENTRY: usize = 32;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_LONG_NAME: u8 = 0x0f;
const DELETED: u8 = 0xe5;
const DOT: &[u8; 11] = b".          ";
const DOT_DOT: &[u8; 11] = b"..         ";

/// Puts plain `.` and `..` entries into the first two slots of [`DIR`], with `.` pointing at the
/// directory itself and `..` at cluster 0 (the root).
fn fix_dot_entries<S: Read + Write + Seek>(volume: &mut S) -> anyhow::Result<()> {
    let geometry = Geometry::read(volume)?;
    let cluster = geometry.find_in_root(volume, DIR_SHORT_NAME)?;
    let at = geometry.cluster_offset(cluster)?;
    let mut head = [0u8; 4 * ENTRY];
    volume.seek(SeekFrom::Start(at))?;
    volume.read_exact(&mut head)?;
    let slot = |i: usize| -> [u8; ENTRY] {
        let mut e = [0; ENTRY];
        e.copy_from_slice(&head[i * ENTRY..(i + 1) * ENTRY]);
        e
    };
    let (mut dot, mut dot_dot, rest) =
        if is_directory(&slot(0), DOT) && is_directory(&slot(1), DOT_DOT) {
            (slot(0), slot(1), [slot(2), slot(3)])
        } else if is_long_name(&slot(0))
            && is_directory(&slot(1), DOT)
            && is_long_name(&slot(2))
            && is_directory(&slot(3), DOT_DOT)
        {
            let mut deleted = [0; ENTRY];
            deleted[0] = DELETED;
            (slot(1), slot(3), [deleted, deleted])
        } else {
            bail!("the directory does not start with . and .. entries in a known layout");
        };
    set_first_cluster(&mut dot, cluster);
    set_first_cluster(&mut dot_dot, 0);
    let fixed = [dot, dot_dot, rest[0], rest[1]].concat();
    if fixed != head {
        volume.seek(SeekFrom::Start(at))?;
        volume.write_all(&fixed)?;
    }
    Ok(())
}

/// Whether `entry` is a directory's 8.3 entry named `name`.
fn is_directory(entry: &[u8; ENTRY], name: &[u8; 11]) -> bool {
    &entry[..11] == name && entry[11] & ATTR_DIRECTORY != 0 && entry[11] & 0x3f != ATTR_LONG_NAME
}

fn is_long_name(entry: &[u8; ENTRY]) -> bool {
    entry[0] != DELETED && entry[0] != 0 && entry[11] & 0x3f == ATTR_LONG_NAME
}

/// The first cluster an entry points at; the high half is only meaningful on FAT32.
fn first_cluster(entry: &[u8; ENTRY], fat32: bool) -> u32 {
    let high = if fat32 {
        u32::from(u16::from_le_bytes([entry[20], entry[21]]))
    } else {
        0
    };
    high << 16 | u32::from(u16::from_le_bytes([entry[26], entry[27]]))
}

fn set_first_cluster(entry: &mut [u8; ENTRY], cluster: u32) {
    entry[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
    entry[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
}

/// Where the root directory is.
#[derive(Debug)]
enum Root {
    /// FAT12/16: a fixed region after the FATs.
    Region(Range<u64>),
    /// FAT32: a cluster chain from this cluster.
    Chain(u32),
}

/// Where things are on a FAT volume, from its boot sector (which `fatfs` has validated before).
#[derive(Debug)]
struct Geometry {
    cluster_size: u64,
    /// Byte offset of the first FAT.
    fat_start: u64,
    root: Root,
    /// Byte offset of cluster 2.
    data_start: u64,
    clusters: u32,
}

impl Geometry {
    fn read<S: Read + Seek>(volume: &mut S) -> anyhow::Result<Geometry> {
        let mut boot = [0u8; 512];
        volume.seek(SeekFrom::Start(0))?;
        volume.read_exact(&mut boot)?;
        let u16_at = |i: usize| u64::from(u16::from_le_bytes([boot[i], boot[i + 1]]));
        let u32_at = |i: usize| {
            u64::from(u32::from_le_bytes([
                boot[i],
                boot[i + 1],
                boot[i + 2],
                boot[i + 3],
            ]))
        };
        let bytes_per_sector = u16_at(11);
        let cluster_size = bytes_per_sector * u64::from(boot[13]);
        let reserved = u16_at(14);
        let fats = u64::from(boot[16]);
        let root_entries = u16_at(17);
        let total_sectors = if u16_at(19) != 0 {
            u16_at(19)
        } else {
            u32_at(32)
        };
        // A FAT32 boot sector leaves the 16-bit FAT size at 0, as fatfs checks.
        let fat32 = u16_at(22) == 0;
        let sectors_per_fat = if fat32 { u32_at(36) } else { u16_at(22) };
        let root_start = (reserved + fats * sectors_per_fat) * bytes_per_sector;
        let root_len = root_entries * ENTRY as u64;
        let data_start = (root_start + root_len).next_multiple_of(bytes_per_sector.max(1));
        let data_bytes = (total_sectors * bytes_per_sector).saturating_sub(data_start);
        if cluster_size == 0 || data_bytes == 0 {
            bail!("the boot sector describes no data area");
        }
        let clusters = u32::try_from(data_bytes / cluster_size)
            .context("the boot sector describes too many clusters")?;
        Ok(Geometry {
            cluster_size,
            fat_start: reserved * bytes_per_sector,
            root: if fat32 {
                Root::Chain(u32_at(44) as u32)
            } else {
                Root::Region(root_start..root_start + root_len)
            },
            data_start,
            clusters,
        })
    }

    fn cluster_offset(&self, cluster: u32) -> anyhow::Result<u64> {
        if cluster < 2 || cluster - 2 >= self.clusters {
            bail!("cluster {cluster} is outside the volume");
        }
        Ok(self.data_start + u64::from(cluster - 2) * self.cluster_size)
    }

    /// The next cluster of a FAT32 chain, or `None` at its end.
    fn next_cluster<S: Read + Seek>(
        &self,
        volume: &mut S,
        cluster: u32,
    ) -> anyhow::Result<Option<u32>> {
        let mut entry = [0u8; 4];
        volume.seek(SeekFrom::Start(self.fat_start + 4 * u64::from(cluster)))?;
        volume.read_exact(&mut entry)?;
        let next = u32::from_le_bytes(entry) & 0x0fff_ffff;
        Ok((next < 0x0fff_fff8).then_some(next))
    }

    /// The byte ranges of the root directory.
    fn root_ranges<S: Read + Seek>(&self, volume: &mut S) -> anyhow::Result<Vec<Range<u64>>> {
        let first = match &self.root {
            Root::Region(range) => return Ok(vec![range.clone()]),
            Root::Chain(first) => *first,
        };
        let mut ranges = Vec::new();
        let mut cluster = Some(first);
        while let Some(c) = cluster {
            if ranges.len() > self.clusters as usize {
                bail!("the root directory's cluster chain loops");
            }
            let at = self.cluster_offset(c)?;
            ranges.push(at..at + self.cluster_size);
            cluster = self.next_cluster(volume, c)?;
        }
        Ok(ranges)
    }

    /// The first cluster of the subdirectory of the root with 8.3 name `short_name`.
    fn find_in_root<S: Read + Seek>(
        &self,
        volume: &mut S,
        short_name: &[u8; 11],
    ) -> anyhow::Result<u32> {
        for range in self.root_ranges(volume)? {
            let mut bytes = vec![0u8; (range.end - range.start) as usize];
            volume.seek(SeekFrom::Start(range.start))?;
            volume.read_exact(&mut bytes)?;
            for entry in bytes.chunks_exact(ENTRY) {
                let entry: &[u8; ENTRY] = entry.try_into()?;
                match entry[0] {
                    0 => bail!("the root directory has no {DIR}/"),
                    DELETED => continue,
                    _ if is_directory(entry, short_name) => {
                        return Ok(first_cluster(entry, matches!(self.root, Root::Chain(_))));
                    }
                    _ => {}
                }
            }
        }
        bail!("the root directory has no {DIR}/")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// A freshly formatted FAT volume of `len` bytes, in memory.
    fn volume(len: usize, fat_type: fatfs::FatType) -> Cursor<Vec<u8>> {
        let mut volume = Cursor::new(vec![0; len]);
        fatfs::format_volume(
            &mut volume,
            fatfs::FormatVolumeOptions::new().fat_type(fat_type),
        )
        .expect("format");
        volume.set_position(0);
        volume
    }

    fn write(volume: &mut Cursor<Vec<u8>>, hook: &[u8], binary: &[u8]) -> anyhow::Result<Written> {
        let len = volume.get_ref().len() as u64;
        let files = [
            NewFile {
                name: "curtin-hooks",
                bytes: hook,
            },
            NewFile {
                name: "maas-esxi",
                bytes: binary,
            },
        ];
        write_files(volume, 0..len, &files, "the test volume")
    }

    /// The first four entries of `curtin/`.
    fn head(volume: &mut Cursor<Vec<u8>>) -> (u32, Vec<[u8; ENTRY]>) {
        let geometry = Geometry::read(volume).expect("geometry");
        let cluster = geometry
            .find_in_root(volume, DIR_SHORT_NAME)
            .expect("curtin/ in the root");
        let at = geometry.cluster_offset(cluster).expect("cluster") as usize;
        let bytes = &volume.get_ref()[at..at + 4 * ENTRY];
        let entries = bytes
            .chunks_exact(ENTRY)
            .map(|e| e.try_into().expect("32 bytes"))
            .collect();
        (cluster, entries)
    }

    fn read_back(volume: &mut Cursor<Vec<u8>>, name: &str) -> Vec<u8> {
        volume.set_position(0);
        let fs = fatfs::FileSystem::new(&mut *volume, fatfs::FsOptions::new()).expect("mount");
        let mut bytes = Vec::new();
        fs.root_dir()
            .open_file(&format!("{DIR}/{name}"))
            .expect("file exists")
            .read_to_end(&mut bytes)
            .expect("read");
        bytes
    }

    fn check_dot_entries(volume: &mut Cursor<Vec<u8>>) {
        let (cluster, entries) = head(volume);
        let fat32 = matches!(
            Geometry::read(volume).expect("geometry").root,
            Root::Chain(_)
        );
        assert!(
            is_directory(&entries[0], DOT),
            "slot 0 is `.`: {:?}",
            entries[0]
        );
        assert!(
            is_directory(&entries[1], DOT_DOT),
            "slot 1 is `..`: {:?}",
            entries[1]
        );
        assert_eq!(first_cluster(&entries[0], fat32), cluster);
        assert_eq!(first_cluster(&entries[1], fat32), 0);
    }

    #[test]
    fn new_directory_starts_with_dot_entries_on_fat16_and_fat32() {
        for (len, fat_type) in [
            (8 << 20, fatfs::FatType::Fat16),
            (40 << 20, fatfs::FatType::Fat32),
        ] {
            let mut v = volume(len, fat_type);
            let binary = vec![0x5a; 100_000];
            let written = write(&mut v, b"#!/bin/sh\n", &binary).expect("fits");
            check_dot_entries(&mut v);
            // The deleted slots left by the repair hold the next file's entries.
            let (_, entries) = head(&mut v);
            assert!(
                is_long_name(&entries[2]),
                "slot 2 is reused by curtin-hooks"
            );
            assert_eq!(read_back(&mut v, "curtin-hooks"), b"#!/bin/sh\n");
            assert_eq!(read_back(&mut v, "maas-esxi"), binary);
            assert!(written.free_after < written.free_before);
        }
    }

    #[test]
    fn a_second_run_replaces_the_files() {
        let mut v = volume(8 << 20, fatfs::FatType::Fat16);
        write(&mut v, b"first\n", &vec![1; 3 << 20]).expect("fits");
        let before = write(&mut v, b"second\n", &vec![2; 5000]).expect("fits again");
        check_dot_entries(&mut v);
        assert_eq!(read_back(&mut v, "curtin-hooks"), b"second\n");
        assert_eq!(read_back(&mut v, "maas-esxi"), vec![2; 5000]);
        assert!(
            before.free_after > before.free_before,
            "the bigger earlier binary was freed"
        );
    }

    #[test]
    fn a_binary_that_does_not_fit_changes_nothing() {
        let mut v = volume(4 << 20, fatfs::FatType::Fat16);
        let pristine = v.get_ref().clone();
        let err = write(&mut v, b"#!/bin/sh\n", &vec![7; 5 << 20]).expect_err("too big");
        assert!(
            err.to_string()
                .starts_with("not enough space in the test volume: curtin/ needs 5.0 MiB but "),
            "{err}"
        );
        assert!(v.get_ref() == &pristine, "the volume changed");
    }

    #[test]
    fn an_earlier_run_counts_as_free_space() {
        let mut v = volume(4 << 20, fatfs::FatType::Fat16);
        write(&mut v, b"#!/bin/sh\n", &vec![7; 3 << 20]).expect("fits");
        write(&mut v, b"#!/bin/sh\n", &vec![8; 3 << 20]).expect("replacing fits too");
        assert_eq!(read_back(&mut v, "maas-esxi"), vec![8; 3 << 20]);
    }

    #[test]
    fn not_a_fat_volume() {
        let mut v = Cursor::new(vec![0xff; 1 << 20]);
        let err = write(&mut v, b"", b"").expect_err("not FAT");
        assert_eq!(
            format!("{err:#}"),
            "the test volume is not a FAT file system: Invalid boot sector signature"
        );
    }
}
