//! `esxcli storage …` and `esxcli nvme …`: devices and their capacities and paths, VMFS extents, file
//! systems and their mounting, NVMe controllers.

use super::{Disk, Fs, MIB, Storage, Transport, Volume};
use crate::args::{Args, Kind, Opt};
use crate::host::Host;
use crate::out::{Output, Record, Value};
use crate::tool::Command;

macro_rules! command {
    ($path:literal, $mutating:literal, [$($opt:expr),* $(,)?], $run:expr) => {
        Command { path: $path, opts: &const { [$($opt),*] }, mutating: $mutating, run: $run }
    };
}

/// Rescans are not counted as changes: they only refresh what the host sees.
pub fn commands() -> Vec<Command> {
    vec![
        command!(
            "storage core device list",
            false,
            [
                Opt::new('d', "device", Kind::Str),
                Opt::new('o', "exclude-offline", Kind::Flag),
            ],
            device_list
        ),
        command!(
            "storage core device capacity list",
            false,
            [Opt::new('d', "device", Kind::Str)],
            capacity_list
        ),
        command!(
            "storage core path list",
            false,
            [
                Opt::new('d', "device", Kind::Str),
                Opt::new('p', "path", Kind::Str),
            ],
            path_list
        ),
        command!("storage vmfs extent list", false, [], extent_list),
        command!(
            "storage filesystem list",
            false,
            [Opt::new('i', "ignore-errors", Kind::Flag)],
            filesystem_list
        ),
        command!(
            "storage filesystem mount",
            true,
            [
                Opt::new('l', "volume-label", Kind::Str),
                Opt::new('u', "volume-uuid", Kind::Str),
                Opt::new('n', "no-persist", Kind::Flag),
            ],
            filesystem_mount
        ),
        command!(
            "storage filesystem unmount",
            true,
            [
                Opt::new('a', "unmount-all-vmfs", Kind::Flag),
                Opt::new('l', "volume-label", Kind::Str),
                Opt::new('u', "volume-uuid", Kind::Str),
                Opt::new('p', "volume-path", Kind::Str),
                Opt::new('n', "no-persist", Kind::Flag),
            ],
            filesystem_unmount
        ),
        command!("storage filesystem rescan", false, [], filesystem_rescan),
        command!("nvme device list", false, [], nvme_list),
        command!(
            "nvme device get",
            false,
            [Opt::new('A', "adapter", Kind::Str).required()],
            nvme_get
        ),
    ]
}

/// The disks `-d|--device` selects: all, or the one named.
fn selected<'a>(storage: &'a Storage, args: &Args) -> Result<Vec<&'a Disk>, String> {
    match args.str("device") {
        None => Ok(storage.disks.iter().collect()),
        Some(name) => storage
            .disks
            .iter()
            .find(|d| d.id == name)
            .map(|d| vec![d])
            .ok_or_else(|| format!("Unknown device {name}")),
    }
}

fn display_name(disk: &Disk) -> String {
    let mut id = String::new();
    for c in disk.id.chars() {
        if !(c == '_' && id.ends_with('_') && disk.id.starts_with("t10.")) {
            id.push(c);
        }
    }
    format!("Local {} Disk ({id})", disk.vendor.trim())
}

