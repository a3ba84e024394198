//! netplan.io as an oracle for the netplan v2 fixtures.
//!
//! Every `fixtures/network/v2-*.yaml` and `fixtures/invalid/v2-*.yaml` is fed to
//! the real `netplan generate --root-dir <tmp>` and to `maas-esxi validate`.
//! The two must agree wherever it matters:
//!
//! - a fixture under `fixtures/network/` is valid netplan, and we accept it;
//! - a fixture under `fixtures/invalid/` that netplan rejects, we reject too.
//!
//! We may be stricter than netplan (ESXi cannot do everything Linux can, e.g.
//! bond mode `broadcast`); such fixtures are listed on stderr, not failed.
//!
//! A fixture may be a whole curtin config whose `network:` holds netplan v2
//! (MAAS adds `network_commands:` beside it). curtin hands only the `network:`
//! key to netplan, so the oracle gets the file with every other top-level key
//! blanked out; line numbers stay those of the fixture.
//!
//! netplan must be installed: `scripts/test` installs it. Without it these tests
//! fail, they never skip.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::display;

#[test]
fn valid_v2_fixtures_are_accepted_by_netplan_and_by_us() {
    let netplan = netplan_binary();
    let fixtures = v2_fixtures("network");
    let mut failures = Vec::new();
    let mut report = Vec::new();

    for fixture in &fixtures {
        let theirs = run_netplan(&netplan, fixture);
        let ours = run_validate(fixture);
        report.push(report_line(fixture, &theirs, &ours));

        if let Verdict::Rejected(why) = &theirs {
            failures.push(format!(
                "{}: netplan rejects a fixture under fixtures/network/ (fix the fixture):\n{}",
                display(fixture),
                indent(why)
            ));
        }
        match &ours {
            Ours::Accepted => {}
            Ours::Rejected(why) => failures.push(format!(
                "{}: maas-esxi rejects a fixture under fixtures/network/ (exit 1):\n{}",
                display(fixture),
                indent(why)
            )),
            Ours::Broken(why) => failures.push(format!("{}: {why}", display(fixture))),
        }
    }

    finish("fixtures/network/v2-*.yaml", &report, &[], &failures);
}

#[test]
fn invalid_v2_fixtures_rejected_by_netplan_are_rejected_by_us() {
    let netplan = netplan_binary();
    let fixtures = v2_fixtures("invalid");
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut stricter = Vec::new();

    for fixture in &fixtures {
        let theirs = run_netplan(&netplan, fixture);
        let ours = run_validate(fixture);
        report.push(report_line(fixture, &theirs, &ours));

        match (&theirs, &ours) {
            (_, Ours::Broken(why)) => failures.push(format!("{}: {why}", display(fixture))),
            (Verdict::Rejected(why), Ours::Accepted) => failures.push(format!(
                "{}: netplan rejects this fixture but maas-esxi accepts it (exit 0); netplan said:\n{}",
                display(fixture),
                indent(why)
            )),
            (Verdict::Accepted, Ours::Accepted) => failures.push(format!(
                "{}: fixtures/invalid/ must be rejected (exit 1), but maas-esxi accepts it \
                 (netplan accepts it too, so the reason must be an ESXi limit)",
                display(fixture)
            )),
            (Verdict::Accepted, Ours::Rejected(_)) => stricter.push(display(fixture)),
            (Verdict::Rejected(_), Ours::Rejected(_)) => {}
        }
    }

    finish("fixtures/invalid/v2-*.yaml", &report, &stricter, &failures);
}

/// What `netplan generate` made of a fixture.
#[derive(Debug)]
enum Verdict {
    Accepted,
    /// netplan's error message.
    Rejected(String),
}

/// What `maas-esxi validate` made of a fixture.
#[derive(Debug)]
enum Ours {
    /// Exit 0 (warnings allowed).
    Accepted,
    /// Exit 1, with the diagnostics.
    Rejected(String),
    /// Any other outcome: a usage error, an IO failure or a crash. Always a bug here.
    Broken(String),
}

/// Finds `netplan`, or fails the test: a missing oracle must never pass silently.
fn netplan_binary() -> PathBuf {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    // Debian installs netplan in /usr/sbin, which is not on every user's PATH.
    let fallback = [PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")];
    path_dirs
        .iter()
        .chain(fallback.iter())
        .map(|dir| dir.join("netplan"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "netplan is not installed (looked on PATH, in /usr/sbin and /sbin).\n\
                 This test runs `netplan generate` as an oracle for the netplan v2 fixtures.\n\
                 Run scripts/test, which installs netplan.io (Debian: apt-get install netplan.io)."
            )
        })
}

