//! The dry run, `firstboot.sh --dry-run`, against the host a real run will meet: every network fixture on a
//! fresh host (and, for a fixture of each shape of the management path that has several NICs, on a host
//! that lacks one, where the real run fails and checks the management vmk again), every storage fixture on
//! each boot-disk image, and each day-2 change, both ways, on the host the old config made. The dry run must
//! change nothing and make no changing call; what it prints, pasted into a shell against the same host, must
//! make exactly the changing calls of the real run, in order, and leave the same host; and a dry run after the
//! real run must print nothing.

mod support;

use esxi_sim::Sim;
use support::day2::transitions;
use support::storage::{IMAGES, storage_cases, storage_host};
use support::{
    assert_no_problems, cases, command_lines, fresh, macs, par_flat_map, representatives, run,
    run_with,
};

/// One host to try: the script a real run would use, a script that makes the host first, if any, and
/// whether the host lacks a NIC the config names (then the real run fails).
struct Job {
    label: String,
    host: Sim,
    before: Option<String>,
    script: String,
    nic_missing: bool,
}

fn host_json(sim: &Sim) -> serde_json::Value {
    serde_json::to_value(&sim.host).expect("the host serializes")
}

/// Everything that is wrong with the dry run of `job`.
fn judge(job: &Job) -> Vec<String> {
    let label = &job.label;
    let mut problems = Vec::new();
    let mut host = job.host.clone();
    if let Some(before) = &job.before {
        let made = run(&host, before, &format!("{label}-before"));
        if made.status != 0 {
            return vec![format!("the old config failed:\n{}", made.stderr)];
        }
        host = made.sim;
        host.calls.clear();
    }

    let dry = run_with(&host, &job.script, &format!("{label}-dry"), &["--dry-run"]);
    let dry_changes = command_lines(&dry.sim, |c| c.mutating);
    if !dry_changes.is_empty() {
        problems.push(format!("the dry run changed the host: {dry_changes:?}"));
    }
    if host_json(&dry.sim) != host_json(&host) {
        problems.push("the host differs after the dry run".into());
    }
    problems.extend(dry.expansions.iter().cloned());

    let real = run(&host, &job.script, &format!("{label}-real"));
    if !real.stdout.is_empty() {
        problems.push(format!("the real run printed {:?}", real.stdout));
    }
    if real.status != i32::from(job.nic_missing) {
        problems.push(format!(
            "the real run exited {}:\n{}",
            real.status, real.stderr
        ));
    }
    if dry.status != real.status {
        problems.push(format!(
            "the dry run exited {}, the real run {}:\n{}\n{}",
            dry.status, real.status, dry.stderr, real.stderr
        ));
    }
    // The printed commands, run by a shell against the same host, are the real run's changes.
    let pasted = run(&host, &dry.stdout, &format!("{label}-pasted"));
    let printed = command_lines(&pasted.sim, |_| true);
    let real_changes = command_lines(&real.sim, |c| c.mutating);
    if printed != real_changes {
        problems.push(format!(
            "the dry run printed\n{}\nthe real run made\n{}",
            dry.stdout,
            real_changes.join("\n")
        ));
    } else if pasted.sim.calls.iter().any(|c| !c.mutating || !c.ok) {
        problems.push(format!(
            "the printed commands read the host or failed:\n{}",
            pasted.stderr
        ));
    } else if host_json(&pasted.sim) != host_json(&real.sim) {
        problems.push("the printed commands left another host than the real run".into());
    }

    if real.status == 0 {
        let mut after = real.sim.clone();
        after.calls.clear();
        let again = run_with(
            &after,
            &job.script,
            &format!("{label}-again"),
            &["--dry-run"],
        );
        if again.status != 0 || !again.stdout.is_empty() {
            problems.push(format!(
                "a dry run after the real run exited {} and printed {:?}",
                again.status, again.stdout
            ));
        }
    }
    problems
        .into_iter()
        .map(|p| format!("{label}: {p}"))
        .collect()
}

#[test]
fn a_dry_run_prints_the_changes_a_real_run_makes_and_makes_none() {
    let mut jobs = Vec::new();
    for case in cases() {
        jobs.push(Job {
            label: case.name.clone(),
            host: case.fresh(&macs(&case.model)),
            before: None,
            script: case.script.clone(),
            nic_missing: false,
        });
    }
    // A NIC the plan uses is missing: the real run fails, and checks the management vmk again. One
    // fixture of each shape of the management path that has a NIC to spare; the last NIC the plan uses goes.
    for case in representatives() {
        let mut nics = macs(&case.model);
        let used = |mac: &String| {
            case.plan
                .network
                .as_ref()
                .is_some_and(|n| n.nics.iter().any(|nic| nic.mac.eq_ignore_ascii_case(mac)))
        };
        if let Some(gone) = nics.iter().rposition(used).filter(|_| nics.len() > 1) {
            nics.remove(gone);
            jobs.push(Job {
                label: format!("{}-nic-missing", case.name),
                host: case.fresh(&nics),
                before: None,
                script: case.script.clone(),
                nic_missing: true,
            });
        }
    }
    let network = jobs.len();
    let missing = jobs.iter().filter(|j| j.nic_missing).count();
    for case in storage_cases() {
        for image in IMAGES {
            jobs.push(Job {
                label: format!("{}-{image:?}", case.name),
                host: storage_host(&case, image),
                before: None,
                script: case.script.clone(),
                nic_missing: false,
            });
        }
    }
    let storage = jobs.len() - network;
    for (change, from, to) in transitions() {
        jobs.push(Job {
            label: format!("day2-{change}-{}", to.name.replace('/', "-")),
            host: fresh(&macs(&from.model)),
            before: Some(from.script),
            script: to.script,
            nic_missing: false,
        });
    }
    let day2 = jobs.len() - network - storage;
    assert!(
        network >= 55 && missing >= 4 && storage >= 24 && day2 >= 16,
        "only {network} network ({missing} with a NIC missing), {storage} storage and {day2} day-2 hosts"
    );
    eprintln!(
        "{network} network hosts ({missing} lacking a NIC), {storage} storage hosts, {day2} day-2 changes"
    );
    assert_no_problems(&par_flat_map(&jobs, judge));
}

#[test]
fn the_script_takes_dry_run_and_help_and_refuses_anything_else() {
    let case = cases().into_iter().next().expect("a network fixture");
    let host = case.fresh(&macs(&case.model));
    let help = run_with(&host, &case.script, "help", &["--help"]);
    assert_eq!(
        (help.status, help.stdout.contains("[--dry-run]")),
        (0, true),
        "{}",
        help.stderr
    );
    let wrong = run_with(&host, &case.script, "unknown-option", &["--dryrun"]);
    assert_eq!(wrong.status, 2, "{}", wrong.stdout);
    assert!(wrong.stderr.contains("usage:"), "{}", wrong.stderr);
    for out in [help, wrong] {
        assert!(out.sim.calls.is_empty(), "the host was read or changed");
    }
}
