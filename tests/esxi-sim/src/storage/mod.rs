//! Storage: disks, their partition tables and the VMFS, VFFS and vfat volumes on them; `esxcli storage …`
//! and `esxcli nvme …`, `partedUtil`, `vmkfstools` and `vim-cmd`'s datastore rename, with the rules a real
//! host enforces.
//!
//! # Disk specs
//!
//! `esxi-sim new --disk SPEC` (and [`Storage::from_specs`]) takes one disk per spec: comma-separated items,
//! the first being the disk's kind. Values cannot contain commas; spaces are kept as given.
//!
//! ```text
//! sata,500G,model=ST3320620AS,serial=6QF1PZXB
//! sata,1T,model=Samsung SSD 860,serial=S3Z9NB0K123456A,wwn=0x50025388a059c7bd,ssd
//! sas,3907029168s,model=ST2000NM0045,serial=ZC20ABCD,wwn=0x5000c5008c8b0f7f,512e
//! nvme,976773168s,model=WD_BLACK SN770 500GB,serial=22123A800123,eui=e8238fa6bf530001001b448b4b7d387b,layout=esxi7,image=32G,boot
//! virtual,314572800s,layout=esxi7,image=100G,system=10G,bootbank=1G,boot
//! ```
//!
//! - kind: `sata` (vendor `ATA`), `sas`, `nvme` (vendor `NVMe`, SSD), `virtual` (VMware `Virtual disk`,
//!   named `mpx.vmhba<A>:C0:T<n>:L0`, no serial).
//! - size: a bare item `<n><unit>`: `s` sectors of 512 bytes, `K`/`M`/`G`/`T` binary, `KB`/`MB`/`GB`/`TB`
//!   decimal.
//! - identity: the ESXi device name is derived as ESXi derives it: `naa.<wwn>` when `wwn=` is given;
//!   `t10.ATA_____<model padded to 40><serial right-justified in 20>` for sata (spaces `_`, other
//!   non-alphanumerics as hex: `-` → `2D`; give the serial trailing spaces to left-justify it);
//!   `t10.NVMe____<model padded to 40><last 8 bytes of eui= byte-reversed>` for nvme. `id=` names it
//!   outright (`id=eui.e8238fa6bf530001001b448b4b7d387b`). `vendor=`, `model=`, `serial=` (required for
//!   sata, sas and nvme), `rev=` (firmware revision).
//! - flags: `boot` (ESXi's boot device; at most one), `ssd`, `512e` (4096-byte physical sectors).
//! - `layout=`: the partition table found on the disk. `none` (the default: no label, as curtin's wipe leaves
//!   it), `gpt` or `msdos` (empty tables), `esxi7` (1 systemPartition 64–204863 attr 128, 5 and 6 boot banks
//!   `BOOTBANK1`/`BOOTBANK2` (vfat), 7 vmfsl `OSDATA-<uuid>` (VFFS), 8 vmfs `datastore1` when 1300 MiB or more
//!   are left; 5 starts at sector 208896 and each later one 2049 sectors after the previous one's end, as
//!   the installer leaves them; 8 GiB at least) or `esxi67` (1, 5, 6, 7, 8, 9, 2 at the installer's fixed
//!   sectors, vfat volumes on 5, 6, 8 and 2, 3 vmfs `datastore1` to the end). Every volume of a layout is
//!   mounted; the boot disk's boot banks and OSDATA cannot be unmounted.
//! - `system=`, `bootbank=` (esxi7): the system media size (partition 7 ends 34 sectors before it; default
//!   the smaller of the table and 128 GiB) and each boot bank's size (default 500 MiB below 10 GiB, 1 GiB
//!   below 32 GiB, else 4095 MiB).
//! - `image=<size>`: the table was written by an image of that size, smaller than the disk: the layout is
//!   laid out for the image, the backup GPT sits at the image's end, the last usable sector stays the
//!   image's until `partedUtil fixGpt` moves it.
//! - `vmfs=<label>`: a GPT with partition 1 from sector 2048 to the end holding a mounted VMFS6 volume.
//!
//! # Commands and rules
//!
//! - esxcli: `storage core device list` (blocks headed by the device, Vendor and Model space-padded to 8
//!   and 16 characters as SCSI inquiry data is), `storage core device capacity list`, `storage core path
//!   list`, `storage vmfs extent list`, `storage filesystem list|mount|unmount|rescan`, `nvme device
//!   list|get`.
//! - partedUtil: `getptbl`, `get`, `getUsableSectors`, `partinfo`, `showGuids`, `mklabel`, `add`, `delete`,
//!   `resize`, `setptbl`, `fixGpt`, in partedUtil's argument order; `add` and `setptbl` take each partition
//!   as one argument `"N start end GUID|typeName attr"`. GPT rules: numbers 1–128 and unique, start ≤ end,
//!   within the usable sectors (34 to the span's end − 34), no overlap; msdos: numbers 1–4, numeric types.
//!   Reading a GPT whose backup is not at the end prints libparted's two warnings on stderr.
//! - vmkfstools: `-C|--createfs vmfs6|vmfs5 [-b|--blocksize 1m] [-S|--setfsname LABEL] PARTITION` (the
//!   partition has the vmfs type, 1300 MiB or more, no mounted volume; the label is not a mounted volume's),
//!   `-Z|--spanfs EXTENT HEAD` (raw partition paths both, HEAD the volume's first extent, at most 32
//!   extents), `-G|--growfs PARTITION PARTITION` (the same partition, grown by `partedUtil resize`),
//!   `-P|--queryfs [-h] /vmfs/volumes/NAME`, `-V|--rescanvmfs`.
//! - Devices are `/vmfs/devices/disks/<id>` or `/dev/disks/<id>` (or a `vml.` alias), partitions
//!   `<disk>:<N>`; a bare `<id>` is refused, as it only works on a host from within `/dev/disks`.
//! - A partition is in use while a mounted volume has an extent on it: it cannot be deleted, shrunk or
//!   moved, and a disk with one cannot be relabelled or have its whole table set; partitions can still be
//!   added and in-use ones grown. Unmounted volumes stay listed until a rescan finds their partitions gone;
//!   a new file system over their sectors destroys them.
//! - vim-cmd: `hostsvc/datastore/rename OLD NEW` relabels a mounted VMFS volume (the new name is not a
//!   mounted volume's, not empty, no `/`).
//! - Prompts: only `fixGpt` (`Y`, then `Fix`/`Ignore`/`Cancel`, any case, any prefix; anything else is asked
//!   again) and `vmkfstools -Z` (`0` goes on, `1` cancels, anything else is asked again) read stdin. A
//!   declined `fixGpt` (`N`, `Ignore`) changes nothing with status 0; end of input or a cancel fails.
//!
//! # Exit status and messages
//!
//! esxcli fails with status 1 and `Error: …` (see `tool`). partedUtil and vmkfstools fail with status 255,
//! their `exit(-1)`, and `Error: …` lines on stderr after whatever they printed on stdout. Outputs marked
//! REAL in the research notes are reproduced exactly (getptbl, get, getUsableSectors, showGuids, `setptbl`'s
//! echo, `vmkfstools -C`'s lines, the device list block, the nvme device list); libparted's own phrases are
//! used where they exist ("Can't have overlapping partitions.", "Can't have a partition outside the disk!",
//! "Read-only file system during write on …", "Could not stat device …"), each followed by a line naming the
//! sectors at fault; the other messages are the simulator's own wording in the same style.

