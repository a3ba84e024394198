//! The `reporting.maas` section of a whole curtin config: where the host reports to MAAS, and the OAuth
//! token it signs its requests with.

use crate::diag::{Diagnostics, Located, Span};
use crate::input::decode::Decoder;
use crate::input::yaml;

/// `reporting.maas` as written (curtin's webhook reporter options).
#[derive(Debug, Default)]
pub struct Maas {
    pub span: Span,
    pub path: String,
    pub endpoint: Option<Located<String>>,
    pub consumer_key: Option<Located<String>>,
    pub token_key: Option<Located<String>>,
    pub token_secret: Option<Located<String>>,
    pub consumer_secret: Option<Located<String>>,
}

/// The options curtin's webhook reporter takes; only the endpoint and the OAuth values matter here.
const KEYS: &[&str] = &[
    "type",
    "endpoint",
    "consumer_key",
    "token_key",
    "token_secret",
    "consumer_secret",
    "timeout",
    "retries",
    "level",
];

/// Reads `reporting.maas` from a whole curtin config (YAML or JSON). `None` when there is none: a bare
/// network config, or curtin run without MAAS.
pub fn parse(source: &str, diags: &mut Diagnostics) -> Option<Maas> {
    let root = yaml::parse(source, diags)?;
    let mut de = Decoder { diags };
    let top = de.open_map(&root, "")?;
    let reporting = top.get("reporting")?;
    let maas = de.open_map(reporting, "reporting")?.get("maas")?;
    let fields = de.map(maas, "reporting.maas", KEYS)?;
    let mut string = |key: &str| {
        fields
            .get(key)
            .and_then(|node| de.string(node, &fields.child(key)))
    };
    Some(Maas {
        span: fields.span,
        path: fields.path.clone(),
        endpoint: string("endpoint"),
        consumer_key: string("consumer_key"),
        token_key: string("token_key"),
        token_secret: string("token_secret"),
        consumer_secret: string("consumer_secret"),
    })
}
