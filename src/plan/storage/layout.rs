//! Which disks the script touches, the partitions it places on each (in disk order), and each datastore's
//! extents with the head chosen deliberately.
//!
//! The boot disk keeps ESXi's partitions: the plan lists the datastore slot when a datastore is on it and
//! the user partitions after it. Other disks get every partition the config gives them. Disks without a
//! datastore extent are left alone. Without any `vmfs6` entry, `datastore1` takes the rest of the boot disk.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::storage as model;
use crate::plan::storage::identity::{describe, matching};
use crate::plan::storage::{Datastore, Disk, Extent, INSTALLER_DATASTORE, Partition, Storage};

pub(super) fn plan(storage: &model::Storage, diags: &mut Diagnostics) -> Storage {
    if storage.datastores.is_empty() {
        return installer_datastore(storage);
    }
    // Per model disk: its index among the planned disks, and where each of its partitions went.
    let mut disks: Vec<Disk> = Vec::new();
    let mut index: Vec<Option<(usize, Vec<Option<usize>>)>> = vec![None; storage.disks.len()];
    let on = |d: usize| {
        storage
            .datastores
            .iter()
            .flat_map(|ds| &ds.extents)
            .any(|x| x.disk == d)
    };
    for (d, disk) in storage.disks.iter().enumerate() {
        if !on(d) {
            continue;
        }
        let in_datastore = |k: usize| {
            storage
                .datastores
                .iter()
                .flat_map(|ds| &ds.extents)
                .any(|x| x.disk == d && x.partition == k)
        };
        let layout = disk.layout();
        let mut partitions = Vec::new();
        for (k, p) in disk.partitions.iter().enumerate() {
            let number = p.number.value;
            let slot = disk.boot && number == layout.slot();
            if disk.boot && (layout.is_system(number) || slot && !in_datastore(k)) {
                continue;
            }
            if !in_datastore(k) {
                diags.push(
                    Diagnostic::warning(
                        Code::Approximation,
                        Some(p.id.span),
                        format!(
                            "partition `{}` holds no datastore: it is created without a file system",
                            p.id.value
                        ),
                    )
                    .with_help("MAAS's layout is kept; give the partition a VMFS datastore to use it on ESXi"),
                );
            }
            partitions.push(Partition {
                id: p.id.value.clone(),
                number,
                slot,
                size: p.size.value,
                offset: p.offset.as_ref().map(|o| o.value),
                last: false,
                rest: false,
            });
        }
        // The slot lies after ESXi's partitions and before the user partitions, whatever its number.
        partitions.sort_by_key(|p| (!p.slot, p.number));
        // Where each of the model's partitions went (numbers are unique on a disk).
        let positions = disk
            .partitions
            .iter()
            .map(|p| partitions.iter().position(|q| q.number == p.number.value))
            .collect();
        if let Some(last) = partitions.last_mut() {
            last.last = true;
        }
        index[d] = Some((disks.len(), positions));
        disks.push(Disk {
            id: disk.id.value.clone(),
            describe: describe(Some(disk)),
            boot: disk.boot,
            matching: matching(&disk.identity),
            partitions,
        });
    }
    let datastores = storage
        .datastores
        .iter()
        .map(|ds| {
            let mut extents: Vec<Extent> = ds
                .extents
                .iter()
                .filter_map(|x| {
                    let (disk, positions) = index[x.disk].as_ref()?;
                    let partition = positions[x.partition]?;
                    let p = &disks[*disk].partitions[partition];
                    Some(Extent {
                        disk: *disk,
                        partition,
                        number: p.number,
                        slot: p.slot,
                    })
                })
                .collect();
            // The head: the boot disk's slot when it is an extent, else the first extent in config order.
            if let Some(at) = extents.iter().position(|x| x.slot) {
                let head = extents.remove(at);
                extents.insert(0, head);
            }
            datastore(&ds.name.value, extents)
        })
        .collect();
    Storage {
        disks,
        datastores,
        nvme_serials: false,
    }
}

fn datastore(name: &str, extents: Vec<Extent>) -> Datastore {
    let mut on = Vec::new();
    for x in &extents {
        if !on.contains(&x.disk) {
            on.push(x.disk);
        }
    }
    let slot_disk = extents.iter().find(|x| x.slot).map(|x| x.disk);
    let head_is_slot = extents.first().is_some_and(|x| x.slot);
    Datastore {
        name: name.to_string(),
        extents,
        disks: on,
        slot_disk,
        adopts: head_is_slot.then(|| INSTALLER_DATASTORE.to_string()),
    }
}

/// No `vmfs6` entry: the installer's `datastore1` takes the rest of the boot disk (created if the image has
/// none).
fn installer_datastore(storage: &model::Storage) -> Storage {
    let boot = storage.disks.iter().find(|d| d.boot);
    let slot = boot.map_or(8, |d| d.layout().slot());
    let disk = Disk {
        id: boot.map_or_else(|| "boot".to_string(), |d| d.id.value.clone()),
        describe: describe(boot),
        boot: true,
        matching: boot.map(|d| matching(&d.identity)).unwrap_or_default(),
        partitions: vec![Partition {
            id: INSTALLER_DATASTORE.to_string(),
            number: slot,
            slot: true,
            size: 0,
            offset: None,
            last: true,
            rest: true,
        }],
    };
    let datastores = vec![datastore(
        INSTALLER_DATASTORE,
        vec![Extent {
            disk: 0,
            partition: 0,
            number: slot,
            slot: true,
        }],
    )];
    let disks = vec![disk];
    Storage {
        disks,
        datastores,
        nvme_serials: false,
    }
}
