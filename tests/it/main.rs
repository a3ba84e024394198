//! The one integration-test binary: fixtures and snapshots, v1/v2 twins, the CLI contract, shell quoting,
//! a short fuzz run, the netplan oracle, the README's commands, the image builder's kickstart and boot media, the QEMU driver,
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
mod package;
mod qemu;
mod quoting;
mod readme;

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

/// A pseudo-terminal: the controller (read what the program writes) and the terminal end for the program,
/// whose window reports `columns` columns.
pub fn pty(columns: u16) -> (std::fs::File, std::fs::File) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let controller =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal opens");
    grantpt(&controller).expect("grantpt");
    unlockpt(&controller).expect("unlockpt");
    let name = ptsname(&controller, Vec::new()).expect("ptsname");
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().expect("a UTF-8 device name"))
        .expect("the terminal end opens");
    rustix::termios::tcsetwinsize(
        &terminal,
        rustix::termios::Winsize {
            ws_row: 24,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("the window size is set");
    (std::fs::File::from(controller), terminal)
}

/// Everything `controller` has to read, until the program holding the terminal end is gone.
pub fn read_pty(mut controller: std::fs::File) -> String {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match controller.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            // EIO: the last holder of the terminal end closed it.
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs a tool that must succeed.
pub fn run_tool(program: &str, args: &[&str]) -> std::process::Output {
    disk::run_output(std::process::Command::new(program).args(args))
}

/// The headers of a dynamically linked x86-64 executable: one program header, `PT_INTERP`.
pub fn dynamic_elf() -> Vec<u8> {
    let mut bytes = vec![0; 64 + 56];
    bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
    bytes[18..20].copy_from_slice(&62u16.to_le_bytes());
    bytes[32..40].copy_from_slice(&64u64.to_le_bytes());
    bytes[54..56].copy_from_slice(&56u16.to_le_bytes());
    bytes[56..58].copy_from_slice(&1u16.to_le_bytes());
    bytes[64..68].copy_from_slice(&3u32.to_le_bytes());
    bytes
}
