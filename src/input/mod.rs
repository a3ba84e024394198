//! Raw input formats: curtin network v1 and netplan v2, found in a whole curtin config, a bare `network:`
//! document or a netplan file; curtin storage v1 from a whole curtin config or a bare `storage:` document.
//! Every YAML call of the project lives in this module.

mod decode;
pub mod reporting;
pub mod storage;
pub mod v1;
pub mod v2;
mod yaml;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use decode::Decoder;
use yaml::Kind;

/// A network configuration in the format it was written in.
#[derive(Debug)]
pub enum Network {
    V1(v1::Config),
    V2(v2::Config),
}

/// The sections of one configuration, each in the format it was written in; a section the document does
/// not have is `None`.
#[derive(Debug)]
pub struct Config {
    pub network: Option<Network>,
    pub storage: Option<storage::Config>,
}

/// Parses `source` (YAML or JSON), finds its network and storage sections and dispatches on `version:`.
/// Problems go to `diags`; `None` means the document could not be read far enough to find either.
pub fn parse(source: &str, diags: &mut Diagnostics) -> Option<Config> {
    let root = yaml::parse(source, diags)?;
    let mut de = Decoder { diags };
    let fields = de.open_map(&root, "")?;
    let network = match (fields.get("network"), fields.get("version")) {
        (Some(network), _) => Some((
            network,
            "network",
            fields.key("network").map_or(root.span, |k| k.span),
        )),
        (None, Some(_)) => Some((&root, "", root.span)),
        (None, None) => None,
    };
    let storage = fields.get("storage");
    if network.is_none() && storage.is_none() {
        de.diags.push(
            Diagnostic::error(Code::MissingKey, Some(root.span), "no network or storage configuration found")
                .with_help("expected a curtin config, a document with a `network:` or `storage:` section, or a bare `version: 1` / `version: 2` network config"),
        );
        return None;
    }
    let network =
        network.and_then(|(section, path, at)| network_section(&mut de, section, path, at));
    let storage = storage.and_then(|section| de.storage(section, "storage"));
    Some(Config { network, storage })
}

/// The network section, by its `version:`.
fn network_section(
    de: &mut Decoder<'_>,
    section: &yaml::Node,
    path: &str,
    at: Span,
) -> Option<Network> {
    let section_fields = de.open_map(section, path)?;
    if let Some(config) = section_fields.get("config")
        && matches!(&config.kind, Kind::Str(s) if s == "disabled")
    {
        de.diags.push(
            Diagnostic::error(
                Code::Disabled,
                Some(config.span),
                "the network config is `disabled`: it asks that the host's network be left alone",
            )
            .with_help("maas-esxi writes a script that makes the network match a config; with none, ESXi keeps the installer's DHCP on vmk0. Give the interfaces, or deploy without a network config"),
        );
        return None;
    }
    let Some(version) = section_fields.get("version") else {
        // netplan does not require `version:`; a section with netplan's device sections is netplan.
        if V2_SECTIONS.iter().any(|k| section_fields.key(k).is_some()) {
            return Some(Network::V2(de.v2(section, path, at)));
        }
        de.missing(
            &section_fields,
            "version",
            "`version: 1` (curtin) or `version: 2` (netplan)",
        );
        return None;
    };
    match &version.kind {
        Kind::Int(1) => Some(Network::V1(de.v1(section, path, at))),
        Kind::Int(2) => Some(Network::V2(de.v2(section, path, at))),
        Kind::Str(s) if s == "1" => Some(Network::V1(de.v1(section, path, at))),
        Kind::Str(s) if s == "2" => Some(Network::V2(de.v2(section, path, at))),
        other => {
            let shown = match other {
                Kind::Str(s) => format!("`{}`", crate::diag::clip(s)),
                k => k.shown(),
            };
            de.diags.push(
                Diagnostic::error(
                    Code::Version,
                    Some(version.span),
                    format!("unsupported network config version {shown}"),
                )
                .with_help("supported: version 1 (curtin network config) and version 2 (netplan)"),
            );
            None
        }
    }
}

/// The keys of a netplan `network:` section that name it as netplan even without `version: 2`.
const V2_SECTIONS: &[&str] = &[
    "ethernets",
    "bonds",
    "bridges",
    "vlans",
    "renderer",
    "wifis",
    "modems",
    "tunnels",
    "vrfs",
    "dummy-devices",
    "virtual-ethernets",
    "nm-devices",
    "openvswitch",
];