fn device_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    let disks = selected(&host.storage, args)?;
    Ok(Output::KeyedBlocks(
        disks
            .into_iter()
            .map(|d| {
                let virtual_disk = d.transport == Transport::Virtual;
                let hpp = matches!(d.transport, Transport::Virtual | Transport::Nvme);
                Record::new("Device")
                    .field("Device", Value::str(&d.id))
                    .field("Display Name", Value::str(display_name(d)))
                    .field("Has Settable Display Name", Value::Bool(!virtual_disk))
                    .field("Size", Value::Int(d.size_mib() as i64))
                    .field("Device Type", Value::str("Direct-Access"))
                    .field(
                        "Multipath Plugin",
                        Value::str(if hpp { "HPP" } else { "NMP" }),
                    )
                    .field(
                        "Devfs Path",
                        Value::str(format!("/vmfs/devices/disks/{}", d.id)),
                    )
                    .field("Vendor", Value::str(format!("{:<8}", d.vendor)))
                    .field("Model", Value::str(format!("{:<16}", d.model)))
                    .field("Revision", Value::str(&d.revision))
                    .field(
                        "SCSI Level",
                        Value::Int(match d.transport {
                            Transport::Sata => 5,
                            Transport::Nvme => 0,
                            Transport::Sas | Transport::Virtual => 6,
                        }),
                    )
                    .field("Is Pseudo", Value::Bool(false))
                    .field("Status", Value::str("on"))
                    .field("Is RDM Capable", Value::Bool(false))
                    .field("Is Local", Value::Bool(true))
                    .field("Is Removable", Value::Bool(false))
                    .field("Is SSD", Value::Bool(d.ssd))
                    .field("Is VVOL PE", Value::Bool(false))
                    .field("Is Offline", Value::Bool(false))
                    .field("Is Perennially Reserved", Value::Bool(false))
                    .field("Queue Full Sample Size", Value::Int(0))
                    .field("Queue Full Threshold", Value::Int(0))
                    .field("Thin Provisioning Status", Value::str("unknown"))
                    .field("Attached Filters", Value::str(""))
                    .field(
                        "VAAI Status",
                        Value::str(if virtual_disk {
                            "unsupported"
                        } else {
                            "unknown"
                        }),
                    )
                    .field("Other UIDs", Value::str(d.vml()))
                    .field("Is Shared Clusterwide", Value::Bool(false))
                    .field("Is SAS", Value::Bool(d.transport == Transport::Sas))
                    .field("Is USB", Value::Bool(false))
                    .field("Is Boot Device", Value::Bool(d.boot))
                    .field(
                        "Device Max Queue Depth",
                        Value::Int(match d.transport {
                            Transport::Sata => 31,
                            Transport::Sas => 254,
                            Transport::Nvme => 2048,
                            Transport::Virtual => 1024,
                        }),
                    )
                    .field(
                        "No of outstanding IOs with competing worlds",
                        Value::Int(32),
                    )
                    .field("Drive Type", Value::str("unknown"))
                    .field("RAID Level", Value::str("unknown"))
                    .field("Number of Physical Drives", Value::str("unknown"))
                    .field("Protection Enabled", Value::Bool(false))
                    .field("PI Activated", Value::Bool(false))
                    .field("PI Type", Value::Int(0))
                    .field("PI Protection Mask", Value::str("NO PROTECTION"))
                    .field("Supported Guard Types", Value::str("NO GUARD SUPPORT"))
                    .field("DIX Enabled", Value::Bool(false))
                    .field("DIX Guard Type", Value::str("NO GUARD SUPPORT"))
                    .field("Emulated DIX/DIF Enabled", Value::Bool(false))
            })
            .collect(),
    ))
}

fn capacity_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    let disks = selected(&host.storage, args)?;
    Ok(Output::Table(
        disks
            .into_iter()
            .map(|d| {
                Record::new("DeviceCapacity")
                    .field("Device", Value::str(&d.id))
                    .field("Physical Blocksize", Value::Int(d.physical_block as i64))
                    .field("Logical Blocksize", Value::Int(512))
                    .field("Logical Block Count", Value::Int(d.sectors as i64))
                    .field("Size", Value::Quantity(d.size_mib() as i64, "MiB"))
                    .field(
                        "Format Type",
                        Value::str(if d.physical_block == 512 {
                            "512n"
                        } else {
                            "512e"
                        }),
                    )
            })
            .collect(),
    ))
}

fn path_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    let disks = selected(&host.storage, args)?;
    let rows: Vec<Record> = disks
        .into_iter()
        .map(|d| {
            let (transport, prefix) = match d.transport {
                Transport::Sata => ("sata", "sata"),
                Transport::Sas => ("sas", "sas"),
                Transport::Nvme => ("pcie", "pcie"),
                Transport::Virtual => ("parallel", "pscsi"),
            };
            let adapter_id = format!("{prefix}.{}", d.adapter);
            let target_id = format!("{prefix}.0:{}", d.target);
            Record::new("Path")
                .field(
                    "UID",
                    Value::str(format!("{adapter_id}-{target_id}-{}", d.id)),
                )
                .field(
                    "Runtime Name",
                    Value::str(format!("{}:C0:T{}:L0", d.adapter, d.target)),
                )
                .field("Device", Value::str(&d.id))
                .field("Device Display Name", Value::str(display_name(d)))
                .field("Adapter", Value::str(&d.adapter))
                .field("Channel", Value::Int(0))
                .field("Target", Value::Int(i64::from(d.target)))
                .field("LUN", Value::Int(0))
                .field(
                    "Plugin",
                    Value::str(
                        if matches!(d.transport, Transport::Virtual | Transport::Nvme) {
                            "HPP"
                        } else {
                            "NMP"
                        },
                    ),
                )
                .field("State", Value::str("active"))
                .field("Transport", Value::str(transport))
                .field("Adapter Identifier", Value::str(adapter_id))
                .field("Target Identifier", Value::str(target_id))
                .field(
                    "Adapter Transport Details",
                    Value::str("Unavailable or path is unclaimed"),
                )
                .field(
                    "Target Transport Details",
                    Value::str("Unavailable or path is unclaimed"),
                )
                .field("Maximum IO Size", Value::Int(33_553_920))
        })
        .filter(|r| {
            args.str("path")
                .is_none_or(|p| r.get("Runtime Name") == Some(&Value::str(p)))
        })
        .collect();
    Ok(Output::Blocks(rows))
}

