//! End to end, storage: every storage fixture translated by maas-esxi, its first-boot script run under
//! busybox sh against simulated hosts with the fixture's disks (the image MAAS wrote with and without a
//! datastore1, plus a disk the config does not name), the resulting disks checked against the config; then a
//! re-run, hosts where a disk is missing, ambiguous or not the one ESXi booted from, and a failure injected
//! into each kind of storage command.

mod support;

use std::collections::BTreeSet;

use esxi_sim::Sim;
use esxi_sim::host::Call;
use support::storage::{
    IMAGES, Image, StorageCase, UNRELATED, check_storage, disk_specs, host_with, storage_cases,
    storage_host, storage_view,
};
use support::{par_map, run};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(support::root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

fn cases() -> Vec<StorageCase> {
    let all = storage_cases();
    assert!(
        all.len() >= 12,
        "expected the storage fixtures, found {}",
        all.len()
    );
    all
}

fn fail_on(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn storage_json(sim: &Sim) -> serde_json::Value {
    serde_json::to_value(&sim.host.storage).expect("serializes")
}

#[test]
fn every_storage_fixture_makes_its_datastores_and_a_rerun_changes_nothing() {
    let all = cases();
    let jobs: Vec<(usize, Image)> = (0..all.len())
        .flat_map(|i| IMAGES.map(|image| (i, image)))
        .collect();
    let results = par_map(&jobs, |&(i, image)| {
        let case = &all[i];
        let label = format!("{}-{image:?}", case.name);
        let host = storage_host(case, image);
        let first = run(&host, &case.script, &format!("{label}-first"));
        let mut problems = Vec::new();
        if first.status != 0 {
            problems.push(format!(
                "first run exited {}:\n{}",
                first.status, first.stderr
            ));
        }
        problems.extend(check_storage(&case.storage, &host.host, &first.sim.host));
        let mut again = first.sim.clone();
        again.calls.clear();
        let second = run(&again, &case.script, &format!("{label}-second"));
        let changes: Vec<String> = second
            .sim
            .calls
            .iter()
            .filter(|c| c.mutating)
            .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
            .collect();
        if second.status != 0 || !changes.is_empty() {
            problems.push(format!(
                "re-run exited {} with changes {changes:?}:\n{}",
                second.status, second.stderr
            ));
        }
        if storage_json(&second.sim) != storage_json(&first.sim) {
            problems.push("re-run changed the disks".into());
        }
        let problems: Vec<String> = problems
            .into_iter()
            .map(|p| format!("{label}: {p}"))
            .collect();
        (label, storage_view(&first.sim.host), problems)
    });
    let problems: Vec<String> = results.iter().flat_map(|(_, _, p)| p.clone()).collect();
    fail_on(problems);
    settings().bind(|| {
        for (label, view, _) in results {
            insta::assert_json_snapshot!(format!("{label}.disks"), view);
        }
    });
}

/// The config's first non-boot disk that holds a datastore, with its index.
fn data_disk(case: &StorageCase) -> Option<usize> {
    case.storage
        .datastores
        .iter()
        .flat_map(|d| &d.extents)
        .map(|x| x.disk)
        .find(|&d| !case.storage.disks[d].boot)
}

/// Runs the case's script on a host that must make it stop before any disk is touched: the run fails,
/// names the config's disk and what it saw, and every disk is as it was.
fn refused(case: &StorageCase, specs: &[String], label: &str, says: &[&str]) -> Vec<String> {
    let host = host_with(&["00:0c:29:5a:1e:01".to_string()], specs);
    let out = run(&host, &case.script, label);
    let mut problems = Vec::new();
    if out.status == 0 {
        problems.push("the run succeeded".into());
    }
    for text in says {
        if !out.stderr.contains(text) {
            problems.push(format!("stderr lacks {text:?}:\n{}", out.stderr));
        }
    }
    if !out.stderr.contains("no disk was touched") {
        problems.push(format!(
            "stderr does not say no disk was touched:\n{}",
            out.stderr
        ));
    }
    if storage_json(&out.sim) != storage_json(&host) {
        problems.push("a disk changed".into());
    }
    let touching: Vec<&Call> = out
        .sim
        .calls
        .iter()
        .filter(|c| c.tool != "esxcli")
        .collect();
    if !touching.is_empty() {
        problems.push(format!("{} partedUtil/vmkfstools call(s)", touching.len()));
    }
    problems
        .into_iter()
        .map(|p| format!("{label}: {p}"))
        .collect()
}

#[test]
fn a_missing_ambiguous_or_unbooted_disk_stops_storage_before_any_change() {
    let all = cases();
    let problems: Vec<String> = par_map(&all, |case| {
        let specs = disk_specs(&case.storage, Image::Small);
        let mut problems = Vec::new();
        let host_ids: Vec<String> = host_with(&[], &specs)
            .host
            .storage
            .disks
            .iter()
            .map(|d| d.id.clone())
            .collect();
        if let Some(d) = data_disk(case) {
            let id = case.storage.disks[d].id.value.as_str();
            // The disk is not there: the run names it and lists the devices it saw.
            let mut missing = specs.clone();
            missing.remove(d);
            let disk = format!("disk {id} (");
            let mut says = vec![disk.as_str(), "no device on this host matches"];
            says.extend(
                host_ids
                    .iter()
                    .filter(|h| **h != host_ids[d])
                    .map(String::as_str),
            );
            problems.extend(refused(
                case,
                &missing,
                &format!("{}-missing", case.name),
                &says,
            ));
            // Another device answers to the same identity: never guess between them.
            let twin = twin_of(&specs[d]);
            let mut ambiguous = specs.clone();
            ambiguous.insert(d + 1, twin.clone());
            let twin_id = host_with(&[], &[twin]).host.storage.disks[0].id.clone();
            let says = [
                disk.as_str(),
                "several devices match",
                &host_ids[d],
                &twin_id,
            ];
            problems.extend(refused(
                case,
                &ambiguous,
                &format!("{}-ambiguous", case.name),
                &says,
            ));
        }
        // ESXi booted from a disk the config's boot disk is not.
        if let Some(b) = case.storage.disks.iter().position(|d| d.boot)
            && !case.storage.disks[b].identity.is_empty()
        {
            let mut moved = specs.clone();
            let unrelated = moved.len() - 1;
            moved[b] = moved[b].replace(",boot", "");
            moved[unrelated] = format!("{UNRELATED},boot");
            let says = ["but ESXi booted from", "not guessing"];
            problems.extend(refused(
                case,
                &moved,
                &format!("{}-unbooted", case.name),
                &says,
            ));
        }
        problems
    })
    .into_iter()
    .flatten()
    .collect();
    fail_on(problems);
}

/// A disk that answers to the same identity as a spec's disk, under another device name: for an NVMe
/// namespace the same namespace named eui.<EUI> as well, for a LUN with a WWN the same LUN under an
/// upper-case name, for an ATA disk an NVMe controller reporting its serial and model.
fn twin_of(spec: &str) -> String {
    let field = |key: &str| {
        spec.split(',')
            .find_map(|item| item.strip_prefix(key))
            .unwrap_or_default()
            .to_string()
    };
    let size = spec.split(',').nth(1).unwrap_or("1T");
    let (model, serial) = (field("model="), field("serial="));
    match (field("eui="), field("wwn=")) {
        (eui, _) if !eui.is_empty() => {
            format!("nvme,{size},model={model},serial={serial},id=eui.{eui}")
        }
        (_, wwn) if !wwn.is_empty() => format!(
            "sas,{size},model={model},serial={serial},id=naa.{}",
            wwn.to_ascii_uppercase()
        ),
        _ => format!("nvme,{size},model={model},serial={serial},eui=00000000000000ff"),
    }
}

#[test]
fn nvme_namespaces_named_by_nguid_are_found_too() {
    // ESXi 6.7U1 and later name an NGUID-only namespace eui.<NGUID>, others t10.NVMe…<EUI tail>.
    let case = cases()
        .into_iter()
        .find(|c| c.name == "vmfs7-nvme-eui-path.yaml")
        .expect("the NVMe fixture");
    let specs: Vec<String> = disk_specs(&case.storage, Image::Small)
        .into_iter()
        .map(
            |s| match s.split(',').find_map(|i| i.strip_prefix("eui=")) {
                Some(eui) if !s.contains(",boot") => format!("{s},id=eui.{eui}"),
                _ => s,
            },
        )
        .collect();
    let host = host_with(&["00:0c:29:5a:1e:01".to_string()], &specs);
    assert!(
        host.host
            .storage
            .disks
            .iter()
            .any(|d| d.id.starts_with("eui."))
    );
    let out = run(&host, &case.script, "nvme-nguid");
    assert_eq!(out.status, 0, "{}", out.stderr);
    fail_on(check_storage(&case.storage, &host.host, &out.sim.host));
}

#[test]
fn a_model_linux_cut_short_still_matches_and_another_model_does_not() {
    // Linux may report an ATA model cut to SCSI's 16 characters; ESXi's t10 name has all of it.
    let case = cases()
        .into_iter()
        .find(|c| c.name == "vmfs6-datastore-two-extra-disks.yaml")
        .expect("the two-extra-disks fixture");
    let text = std::fs::read_to_string(support::root().join("fixtures/storage").join(&case.name))
        .expect("readable fixture");
    let host = host_with(
        &["00:0c:29:5a:1e:01".to_string()],
        &disk_specs(&case.storage, Image::Small),
    );
    for (model, matches) in [("SAMSUNG MZ7LH1T9", true), ("SAMSUNG MZ7LH3T8", false)] {
        let config = text.replace(
            "model: SAMSUNG MZ7LH1T9HMLT-00005",
            &format!("model: {model}"),
        );
        let plan = maas_esxi::check(&config, &maas_esxi::Options::default())
            .plan
            .expect("the config translates");
        let out = run(
            &host,
            &maas_esxi::render::script(&plan),
            &format!("model-{matches}"),
        );
        if matches {
            assert_eq!(out.status, 0, "{model}: {}", out.stderr);
            fail_on(check_storage(&case.storage, &host.host, &out.sim.host));
        } else {
            assert!(
                out.stderr.contains("no device on this host matches"),
                "{model}: {}",
                out.stderr
            );
            assert_eq!(storage_json(&out.sim), storage_json(&host));
        }
    }
}

/// Which disks a call acts on: the device names in its arguments; a rename, the boot disk whose datastore
/// slot holds the installer's datastore1.
fn devices(call: &Call, boot: &str) -> BTreeSet<String> {
    if call.tool == "vim-cmd" {
        return BTreeSet::from([boot.to_string()]);
    }
    call.args
        .iter()
        .filter_map(|a| a.split("/vmfs/devices/disks/").nth(1))
        .map(|d| d.split(':').next().unwrap_or(d).to_string())
        .collect()
}

/// A datastore's calls in a run: grouped by the head extent, the last argument of `vmkfstools -C` and
/// `-Z`; a rename and a grow belong to the head they name or to the slot's datastore.
fn head(call: &Call) -> Option<String> {
    match call.kind.as_str() {
        "vmkfstools -C" | "vmkfstools -Z" | "vmkfstools -G" => call.args.last().cloned(),
        _ => None,
    }
}

#[test]
fn one_failed_storage_command_of_each_kind_is_reported_and_the_rest_goes_on() {
    let all = cases();
    let runs: Vec<(usize, Image)> = (0..all.len())
        .flat_map(|i| IMAGES.map(|image| (i, image)))
        .collect();
    let clean: Vec<Vec<Call>> = par_map(&runs, |&(i, image)| {
        let label = format!("{}-{image:?}-clean", all[i].name);
        run(&storage_host(&all[i], image), &all[i].script, &label)
            .sim
            .calls
    });
    // Each kind of call fails in two runs that make it: its first call of that kind.
    let kinds: BTreeSet<&str> = clean.iter().flatten().map(|c| c.kind.as_str()).collect();
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    let mut load = vec![0usize; runs.len()];
    for kind in &kinds {
        let mut users: Vec<usize> = (0..runs.len())
            .filter(|&r| clean[r].iter().any(|c| c.kind == *kind))
            .collect();
        users.sort_by_key(|&r| (load[r], r));
        for &r in users.iter().take(2) {
            load[r] += 1;
            let nth = clean[r]
                .iter()
                .position(|c| c.kind == *kind)
                .unwrap_or_default();
            jobs.push((r, nth));
        }
    }
    for kind in [
        "partedUtil fixGpt",
        "partedUtil mklabel",
        "partedUtil add",
        "partedUtil resize",
        "vmkfstools -C",
        "vmkfstools -Z",
        "vmkfstools -G",
        "vim-cmd hostsvc/datastore/rename",
        "esxcli nvme device get",
    ] {
        assert!(kinds.contains(kind), "no fixture runs {kind}");
    }
    let problems: Vec<String> = par_map(&jobs, |&(r, nth)| {
        let (i, image) = runs[r];
        let case = &all[i];
        let clean = &clean[r];
        let failed = &clean[nth];
        let label = format!(
            "{}-{image:?}-fault-{}",
            case.name,
            failed.kind.replace(' ', "-")
        );
        let mut host = storage_host(case, image);
        let boot = host
            .host
            .storage
            .disks
            .iter()
            .find(|d| d.boot)
            .map(|d| d.id.clone())
            .unwrap_or_default();
        host.faults.push(esxi_sim::Fault {
            nth: Some(nth + 1),
            message: "Sysinfo error: Busy (injected fault)".into(),
            ..esxi_sim::Fault::default()
        });
        let faulty = run(&host, &case.script, &label);
        let mut problems = Vec::new();
        if faulty
            .sim
            .calls
            .get(nth)
            .is_none_or(|c| c.ok || c.kind != failed.kind)
        {
            return vec![format!("{label}: the fault did not hit a {}", failed.kind)];
        }
        if faulty.status == 0 {
            problems.push("the script exited 0 after a failed command".to_string());
        }
        if !faulty.stderr.contains("FAILED:") || !faulty.stderr.contains("injected fault") {
            problems.push(format!("the failure is not reported:\n{}", faulty.stderr));
        }
        let made = |c: &Call| {
            faulty
                .sim
                .calls
                .iter()
                .any(|f| f.ok && f.tool == c.tool && f.args == c.args)
        };
        let stops_all = [
            "esxcli storage core device list",
            "esxcli storage core device capacity list",
            "esxcli nvme device list",
            "esxcli storage core path list",
        ];
        if stops_all.contains(&failed.kind.as_str()) {
            // Without the device inventory no disk is recognised: none is touched.
            if faulty.sim.calls.iter().any(|c| c.mutating) {
                problems.push("changed a disk without knowing the devices".into());
            }
        } else if failed.kind == "esxcli nvme device get" {
            // A controller's serial unread: its disk is not recognised (and no disk is touched), or it
            // was recognised otherwise and the run goes on.
            let stopped = faulty.stderr.contains("no disk was touched");
            if !stopped && clean.iter().filter(|c| c.mutating).any(|c| !made(c)) {
                problems.push("neither stopped before any change nor went on".into());
            }
        } else if failed.kind == "esxcli storage vmfs extent list" {
            // Partitions are made; no volume is made or changed blind.
            for c in clean
                .iter()
                .filter(|c| c.tool == "partedUtil" && c.mutating)
            {
                if !made(c) {
                    problems.push(format!("did not run {}", c.args.join(" ")));
                }
            }
            if faulty
                .sim
                .calls
                .iter()
                .any(|c| c.tool != "partedUtil" && c.mutating)
            {
                problems.push("changed a volume without knowing the extents".into());
            }
        } else {
            // The failed disk or datastore stops; every other disk's partitions and every datastore not
            // on that disk (or not that datastore) are still made.
            let (tainted, heads_hit): (BTreeSet<String>, BTreeSet<String>) =
                match failed.tool.as_str() {
                    "partedUtil" => {
                        let disks = devices(failed, &boot);
                        let heads = clean
                            .iter()
                            .filter(|c| !devices(c, &boot).is_disjoint(&disks))
                            .filter_map(head)
                            .collect();
                        (disks, heads)
                    }
                    // A rename belongs to the datastore whose calls follow it.
                    "vim-cmd" => (
                        BTreeSet::new(),
                        clean.iter().skip(nth).find_map(head).into_iter().collect(),
                    ),
                    _ => (BTreeSet::new(), head(failed).into_iter().collect()),
                };
            for c in clean.iter().skip(nth + 1).filter(|c| c.mutating) {
                let independent = devices(c, &boot).is_disjoint(&tainted)
                    && head(c).is_none_or(|h| !heads_hit.contains(&h))
                    && !(c.tool == "vim-cmd" && failed.tool == "vim-cmd");
                if independent && !made(c) {
                    problems.push(format!("did not go on to {} {}", c.tool, c.args.join(" ")));
                }
            }
        }
        problems
            .into_iter()
            .map(|p| format!("{label}: {p}"))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(jobs.len() >= 20, "only {} fault runs", jobs.len());
    fail_on(problems);
}

/// The checker is not a rubber stamp: a host the script did not run on fails it, and each kind of damage
/// to a configured host is noticed.
#[test]
fn the_storage_checker_notices_what_is_wrong() {
    let all = cases();
    let problems: Vec<String> = par_map(&all, |case| {
        let host = storage_host(case, Image::Small);
        let mut problems = Vec::new();
        if check_storage(&case.storage, &host.host, &host.host).is_empty() {
            problems.push("an unconfigured host passed the check".into());
        }
        let good = run(&host, &case.script, &format!("{}-checker", case.name))
            .sim
            .host;
        type Damage = fn(&mut esxi_sim::Host) -> bool;
        let damages: [(&str, Damage); 6] = [
            ("datastore renamed", |h| {
                h.storage
                    .volumes
                    .iter_mut()
                    .find(|v| v.is_vmfs() && v.label != "foreign")
                    .map(|v| v.label.push('x'))
                    .is_some()
            }),
            ("extents reordered", |h| {
                h.storage
                    .volumes
                    .iter_mut()
                    .find(|v| v.extents.len() > 1)
                    .map(|v| v.extents.reverse())
                    .is_some()
            }),
            ("partition shrunk", |h| {
                h.storage
                    .disks
                    .iter_mut()
                    .flat_map(|d| d.table.partitions.iter_mut())
                    .find(|p| p.number >= 8 && p.kind == esxi_sim::storage::VMFS_GUID)
                    .map(|p| p.end -= 4096)
                    .is_some()
            }),
            ("system partition moved", |h| {
                h.storage
                    .disks
                    .iter_mut()
                    .find(|d| d.boot)
                    .and_then(|d| d.table.partitions.iter_mut().find(|p| p.number == 5))
                    .map(|p| p.end -= 1)
                    .is_some()
            }),
            ("unrelated disk touched", |h| {
                h.storage
                    .disks
                    .last_mut()
                    .map(|d| d.table.partitions.clear())
                    .is_some()
            }),
            ("table left short", |h| {
                h.storage
                    .disks
                    .iter_mut()
                    .find(|d| d.boot)
                    .map(|d| d.table.span -= 1)
                    .is_some()
            }),
        ];
        for (what, damage) in damages {
            let mut bad = good.clone();
            if damage(&mut bad) && check_storage(&case.storage, &host.host, &bad).is_empty() {
                problems.push(format!("{what}: not noticed"));
            }
        }
        problems
            .into_iter()
            .map(|p| format!("{}: {p}", case.name))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    fail_on(problems);
}
