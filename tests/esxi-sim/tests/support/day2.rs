//! The day-2 pairs of `fixtures/day2/<change>/`: a `before.yaml` and an `after.yaml` for each kind of change,
//! translated, and the transitions between them, both ways.

use std::path::{Path, PathBuf};

use maas_esxi::model::Network;

/// One config of a pair, translated.
pub struct Config {
    pub name: String,
    pub model: Network,
    pub script: String,
}

fn config(path: &Path) -> Config {
    let source = std::fs::read_to_string(path).expect("readable fixture");
    let name = path
        .strip_prefix(super::root().join("fixtures/day2"))
        .unwrap_or(path)
        .display()
        .to_string();
    let model = maas_esxi::model(&source).unwrap_or_else(|_| panic!("{name} does not normalize"));
    let plan = maas_esxi::check(&source, &maas_esxi::Options::default())
        .plan
        .unwrap_or_else(|| panic!("{name} has no plan"));
    Config {
        name,
        model,
        script: maas_esxi::render::script(&plan),
    }
}

/// Every change, both ways: (change, from, to).
pub fn transitions() -> Vec<(String, Config, Config)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(super::root().join("fixtures/day2"))
        .expect("fixtures/day2 exists")
        .map(|e| e.expect("directory entry").path())
        .collect();
    dirs.sort();
    dirs.iter()
        .flat_map(|dir| {
            let change = dir
                .file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8 name")
                .to_string();
            let (before, after) = (dir.join("before.yaml"), dir.join("after.yaml"));
            [
                (change.clone(), config(&before), config(&after)),
                (change, config(&after), config(&before)),
            ]
        })
        .collect()
}
