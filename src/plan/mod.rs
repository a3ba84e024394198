//! Model → ESXi objects, in a deterministic order. Every ESXi-specific decision is made here; templates
//! only loop over the result.
//!
//! `network` is the plan's shape for the network (what the script and the JSON plan read); `links` walks
//! the model's link graph and orders the work; `teaming`, `vmks` and `routes` decide one concern each.
//! `storage` is the storage half: disks, partitions and datastores.

mod links;
pub mod network;
mod routes;
pub mod storage;
mod teaming;
mod vmks;

use serde::Serialize;

use crate::diag::Diagnostics;
use crate::model;

pub use network::{
    Dns, Fallback, Ipv4, Ipv6, Ipv6Address, Network, Nic, PortGroup, Route, Teaming, VSwitch, Vmk,
};

/// The version of the JSON plan's shape; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 2;

/// Choices the config does not make.
#[derive(Clone, Debug)]
pub struct Options {
    /// Name of the VM port group created on the management vSwitch; `None` creates none.
    pub vm_network: Option<String>,
}

/// Whether ESXi takes `name` as a port group name: not empty, without control characters. The error says
/// why not, for a command-line option.
pub fn check_port_group_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(
            "a port group needs a name that is not blank (or use --no-vm-network)".to_string(),
        );
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{name:?} has a control character, which ESXi does not take in a port group name"
        ));
    }
    Ok(())
}

impl Default for Options {
    fn default() -> Options {
        Options {
            vm_network: Some("VM Network".to_string()),
        }
    }
}

/// What the host must look like. Serialized, it is the JSON plan: keys in kebab-case. A half the config
/// does not have is absent, and the script leaves that side of the host alone.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    pub format_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<storage::Storage>,
}

/// Builds the plan; approximations become warnings, what ESXi cannot do becomes errors.
pub fn plan(
    net: Option<&model::Network>,
    disks: Option<&model::storage::Storage>,
    options: &Options,
    diags: &mut Diagnostics,
) -> Plan {
    Plan {
        format_version: FORMAT_VERSION,
        network: net.map(|net| links::Planner::new(net, diags).network(options)),
        storage: disks.map(|disks| storage::plan(disks, diags)),
    }
}
