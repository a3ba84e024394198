//! Diagnostics: what went wrong, where, and what is supported instead, printed like a compiler does.

mod render;

use serde::Serialize;

pub use render::{Format, Style, render, render_styled, summary};

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
    SearchDomain,
    Approximation,
    Unreachable,
    /// A size or offset that is not a whole number of sectors, or not a size at all.
    Size,
    /// Partition numbers, and partitions that overlap or leave the disk.
    Partition,
    /// Datastore extents: too many, or on partitions ESXi keeps for itself.
    Extent,
    /// Entries that have no meaning on ESXi (Linux storage layouts).
    Ignored,
    /// Something ESXi has no equivalent for (a device kind, a route type, a netplan feature).
    Unsupported,
    /// A key written twice in one mapping.
    DuplicateKey,
    /// The input is beyond the parser's limits (size, nesting, aliases).
    Limit,
    /// The config asks that the network be left alone (`config: disabled`).
    Disabled,
    /// MAAS's reporting endpoint and OAuth token (`reporting.maas`).
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
            message: clip_quoted(message.into()),
            span,
            help: None,
        }
    }

    pub fn warning(code: Code, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: clip_quoted(message.into()),
            span,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(clip_quoted(help.into()));
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

    /// Adds an error at `span` with its help.
    pub fn error(&mut self, code: Code, span: Span, message: String, help: &str) {
        self.push(Diagnostic::error(code, Some(span), message).with_help(help));
    }

    /// Adds a warning at `span` with its help.
    pub fn warning(&mut self, code: Code, span: Span, message: String, help: &str) {
        self.push(Diagnostic::warning(code, Some(span), message).with_help(help));
    }

    /// Turns every warning into an error (`--strict`).
    pub fn make_strict(&mut self) {
        for d in &mut self.0 {
            d.severity = Severity::Error;
        }
    }
}

/// Cuts every value quoted in backquotes in a message to a sane length, whoever wrote the message.
fn clip_quoted(message: String) -> String {
    if message.len() <= 200 {
        return message;
    }
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                clip(part)
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// Cuts a value quoted in a message to a sane length: a diagnostic about a 100 MB scalar is one line.
pub fn clip(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        return value.to_string();
    }
    let head: String = value.chars().take(MAX - 20).collect();
    let tail: String = {
        let mut t: Vec<char> = value.chars().rev().take(12).collect();
        t.reverse();
        t.into_iter().collect()
    };
    format!("{head}...{tail} ({} characters)", value.chars().count())
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

    /// A diagnostic deep in a one-line JSON config (curtin's `$CONFIG`) shows a window of the line, with
    /// the caret under the span and every secret, in the source and in the message, masked.
    #[test]
    fn secrets_are_masked_and_long_lines_windowed() {
        let padding = "x".repeat(300);
        let source = format!(
            r#"{{"a":"{padding}","reporting":{{"maas":{{"consumer_key":"Kc8x2RbqZLz3","endpoint":"ftp://10.0.0.2/","token_key":"9VnUq4sYdE2h","token_secret":"Zr5tW8yBn3mQ"}}}},"z":"{padding}"}}"#
        );
        let col = source.find("\"ftp://").expect("the endpoint") + 1;
        let d = Diagnostic::error(
            Code::Reporting,
            Some(Span {
                line: 1,
                col: col as u32,
                len: 17,
            }),
            "the endpoint `ftp://10.0.0.2/` is not http; the token was 9VnUq4sYdE2h",
        );
        let out = render("config.json", &source, &[d]);
        for secret in ["Kc8x2RbqZLz3", "9VnUq4sYdE2h", "Zr5tW8yBn3mQ"] {
            assert!(!out.contains(secret), "{secret} in:\n{out}");
        }
        assert!(out.starts_with(
            "error: the endpoint `ftp://10.0.0.2/` is not http; the token was ************\n"
        ));
        let lines: Vec<&str> = out.lines().collect();
        let shown = lines
            .iter()
            .position(|l| l.starts_with("1 | "))
            .expect("the source line");
        assert!(lines[shown].len() < source.len() / 2, "{out}");
        assert!(
            lines[shown].contains(
                r#""************","endpoint":"ftp://10.0.0.2/","token_key":"************""#
            ),
            "{out}"
        );
        let at = lines[shown]
            .find("\"ftp://")
            .expect("the endpoint is shown");
        assert_eq!(lines[shown + 1].find('^'), Some(at), "{out}");
    }
}