mod esxcli;
mod parted;
mod spec;
mod vimcmd;
mod vmkfstools;

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::host::Host;
use crate::tool::{Command, Invocation, Outcome};

/// Every disk of the host, and every volume the host knows of.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Storage {
    /// In the order ESXi lists them.
    pub disks: Vec<Disk>,
    pub volumes: Vec<Volume>,
    /// Volumes created on this host so far; it seeds the next volume's UUID.
    pub created: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Disk {
    /// The device name under `/vmfs/devices/disks/`.
    pub id: String,
    pub transport: Transport,
    /// The storage adapter, `vmhba<N>`.
    pub adapter: String,
    /// The target number on the adapter.
    pub target: u32,
    pub vendor: String,
    pub model: String,
    /// As the disk reports it, padding included.
    pub serial: String,
    pub revision: String,
    /// Logical blocks of 512 bytes.
    pub sectors: u64,
    pub physical_block: u64,
    pub ssd: bool,
    pub boot: bool,
    pub table: Table,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Sata,
    Sas,
    Nvme,
    Virtual,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Table {
    pub label: Label,
    /// The disk length, in sectors, the GPT headers were written for. It is less than the disk's when a
    /// smaller image was written to the disk: the backup header is then not at the end.
    pub span: u64,
    /// Sorted by start sector, the order partedUtil prints them in.
    pub partitions: Vec<Partition>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    None,
    Gpt,
    Msdos,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub number: u32,
    pub start: u64,
    pub end: u64,
    /// GPT: the type GUID, 32 upper-case hex digits; msdos: the type number in decimal.
    pub kind: String,
    pub attr: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Volume {
    pub uuid: String,
    pub label: String,
    pub fs: Fs,
    /// The head extent first.
    pub extents: Vec<Extent>,
    pub mounted: bool,
    /// Bytes in use: the file system's own metadata, as nothing else is ever written.
    pub used: u64,
    /// The host runs from it (boot banks, OSDATA): it cannot be unmounted.
    pub system: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fs {
    Vmfs5,
    Vmfs6,
    Vffs,
    Vfat,
}

/// A run of sectors of one partition that a volume lives on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extent {
    pub disk: String,
    pub partition: u32,
    pub start: u64,
    pub sectors: u64,
}

pub const SECTOR: u64 = 512;
pub const MIB: u64 = 1 << 20;
/// The GPT's first usable sector with 512-byte sectors, and how many sectors the backup GPT takes at the end.
pub const GPT_RESERVED: u64 = 34;
/// The smallest partition `vmkfstools -C vmfs6` formats, and the smallest datastore the installer makes.
pub const VMFS_MIN: u64 = 1300 * MIB / SECTOR;
/// At most this many extents per VMFS volume, the head included.
pub const MAX_EXTENTS: usize = 32;

/// Partition types: partedUtil's type name, the GPT type GUID, the type number `partedUtil get` prints.
pub const TYPES: &[(&str, &str, u32)] = &[
    ("vmfs", "AA31E02A400F11DB9590000C2911D1B8", 251),
    ("vmkDiagnostic", "9D27538040AD11DBBF97000C2911D1B8", 252),
    ("vsan", "381CFCCC728811E092EE000C2911D0B2", 0),
    ("vmfsl", "4EB2EA3978554790A79EFAE495E21F8D", 0),
    ("vmwareReserved", "9198EFFC31C011DB8F78000C2911D1B8", 0),
    ("linuxNative", "EBD0A0A2B9E5443387C068B6B72699C7", 131),
    ("linuxSwap", "0657FD6DA4AB43C484E50933C84B4F4F", 130),
    ("linuxLvm", "E6D6D379F50744C2A23C238F2A3DF928", 142),
    ("linuxRaid", "A19D880F05FC4D3BA006743F0F84911E", 253),
    ("systemPartition", "C12A7328F81F11D2BA4B00A0C93EC93B", 239),
    ("microsoftRsvd", "E3C9E3160B5C4DB8817DF92DF00215AE", 0),
];

pub const VMFS_GUID: &str = "AA31E02A400F11DB9590000C2911D1B8";

impl Storage {
    /// Builds the disks described by `specs` (see the module documentation) with the volumes on them.
    pub fn from_specs(specs: &[String]) -> Result<Storage, String> {
        spec::build(specs)
    }

    /// The disk or partition a device path names.
    pub fn resolve(&self, path: &str) -> Option<Target> {
        let name = path
            .strip_prefix("/vmfs/devices/disks/")
            .or_else(|| path.strip_prefix("/dev/disks/"))?;
        if let Some(i) = self.disk_index(name) {
            return Some(Target::Disk(i));
        }
        let (disk, number) = name.rsplit_once(':')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let i = self.disk_index(disk)?;
        Some(Target::Partition(i, number.parse().ok()?))
    }

    fn disk_index(&self, name: &str) -> Option<usize> {
        self.disks
            .iter()
            .position(|d| d.id == name || d.vml() == name)
    }

    /// The mounted volume with an extent on a partition.
    pub fn user_of(&self, disk: &str, number: u32) -> Option<&Volume> {
        self.volumes.iter().find(|v| {
            v.mounted
                && v.extents
                    .iter()
                    .any(|e| e.disk == disk && e.partition == number)
        })
    }

    /// Forgets every volume with an extent on sectors `first` to `last` of `disk`: a new file system is
    /// being written over them.
    pub fn overwrite(&mut self, disk: &str, first: u64, last: u64) {
        self.volumes.retain(|v| {
            !v.extents
                .iter()
                .any(|e| e.disk == disk && e.start <= last && first < e.start + e.sectors)
        });
    }

    /// Whether every extent of a volume still lies on a partition that starts where the extent does.
    pub fn intact(&self, volume: &Volume) -> bool {
        volume.extents.iter().all(|e| {
            self.disks.iter().any(|d| {
                d.id == e.disk
                    && d.partition(e.partition)
                        .is_some_and(|p| p.start == e.start && p.end >= e.start + e.sectors - 1)
            })
        })
    }

    /// Forgets unmounted volumes that are no longer intact.
    pub fn rescan(&mut self) {
        let keep: Vec<bool> = self
            .volumes
            .iter()
            .map(|v| v.mounted || self.intact(v))
            .collect();
        let mut keep = keep.into_iter();
        self.volumes.retain(|_| keep.next().unwrap_or(true));
    }

    /// A new volume UUID, as ESXi makes them: time, random, counter, the management MAC.
    pub fn new_uuid(&mut self, mac: &str) -> String {
        self.created += 1;
        let mac: String = mac.chars().filter(char::is_ascii_hexdigit).collect();
        let mac = if mac.len() == 12 {
            mac.to_ascii_lowercase()
        } else {
            "005056000000".into()
        };
        let n = u64::from(self.created);
        format!(
            "{:08x}-{:08x}-{:04x}-{mac}",
            0x6650_0000 + n * 0x3c,
            hash(&format!("{mac}{n}")) as u32,
            0x1000 + n
        )
    }
}

/// What a device path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Disk(usize),
    Partition(usize, u32),
}

impl Disk {
    /// The legacy `vml.` name ESXi also gives the disk.
    pub fn vml(&self) -> String {
        let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        let model6 = format!("{:<6}", self.model.chars().take(6).collect::<String>());
        match self.transport {
            Transport::Virtual => {
                format!(
                    "vml.0000000000{}",
                    hex(&format!("{}:{}:0", self.adapter, self.target))
                )
            }
            _ if self.id.starts_with("naa.") => {
                format!("vml.0200000000{}{}", &self.id[4..], hex(&model6))
            }
            Transport::Nvme => format!("vml.05{:016x}0000000100000000", hash(&self.id)),
            _ => format!(
                "vml.0100000000{}{}",
                hex(&format!("{:>20}", self.serial)),
                hex(&model6)
            ),
        }
    }

    /// The first and the last sector a partition may use.
    pub fn usable(&self) -> (u64, u64) {
        match self.table.label {
            Label::Msdos => (1, self.sectors - 1),
            _ => (GPT_RESERVED, self.table.span - GPT_RESERVED),
        }
    }

    pub fn partition(&self, number: u32) -> Option<&Partition> {
        self.table.partitions.iter().find(|p| p.number == number)
    }

    /// `cylinders heads sectorsPerTrack totalSectors`, partedUtil's geometry line.
    pub fn geometry(&self) -> String {
        format!("{} 255 63 {}", self.sectors / (255 * 63), self.sectors)
    }

    pub fn size_mib(&self) -> u64 {
        self.sectors * SECTOR / MIB
    }
}

impl Partition {
    pub fn sectors(&self) -> u64 {
        self.end - self.start + 1
    }

    /// partedUtil's name for the partition's type: `unknown` for a GUID it does not know.
    pub fn type_name(&self) -> &'static str {
        TYPES
            .iter()
            .find(|(_, guid, _)| *guid == self.kind)
            .map_or("unknown", |(name, _, _)| name)
    }
}

