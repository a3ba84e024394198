//! A simulated ESXi host command line for maas-esxi's tests: `esxcli`, `partedUtil`, `vmkfstools` and
//! `vim-cmd` with the real option grammar, output formats and error messages, acting on host state kept in a
//! JSON file.
//!
//! The binary is multi-call: run as `esxcli`, `localcli`, `partedUtil`, `vmkfstools` or `vim-cmd` (a
//! symlink), it executes that command against the state file named by `$ESXI_SIM_STATE`; run as `esxi-sim`,
//! it creates hosts, runs scripts against them under busybox sh and reports state and call counts. Test
//! support, not product.

pub mod args;
pub mod host;
pub mod network;
pub mod out;
pub mod storage;
pub mod system;
pub mod tool;

use std::path::Path;

use anyhow::Context;

pub use host::{Fault, Host, Profile, Sim};

/// The tools a script finds first in PATH when run against a simulated host.
pub const TOOLS: &[&str] = &["esxcli", "localcli", "partedUtil", "vmkfstools", "vim-cmd"];

impl Sim {
    pub fn new(profile: &Profile) -> Sim {
        Sim {
            host: Host::fresh(profile),
            calls: vec![],
            faults: vec![],
        }
    }

    pub fn load(path: &Path) -> anyhow::Result<Sim> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading host state {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("parsing host state {}", path.display()))
    }

    /// Writes the state through a temporary file and a rename, so a reader never sees half a state.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).context("serializing host state")?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    }

    /// Call counts: all, mutating, read-only, failed.
    pub fn stats(&self) -> Stats {
        Stats {
            calls: self.calls.len(),
            mutating: self.calls.iter().filter(|c| c.mutating).count(),
            reads: self.calls.iter().filter(|c| !c.mutating).count(),
            failures: self.calls.iter().filter(|c| !c.ok).count(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub calls: usize,
    pub mutating: usize,
    pub reads: usize,
    pub failures: usize,
}
