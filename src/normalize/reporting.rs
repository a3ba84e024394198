//! `reporting.maas` → [`Reporting`]: the endpoint must be MAAS's status URL over HTTP (the metadata
//! service's address comes from it), and the three OAuth values must be there.

use crate::diag::{Code, Diagnostic, Diagnostics, Located};
use crate::input::reporting::Maas;
use crate::model::Reporting;

const ENDPOINT_HELP: &str = "MAAS sends `endpoint: http://<rack>:5248/MAAS/metadata/status/<system_id>`; \
                             the metadata service is the part before `status/`";

/// Checks `reporting.maas`; `None` when it is not usable, with the reasons in `diags`.
pub fn reporting(raw: &Maas, diags: &mut Diagnostics) -> Option<Reporting> {
    let mut required = |value: &Option<Located<String>>, key: &str, help: &str| {
        match value {
            Some(v) if !v.value.is_empty() => return Some(v.value.clone()),
            Some(v) => diags.push(
                Diagnostic::error(
                    Code::Reporting,
                    Some(v.span),
                    format!("`{}.{key}` is empty", raw.path),
                )
                .with_help(help.to_string()),
            ),
            None => diags.push(
                Diagnostic::error(
                    Code::MissingKey,
                    Some(raw.span),
                    format!("`{}` needs a `{key}` key", raw.path),
                )
                .with_help(help.to_string()),
            ),
        }
        None
    };
    let oauth =
        "MAAS puts the machine's OAuth token here: `consumer_key`, `token_key` and `token_secret`";
    let endpoint = required(&raw.endpoint, "endpoint", ENDPOINT_HELP);
    let consumer_key = required(&raw.consumer_key, "consumer_key", oauth);
    let token_key = required(&raw.token_key, "token_key", oauth);
    let token_secret = required(&raw.token_secret, "token_secret", oauth);
    let mut ok = true;
    if let (Some(url), Some(located)) = (&endpoint, &raw.endpoint) {
        let http = url.starts_with("http://") || url.starts_with("https://");
        if !http || !url.contains("/status/") {
            diags.push(
                Diagnostic::error(
                    Code::Reporting,
                    Some(located.span),
                    format!("the reporting endpoint `{url}` is not MAAS's status URL"),
                )
                .with_help(ENDPOINT_HELP),
            );
            ok = false;
        }
    }
    if let Some(secret) = raw.consumer_secret.as_ref().filter(|s| !s.value.is_empty()) {
        diags.push(
            Diagnostic::error(
                Code::Reporting,
                Some(secret.span),
                format!("`{}.consumer_secret` is not supported", raw.path),
            )
            .with_help("MAAS signs with an empty consumer secret; the first boot signs with the token secret only"),
        );
        ok = false;
    }
    Some(Reporting {
        endpoint: endpoint?,
        consumer_key: consumer_key?,
        token_key: token_key?,
        token_secret: token_secret?,
    })
    .filter(|_| ok)
}
