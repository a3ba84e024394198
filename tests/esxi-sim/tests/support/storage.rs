//! Storage for the end-to-end tests: simulated hosts whose disks are the ones a config's storage model
//! describes (plus a disk the config does not name), and the checker that compares the host's partitions and
//! VMFS volumes with the model. Like the network checker, it reads the config's model, never the plan.

use esxi_sim::Sim;
use esxi_sim::host::{Host, Profile};
use esxi_sim::storage::{Fs, Storage as Disks, Volume};
use maas_esxi::model::storage::{Disk, Layout, Storage};
use maas_esxi::plan::Plan;

const MIB: u64 = 1 << 20;
const SECTOR: u64 = 512;

/// One storage fixture, translated.
pub struct StorageCase {
    pub name: String,
    pub storage: Storage,
    pub plan: Plan,
    pub script: String,
}

/// Every storage fixture, in file-name order.
pub fn storage_cases() -> Vec<StorageCase> {
    super::translated("storage")
        .into_iter()
        .map(|(name, source, plan, script)| {
            let storage = maas_esxi::storage_model(&source)
                .unwrap_or_else(|_| panic!("{name} does not normalize"))
                .unwrap_or_else(|| panic!("{name} has no storage section"));
            StorageCase {
                name,
                storage,
                plan,
                script,
            }
        })
        .collect()
}

/// What MAAS's image left on the boot disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// The 32 GiB image packer-maas builds (`systemMediaSize=min`): on ESXi 7+, no datastore1; on 6.x,
    /// datastore1 up to the image's end.
    Small,
    /// A 64 GiB image from a 32 GiB system install: datastore1 on the slot up to the image's end.
    WithDatastore,
}

pub const IMAGES: [Image; 2] = [Image::Small, Image::WithDatastore];

/// A disk that the config does not name, holding a datastore of its own: it must never be touched.
pub const UNRELATED: &str = "sata,1T,model=UNRELATED DISK,serial=NOTINCONFIG01,vmfs=foreign";

/// Disk specs for a host with the config's disks, in config order, then the unrelated disk.
pub fn disk_specs(storage: &Storage, image: Image) -> Vec<String> {
    let mut specs: Vec<String> = storage
        .disks
        .iter()
        .map(|d| disk_spec(storage, d, image))
        .collect();
    if !storage.disks.iter().any(|d| d.boot) {
        specs.insert(0, boot_spec("virtual,256G", Layout::Esxi70, image));
    }
    specs.push(UNRELATED.to_string());
    specs
}

fn disk_spec(storage: &Storage, d: &Disk, image: Image) -> String {
    let text = |v: &Option<maas_esxi::diag::Located<String>>| v.as_ref().map(|s| s.value.clone());
    let used: u64 = d.partitions.iter().map(|p| p.size.value).sum();
    // MAAS gives the last partition what is left after 5 MiB of overhead (6 on BIOS machines), rounded
    // down to 4 MiB: the disk is 7 MiB more than its partitions.
    let bytes = if d.partitions.is_empty() {
        1 << 40
    } else {
        used + 7 * MIB
    };
    let sectors = bytes / SECTOR;
    let model = text(&d.identity.model);
    let serial = text(&d.identity.serial);
    let base = if let Some(eui) = &d.identity.eui {
        format!(
            "nvme,{sectors}s,model={},serial={},eui={}",
            model.unwrap_or_else(|| "Samsung SSD 980 PRO 2TB".into()),
            serial.unwrap_or_else(|| "S6B0NL0W000001".into()),
            eui.value
        )
    } else if let Some(wwn) = &d.identity.wwn {
        format!(
            "sas,{sectors}s,model={},serial={},wwn={}",
            model.unwrap_or_else(|| "LOGICAL VOLUME".into()),
            serial.unwrap_or_else(|| "PDNLH0BRH9W0GY".into()),
            wwn.value
        )
    } else if let Some(serial) = serial {
        let model = model.unwrap_or_else(|| "DISK".into());
        if d.id.value.starts_with("nvme") {
            let eui = format!("{:016x}", fnv(&serial));
            format!("nvme,{sectors}s,model={model},serial={serial},eui={eui}")
        } else {
            format!("sata,{sectors}s,model={model},serial={serial}")
        }
    } else {
        format!("virtual,{sectors}s")
    };
    if !d.boot {
        return base;
    }
    // The layout the config's datastores are laid out for; a Linux layout says nothing, ESXi 7+ is the
    // common case.
    let layout = if storage.datastores.is_empty() {
        Layout::Esxi70
    } else {
        d.layout()
    };
    boot_spec(&base, layout, image)
}

