//! The one integration-test binary: fixtures and snapshots, v1/v2 twins, the CLI contract, shell quoting,
//! a short fuzz run, the netplan oracle, the image builder's kickstart and boot media, the QEMU driver,
//! and `image finalize` on synthetic ESXi disks.

mod cli;
#[path = "../shared/curtin.rs"]
mod curtin;
#[path = "../shared/disk.rs"]
mod disk;
mod finalize;
mod fixtures;
mod fuzz;
mod hook;
mod kickstart;
#[path = "../shared/maas.rs"]
mod maas;
mod maas_md;
mod media;
mod netplan;
mod qemu;
mod quoting;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of one fixture directory, sorted.
pub fn fixture_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(dir))
        .expect("fixture directory exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// A fixture's path as diagnostics print it: relative to the repository root.
pub fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// insta settings for the repository's `snapshots/` directory, with snapshots named as given.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Asserts a text snapshot in `snapshots/`.
pub fn snapshot(name: &str, value: String) {
    snapshot_settings().bind(|| insta::assert_snapshot!(name, value));
}

/// A command's arguments, exit code, stdout and stderr together, as one snapshot.
pub fn transcript(args: &[&str], out: &std::process::Output) -> String {
    format!(
        "args: {}\nstatus: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
