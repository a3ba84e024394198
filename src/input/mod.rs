//! Raw input formats: curtin network v1 and netplan v2, found in a whole curtin config, a bare `network:`
//! document or a netplan file. Every YAML call of the project lives in this module.

mod decode;
pub mod reporting;
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
    let root = document(source, diags)?;
    let mut de = Decoder { diags };
    let fields = de.open_map(&root, "")?;
    let (section, path) = match (fields.get("network"), fields.get("version")) {
        (Some(network), _) => (network, "network"),
        (None, Some(_)) => (&root, ""),
        (None, None) => {
            de.diags.push(
                Diagnostic::error(Code::MissingKey, Some(root.span), "no network configuration found")
                    .with_help("expected a curtin config or a document with a `network:` section, or a bare `version: 1` / `version: 2` network config"),
            );
            return None;
        }
    };
    let section_fields = de.open_map(section, path)?;
    let Some(version) = section_fields.get("version") else {
        de.missing(
            &section_fields,
            "version",
            "`version: 1` (curtin) or `version: 2` (netplan)",
        );
        return None;
    };
    match &version.kind {
        Kind::Int(1) => Some(Network::V1(de.v1(section, path))),
        Kind::Int(2) => Some(Network::V2(de.v2(section, path))),
        Kind::Str(s) if s == "1" => Some(Network::V1(de.v1(section, path))),
        Kind::Str(s) if s == "2" => Some(Network::V2(de.v2(section, path))),
        other => {
            let shown = match other {
                Kind::Int(i) => i.to_string(),
                Kind::Str(s) => format!("`{s}`"),
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

/// The document's root node; a syntax error goes to `diags`.
fn document(source: &str, diags: &mut Diagnostics) -> Option<yaml::Node> {
    yaml::parse(source).map_err(|d| diags.push(d)).ok()
}
