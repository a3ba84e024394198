//! The management vmk under failures. On fixtures that between them cover every shape the management path
//! takes (one NIC or a team, VLAN or not, static or DHCP, with the link's MAC or not, the boot NIC first on
//! the host or not, alone or with other vmks), every change the script makes on a fresh host is made to fail, one at a time. Each failure must
//! be reported and leave the management vmk with its planned address, or with DHCP on its link's MAC.
//!
//! The outcomes per kind of failed command are printed as a table:
//! `cargo test -p esxi-sim --test management -- --nocapture`.

mod support;

use std::collections::BTreeMap;

use maas_esxi::plan::Ipv4;
use support::{
    Case, Management, assert_no_problems, fresh, injected, judge_failure, macs, par_flat_map,
    par_map, representatives, run, shape,
};

/// A fixture's run on a fresh host with a failure injected.
struct Outcome {
    fixture: String,
    kind: String,
    management: Management,
    problems: Vec<String>,
}

fn fail_and_judge(case: &Case, fault: esxi_sim::Fault, label: &str) -> Outcome {
    let mut host = fresh(&macs(&case.model));
    host.faults.push(fault);
    let (kind, management, problems) = judge_failure(&case.model, &run(&host, &case.script, label));
    Outcome {
        fixture: case.name.clone(),
        kind,
        management,
        problems,
    }
}

#[test]
fn every_failed_change_leaves_the_management_vmk_addressed() {
    let fixtures = representatives();
    assert!(
        fixtures.len() >= 8,
        "only {} management shapes among the fixtures",
        fixtures.len()
    );
    // Every change of each fixture's clean run on a fresh host, by its position among all calls.
    let clean = par_map(&fixtures, |case| {
        run(
            &fresh(&macs(&case.model)),
            &case.script,
            &format!("{}-mgmt-clean", case.name),
        )
        .sim
        .calls
    });
    let jobs: Vec<(usize, usize)> = clean
        .iter()
        .enumerate()
        .flat_map(|(i, calls)| {
            calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.mutating)
                .map(move |(n, _)| (i, n + 1))
        })
        .collect();
    let outcomes = par_map(&jobs, |&(i, nth)| {
        let case = &fixtures[i];
        fail_and_judge(
            case,
            injected(Some(nth), None, false),
            &format!("{}-mgmt-{nth}", case.name),
        )
    });

    // Per kind of failed command: runs, and how the management vmk ended.
    let mut table: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for o in &outcomes {
        table.entry(o.kind.as_str()).or_default()[o.management as usize] += 1;
    }
    println!(
        "\nThe management vmk after one failed change, over {} runs on {} fixtures:\n",
        outcomes.len(),
        fixtures.len()
    );
    println!("| failed command | runs | planned address | DHCP fallback | lost |");
    println!("|---|--:|--:|--:|--:|");
    for (kind, [planned, dhcp, lost]) in &table {
        println!(
            "| `{kind}` | {} | {planned} | {dhcp} | {lost} |",
            planned + dhcp + lost
        );
    }
    println!("\nFixtures, one of each shape of the management path:");
    for case in &fixtures {
        println!("- {}: {}", case.name, shape(case));
    }

    let problems: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.problems
                .iter()
                .map(move |p| format!("{}: {}: {p}", o.fixture, o.kind))
        })
        .collect();
    assert!(outcomes.len() >= 100, "only {} fault runs", outcomes.len());
    assert_no_problems(&problems);
}

/// A host that keeps refusing the planned static address: the management vmk falls back to DHCP on its
/// link's MAC, and says so.
#[test]
fn a_static_address_the_host_keeps_refusing_falls_back_to_dhcp() {
    let fixtures: Vec<Case> = representatives()
        .into_iter()
        .filter(|c| {
            c.plan
                .network
                .as_ref()
                .and_then(|n| n.fallback.as_ref())
                .is_some_and(|m| matches!(m.ipv4, Ipv4::Static { .. }))
        })
        .collect();
    assert!(
        fixtures.len() >= 3,
        "only {} static fixtures",
        fixtures.len()
    );
    let problems: Vec<String> = par_flat_map(&fixtures, |case| {
        let o = fail_and_judge(
            case,
            injected(None, Some("--type=static"), true),
            &format!("{}-mgmt-static", case.name),
        );
        let mut problems = o.problems;
        println!(
            "{}: every attempt at the static address fails: the management vmk ends {:?}",
            case.name, o.management
        );
        if o.management != Management::Dhcp {
            problems.push(format!(
                "the management vmk ended {:?}, not on DHCP",
                o.management
            ));
        }
        problems
            .into_iter()
            .map(|p| format!("{}: {p}", case.name))
            .collect::<Vec<_>>()
    });
    assert_no_problems(&problems);
}

/// A host that keeps refusing one kind of change, on three fixtures: a static NIC, a bond whose boot NIC is
/// not the host's first, a VLAN on a bond. There may be no way around such a host; every failure must still
/// be reported, and where the management vmk ends is printed as a table.
#[test]
fn a_change_the_host_keeps_refusing_is_reported() {
    let fixtures: Vec<Case> = representatives()
        .into_iter()
        .filter(|c| {
            let s = shape(c);
            s.starts_with("uplinks=1 vlan=false ipv4=static")
                || (s.starts_with("uplinks=2") && s.contains("boot-first=false"))
                || s.contains("vlan=true")
        })
        .fold(Vec::new(), |mut picked: Vec<Case>, c| {
            let kind = |c: &Case| shape(c).split(" mac").next().map(str::to_string);
            if !picked.iter().any(|p| kind(p) == kind(&c)) {
                picked.push(c);
            }
            picked
        });
    assert_eq!(fixtures.len(), 3, "three fixtures to refuse changes on");
    let jobs: Vec<(usize, String)> = par_map(&fixtures, |case| {
        run(
            &fresh(&macs(&case.model)),
            &case.script,
            &format!("{}-mgmt-kinds", case.name),
        )
        .sim
        .calls
    })
    .iter()
    .enumerate()
    .flat_map(|(i, calls)| {
        let mut kinds: Vec<String> = calls
            .iter()
            .filter(|c| c.mutating)
            .map(|c| c.kind.clone())
            .collect();
        kinds.dedup();
        kinds.sort();
        kinds.dedup();
        kinds.into_iter().map(move |k| (i, k))
    })
    .collect();
    let outcomes = par_map(&jobs, |(i, kind)| {
        let case = &fixtures[*i];
        fail_and_judge(
            case,
            injected(None, Some(kind), true),
            &format!("{}-mgmt-refused-{}", case.name, kind.replace(' ', "-")),
        )
    });
    println!("\nThe management vmk when the host refuses every command of one kind:\n");
    println!(
        "| refused command | {} |",
        fixtures
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", ":-:|".repeat(fixtures.len()));
    let mut rows: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((i, kind), o) in jobs.iter().zip(&outcomes) {
        rows.entry(kind.as_str())
            .or_insert_with(|| vec!["—".to_string(); fixtures.len()])[*i] =
            format!("{:?}", o.management);
    }
    for (kind, cells) in &rows {
        println!("| `{kind}` | {} |", cells.join(" | "));
    }
    let problems: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.problems
                .iter()
                .filter(|p| !p.starts_with("the management vmk is lost"))
                .map(move |p| format!("{}: {}: {p}", o.fixture, o.kind))
        })
        .collect();
    assert_no_problems(&problems);
}
