//! Every fixture through the whole pipeline, snapshotted at each output: plan JSON, script, diagnostics.

use maas_esxi::{Options, check, diag, render};

use crate::{display, fixture_files};

/// Checks one fixture: its file name, the outcome, and the diagnostics as the CLI prints them.
fn run(path: &std::path::Path) -> (String, maas_esxi::Outcome, String) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("fixture names are UTF-8")
        .to_string();
    let source = std::fs::read_to_string(path).expect("fixture is readable");
    let outcome = check(&source, &Options::default());
    let rendered = diag::render(&display(path), &source, &outcome.diagnostics.0);
    (name, outcome, rendered)
}

/// The valid fixtures: network configs (some with storage) and storage configs.
fn valid_files() -> Vec<std::path::PathBuf> {
    let network = fixture_files("network");
    let storage = fixture_files("storage");
    assert!(
        network.len() >= 25 && storage.len() >= 12,
        "expected at least 25 network and 12 storage fixtures, found {} and {}",
        network.len(),
        storage.len()
    );
    network.into_iter().chain(storage).collect()
}

#[test]
fn valid_fixtures_translate() {
    for path in valid_files() {
        let (name, outcome, diagnostics) = run(&path);
        let plan = outcome
            .plan
            .unwrap_or_else(|| panic!("{name} was rejected:\n{diagnostics}"));
        crate::snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("{name}.plan"), render::json(&plan));
            insta::assert_snapshot!(format!("{name}.script"), render::script(&plan));
            insta::assert_snapshot!(format!("{name}.diagnostics"), diagnostics);
        });
    }
}

#[test]
fn invalid_fixtures_are_rejected_with_positions() {
    let files = fixture_files("invalid");
    assert!(
        files.len() >= 10,
        "expected at least 10 invalid fixtures, found {}",
        files.len()
    );
    for path in files {
        let (name, outcome, rendered) = run(&path);
        assert!(outcome.plan.is_none(), "{name} was accepted");
        let errors: Vec<_> = outcome
            .diagnostics
            .0
            .iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(!errors.is_empty(), "{name}: no error");
        assert!(
            outcome
                .diagnostics
                .0
                .iter()
                .all(|d| d.span.is_some_and(|s| s.line >= 1 && s.col >= 1)),
            "{name}: a diagnostic without a position:\n{rendered}"
        );
        assert!(
            rendered.contains(&format!("--> {}:", display(&path))),
            "{name}: no file:line:col\n{rendered}"
        );
        crate::snapshot_settings()
            .bind(|| insta::assert_snapshot!(format!("{name}.diagnostics"), rendered));
    }
}

/// A v1 config and its netplan v2 twin (same name, `v1-` → `v2-`) describe the same host.
#[test]
fn v1_and_v2_twins_give_the_same_model() {
    let mut pairs = 0;
    for v2 in fixture_files("network") {
        let name = v2.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(rest) = name.strip_prefix("v2-") else {
            continue;
        };
        let v1 = v2.with_file_name(format!("v1-{rest}"));
        if !v1.exists() {
            continue;
        }
        let model = |p: &std::path::Path| {
            let text = std::fs::read_to_string(p).expect("fixture is readable");
            maas_esxi::model(&text).unwrap_or_else(|d| panic!("{} rejected: {:?}", p.display(), d))
        };
        assert_eq!(
            model(&v1),
            model(&v2),
            "{} and {} differ",
            v1.display(),
            v2.display()
        );
        pairs += 1;
    }
    assert!(pairs >= 5, "expected at least 5 twin pairs, found {pairs}");
}

/// The same input bytes give the same output bytes.
#[test]
fn output_is_deterministic() {
    for path in valid_files() {
        let source = std::fs::read_to_string(&path).expect("fixture is readable");
        let a = check(&source, &Options::default())
            .plan
            .map(|p| render::script(&p));
        let b = check(&source, &Options::default())
            .plan
            .map(|p| render::script(&p));
        assert_eq!(a, b, "{}", path.display());
    }
}

/// A search domain that is not a DNS name is refused where it stands, in v1 and v2 alike: commas, quotes,
/// globs and command substitutions never reach the host. (v1 splits a string at spaces into domains, as
/// cloud-init does; netplan does not, so there a space is refused too.)
#[test]
fn search_domains_that_are_not_dns_names_are_refused() {
    for domain in [
        "two words",
        "a,b",
        "it's",
        "\"q\"",
        "*",
        "$(reboot)",
        "-a.maas",
        "a..b",
    ] {
        let quoted = serde_json::to_string(domain).expect("a JSON string");
        let v1 = format!(
            "version: 1\nconfig:\n- type: physical\n  name: eno1\n  mac_address: '52:54:00:00:00:01'\n  subnets:\n  - type: dhcp4\n- type: nameserver\n  search: [maas, {quoted}]\n"
        );
        let v2 = format!(
            "network:\n  version: 2\n  ethernets:\n    eno1:\n      dhcp4: true\n      nameservers:\n        search: [maas, {quoted}]\n"
        );
        let formats = if domain.contains(' ') {
            vec![(v2, 7)]
        } else {
            vec![(v1, 9), (v2, 7)]
        };
        for (source, line) in formats {
            let outcome = check(&source, &Options::default());
            let found = outcome
                .diagnostics
                .0
                .iter()
                .find(|d| d.is_error() && d.code == diag::Code::SearchDomain);
            let span = found.and_then(|d| d.span);
            assert!(
                outcome.plan.is_none() && span.is_some_and(|s| s.line == line),
                "{domain:?} not refused at line {line}: {:?}",
                outcome.diagnostics
            );
        }
    }
}
