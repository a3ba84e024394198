//! The storage fixtures on simulated hosts: per fixture and boot-disk image, the datastores made (name,
//! extents head first, size), and the calls of the first run and of a re-run: all, changes, reads.
//!
//! `cargo bench -p esxi-sim --bench storage_calls` prints the table as Markdown.

#[path = "../tests/support/mod.rs"]
mod support;

use support::storage::{IMAGES, storage_cases, storage_host};

fn main() {
    println!(
        "| fixture | image | datastores (extents, head first; size) | calls | changes | reads | re-run calls | re-run changes | re-run reads |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|");
    for case in storage_cases() {
        for image in IMAGES {
            let label = format!("{}-{image:?}", case.name);
            let host = storage_host(&case, image);
            let first = support::run(&host, &case.script, &format!("{label}-bench-1"));
            let mut again = first.sim.clone();
            again.calls.clear();
            let second = support::run(&again, &case.script, &format!("{label}-bench-2"));
            let short = |id: &str| id.chars().take(16).collect::<String>() + "…";
            let datastores: Vec<String> = first
                .sim
                .host
                .storage
                .volumes
                .iter()
                .filter(|v| v.is_vmfs() && v.label != "foreign")
                .map(|v| {
                    let extents: Vec<String> = v
                        .extents
                        .iter()
                        .map(|e| format!("{}:{}", short(&e.disk), e.partition))
                        .collect();
                    format!(
                        "`{}` ({}; {:.1} GiB)",
                        v.label,
                        extents.join(" + "),
                        v.capacity() as f64 / f64::from(1u32 << 30)
                    )
                })
                .collect();
            let (a, b) = (first.stats(), second.stats());
            let status = if first.status == 0 && second.status == 0 {
                ""
            } else {
                " (failed)"
            };
            println!(
                "| {}{status} | {image:?} | {} | {} | {} | {} | {} | {} | {} |",
                case.name,
                datastores.join("<br>"),
                a.calls,
                a.mutating,
                a.reads,
                b.calls,
                b.mutating,
                b.reads
            );
        }
    }
}
