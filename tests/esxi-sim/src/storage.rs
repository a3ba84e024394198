//! Storage: disks, partition tables, VMFS volumes; `esxcli storage …`, `partedUtil`, `vmkfstools`.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::host::Host;
use crate::tool::{Command, Invocation, Outcome};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Storage {}

impl Storage {
    pub fn from_specs(specs: &[String]) -> Result<Storage, String> {
        if specs.is_empty() {
            Ok(Storage::default())
        } else {
            Err("disks are not simulated yet".into())
        }
    }
}

pub fn esxcli_commands() -> Vec<Command> {
    vec![]
}

pub fn classify(tool: &str, argv: &[String]) -> Invocation {
    Invocation {
        kind: format!(
            "{tool} {}",
            argv.first().map(String::as_str).unwrap_or_default()
        ),
        mutating: true,
    }
}

pub fn parted_util(_host: &mut Host, _argv: &[String], _stdin: &mut dyn BufRead) -> Outcome {
    Outcome::error("partedUtil is not simulated yet")
}

pub fn vmkfstools(_host: &mut Host, _argv: &[String], _stdin: &mut dyn BufRead) -> Outcome {
    Outcome::error("vmkfstools is not simulated yet")
}
