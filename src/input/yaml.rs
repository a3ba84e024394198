//! The one place that calls the YAML parser: bytes in, a tree of nodes that each know their position.
//!
//! JSON is read through the same parser (curtin stores `$CONFIG` as JSON, which YAML 1.2 reads as flow
//! collections), so JSON input gets the same positions and diagnostics.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::{Code, Diagnostic, Span};

/// A YAML value with the position it was written at.
#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Kind {
    /// The YAML type, as a person reading the file would name it.
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// A scalar as a message shows it (`2`, `` `two` ``), else its type.
    pub fn shown(&self) -> String {
        match self {
            Kind::Int(i) => i.to_string(),
            Kind::Str(s) => format!("`{s}`"),
            k => k.describe().to_string(),
        }
    }
}

/// Parses one YAML (or JSON) document.
pub(crate) fn parse(source: &str) -> Result<Node, Diagnostic> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        // YAML 1.2 booleans only: netplan's `yes`/`on` stay strings here and are read as booleans by
        // the fields that take booleans, so a NIC named `on` is still a name.
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    };
    if source.trim().is_empty() {
        return Err(
            Diagnostic::error(Code::Syntax, None, "the configuration is empty")
                .with_help("expected a curtin config, a `network:` document or a netplan file"),
        );
    }
    serde_saphyr::from_str_with_options::<Node>(source, options).map_err(|e| {
        let span = e.location().map(|l| Span {
            line: clamp(l.line()),
            col: clamp(l.column()),
            len: 1,
        });
        let text = e.to_string();
        let message = strip_position(text.lines().next().unwrap_or("invalid YAML"));
        Diagnostic::error(Code::Syntax, span, format!("invalid YAML: {message}"))
    })
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Drops the parser's own `error: line N column M: ` prefix: the renderer prints the position.
fn strip_position(message: &str) -> String {
    let m = message.strip_prefix("error: ").unwrap_or(message);
    let m = match m
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((pos, rest)) if pos.contains("column") => rest,
        _ => m,
    };
    match m.rfind(" at line ") {
        Some(i) if m[i..].contains("column") => m[..i].to_string(),
        _ => m.to_string(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<Kind> = Spanned::deserialize(d)?;
        let span = s.referenced.span();
        Ok(Node {
            kind: s.value,
            span: Span {
                line: clamp(s.referenced.line()),
                col: clamp(s.referenced.column()),
                len: clamp(span.len()),
            },
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(i128::try_from(v).map_or(Kind::Float, Kind::Int))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind::Float)
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = a.next_entry()? {
            entries.push(entry);
        }
        Ok(Kind::Map(entries))
    }
}
