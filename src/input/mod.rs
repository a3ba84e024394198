//! Raw input formats: curtin network v1 and netplan v2, found in a whole curtin config, a bare `network:`
//! document or a netplan file. Every YAML call of the project lives in this module.

mod decode;
pub mod v1;
pub mod v2;
mod yaml;

use crate::diag::{Code, Diagnostic, Diagnostics};
use decode::Decoder;
use yaml::Kind;

/// A network configuration in the format it was written in.
#[derive(Debug)]
pub enum Network {
    V1(v1::Config),
    V2(v2::Config),
}

/// Parses `source` (YAML or JSON) and dispatches on `version:`. Problems go to `diags`; `None` means the
/// document could not be read far enough to find a network configuration.
pub fn parse(source: &str, diags: &mut Diagnostics) -> Option<Network> {
    let root = yaml::parse(source, diags)?;
    let mut de = Decoder { diags };
    let fields = de.open_map(&root, "")?;
    let (section, path, at) = match (fields.get("network"), fields.get("version")) {
        (Some(network), _) => (
            network,
            "network",
            fields.key("network").map_or(root.span, |k| k.span),
        ),
        (None, Some(_)) => (&root, "", root.span),
        (None, None) => {
            de.diags.push(
                Diagnostic::error(Code::MissingKey, Some(root.span), "no network configuration found")
                    .with_help("expected a curtin config or a document with a `network:` section, or a bare `version: 1` / `version: 2` network config"),
            );
            return None;
        }
    };
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
                Kind::Int(i) => i.to_string(),
                Kind::Str(s) => format!("`{}`", crate::diag::clip(s)),
                k => k.describe().to_string(),
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
