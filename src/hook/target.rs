//! Which partition of which disk the hook stands on: what the mount table and sysfs say is mounted at
//! curtin's target, or the disk the caller names. The bundle goes only into partition 6, the altbootbank.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::image::finalize::{PARTITION, fat, gpt};

/// Where the mount table and sysfs are (`/proc/self/mounts` and `/sys`; recorded copies in tests).
#[derive(Clone, Copy, Debug)]
pub struct Lookup<'a> {
    pub mount_table: &'a Path,
    pub sysfs: &'a Path,
}

/// The partition under the mount point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The whole disk: `/dev/sda`, or an image file.
    pub disk: PathBuf,
    /// The partition's device as the mount table names it; `None` when the disk was given.
    pub device: Option<String>,
}

const GIVE_THE_DISK: &str =
    "name the disk curtin wrote the image to with --disk or MAAS_ESXI_TARGET_DISK";

/// The disk and partition mounted at `mount_point`, which must be partition 6 of its disk.
pub fn mounted(mount_point: &Path, lookup: Lookup<'_>) -> anyhow::Result<Target> {
    let table = std::fs::read_to_string(lookup.mount_table)
        .with_context(|| format!("reading {}", lookup.mount_table.display()))?;
    let want = std::fs::canonicalize(mount_point).unwrap_or_else(|_| {
        let text = mount_point.to_string_lossy();
        PathBuf::from(match text.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        })
    });
    // A later mount on the same point hides the earlier ones.
    let source = table
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((unescape(fields.next()?), unescape(fields.next()?)))
        })
        .filter(|(_, target)| Path::new(target) == want)
        .map(|(source, _)| source)
        .next_back();
    let mp = mount_point.display();
    let Some(source) = source else {
        bail!(
            "{mp} is not a mount point in {}: curtin mounts the partition holding curtin/ there; to run \
             the hook elsewhere, {GIVE_THE_DISK}",
            lookup.mount_table.display()
        );
    };
    let Some(name) = source.strip_prefix("/dev/") else {
        bail!("{mp} is mounted from {source}, which is not a disk partition");
    };
    let device_mapper = |what: &str| {
        anyhow::anyhow!(
            "{mp} is mounted from {source}, a device-mapper device{what} (multipath, LVM or dm-crypt): \
             which disk and partition lie under it cannot be told; {GIVE_THE_DISK}"
        )
    };
    if name.starts_with("mapper/") {
        return Err(device_mapper(""));
    }
    let sys = lookup.sysfs.join("class/block").join(name);
    if !sys.exists() {
        bail!(
            "{mp} is mounted from {source}, which {} does not list as a block device; {GIVE_THE_DISK}",
            lookup.sysfs.join("class/block").display()
        );
    }
    if sys.join("dm").exists() {
        let dm_name = std::fs::read_to_string(sys.join("dm/name")).unwrap_or_default();
        let dm_name = dm_name.trim();
        return Err(device_mapper(&if dm_name.is_empty() {
            String::new()
        } else {
            format!(" ({dm_name})")
        }));
    }
    let number = match std::fs::read_to_string(sys.join("partition")) {
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .with_context(|| format!("reading {}", sys.join("partition").display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{mp} is mounted from {source}, a whole disk, not a partition of one")
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", sys.display())),
    };
    // class/block/<partition> links to …/block/<disk>/<partition>.
    let disk = std::fs::canonicalize(&sys)
        .ok()
        .and_then(|p| Some(p.parent()?.file_name()?.to_string_lossy().into_owned()))
        .with_context(|| {
            format!(
                "finding the disk of {} in {}",
                source,
                lookup.sysfs.display()
            )
        })?;
    if number != PARTITION {
        bail!(
            "{mp} is partition {number} of /dev/{disk} ({source}), not partition {PARTITION}, the altbootbank \
             where the first boot looks for its bundle: the image was not made by this version's `image \
             finalize`, which puts curtin/ into partition {PARTITION}; finalize the image again"
        );
    }
    Ok(Target {
        disk: PathBuf::from(format!("/dev/{disk}")),
        device: Some(source),
    })
}

/// The disk the caller named (a device or an image file): its partition 6 must be FAT and hold `curtin/`,
/// or it is not the partition curtin mounted. The disk is only read.
pub fn given(disk: &Path) -> anyhow::Result<Target> {
    let name = disk.display();
    let mut file = File::open(disk).with_context(|| format!("opening {name}"))?;
    // A block device's metadata has no length; its end has.
    let len = file
        .seek(SeekFrom::End(0))
        .with_context(|| format!("finding the size of {name}"))?;
    let range = gpt::partition(&mut file, len, PARTITION)
        .with_context(|| format!("reading the GPT of {name}"))?;
    let holds_curtin = fat::has_dir(&mut file, range, fat::DIR)
        .with_context(|| format!("reading partition {PARTITION} of {name}"))?;
    if !holds_curtin {
        bail!(
            "partition {PARTITION} of {name} has no {}/ directory: it is not the partition curtin mounted \
             (or the image was not made by this version's `image finalize`)",
            fat::DIR
        );
    }
    Ok(Target {
        disk: disk.to_path_buf(),
        device: None,
    })
}

/// A field of the mount table with its octal escapes (`\040` for a space, `\011`, `\012`, `\134`) undone.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |n, b| n * 8 + u32::from(b - b'0')));
        match octal.and_then(|n| u8::try_from(n).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_table_escapes() {
        assert_eq!(unescape(r"/tmp/a\040b\011c\134d"), "/tmp/a b\tc\\d");
        assert_eq!(unescape(r"/tmp/\999/\04"), r"/tmp/\999/\04");
    }
}
