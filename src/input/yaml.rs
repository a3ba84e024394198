//! The one place that calls the YAML parser: bytes in, a tree of nodes that each know their position.
//!
//! JSON is read through the same parser (curtin stores `$CONFIG` as JSON, which YAML 1.2 reads as flow
//! collections), so JSON input gets the same positions and diagnostics. The parser's resource limits are
//! ours to state: [`LIMITS`] says them in the words the diagnostics and the README use.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use serde_saphyr::budget::BudgetBreach;

use crate::diag::{self, Code, Diagnostic, Diagnostics, Span};

/// The parser's limits on one config: a MAAS config for a 100-NIC machine is far below every one of them.
pub struct Limits {
    /// YAML nodes (every scalar, list and mapping).
    pub nodes: usize,
    /// Nesting of lists and mappings.
    pub depth: usize,
    /// Bytes of scalar text, all scalars together.
    pub scalar_bytes: usize,
    /// Aliases (`*name`), and anchors (`&name`).
    pub aliases: usize,
}

/// The limits in force.
pub const LIMITS: Limits = Limits {
    nodes: 250_000,
    depth: 32,
    scalar_bytes: 64 << 20,
    aliases: 10_000,
};

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

    /// Whether the value is an empty mapping, an empty list or null: "nothing here".
    pub fn is_empty(&self) -> bool {
        match self {
            Kind::Null => true,
            Kind::Seq(items) => items.is_empty(),
            Kind::Map(entries) => entries.is_empty(),
            _ => false,
        }
    }
}

/// Parses one YAML (or JSON) document. Duplicate keys are reported here, each with where the key was
/// first written; the tree is returned with them so that the rest of the input is still checked.
pub(crate) fn parse(source: &str, diags: &mut Diagnostics) -> Option<Node> {
    let options = serde_saphyr::options! {
        // Every entry reaches the tree; `duplicates` below reports repeated keys with both positions.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // YAML 1.2 booleans only: netplan's `yes`/`on` stay strings here and are read as booleans by
        // the fields that take booleans, so a NIC named `on` is still a name.
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_nodes: LIMITS.nodes,
            max_depth: LIMITS.depth,
            max_total_scalar_bytes: LIMITS.scalar_bytes,
            max_aliases: LIMITS.aliases,
            max_anchors: LIMITS.aliases,
        },
    };
    if source.trim().is_empty() {
        diags.push(
            Diagnostic::error(Code::Syntax, Some(START), "the configuration is empty")
                .with_help("expected a curtin config, a `network:` document or a netplan file"),
        );
        return None;
    }
    match serde_saphyr::from_str_with_options::<Node>(source, options) {
        Ok(root) => {
            duplicates(&root, diags);
            Some(root)
        }
        Err(e) => {
            diags.push(syntax_error(&e));
            None
        }
    }
}

/// Where a diagnostic about the whole document points: its first character.
pub(crate) const START: Span = Span {
    line: 1,
    col: 1,
    len: 1,
};

/// The parser's error in our words: what limit was hit, or what is wrong with the YAML, and where.
fn syntax_error(e: &serde_saphyr::Error) -> Diagnostic {
    let span = e
        .location()
        .filter(|l| l.line() > 0)
        .map_or(START, |l| Span {
            line: clamp(l.line()),
            col: clamp(l.column().max(1)),
            len: 1,
        });
    let limit = |what: String, help: &str| {
        Diagnostic::error(Code::Limit, Some(span), what).with_help(help.to_string())
    };
    const TOO_BIG: &str = "a MAAS network config is far smaller: is this the right file? The limits are in the README";
    match e.without_snippet() {
        serde_saphyr::Error::Budget { breach, .. } => match breach {
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => limit(
                format!(
                    "the config has more than {} YAML values (scalars, lists and mappings)",
                    LIMITS.nodes
                ),
                TOO_BIG,
            ),
            BudgetBreach::Depth { .. } => limit(
                format!(
                    "lists and mappings are nested more than {} deep",
                    LIMITS.depth
                ),
                TOO_BIG,
            ),
            BudgetBreach::ScalarBytes { .. } => limit(
                format!(
                    "the config holds more than {} MiB of text in its values",
                    LIMITS.scalar_bytes >> 20
                ),
                TOO_BIG,
            ),
            BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::AliasAnchorRatio { .. }
            | BudgetBreach::RecordedAnchorEvents { .. }
            | BudgetBreach::RecordedAnchorBytes { .. }
            | BudgetBreach::MergeKeys { .. } => limit(
                format!(
                    "the config uses YAML anchors and aliases (`&name`, `*name`, `<<`) beyond the limit of {} or expands them too often",
                    LIMITS.aliases
                ),
                "write the values out instead of repeating them through aliases",
            ),
            BudgetBreach::Documents { .. } => {
                limit("the file holds too many YAML documents".to_string(), MULTI)
            }
            _ => limit(
                "the config is beyond the parser's limits".to_string(),
                TOO_BIG,
            ),
        },
        serde_saphyr::Error::RecursiveReferencesRequireWeakTypes { .. } => Diagnostic::error(
            Code::Syntax,
            Some(span),
            "invalid YAML: an alias refers to the node that contains it",
        )
        .with_help("a recursive alias (`&a [*a]`) has no finite value; write the value out"),
        serde_saphyr::Error::MultipleDocuments { .. } => Diagnostic::error(
            Code::Syntax,
            Some(span),
            "the file holds more than one YAML document",
        )
        .with_help(MULTI),
        other => {
            let text = other.to_string();
            let message = strip_position(text.lines().next().unwrap_or("invalid YAML"));
            Diagnostic::error(
                Code::Syntax,
                Some(span),
                format!("invalid YAML: {}", diag::clip(&message)),
            )
        }
    }
}

const MULTI: &str =
    "give one config per file: a curtin config, a `network:` document or a netplan file";

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

/// Reports every key written twice in one mapping, anywhere in the tree.
///
/// YAML requires unique keys, and readers disagree on what a repeated one means: netplan merges repeated
/// sections and keeps the last scalar, PyYAML keeps the last, others the first. A MAAS config never
/// repeats a key, so a repeated one is a mistake we do not guess about.
fn duplicates(root: &Node, diags: &mut Diagnostics) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match &node.kind {
            Kind::Seq(items) => stack.extend(items.iter().rev()),
            Kind::Map(entries) => {
                let mut first: BTreeMap<String, Span> = BTreeMap::new();
                for (key, value) in entries {
                    let name = match &key.kind {
                        Kind::Str(s) => s.clone(),
                        Kind::Int(i) => i.to_string(),
                        Kind::Bool(b) => b.to_string(),
                        _ => String::new(),
                    };
                    if !name.is_empty() {
                        match first.get(&name) {
                            Some(at) => diags.push(
                                Diagnostic::error(
                                    Code::DuplicateKey,
                                    Some(key.span),
                                    format!(
                                        "key `{}` is written twice in this mapping (first at line {}, column {})",
                                        diag::clip(&name),
                                        at.line,
                                        at.col
                                    ),
                                )
                                .with_help("YAML requires unique keys and readers disagree on which one wins (netplan merges repeated sections and takes the last value; others take the first): keep one"),
                            ),
                            None => {
                                first.insert(name, key.span);
                            }
                        }
                    }
                    stack.push(value);
                }
            }
            _ => {}
        }
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