fn extent_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    let mut rows = Vec::new();
    for v in ordered(&host.storage).filter(|v| v.mounted && v.is_vmfs()) {
        for (n, e) in v.extents.iter().enumerate() {
            rows.push(
                Record::new("VMFSExtent")
                    .field("Volume Name", Value::str(&v.label))
                    .field("VMFS UUID", Value::str(&v.uuid))
                    .field("Extent Number", Value::Int(n as i64))
                    .field("Device Name", Value::str(&e.disk))
                    .field("Partition", Value::Int(i64::from(e.partition))),
            );
        }
    }
    Ok(Output::Table(rows))
}

/// Volumes as esxcli lists them: VMFS first, then VFFS, then vfat, each in the order the host found them.
fn ordered(storage: &Storage) -> impl Iterator<Item = &Volume> {
    let rank = |v: &&Volume| match v.fs {
        Fs::Vmfs5 | Fs::Vmfs6 => 0,
        Fs::Vffs => 1,
        Fs::Vfat => 2,
    };
    let mut all: Vec<&Volume> = storage.volumes.iter().collect();
    all.sort_by_key(rank);
    all.into_iter()
}

fn filesystem_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        ordered(&host.storage)
            .map(|v| {
                let (mount_point, size, free) = if v.mounted {
                    let capacity = v.capacity();
                    (
                        format!("/vmfs/volumes/{}", v.uuid),
                        capacity as i64,
                        (capacity - v.used.min(capacity)) as i64,
                    )
                } else {
                    (String::new(), 0, 0)
                };
                Record::new("FilesystemVolume")
                    .field("Mount Point", Value::str(mount_point))
                    .field("Volume Name", Value::str(&v.label))
                    .field("UUID", Value::str(&v.uuid))
                    .field("Mounted", Value::Bool(v.mounted))
                    .field("Type", Value::str(v.type_name()))
                    .field("Size", Value::Int(size))
                    .field("Free", Value::Int(free))
            })
            .collect(),
    ))
}

/// The volume `-l`, `-u` or `-p` names, as an index into the volumes.
fn named_volume(storage: &Storage, args: &Args) -> Result<usize, String> {
    let find = |pred: &dyn Fn(&Volume) -> bool, what: String| {
        storage
            .volumes
            .iter()
            .position(pred)
            .ok_or_else(|| format!("No volume with {what} was found"))
    };
    if let Some(label) = args.str("volume-label") {
        find(
            &|v| !v.label.is_empty() && v.label == label,
            format!("label '{label}'"),
        )
    } else if let Some(uuid) = args.str("volume-uuid") {
        find(&|v| v.uuid == uuid, format!("UUID '{uuid}'"))
    } else {
        let path = args.str("volume-path").unwrap_or_default();
        let name = path
            .strip_prefix("/vmfs/volumes/")
            .unwrap_or_default()
            .trim_end_matches('/');
        find(
            &|v| v.mounted && !name.is_empty() && (v.label == name || v.uuid == name),
            format!("path '{path}'"),
        )
    }
}

