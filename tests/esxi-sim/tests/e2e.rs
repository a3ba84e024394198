//! End to end: every network fixture translated by maas-esxi, its first-boot script run under busybox sh
//! against a freshly installed simulated host that has the fixture's NICs, and the resulting host checked
//! against the config; then a re-run, a failure injected into each kind of command, and a host whose NICs
//! come in another order with upper-case MACs.

mod support;

use std::collections::BTreeSet;

use support::{
    Case, Management, assert_no_problems, cases, check_host, macs, management, network_view,
    par_flat_map, par_map, required_changes, run,
};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(support::root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Runs `f` on every fixture on all cores, and fails with every fixture's problems listed.
fn each_case(f: impl Fn(&Case) -> Vec<String> + Sync) {
    let problems = for_cases(f);
    assert_no_problems(&problems);
}

/// Runs `f` on every fixture on all cores; the problems it found, each prefixed with its fixture.
fn for_cases(f: impl Fn(&Case) -> Vec<String> + Sync) -> Vec<String> {
    let all = cases();
    assert!(
        all.len() >= 25,
        "expected the network fixtures, found {}",
        all.len()
    );
    par_flat_map(&all, |c| {
        f(c).into_iter()
            .map(|p| format!("{}: {p}", c.name))
            .collect::<Vec<_>>()
    })
}

#[test]
fn every_fixture_configures_the_host_and_a_rerun_changes_nothing() {
    let hosts = std::sync::Mutex::new(Vec::new());
    let problems = for_cases(|case| {
        let mut problems = Vec::new();
        let host = case.fresh(&macs(&case.model));
        let first = run(&host, &case.script, &format!("{}-first", case.name));
        if first.status != 0 {
            problems.push(format!(
                "first run exited {}:\n{}",
                first.status, first.stderr
            ));
        }
        problems.extend(check_host(&case.model, &first.sim.host));
        match management(&case.model, &first.sim.host) {
            (Management::Planned, _) => {}
            (other, why) => problems.push(format!("management vmk {other:?}: {why}")),
        }
        problems.extend(first.expansions.iter().cloned());
        let required = required_changes(&host.host, &case.plan);
        let mutating = Case::network_changes(&first);
        if mutating != required {
            problems.push(format!(
                "first run made {mutating} changes; the plan needs {required} on a fresh host"
            ));
        }
        hosts
            .lock()
            .expect("not poisoned")
            .push((case.name.clone(), network_view(&first.sim.host, false)));

        let mut again = first.sim.clone();
        again.calls.clear();
        let second = run(&again, &case.script, &format!("{}-second", case.name));
        if second.status != 0 || second.stats().mutating != 0 {
            let changes = second.changes();
            problems.push(format!(
                "re-run exited {} with changes {changes:?}",
                second.status
            ));
        }
        if network_view(&second.sim.host, false) != network_view(&first.sim.host, false) {
            problems.push("re-run changed the host".into());
        }
        problems.extend(second.expansions.iter().cloned());
        problems
    });
    let mut hosts = hosts.into_inner().expect("not poisoned");
    hosts.sort_by(|a, b| a.0.cmp(&b.0));
    settings().bind(|| {
        for (name, host) in hosts {
            insta::assert_json_snapshot!(format!("{name}.host"), host);
        }
    });
    assert_no_problems(&problems);
}

#[test]
fn nic_order_and_mac_case_do_not_matter() {
    each_case(|case| {
        let macs = macs(&case.model);
        let reference = run(
            &case.fresh(&macs),
            &case.script,
            &format!("{}-ref", case.name),
        );
        let mut shuffled: Vec<String> = macs.iter().map(|m| m.to_ascii_uppercase()).collect();
        shuffled.reverse();
        if shuffled.len() > 2 {
            shuffled.rotate_left(1);
        }
        let other = run(
            &case.fresh(&shuffled),
            &case.script,
            &format!("{}-shuffled", case.name),
        );
        let mut problems = Vec::new();
        if other.status != 0 {
            problems.push(format!(
                "run on the reordered host exited {}:\n{}",
                other.status, other.stderr
            ));
        }
        // vmk0's MAC on the installer's host follows vmnic0, so compare hosts by what the config decides.
        let view = |sim: &esxi_sim::Sim| network_view(&sim.host, true);
        if view(&reference.sim) != view(&other.sim) {
            problems.push(format!(
                "reordered NICs with upper-case MACs gave another host:\n{:#}\nvs\n{:#}",
                view(&reference.sim),
                view(&other.sim)
            ));
        }
        problems
    });
}

/// How many fixtures each kind of command is made to fail in: enough to meet it in different contexts
/// (a bond, a VLAN, IPv6, DHCP …) without running every fixture once per kind.
const FIXTURES_PER_KIND: usize = 3;

#[test]
fn one_failed_command_of_each_kind_is_reported_and_keeps_the_management_vmk_addressed() {
    let all = cases();
    // The calls each fixture's script makes on a fresh host.
    let clean: Vec<Vec<esxi_sim::host::Call>> = par_map(&all, |case| {
        run(
            &case.fresh(&macs(&case.model)),
            &case.script,
            &format!("{}-clean", case.name),
        )
        .sim
        .calls
    });
    // The storage part's commands fail in the storage end-to-end test.
    let kinds: BTreeSet<&String> = clean
        .iter()
        .flatten()
        .map(|c| &c.kind)
        .filter(|k| k.starts_with("esxcli network"))
        .collect();
    // Each kind fails in a few fixtures that run it, spread so that every fixture takes its share.
    let mut load = vec![0usize; all.len()];
    let mut jobs: Vec<(usize, String)> = Vec::new();
    for kind in kinds {
        let mut users: Vec<usize> = (0..all.len())
            .filter(|&i| clean[i].iter().any(|c| &c.kind == kind))
            .collect();
        users.sort_by_key(|&i| (load[i], i));
        for &i in users.iter().take(FIXTURES_PER_KIND) {
            load[i] += 1;
            jobs.push((i, kind.clone()));
        }
    }
    let problems: Vec<String> = par_flat_map(&jobs, |(i, kind)| {
        let case = &all[*i];
        let mut host = case.fresh(&macs(&case.model));
        host.faults.push(esxi_sim::Fault {
            matching: Some(kind.clone()),
            message: "Sysinfo error: Busy (injected fault)".into(),
            ..esxi_sim::Fault::default()
        });
        let label = format!("{}-fault-{}", case.name, kind.replace(' ', "-"));
        let faulty = run(&host, &case.script, &label);
        let mut problems = Vec::new();
        let Some(failed_at) = faulty.sim.calls.iter().position(|c| !c.ok) else {
            return vec![format!("{}: {kind}: the fault did not fire", case.name)];
        };
        if faulty.status == 0 {
            problems.push("the script exited 0 after a failed command".to_string());
        }
        if !faulty.stderr.contains("FAILED:") || !faulty.stderr.contains("injected fault") {
            problems.push(format!("the failure is not reported:\n{}", faulty.stderr));
        }
        if kind == "esxcli network nic list" {
            if Case::network_changes(&faulty) != 0 {
                problems.push("changed the host without knowing its NICs".into());
            }
        } else {
            if let (Management::Lost, why) = management(&case.model, &faulty.sim.host) {
                problems.push(format!("the management vmk is lost: {why}"));
            }
            // The script went on: every kind of listing the clean run made after this point still ran.
            // (Changes may rightly be skipped: what could not be listed is not removed.)
            let listed = |calls: &[esxi_sim::host::Call]| -> BTreeSet<String> {
                calls
                    .iter()
                    .skip(failed_at + 1)
                    .filter(|c| !c.mutating)
                    .map(|c| c.kind.clone())
                    .collect()
            };
            let skipped: Vec<String> = listed(&clean[*i])
                .difference(&listed(&faulty.sim.calls))
                .cloned()
                .collect();
            if !skipped.is_empty() {
                problems.push(format!(
                    "the script stopped at the failure: {skipped:?} never ran"
                ));
            }
        }
        problems
            .into_iter()
            .map(|p| format!("{}: {kind}: {p}", case.name))
            .collect()
    });
    assert!(jobs.len() >= 20, "only {} fault runs", jobs.len());
    assert_no_problems(&problems);
}

/// The checker is not a rubber stamp: an unconfigured host fails it for every fixture, and each kind of damage
/// to a configured host is noticed.
#[test]
fn the_checker_notices_what_is_wrong() {
    each_case(|case| {
        let mut problems = Vec::new();
        let host = case.fresh(&macs(&case.model));
        if check_host(&case.model, &host.host).is_empty() {
            problems.push("an unconfigured host passed the check".into());
        }
        if management(&case.model, &host.host).0 == Management::Planned {
            problems.push("the installer's vmk0 passed for the planned management vmk".into());
        }
        let good = run(&host, &case.script, &format!("{}-checker", case.name))
            .sim
            .host;
        type Damage = fn(&mut esxi_sim::Host) -> bool;
        let damages: [(&str, Damage); 10] = [
            ("VLAN changed", |h| {
                h.portgroups
                    .iter_mut()
                    .find(|p| p.vlan != 0)
                    .map(|p| p.vlan += 1)
                    .is_some()
            }),
            ("uplink dropped", |h| {
                h.vswitches
                    .iter_mut()
                    .find(|v| !v.uplinks.is_empty())
                    .map(|v| v.uplinks.pop())
                    .is_some()
            }),
            ("teaming changed", |h| {
                h.vswitches
                    .first_mut()
                    .map(|v| v.failover.load_balancing = "srcip".into())
                    .is_some()
            }),
            ("address changed", |h| {
                h.vmks
                    .iter_mut()
                    .find(|k| k.ipv4.kind == "static")
                    .map(|k| k.ipv4.address = "203.0.113.99".into())
                    .is_some()
            }),
            ("management tag moved", |h| {
                h.vmks.first_mut().map(|k| k.tags.clear()).is_some()
            }),
            ("route lost", |h| h.routes.pop().is_some()),
            ("MTU lowered", |h| {
                h.vmks.first_mut().map(|k| k.mtu -= 1).is_some()
            }),
            ("DNS servers reordered", |h| {
                h.dns.servers.reverse();
                h.dns.servers.len() > 1
            }),
            ("search domains reordered", |h| {
                h.dns.search.reverse();
                h.dns.search.len() > 1
            }),
            ("VM Network removed", |h| {
                let before = h.portgroups.len();
                h.portgroups.retain(|p| p.name != "VM Network");
                h.portgroups.len() != before
            }),
        ];
        for (what, damage) in damages {
            let mut bad = good.clone();
            if damage(&mut bad) && check_host(&case.model, &bad).is_empty() {
                problems.push(format!("{what}: not noticed"));
            }
        }
        problems
    });
}
