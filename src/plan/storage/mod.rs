//! The storage half of the plan: the disks the first-boot script finds and partitions, and the VMFS
//! datastores it makes on them. `identity` decides how each disk is recognised on the host; `layout`
//! places the partitions and chooses each datastore's head extent.

mod identity;
mod layout;

use serde::Serialize;

use crate::diag::Diagnostics;
use crate::model;

/// Disks, in config order, and datastores, in config order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Storage {
    pub disks: Vec<Disk>,
    pub datastores: Vec<Datastore>,
    /// Whether a disk is recognised by serial number, which ESXi shows for NVMe controllers only in
    /// `esxcli nvme device get`: the script then reads every controller's.
    pub nvme_serials: bool,
}

/// A disk the script acts on. Disks the config names but the plan does not use are never touched.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Disk {
    /// The config's id, for messages.
    pub id: String,
    /// How the config identifies the disk, for messages.
    pub describe: String,
    /// The disk ESXi booted from: its partitions 1–9 are ESXi's, the datastore slot is read from its table.
    pub boot: bool,
    #[serde(rename = "match")]
    pub matching: Match,
    /// In the order they lie on the disk.
    pub partitions: Vec<Partition>,
}

/// What recognises the disk among the host's devices; a device that matches any of them is a candidate.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Match {
    /// The device `naa.<wwn>`.
    pub wwn: Option<String>,
    /// The device `eui.<eui>`.
    pub eui: Option<String>,
    /// The end of a `t10.NVMe…` device name: the EUI's last 8 bytes, byte-reversed, upper case.
    pub nvme_suffix: Option<String>,
    /// The serial at the end of a `t10.ATA…` device name, as ESXi writes it there (spaces `_`, other
    /// punctuation as hex), `_` runs squeezed, upper case.
    pub ata_serial: Option<String>,
    /// The model in a `t10.ATA…` name, written the same way.
    pub ata_model: Option<String>,
    /// The serial number `esxcli nvme device get` shows: lower case, blank and `_` runs as one `_`.
    pub serial: Option<String>,
    pub model: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Partition {
    /// The config's id, for messages.
    pub id: String,
    /// The partition number; for the slot, the config's, as the script uses the one it reads.
    pub number: u32,
    /// The boot disk's datastore slot (3 on ESXi 6.x, 8 on 7.0+), found in the real partition table.
    pub slot: bool,
    /// Bytes, as MAAS gives them.
    pub size: u64,
    /// Bytes from the start of the disk; otherwise the partition starts after the previous one.
    pub offset: Option<u64>,
    /// The last partition of the disk: it ends at the disk's last usable sector if its size does not fit.
    pub last: bool,
    /// It takes the rest of the disk whatever its size (`datastore1` when the config has no datastores).
    pub rest: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Datastore {
    pub name: String,
    /// Head first.
    pub extents: Vec<Extent>,
    /// The disks the extents are on, each once.
    pub disks: Vec<usize>,
    /// The disk whose slot is an extent: the slot may have been grown, and the volume is grown with it.
    pub slot_disk: Option<usize>,
    /// The label of a volume the datastore takes over, renaming it, when it finds it alone on its head:
    /// the installer's `datastore1` on the slot.
    pub adopts: Option<String>,
}

/// Indexes into `Storage::disks` and that disk's `partitions`, with the partition's number and whether it
/// is the slot (whose number the script reads).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Extent {
    pub disk: usize,
    pub partition: usize,
    pub number: u32,
    pub slot: bool,
}

/// The label the ESXi installer gives the datastore on the boot disk.
pub const INSTALLER_DATASTORE: &str = "datastore1";

/// Builds the storage plan.
pub fn plan(storage: &model::storage::Storage, diags: &mut Diagnostics) -> Storage {
    let mut plan = layout::plan(storage, diags);
    plan.nvme_serials = plan.disks.iter().any(|d| d.matching.serial.is_some());
    plan
}