fn filesystem_unmount(host: &mut Host, args: &Args) -> Result<Output, String> {
    let storage = &mut host.storage;
    let given = [
        "unmount-all-vmfs",
        "volume-label",
        "volume-uuid",
        "volume-path",
    ]
    .iter()
    .filter(|o| args.has(o))
    .count();
    if given != 1 {
        return Err(
            "Exactly one of -a|--unmount-all-vmfs, -l|--volume-label, -u|--volume-uuid and -p|--volume-path must be given"
                .into(),
        );
    }
    if args.flag("unmount-all-vmfs") {
        for v in storage
            .volumes
            .iter_mut()
            .filter(|v| v.is_vmfs() && !v.system)
        {
            v.mounted = false;
        }
        return Ok(Output::Empty);
    }
    let i = named_volume(storage, args)?;
    let v = &mut storage.volumes[i];
    let name = if v.label.is_empty() {
        v.uuid.clone()
    } else {
        v.label.clone()
    };
    if !v.mounted {
        return Err(format!("Volume '{name}' is not mounted"));
    }
    if v.system {
        return Err(format!(
            "Cannot unmount volume '{name}' because file system is busy. Correct the problem and retry the operation."
        ));
    }
    v.mounted = false;
    Ok(Output::Empty)
}

fn filesystem_mount(host: &mut Host, args: &Args) -> Result<Output, String> {
    let storage = &mut host.storage;
    if usize::from(args.has("volume-label")) + usize::from(args.has("volume-uuid")) != 1 {
        return Err("Exactly one of -l|--volume-label and -u|--volume-uuid must be given".into());
    }
    let i = named_volume(storage, args)?;
    let v = &storage.volumes[i];
    if v.mounted {
        return Err(format!("Volume '{}' is already mounted", v.label));
    }
    if !storage.intact(v) {
        return Err(format!(
            "Unable to mount volume '{}': its partitions are gone",
            v.label
        ));
    }
    if !v.label.is_empty()
        && storage
            .volumes
            .iter()
            .any(|o| o.mounted && o.label == v.label)
    {
        return Err(format!(
            "Unable to mount volume '{}': a mounted volume has the same label",
            v.label
        ));
    }
    storage.volumes[i].mounted = true;
    Ok(Output::Empty)
}

fn filesystem_rescan(host: &mut Host, _: &Args) -> Result<Output, String> {
    host.storage.rescan();
    Ok(Output::Empty)
}

fn nvme_disks(storage: &Storage) -> impl Iterator<Item = &Disk> {
    storage
        .disks
        .iter()
        .filter(|d| d.transport == Transport::Nvme)
}

fn nvme_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        nvme_disks(&host.storage)
            .enumerate()
            .map(|(k, d)| {
                Record::new("NvmeDevice")
                    .field("HBA Name", Value::str(&d.adapter))
                    .field("Status", Value::str("Online"))
                    .field(
                        "Signature",
                        Value::str(format!("nvmeMgmt-nvme00{:03x}0000", 0x106 + k)),
                    )
            })
            .collect(),
    ))
}

/// The controller's identify data; serial, model and firmware are space-padded as the controller
/// reports them (20, 40 and 8 characters).
fn nvme_get(host: &mut Host, args: &Args) -> Result<Output, String> {
    let adapter = args.str("adapter").unwrap_or_default();
    let d = nvme_disks(&host.storage)
        .find(|d| d.adapter == adapter)
        .ok_or_else(|| format!("Invalid adapter {adapter}: no NVMe controller has that name"))?;
    Ok(Output::Single(
        Record::new("DeviceInfo")
            .field("PCIVID", Value::str("0x15b7"))
            .field("PCISSVID", Value::str("0x15b7"))
            .field("Serial Number", Value::str(format!("{:<20}", d.serial)))
            .field("Model Number", Value::str(format!("{:<40}", d.model)))
            .field(
                "Firmware Revision",
                Value::str(format!("{:<8}", d.revision)),
            )
            .field("Recommended Arbitration Burst", Value::Int(4))
            .field("IEEE OUI Identifier", Value::str("001b44"))
            .field(
                "Controller Associated with an SR-IOV Virtual Function",
                Value::Bool(false),
            )
            .field(
                "Controller Associated with a PCI Function",
                Value::Bool(true),
            )
            .field(
                "NVM Subsystem May Contain Two or More Controllers",
                Value::Bool(false),
            )
            .field("Controller ID", Value::Int(1))
            .field("Maximum Data Transfer Size", Value::Int(7))
            .field("Number of Namespaces", Value::Int(1))
            .field("Capacity in MB", Value::Int((d.sectors * 512 / MIB) as i64)),
    ))
}