impl Volume {
    /// Bytes the file system spans, in whole 1 MiB file blocks.
    pub fn capacity(&self) -> u64 {
        self.extents
            .iter()
            .map(|e| e.sectors * SECTOR / MIB * MIB)
            .sum()
    }

    pub fn is_vmfs(&self) -> bool {
        matches!(self.fs, Fs::Vmfs5 | Fs::Vmfs6)
    }

    /// The type `esxcli storage filesystem list` prints; an unmounted VMFS volume's version is not read.
    pub fn type_name(&self) -> &'static str {
        match (self.fs, self.mounted) {
            (Fs::Vmfs5 | Fs::Vmfs6, false) => "VMFS-unknown version",
            (Fs::Vmfs5, true) => "VMFS-5",
            (Fs::Vmfs6, true) => "VMFS-6",
            (Fs::Vffs, _) => "VFFS",
            (Fs::Vfat, _) => "vfat",
        }
    }

    /// The metadata a new file system of `capacity` bytes takes: an eighth, at most VMFS6's 1.4 GiB.
    pub fn metadata(capacity: u64) -> u64 {
        (capacity / 8).min(1_504_247_808) / MIB * MIB
    }
}

pub fn esxcli_commands() -> Vec<Command> {
    esxcli::commands()
}

/// The kind of a partedUtil, vmkfstools or vim-cmd call and whether it changes the host. Rescans change
/// nothing.
pub fn classify(tool: &str, argv: &[String]) -> Invocation {
    match tool {
        "vim-cmd" => {
            let (kind, mutating) = vimcmd::classify(argv);
            Invocation { kind, mutating }
        }
        "partedUtil" => {
            let op = argv.first().map(String::as_str).unwrap_or_default();
            Invocation {
                kind: format!("partedUtil {op}").trim_end().to_string(),
                mutating: matches!(
                    op,
                    "mklabel" | "add" | "delete" | "resize" | "fixGpt" | "setptbl"
                ),
            }
        }
        _ => {
            let op = vmkfstools::operation(argv);
            Invocation {
                kind: format!("{tool} {}", op.unwrap_or_default())
                    .trim_end()
                    .to_string(),
                mutating: matches!(op, Some("-C" | "-Z" | "-G")),
            }
        }
    }
}

pub fn parted_util(host: &mut Host, argv: &[String], stdin: &mut dyn BufRead) -> Outcome {
    parted::run(&mut host.storage, argv, stdin)
}

pub fn vim_cmd(host: &mut Host, argv: &[String]) -> Outcome {
    vimcmd::run(&mut host.storage, argv)
}

pub fn vmkfstools(host: &mut Host, argv: &[String], stdin: &mut dyn BufRead) -> Outcome {
    let mac = host.nics.first().map(|n| n.mac.clone()).unwrap_or_default();
    vmkfstools::run(&mut host.storage, &mac, argv, stdin)
}

/// A partedUtil or vmkfstools failure: what was printed so far, the error lines, status 255.
pub(crate) fn failure(stdout: String, stderr: String, error: &str) -> Outcome {
    Outcome {
        stdout,
        stderr: format!("{stderr}{error}\n"),
        status: 255,
    }
}

/// FNV-1a, for identifiers that must look random and stay the same from run to run.
pub(crate) fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
