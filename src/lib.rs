//! maas-esxi: MAAS network configuration (curtin v1, netplan v2) and storage configuration (curtin storage
//! v1) → an idempotent ESXi first-boot script.
//!
//! The pipeline is four pure stages: [`input`] (bytes → raw format types with positions), [`normalize`]
//! (→ the format-neutral [`model`], every semantic check), [`plan`] (→ ESXi objects) and [`render`]
//! (→ script or JSON); [`bundle`] puts the script and the MAAS credentials into the first-boot bundle.
//! IO happens only in the binary, in [`hook`] (the curtin hook) and in [`image`].

pub mod bundle;
pub mod diag;
pub mod hook;
pub mod image;
pub mod input;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod render;
pub mod secrets;

use diag::Diagnostics;

/// Options of a whole translation.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Turn every warning into an error.
    pub strict: bool,
    pub plan: plan::Options,
}

/// The result of running the pipeline up to the plan: the plan if nothing was an error, and every diagnostic.
#[derive(Debug)]
pub struct Outcome {
    pub plan: Option<plan::Plan>,
    pub diagnostics: Diagnostics,
}

/// Runs input, normalize and plan on one config, network and storage alike. Stages stop at the first stage
/// that found an error, after that stage has reported all it found in both halves.
pub fn check(source: &str, options: &Options) -> Outcome {
    let mut diags = Diagnostics::default();
    let plan = run(source, options, &mut diags);
    if options.strict {
        diags.make_strict();
    }
    let plan = if diags.has_errors() { None } else { plan };
    Outcome {
        plan,
        diagnostics: diags,
    }
}

fn run(source: &str, options: &Options, diags: &mut Diagnostics) -> Option<plan::Plan> {
    let (network, storage) = models(source, diags)?;
    Some(plan::plan(
        network.as_ref(),
        storage.as_ref(),
        &options.plan,
        diags,
    ))
}

/// Both halves of a config through input and normalize; `None` once either found an error.
fn models(
    source: &str,
    diags: &mut Diagnostics,
) -> Option<(Option<model::Network>, Option<model::storage::Storage>)> {
    let raw = input::parse(source, diags)?;
    if diags.has_errors() {
        return None;
    }
    let network = raw.network.as_ref().map(|n| normalize::normalize(n, diags));
    let storage = raw.storage.as_ref().map(|s| normalize::storage(s, diags));
    (!diags.has_errors()).then_some((network, storage))
}

/// Runs [`check`] on a config's bytes; text that is not UTF-8 is a rejected input, not a crash. Returns the
/// text to render diagnostics against (up to the bad byte, if any) and the outcome.
pub fn check_bytes(bytes: &[u8], options: &Options) -> (String, Outcome) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), check(text, options)),
        Err(e) => {
            // Point at the bad byte: the text before it is valid, so its lines can be counted.
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(diag::Diagnostic::error(
                diag::Code::Syntax,
                Some(diag::Span {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    col: u32::try_from(col).unwrap_or(u32::MAX),
                    len: 1,
                }),
                format!(
                    "the config is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            ));
            (
                valid,
                Outcome {
                    plan: None,
                    diagnostics,
                },
            )
        }
    }
}

/// Reads MAAS's reporting endpoint and OAuth token from a whole curtin config; `None` when it has none or
/// it is not usable (then `diags` says why).
pub fn reporting(source: &str, diags: &mut Diagnostics) -> Option<model::Reporting> {
    let raw = input::reporting::parse(source, diags)?;
    normalize::reporting(&raw, diags)
}

/// Parses and normalizes a config's network into the model (for tests and tools that compare configs); a
/// config without a network section gives an empty network.
pub fn model(source: &str) -> Result<model::Network, Diagnostics> {
    let mut diags = Diagnostics::default();
    match models(source, &mut diags) {
        Some((network, _)) => Ok(network.unwrap_or_default()),
        None => Err(diags),
    }
}

/// Parses and normalizes a config's storage into the model; `None` when the config has no storage section.
pub fn storage_model(source: &str) -> Result<Option<model::storage::Storage>, Diagnostics> {
    let mut diags = Diagnostics::default();
    match models(source, &mut diags) {
        Some((_, storage)) => Ok(storage),
        None => Err(diags),
    }
}
