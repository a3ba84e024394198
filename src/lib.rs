//! maas-esxi: MAAS network configuration (curtin v1, netplan v2) → an idempotent ESXi first-boot script.
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

/// Runs input, normalize and plan on one config. Stages stop at the first stage that found an error, after
/// that stage has reported all it found.
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
    let raw = input::parse(source, diags)?;
    if diags.has_errors() {
        return None;
    }
    let model = normalize::normalize(&raw, diags);
    if diags.has_errors() {
        return None;
    }
    Some(plan::plan(&model, &options.plan, diags))
}

/// Runs [`check`] on a config's bytes; text that is not UTF-8 is a rejected input, not a crash. Returns the
/// text (for rendering diagnostics) and the outcome.
pub fn check_bytes(bytes: &[u8], options: &Options) -> (String, Outcome) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), check(text, options)),
        Err(e) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(diag::Diagnostic::error(
                diag::Code::Syntax,
                None,
                format!(
                    "the config is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            ));
            let outcome = Outcome {
                plan: None,
                diagnostics,
            };
            (String::new(), outcome)
        }
    }
}

/// Reads MAAS's reporting endpoint and OAuth token from a whole curtin config; `None` when it has none or
/// it is not usable (then `diags` says why).
pub fn reporting(source: &str, diags: &mut Diagnostics) -> Option<model::Reporting> {
    let raw = input::reporting::parse(source, diags)?;
    normalize::reporting(&raw, diags)
}

/// Parses and normalizes a config into the model (for tests and tools that compare configs).
pub fn model(source: &str) -> Result<model::Network, Diagnostics> {
    let mut diags = Diagnostics::default();
    let raw = input::parse(source, &mut diags);
    match raw {
        Some(raw) if !diags.has_errors() => {
            let m = normalize::normalize(&raw, &mut diags);
            if diags.has_errors() {
                Err(diags)
            } else {
                Ok(m)
            }
        }
        _ => Err(diags),
    }
}
