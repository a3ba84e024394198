//! The kickstart USB image: a small sparse MBR disk with one FAT16 partition holding `KS.CFG`.
//!
//! The build attaches it to the VM as a USB stick; the installer finds the file through `ks=usb:/KS.CFG`.
//! The image is the same bytes for the same KS.CFG: fixed disk signature, volume id and timestamps.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// The name of the kickstart file on the image, as `ks=usb:/KS.CFG` asks for it.
pub const KS_FILE_NAME: &str = "KS.CFG";

/// Size of the whole image. The file is sparse: only the tables and the FAT structures take space.
pub const IMAGE_SIZE: u64 = 32 << 20;

const SECTOR: u64 = 512;
/// The partition starts at 1 MiB, as partitioning tools align it.
const PARTITION_START_LBA: u64 = 2048;
/// MBR partition type 0x0e: FAT16 with LBA addressing.
const FAT16_LBA: u8 = 0x0e;
const DISK_SIGNATURE: [u8; 4] = *b"MXKS";
const VOLUME_ID: u32 = 0x4d58_4b53;
const VOLUME_LABEL: [u8; 11] = *b"KICKSTART  ";

/// Writes (or overwrites) `path` as a sparse disk image whose only partition is a FAT16 file system
/// holding `ks_cfg` as `KS.CFG` in its root directory.
pub fn write_kickstart_image(path: &Path, ks_cfg: &[u8]) -> anyhow::Result<()> {
    write_image(path, ks_cfg)
        .with_context(|| format!("writing the kickstart image {}", path.display()))
}

fn write_image(path: &Path, ks_cfg: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .context("creating the file")?;
    file.set_len(IMAGE_SIZE).context("sizing the file")?;

    let sectors = IMAGE_SIZE / SECTOR;
    let mut mbr = mbrman::MBR::new_from(&mut file, SECTOR as u32, DISK_SIGNATURE)
        .context("creating the partition table")?;
    mbr[1] = mbrman::MBRPartitionEntry {
        boot: mbrman::BOOT_INACTIVE,
        first_chs: mbrman::CHS::empty(),
        sys: FAT16_LBA,
        last_chs: mbrman::CHS::empty(),
        starting_lba: PARTITION_START_LBA as u32,
        sectors: (sectors - PARTITION_START_LBA) as u32,
    };
    mbr.write_into(&mut file)
        .context("writing the partition table")?;

    let (start, end) = (PARTITION_START_LBA * SECTOR, IMAGE_SIZE);
    let options = fatfs::FormatVolumeOptions::new()
        .fat_type(fatfs::FatType::Fat16)
        .volume_id(VOLUME_ID)
        .volume_label(VOLUME_LABEL);
    let partition =
        fscommon::StreamSlice::new(&mut file, start, end).context("opening the partition")?;
    fatfs::format_volume(partition, options).context("formatting the partition as FAT16")?;

    let partition =
        fscommon::StreamSlice::new(&mut file, start, end).context("opening the partition")?;
    let fs = fatfs::FileSystem::new(partition, fatfs::FsOptions::new().time_provider(&DOS_EPOCH))
        .context("opening the FAT16 file system")?;
    {
        let mut ks = fs
            .root_dir()
            .create_file(KS_FILE_NAME)
            .with_context(|| format!("creating {KS_FILE_NAME}"))?;
        ks.truncate()
            .with_context(|| format!("emptying {KS_FILE_NAME}"))?;
        ks.write_all(ks_cfg)
            .with_context(|| format!("writing {KS_FILE_NAME}"))?;
        ks.flush()
            .with_context(|| format!("writing {KS_FILE_NAME}"))?;
    }
    fs.unmount().context("closing the FAT16 file system")?;
    file.sync_all().context("flushing the image to disk")?;
    Ok(())
}

/// Timestamps for the files: 1980-01-01 00:00, the first valid FAT date, so the image does not depend on
/// the clock.
/// The FAT clock every file we write is dated by: 1980-01-01, the epoch of FAT dates, so the same inputs
/// give the same image bytes.
#[derive(Debug)]
pub(crate) struct DosEpoch;

pub(crate) static DOS_EPOCH: DosEpoch = DosEpoch;

impl fatfs::TimeProvider for DosEpoch {
    fn get_current_date(&self) -> fatfs::Date {
        fatfs::Date {
            year: 1980,
            month: 1,
            day: 1,
        }
    }

    fn get_current_date_time(&self) -> fatfs::DateTime {
        fatfs::DateTime {
            date: self.get_current_date(),
            time: fatfs::Time {
                hour: 0,
                min: 0,
                sec: 0,
                millis: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_the_same_bytes_for_the_same_kickstart() {
        let dir = std::env::temp_dir().join(format!("maas-esxi-usb-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (a, b) = (dir.join("a.img"), dir.join("b.img"));
        write_kickstart_image(&a, b"vmaccepteula\n").expect("first image");
        write_kickstart_image(&b, b"vmaccepteula\n").expect("second image");
        let (a_bytes, b_bytes) = (std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
        assert_eq!(a_bytes.len() as u64, IMAGE_SIZE);
        assert!(a_bytes == b_bytes, "two images of one kickstart differ");
        assert_eq!(&a_bytes[510..512], &[0x55, 0xaa]);
        assert_eq!(a_bytes[446 + 4], FAT16_LBA);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
