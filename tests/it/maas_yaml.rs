//! The bundle's YAML reader (`maas_esxi::bundle::YAML`) against PyYAML, through `maas_yaml.py`: random
//! documents dumped by PyYAML's safe_dump with MAAS's options and others must read as PyYAML's safe_load
//! reads them, also wrapped as MAAS wraps vendor-data; the vendor-data fixtures must be byte for byte
//! what MAAS's dump calls write for their data; text outside safe_dump's must be refused with its line
//! and column. Needs python3 and PyYAML.

use std::process::Command;

/// Documents per run: enough to meet every indicator, keyword and folding case many times over.
const DOCUMENTS: &str = "2000";

#[test]
fn the_yaml_reader_reads_what_pyyaml_writes_and_refuses_the_rest() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("maas_yaml.py"), maas_esxi::bundle::YAML).expect("write");
    let out = Command::new("python3")
        .arg(crate::root().join("tests/it/maas_yaml.py"))
        .arg(dir.path())
        .args(["20240601", DOCUMENTS])
        .arg(crate::root().join("fixtures/vendor-data"))
        .output()
        .expect("python3 runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !report.contains("No module named 'yaml'"),
        "PyYAML is not installed (scripts/test installs it from PyPI):\n{report}"
    );
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("fixtures: 3 as MAAS writes them")
            && report.contains("random documents: ")
            && report.contains("refused: "),
        "{report}"
    );
}
