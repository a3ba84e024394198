//! maas-esxi: MAAS network configuration (curtin v1, netplan v2) and storage configuration (curtin storage
//! v1) → an idempotent ESXi first-boot script.
//!
//! The pipeline is four pure stages: [`input`] (bytes → raw format types with positions), [`normalize`]
//! (→ the format-neutral [`model`], every semantic check), [`plan`] (→ ESXi objects) and [`render`]
//! (→ script or JSON). IO happens only in the binary.

pub mod diag;
pub mod image;
pub mod input;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod render;

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