fn boot_spec(base: &str, layout: Layout, image: Image) -> String {
    let layout = match (layout, image) {
        (Layout::Esxi70, Image::Small) => "layout=esxi7,image=32G",
        (Layout::Esxi70, Image::WithDatastore) => "layout=esxi7,image=64G,system=32G",
        (Layout::Esxi67, Image::Small) => "layout=esxi67,image=32G",
        (Layout::Esxi67, Image::WithDatastore) => "layout=esxi67,image=64G",
    };
    format!("{base},{layout},boot")
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A freshly installed host with these NICs and disks.
pub fn host_with(macs: &[String], specs: &[String]) -> Sim {
    Sim::new(&Profile {
        major: 8,
        macs: macs.to_vec(),
        storage: Disks::from_specs(specs).unwrap_or_else(|e| panic!("bad disk specs: {e}")),
    })
}

/// A host for a storage case: one NIC, the case's disks.
pub fn storage_host(case: &StorageCase, image: Image) -> Sim {
    host_with(
        &["00:0c:29:5a:1e:01".to_string()],
        &disk_specs(&case.storage, image),
    )
}

/// The host's datastore slot on its boot disk: 8 beside ESXi 7's OSDATA, 3 on ESXi 6.x.
fn host_slot(host: &Host) -> Option<(String, u32)> {
    let boot = host.storage.disks.iter().find(|d| d.boot)?;
    let slot = if boot.partition(7).is_some_and(|p| p.type_name() == "vmfsl") {
        8
    } else {
        3
    };
    Some((boot.id.clone(), slot))
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("serializes")
}

/// Everything in which the host's storage after a run differs from what the config asks for, given the host
/// before the run (whose disks are the config's, in config order, as `disk_specs` makes them).
pub fn check_storage(storage: &Storage, before: &Host, after: &Host) -> Vec<String> {
    let mut problems = Vec::new();
    let (boot_id, slot) = host_slot(before).unwrap_or_default();
    let offset = usize::from(!storage.disks.iter().any(|d| d.boot));
    let host_id = |i: usize| before.storage.disks[i + offset].id.clone();
    let disk_after = |id: &str| after.storage.disks.iter().find(|d| d.id == id);
    let mounted = |label: &str| -> Vec<&Volume> {
        after
            .storage
            .volumes
            .iter()
            .filter(|v| v.mounted && v.label == label)
            .collect()
    };
    // Disks and partitions a datastore of the config uses.
    let mut touched: Vec<String> = Vec::new();
    for ds in &storage.datastores {
        let name = &ds.name.value;
        let mut want: Vec<(String, u32, u64)> = ds
            .extents
            .iter()
            .map(|x| {
                let d = &storage.disks[x.disk];
                let p = &d.partitions[x.partition];
                let number = if d.boot && p.number.value == d.layout().slot() {
                    slot
                } else {
                    p.number.value
                };
                (host_id(x.disk), number, p.size.value)
            })
            .collect();
        if let Some(at) = want
            .iter()
            .position(|(id, n, _)| *id == boot_id && *n == slot)
        {
            let head = want.remove(at);
            want.insert(0, head);
        }
        touched.extend(want.iter().map(|(id, _, _)| id.clone()));
        let found = mounted(name);
        let [volume] = found[..] else {
            problems.push(format!(
                "{} mounted volume(s) labelled {name:?}",
                found.len()
            ));
            continue;
        };
        if volume.fs != Fs::Vmfs6 {
            problems.push(format!("{name}: {:?}, not VMFS6", volume.fs));
        }
        let got: Vec<(String, u32)> = volume
            .extents
            .iter()
            .map(|e| (e.disk.clone(), e.partition))
            .collect();
        let wanted: Vec<(String, u32)> = want.iter().map(|(d, n, _)| (d.clone(), *n)).collect();
        if got != wanted {
            problems.push(format!(
                "{name}: extents {got:?} instead of {wanted:?} (head first)"
            ));
            continue;
        }
        for (e, (disk, number, size)) in volume.extents.iter().zip(&want) {
            let Some(p) = disk_after(disk).and_then(|d| d.partition(*number)) else {
                problems.push(format!("{name}: partition {disk}:{number} is gone"));
                continue;
            };
            let bytes = p.sectors() * SECTOR;
            if bytes.abs_diff(*size) > MIB {
                problems.push(format!(
                    "{name}: {disk}:{number} has {bytes} bytes, MAAS gave {size}"
                ));
            }
            if p.kind != esxi_sim::storage::VMFS_GUID {
                problems.push(format!(
                    "{name}: {disk}:{number} has type {}",
                    p.type_name()
                ));
            }
            if e.start != p.start || e.sectors != p.sectors() {
                problems.push(format!("{name}: the volume does not fill {disk}:{number}"));
            }
        }
    }
    if storage.datastores.is_empty() {
        // datastore1 takes the rest of the boot disk.
        touched.push(boot_id.clone());
        let ok = mounted("datastore1").first().is_some_and(|v| {
            let disk = disk_after(&boot_id);
            let last = disk.map(|d| d.sectors - 34).unwrap_or_default();
            let partition = disk.and_then(|d| d.partition(slot));
            v.extents.len() == 1
                && v.extents[0].disk == boot_id
                && v.extents[0].partition == slot
                && partition.is_some_and(|p| {
                    p.end == last
                        && v.extents[0].start == p.start
                        && v.extents[0].sectors == p.sectors()
                })
        });
        if !ok {
            problems.push("datastore1 does not fill the rest of the boot disk".into());
        }
    }
    // Disks the config puts no datastore on, and the unrelated disk, are as they were.
    for (b, a) in before.storage.disks.iter().zip(&after.storage.disks) {
        if !touched.contains(&b.id) && json(b) != json(a) {
            problems.push(format!("{} changed though no datastore is on it", b.id));
        }
        if touched.contains(&b.id) && a.table.span != a.sectors {
            problems.push(format!("{}: its GPT does not span the disk", b.id));
        }
        if b.boot {
            for p in b
                .table
                .partitions
                .iter()
                .filter(|p| p.number <= 9 && p.number != slot)
            {
                if a.partition(p.number) != Some(p) {
                    problems.push(format!("boot disk partition {} changed", p.number));
                }
            }
        }
    }
    // Volumes nobody planned (the host's own, the unrelated disk's) are untouched.
    let slot_used = storage.datastores.is_empty()
        || storage.datastores.iter().flat_map(|d| &d.extents).any(|x| {
            let d = &storage.disks[x.disk];
            d.boot && d.partitions[x.partition].number.value == d.layout().slot()
        });
    let planned: Vec<&str> = storage
        .datastores
        .iter()
        .map(|d| d.name.value.as_str())
        .chain(storage.datastores.is_empty().then_some("datastore1"))
        .collect();
    for v in &before.storage.volumes {
        let adopted = slot_used
            && v.extents
                .first()
                .is_some_and(|e| e.disk == boot_id && e.partition == slot);
        if adopted || planned.contains(&v.label.as_str()) {
            continue;
        }
        if !after.storage.volumes.iter().any(|w| json(w) == json(v)) {
            problems.push(format!("volume {:?} changed", v.label));
        }
    }
    problems
}

/// The host's disks as a snapshot shows them: each partition, and each volume with its extents.
pub fn storage_view(host: &Host) -> serde_json::Value {
    serde_json::json!({
        "disks": host.storage.disks.iter().map(|d| serde_json::json!({
            "id": d.id,
            "sectors": d.sectors,
            "span": d.table.span,
            "partitions": d.table.partitions.iter().map(|p| format!("{} {}-{} {}", p.number, p.start, p.end, p.type_name())).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "volumes": host.storage.volumes.iter().filter(|v| v.is_vmfs()).map(|v| serde_json::json!({
            "label": v.label,
            "mounted": v.mounted,
            "capacity-mib": v.capacity() / MIB,
            "extents": v.extents.iter().map(|e| format!("{}:{}", e.disk, e.partition)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
