//! The diagnostics renderer: compiler-style reports (annotate-snippets) with repeated warnings grouped,
//! the one-line `file:line:col: level: message` form editors read, and the closing summary.

use std::fmt::Write as _;

use annotate_snippets::renderer;
use annotate_snippets::{AnnotationKind, Element, Group, Level, Origin, Renderer, Snippet};

use super::{Diagnostic, Severity, Span, clip};

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub format: Format,
    /// ANSI colours (for a terminal).
    pub color: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// The message, `--> file:line:col`, the source line with the place underlined, `help:`.
    #[default]
    Human,
    /// One line per diagnostic: `file:line:col: error: message`, as gcc, netplan and quickfix lists use.
    Short,
}

/// Longer source lines are not quoted at all (the position still is). Shorter ones are shown as a
/// window around the column that fits the terminal width, so a one-line JSON config is never shown whole.
const LONGEST_LINE: usize = 1 << 20;

/// At most this many characters are underlined.
const MARKED: usize = 80;

/// A group of repeated warnings lists this many other places by position; the rest are counted.
const LISTED: usize = 6;

/// Renders diagnostics for people, without colour: what the tests and non-terminals see.
pub fn render(file: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    render_styled(file, source, diagnostics, Style::default())
}

/// Renders diagnostics in the given style. Warnings that say the same thing about different objects
/// (the same code and the same message apart from the names in backquotes) are shown once, with the
/// other places listed. Secret values (MAAS's OAuth token, passwords) are shown as `*`, in the source
/// and in the messages.
pub fn render_styled(file: &str, source: &str, diagnostics: &[Diagnostic], style: Style) -> String {
    let masked = crate::secrets::Masked::new(source);
    let source = masked.text.as_ref();
    let diagnostics: Vec<Diagnostic> = diagnostics
        .iter()
        .map(|d| Diagnostic {
            message: masked.mask(&d.message),
            help: d.help.as_deref().map(|h| masked.mask(h)),
            ..d.clone()
        })
        .collect();
    let diagnostics = diagnostics.as_slice();
    let style_on = style.color;
    let renderer = if style_on {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    match style.format {
        Format::Short => {
            for d in diagnostics {
                let (line, col) = d.span.map_or((1, 1), |s| (s.line.max(1), s.col.max(1)));
                let (name, style) = match d.severity {
                    Severity::Error => ("error", renderer::DEFAULT_ERROR_STYLE),
                    Severity::Warning => ("warning", renderer::DEFAULT_WARNING_STYLE),
                };
                let name = if style_on {
                    format!("{style}{name}{style:#}")
                } else {
                    name.to_string()
                };
                let _ = writeln!(out, "{file}:{line}:{col}: {name}: {}", d.message);
            }
        }
        Format::Human => {
            for group in groups(diagnostics) {
                let first = group[0];
                let report = report(file, source, first, &group[1..]);
                let _ = writeln!(out, "{}\n", renderer.render(&report));
            }
        }
    }
    out
}

/// The one-line summary that closes `validate`, like cargo's.
pub fn summary(files: usize, errors: usize, warnings: usize, color: bool) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let counts = format!(
        "{}: {}, {}",
        plural(files, "file"),
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    let (lead, style) = if errors > 0 {
        ("rejected", renderer::DEFAULT_ERROR_STYLE)
    } else {
        ("checked", renderer::DEFAULT_NOTE_STYLE)
    };
    if color {
        format!("{style}{lead}{style:#} {counts}")
    } else {
        format!("{lead} {counts}")
    }
}

fn level(d: &Diagnostic) -> Level<'static> {
    match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    }
}

/// One report: the diagnostic on its source line, its help, and the places of the warnings like it.
fn report<'a>(
    file: &'a str,
    source: &'a str,
    d: &'a Diagnostic,
    others: &[&Diagnostic],
) -> Vec<Group<'a>> {
    let span = d.span.unwrap_or(Span {
        line: 1,
        col: 1,
        len: 1,
    });
    let (line, col) = (span.line.max(1) as usize, span.col.max(1) as usize);
    let mut elements: Vec<Element<'a>> = Vec::new();
    match source.lines().nth(line - 1) {
        Some(text) if text.len() <= LONGEST_LINE => {
            let text = text.trim_end_matches('\r');
            let start = byte_at(text, col - 1);
            let end = byte_at(text, col - 1 + (span.len as usize).clamp(1, MARKED)).max(start);
            elements.push(
                Snippet::source(text)
                    .line_start(line)
                    .path(file)
                    .annotation(AnnotationKind::Primary.span(start..end))
                    .into(),
            );
        }
        _ => elements.push(Origin::path(file).line(line).char_column(col).into()),
    }
    if let Some(help) = &d.help {
        elements.push(Level::HELP.message(help.as_str()).into());
    }
    if !others.is_empty() {
        let mut places: Vec<String> = others
            .iter()
            .take(LISTED)
            .map(|o| {
                let at = o
                    .span
                    .map_or_else(|| file.to_string(), |s| format!("{}:{}", s.line, s.col));
                match o.message.split('`').nth(1) {
                    Some(name) => format!("`{}` at {at}", clip(name)),
                    None => at,
                }
            })
            .collect();
        if others.len() > LISTED {
            places.push(format!("and {} more", others.len() - LISTED));
        }
        elements.push(
            Level::NOTE
                .message(format!(
                    "{} more like this: {}",
                    others.len(),
                    places.join(", ")
                ))
                .into(),
        );
    }
    vec![
        level(d)
            .primary_title(d.message.as_str())
            .elements(elements),
    ]
}

/// The byte offset of the `n`th character of `text`, or its end.
fn byte_at(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

/// Diagnostics in their order, each warning followed by the later ones that repeat it.
fn groups(diagnostics: &[Diagnostic]) -> Vec<Vec<&Diagnostic>> {
    let mut groups: Vec<Vec<&Diagnostic>> = Vec::new();
    let mut index: std::collections::BTreeMap<String, usize> = Default::default();
    for d in diagnostics {
        if d.severity == Severity::Warning {
            let key = format!(
                "{:?} {} {}",
                d.code,
                shape(&d.message),
                d.help.as_deref().unwrap_or_default()
            );
            if let Some(&i) = index.get(&key) {
                groups[i].push(d);
                continue;
            }
            index.insert(key, groups.len());
        }
        groups.push(vec![d]);
    }
    groups
}

/// A message with the names it quotes (in backquotes) and its numbers left out: what it says, not about what.
fn shape(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in message.chars() {
        if c == '`' {
            quoted = !quoted;
            out.push('`');
        } else if !quoted && !c.is_ascii_digit() {
            out.push(c);
        }
    }
    out
}
