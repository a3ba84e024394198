//! The MAAS config of `fixtures/curtin/` as curtin hands it to the hook: `$CONFIG` is one line of JSON.

#![allow(dead_code)]

use std::path::Path;

/// The whole config of the fixture as one line of JSON, after `edit`. `repo` is the repository's root.
pub fn config_json(repo: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let yaml = std::fs::read_to_string(repo.join("fixtures/curtin/esxi-curtin-cfg-full.yaml"))
        .expect("the curtin fixture");
    // The test turns the YAML fixture into JSON with the YAML parser the product uses; the product
    // reads both forms.
    let mut config: serde_json::Value = serde_saphyr::from_str(&yaml).expect("the fixture is YAML");
    edit(&mut config);
    serde_json::to_string(&config).expect("JSON")
}
