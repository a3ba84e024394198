//! Diagnostics: what went wrong, where, and what is supported instead, printed like a compiler does.

use std::fmt::Write as _;

use serde::Serialize;

/// A position in the source text: 1-based line and column (in characters), and the length to underline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    #[serde(skip)]
    pub len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of problem a diagnostic reports; stable, for tools and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    Syntax,
    Type,
    Version,
    UnknownKey,
    MissingKey,
    UnknownType,
    DuplicateId,
    UnknownReference,
    InvalidReference,
    SharedMember,
    Address,
    Mac,
    Name,
    VlanId,
    Mtu,
    BondMode,
    Gateway,
    Route,
    Approximation,
    Unreachable,
    Reporting,
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub span: Option<Span>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(code: Code, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics collected by one stage; the stage fails if any of them is an error.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Turns every warning into an error (`--strict`).
    pub fn make_strict(&mut self) {
        for d in &mut self.0 {
            d.severity = Severity::Error;
        }
    }
}

/// Renders diagnostics the way rustc does: header, `--> file:line:col`, the source line, a caret, `help:`.
///
/// Secret values in the source (OAuth tokens, passwords) are shown as `*`, and a long line (curtin's
/// `$CONFIG` is one line of JSON) only around the span.
pub fn render(file: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    let masked = crate::secrets::Masked::new(source);
    let mut out = String::new();
    for d in diagnostics {
        render_one(&mut out, file, &masked, d);
    }
    out
}

/// Characters shown on each side of a span in a source line too long to show whole.
const CONTEXT: usize = 60;

fn render_one(out: &mut String, file: &str, source: &crate::secrets::Masked, d: &Diagnostic) {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{level}: {}", source.mask(&d.message));
    let help = d.help.as_deref().map(|h| source.mask(h));
    let line_text = d
        .span
        .and_then(|s| source.text.lines().nth(s.line.checked_sub(1)? as usize));
    match (d.span, line_text) {
        (Some(span), Some(text)) => {
            let number = span.line.to_string();
            let pad = " ".repeat(number.len());
            let _ = writeln!(out, "{pad}--> {file}:{}:{}", span.line, span.col);
            let _ = writeln!(out, "{pad} |");
            let text: Vec<char> = text
                .trim_end_matches('\r')
                .replace('\t', " ")
                .chars()
                .collect();
            let mut start = span.col.saturating_sub(1) as usize;
            let (mut from, mut to) = (0, text.len());
            if text.len() > 2 * CONTEXT + 40 {
                from = start.min(text.len()).saturating_sub(CONTEXT);
                to = (start + (span.len as usize).min(CONTEXT) + CONTEXT).min(text.len());
            }
            let shown: String = text[from..to].iter().collect();
            let (before, after) = (
                if from > 0 { "..." } else { "" },
                if to < text.len() { "..." } else { "" },
            );
            let _ = writeln!(out, "{number} | {before}{shown}{after}");
            start = start - from.min(start) + before.len();
            let available = (to - from + before.len()).saturating_sub(start).max(1);
            let width = (span.len as usize).clamp(1, available);
            let _ = writeln!(out, "{pad} | {}{}", " ".repeat(start), "^".repeat(width));
            if let Some(help) = &help {
                let _ = writeln!(out, "{pad} = help: {help}");
            }
        }
        (Some(span), None) => {
            let _ = writeln!(out, " --> {file}:{}:{}", span.line, span.col);
            if let Some(help) = &help {
                let _ = writeln!(out, "  = help: {help}");
            }
        }
        (None, _) => {
            let _ = writeln!(out, " --> {file}");
            if let Some(help) = &help {
                let _ = writeln!(out, "  = help: {help}");
            }
        }
    }
    out.push('\n');
}

/// A value and where it was written; equality ignores the position, so a v1 config and its v2 twin compare equal.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Located<T> {
    pub value: T,
    #[serde(skip)]
    pub span: Span,
}

impl<T> Located<T> {
    pub fn new(value: T, span: Span) -> Located<T> {
        Located { value, span }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Located<U> {
        Located {
            value: f(self.value),
            span: self.span,
        }
    }
}

impl<T: PartialEq> PartialEq for Located<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Located<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A diagnostic deep in a one-line JSON config shows a window of the line around the span, with the
    /// caret under the span and the secrets beside it masked.
    #[test]
    fn long_lines_are_windowed_and_secrets_masked() {
        let padding = "x".repeat(300);
        let source = format!(
            r#"{{"a":"{padding}","reporting":{{"maas":{{"consumer_key":"Kc8x2RbqZLz3","endpoint":"ftp://10.0.0.2/","token_key":"9VnUq4sYdE2h","token_secret":"Zr5tW8yBn3mQ"}}}},"z":"{padding}"}}"#
        );
        let col = source.find("ftp://").expect("the endpoint") + 1;
        let d = Diagnostic::error(
            Code::Type,
            Some(Span {
                line: 1,
                col: col as u32,
                len: 15,
            }),
            "the endpoint `ftp://10.0.0.2/` is not http; the token was 9VnUq4sYdE2h",
        );
        let out = render("config.json", &source, &[d]);
        let masked = source
            .replace("Kc8x2RbqZLz3", "************")
            .replace("9VnUq4sYdE2h", "************")
            .replace("Zr5tW8yBn3mQ", "************");
        let shown = &masked[col - 1 - CONTEXT..col - 1 + 15 + CONTEXT];
        assert!(shown.contains("token_secret") && !shown.contains("Zr5t"));
        assert_eq!(
            out,
            format!(
                "error: the endpoint `ftp://10.0.0.2/` is not http; the token was ************\n \
                 --> config.json:1:{col}\n  |\n1 | ...{shown}...\n  | {}{}\n\n",
                " ".repeat(CONTEXT + 3),
                "^".repeat(15)
            )
        );
    }
}
