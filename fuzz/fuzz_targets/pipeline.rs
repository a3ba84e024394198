//! The whole pipeline on arbitrary bytes: input → normalize → plan → script and JSON plan, and the
//! diagnostics in every format. It must never panic, every diagnostic must have a place, a rejected config
//! must say why, and what is printed about it must stay small whatever the input's size.

#![no_main]

use libfuzzer_sys::fuzz_target;
use maas_esxi::diag::{self, Format, Style};
use maas_esxi::{Options, check, render};

fuzz_target!(|data: &[u8]| {
    // The CLI refuses non-UTF-8 bytes before the pipeline; the lossy text still exercises it.
    let text = String::from_utf8_lossy(data);
    // `--strict` runs the same stages and then turns warnings into errors (`lib.rs`); running the pipeline a
    // second time for it would halve the executions for no new paths. tests/it/fuzz.rs runs both.
    let outcome = check(&text, &Options::default());
    let found = &outcome.diagnostics.0;
    for d in found {
        assert!(
            d.span.is_some_and(|s| s.line >= 1 && s.col >= 1),
            "a diagnostic without a place: {d:?}"
        );
    }
    for format in [Format::Human, Format::Short] {
        let style = Style {
            format,
            color: false,
        };
        let printed = diag::render_styled("fuzz.yaml", &text, found, style);
        assert!(
            printed.len() <= 4096 * (found.len() + 1),
            "{} bytes printed for {} diagnostics",
            printed.len(),
            found.len()
        );
    }
    match outcome.plan {
        Some(plan) => {
            let script = render::script(&plan);
            assert!(script.starts_with("#!/bin/sh\n"));
            let json = render::json(&plan);
            assert!(json.contains("\"format-version\""));
        }
        None => assert!(
            outcome.diagnostics.has_errors(),
            "rejected without an error"
        ),
    }
});
