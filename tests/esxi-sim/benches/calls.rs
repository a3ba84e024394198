//! The esxcli calls each fixture's first-boot script makes on a freshly installed host and on a re-run:
//! all calls, changes, reads, and the changes the plan needs at least.
//!
//! `cargo bench -p esxi-sim --bench calls` prints the table as Markdown.

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let cases = support::cases();
    println!(
        "| fixture | calls | changes | reads | needed | re-run calls | re-run changes | re-run reads |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    let mut totals = [0usize; 7];
    for case in &cases {
        let host = case.fresh(&support::macs(&case.model));
        let needed = support::required_changes(&host.host, &case.plan);
        let first = support::run(&host, &case.script, &format!("{}-bench-1", case.name));
        let mut again = first.sim.clone();
        again.calls.clear();
        let second = support::run(&again, &case.script, &format!("{}-bench-2", case.name));
        let (a, b) = (first.stats(), second.stats());
        let row = [
            a.calls, a.mutating, a.reads, needed, b.calls, b.mutating, b.reads,
        ];
        for (t, v) in totals.iter_mut().zip(row) {
            *t += v;
        }
        let status = if first.status == 0 && second.status == 0 {
            ""
        } else {
            " (failed)"
        };
        println!(
            "| {}{status} | {} | {} | {} | {} | {} | {} | {} |",
            case.name, row[0], row[1], row[2], row[3], row[4], row[5], row[6]
        );
    }
    let t = totals;
    println!(
        "| **total ({} fixtures)** | {} | {} | {} | {} | {} | {} | {} |",
        cases.len(),
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        t[5],
        t[6]
    );
}
