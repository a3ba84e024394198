//! The format-neutral storage intent: the disks a config names, their partitions, and the VMFS datastores
//! over those partitions, checked, before any ESXi decision.

use crate::diag::Located;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Storage {
    /// Disks in config order.
    pub disks: Vec<Disk>,
    /// Datastores in config order. None at all means the config has no `vmfs6` entry (a Linux layout).
    pub datastores: Vec<Datastore>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// The config's id for the disk (`sda`, `nvme0n1`).
    pub id: Located<String>,
    pub identity: Identity,
    /// MAAS's boot disk (`grub_device`), the one the image was written to.
    pub boot: bool,
    /// By number.
    pub partitions: Vec<Partition>,
}

/// What Linux saw of a disk: what the host's disk is recognised by.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Identity {
    pub serial: Option<Located<String>>,
    pub model: Option<Located<String>>,
    /// The World Wide Name, lower-case hex without `0x`.
    pub wwn: Option<Located<String>>,
    /// An NVMe namespace's EUI-64 or NGUID, lower-case hex.
    pub eui: Option<Located<String>>,
    /// The `/dev/disk/by-id/…` path MAAS sent instead of model and serial, as written.
    pub path: Option<Located<String>>,
}

impl Identity {
    /// Whether anything identifies the disk on another operating system.
    pub fn is_empty(&self) -> bool {
        self.serial.is_none() && self.wwn.is_none() && self.eui.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The config's id (`sda-part3`).
    pub id: Located<String>,
    pub number: Located<u32>,
    /// Bytes.
    pub size: Located<u64>,
    /// Bytes from the start of the disk, when the config places the partition.
    pub offset: Option<Located<u64>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datastore {
    pub name: Located<String>,
    /// In config order.
    pub extents: Vec<Extent>,
}

/// A datastore's partition: indexes into `Storage::disks` and that disk's `partitions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extent {
    pub disk: usize,
    pub partition: usize,
}

/// MAAS's ESXi boot-disk layouts, as the config's partition numbers show them: the ESXi 6.7 layout (VMFS6)
/// has partitions 1, 2, 3 (the datastore), 5–9, user partitions from 10; the 7.0+ layout (VMFS7) has 1,
/// 5–7, 8 (the datastore), user partitions from 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Esxi67,
    Esxi70,
}

impl Layout {
    /// The partition number of the installer's datastore, `datastore1`.
    pub fn slot(self) -> u32 {
        match self {
            Layout::Esxi67 => 3,
            Layout::Esxi70 => 8,
        }
    }

    /// Whether a partition number is one of ESXi's own system partitions.
    pub fn is_system(self, number: u32) -> bool {
        let last = match self {
            Layout::Esxi67 => 9,
            Layout::Esxi70 => 7,
        };
        number <= last && number != self.slot()
    }
}

impl Disk {
    /// The layout a boot disk's partitions follow: the 6.7 layout is the one with partition 2 (scratch),
    /// which the 7.0+ layout never has.
    pub fn layout(&self) -> Layout {
        if self.partitions.iter().any(|p| p.number.value == 2) {
            Layout::Esxi67
        } else {
            Layout::Esxi70
        }
    }
}
