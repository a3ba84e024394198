//! Day-2 changes: a host configured from one config is configured again from another, for each kind of
//! change in `fixtures/day2/<change>/` (`before.yaml`, `after.yaml`), both ways. The host must end as the new
//! config asks, exactly as a fresh host given only the new config would, and a further run must change
//! nothing. Where the change moves the management vmk, every change of the second run is also made to fail
//! once, and the management vmk must keep an address.

mod support;

use maas_esxi::model::Network;
use support::day2::{Config, transitions};
use support::{
    Management, assert_no_problems, check_host, fresh, injected, judge_failure, macs, management,
    network_view, par_flat_map, par_map, run,
};

/// The host as the config decides it: objects in name order, not creation order; the MAC of a vmk the
/// config gives none is the host's choice; and a config without DNS leaves the host's DNS to DHCP.
fn view(host: &esxi_sim::Host, model: &Network) -> serde_json::Value {
    let mut v = network_view(host, true);
    let link_macs: Vec<String> = model
        .links
        .iter()
        .filter_map(|l| l.mac.as_ref().map(|m| m.value.as_str().to_string()))
        .collect();
    for k in v["vmks"].as_array_mut().into_iter().flatten() {
        if !link_macs.iter().any(|m| k["mac"] == m.as_str()) {
            k["mac"] = "(host's own)".into();
        }
    }
    for list in ["vswitches", "portgroups", "vmks"] {
        if let Some(items) = v[list].as_array_mut() {
            items.sort_by(|a, b| a["name"].to_string().cmp(&b["name"].to_string()));
        }
    }
    if model.dns.servers.is_empty() {
        v["dns"]["servers"] = serde_json::Value::Null;
    }
    if model.dns.search.is_empty() {
        v["dns"]["search"] = serde_json::Value::Null;
    }
    v
}

#[test]
fn each_change_ends_as_the_new_config_and_a_rerun_changes_nothing() {
    let all = transitions();
    assert!(all.len() >= 16, "only {} day-2 transitions", all.len());
    let problems: Vec<String> = par_flat_map(&all, |(change, from, to)| {
        let label = format!("day2-{}", to.name.replace('/', "-"));
        let nics = macs(&from.model);
        assert_eq!(
            nics,
            macs(&to.model),
            "{change}: the two configs need the same NICs"
        );
        let mut problems = Vec::new();
        let first = run(&fresh(&nics), &from.script, &format!("{label}-a"));
        if first.status != 0 || !check_host(&from.model, &first.sim.host).is_empty() {
            problems.push(format!(
                "{} did not apply cleanly:\n{}",
                from.name, first.stderr
            ));
        }
        let mut host = first.sim.clone();
        host.calls.clear();
        let second = run(&host, &to.script, &format!("{label}-b"));
        if second.status != 0 {
            problems.push(format!(
                "the change exited {}:\n{}",
                second.status, second.stderr
            ));
        }
        problems.extend(check_host(&to.model, &second.sim.host));
        if let (state @ (Management::Dhcp | Management::Lost), why) =
            management(&to.model, &second.sim.host)
        {
            problems.push(format!("management vmk {state:?}: {why}"));
        }
        problems.extend(second.expansions.iter().cloned());
        let clean = run(&fresh(&nics), &to.script, &format!("{label}-fresh"));
        if view(&second.sim.host, &to.model) != view(&clean.sim.host, &to.model) {
            problems.push(format!(
                "the host differs from a fresh one given only {}:\n{:#}\nvs\n{:#}",
                to.name,
                view(&second.sim.host, &to.model),
                view(&clean.sim.host, &to.model)
            ));
        }
        let mut again = second.sim.clone();
        again.calls.clear();
        let third = run(&again, &to.script, &format!("{label}-c"));
        let changes = third.changes();
        if third.status != 0 || !changes.is_empty() {
            problems.push(format!(
                "the re-run exited {} with changes {changes:?}",
                third.status
            ));
        }
        problems
            .into_iter()
            .map(|p| format!("{change}: {} -> {}: {p}", from.name, to.name))
            .collect::<Vec<_>>()
    });
    assert_no_problems(&problems);
}

#[test]
fn a_failed_change_while_the_management_vmk_moves_keeps_it_addressed() {
    let moves: Vec<(String, Config, Config)> = transitions()
        .into_iter()
        .filter(|(change, ..)| change == "management-moved")
        .collect();
    assert_eq!(moves.len(), 2, "the management-moved change, both ways");
    // Each configured host, and the position of each change the new config's run makes on it.
    let starts: Vec<(esxi_sim::Sim, Vec<usize>)> = par_map(&moves, |(_, from, to)| {
        let label = format!("day2-move-{}", to.name.replace('/', "-"));
        let mut host = run(
            &fresh(&macs(&from.model)),
            &from.script,
            &format!("{label}-a"),
        )
        .sim;
        host.calls.clear();
        let changes = run(&host, &to.script, &format!("{label}-b"))
            .sim
            .calls
            .iter()
            .enumerate()
            .filter(|(_, c)| c.mutating)
            .map(|(n, _)| n + 1)
            .collect();
        (host, changes)
    });
    let jobs: Vec<(usize, usize)> = starts
        .iter()
        .enumerate()
        .flat_map(|(i, (_, changes))| changes.iter().map(move |&n| (i, n)))
        .collect();
    let problems: Vec<String> = par_flat_map(&jobs, |&(i, nth)| {
        let (_, from, to) = &moves[i];
        let mut host = starts[i].0.clone();
        host.faults.push(injected(Some(nth), None, false));
        let faulty = run(&host, &to.script, &format!("day2-move-{i}-{nth}"));
        let (kind, _, problems) = judge_failure(&to.model, &faulty);
        problems
            .into_iter()
            .map(|p| format!("{} -> {}: call {nth} ({kind}): {p}", from.name, to.name))
            .collect::<Vec<_>>()
    });
    assert!(jobs.len() >= 10, "only {} fault runs", jobs.len());
    assert_no_problems(&problems);
}