/// The sorted `v2-*.yaml` files of `fixtures/<dir>/`; there must be at least one.
fn v2_fixtures(dir: &str) -> Vec<PathBuf> {
    let root = super::root().join("fixtures").join(dir);
    let entries = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read fixture directory {}: {e}", root.display()));
    let mut fixtures: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
                .path()
        })
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("v2-") && name.ends_with(".yaml"))
        })
        .collect();
    fixtures.sort();
    assert!(
        !fixtures.is_empty(),
        "no v2-*.yaml fixtures in {}; the netplan oracle would test nothing",
        root.display()
    );
    fixtures
}

/// Runs `netplan generate --root-dir <tmp>` on the fixture installed as
/// `<tmp>/etc/netplan/50-fixture.yaml` (mode 0600, as netplan wants).
fn run_netplan(netplan: &Path, fixture: &Path) -> Verdict {
    let source = fs::read_to_string(fixture)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture.display()));
    let root = TempRoot::new();
    let etc = root.path().join("etc").join("netplan");
    fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("cannot create {}: {e}", etc.display()));
    let target = etc.join("50-fixture.yaml");
    {
        let mut file = fs::File::create(&target)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", target.display()));
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", target.display()));
        file.write_all(network_key_only(&source).as_bytes())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
    }

    let output = Command::new(netplan)
        .arg("generate")
        .arg("--root-dir")
        .arg(root.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", netplan.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        return Verdict::Accepted;
    }
    // A config error is exit 1 with a message; anything else (a signal, a
    // Python traceback from a broken install) means the oracle itself failed.
    if output.status.code() != Some(1) || stderr.contains("Traceback") {
        panic!(
            "netplan generate failed for a reason other than the config ({}) on {}:\n{}\n\
             Is netplan.io installed correctly? Run scripts/test.",
            output.status,
            display(fixture),
            stderr
        );
    }
    Verdict::Rejected(netplan_error(&stderr, fixture))
}

/// netplan's error message without its warnings (`** (generate:…): WARNING`
/// blocks), with the temporary path replaced by the fixture's.
fn netplan_error(stderr: &str, fixture: &Path) -> String {
    let mut lines = Vec::new();
    let mut in_warning = false;
    for line in stderr.lines() {
        if line.starts_with("** (") {
            in_warning = line.contains("WARNING");
            if in_warning {
                continue;
            }
        } else if line.trim().is_empty() {
            in_warning = false;
            continue;
        }
        if in_warning && !line.contains("50-fixture.yaml") && !line.contains("Error") {
            continue;
        }
        in_warning = false;
        lines.push(match line.find("50-fixture.yaml") {
            Some(at) => format!(
                "{}{}",
                display(fixture),
                &line[at + "50-fixture.yaml".len()..]
            ),
            None => line.to_owned(),
        });
    }
    lines.join("\n")
}

/// The YAML text with every top-level key other than `network:` blanked out
/// (replaced by empty lines, so netplan's line numbers match the fixture).
/// Flow-style documents are returned unchanged.
fn network_key_only(source: &str) -> String {
    let mut keep = true;
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let starts_key = !line.is_empty()
            && !line.starts_with([' ', '\t', '#', '-'])
            && !line.starts_with("---")
            && !line.starts_with("...")
            && !line.starts_with('{');
        if starts_key {
            keep = line.starts_with("network:");
        } else if line.starts_with("---") || line.starts_with("...") {
            keep = true;
        }
        if keep {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Runs `maas-esxi validate <fixture>`.
fn run_validate(fixture: &Path) -> Ours {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .arg("validate")
        .arg(fixture)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run maas-esxi: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        Some(0) => Ours::Accepted,
        Some(1) => Ours::Rejected(stderr),
        _ => Ours::Broken(format!(
            "maas-esxi validate ended with {} (expected exit 0 or 1):\n{}",
            output.status,
            indent(&stderr)
        )),
    }
}

fn report_line(fixture: &Path, theirs: &Verdict, ours: &Ours) -> String {
    let theirs = match theirs {
        Verdict::Accepted => "accepts",
        Verdict::Rejected(_) => "rejects",
    };
    let ours = match ours {
        Ours::Accepted => "accepts",
        Ours::Rejected(_) => "rejects",
        Ours::Broken(_) => "BROKEN",
    };
    format!(
        "  {:<52} netplan {theirs:<8} maas-esxi {ours}",
        display(fixture)
    )
}

/// Prints the verdicts, the fixtures where we are stricter than netplan, and
/// fails with every disagreement at once.
fn finish(what: &str, report: &[String], stricter: &[String], failures: &[String]) {
    eprintln!("netplan oracle, {what}:");
    for line in report {
        eprintln!("{line}");
    }
    if !stricter.is_empty() {
        eprintln!("stricter than netplan (netplan accepts, maas-esxi rejects; fine, ESXi limits):");
        for fixture in stricter {
            eprintln!("  {fixture}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with netplan:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("maas-esxi-netplan-{}-{n}", std::process::id()));
        // A leftover from an earlier process with the same pid is stale.
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempRoot(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
