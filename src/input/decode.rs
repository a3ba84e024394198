//! Reading typed values out of YAML nodes: type errors and unknown keys become diagnostics with positions.

use crate::diag::{Code, Diagnostic, Diagnostics, Located, Span, clip};
use crate::input::yaml::{Kind, Node};

/// Carries the diagnostics of one decode pass.
pub(crate) struct Decoder<'d> {
    pub diags: &'d mut Diagnostics,
}

/// The entries of one mapping, with the keys a reader may ask for.
pub(crate) struct Fields<'n> {
    entries: &'n [(Node, Node)],
    pub span: Span,
    pub path: String,
}

impl<'n> Fields<'n> {
    /// The value of `key`; a key written with a null value (`mtu: null`, `mtu:`) counts as absent, as
    /// cloud-init drops null keys.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, v)| {
                matches!(&k.kind, Kind::Str(s) if s == key) && !matches!(v.kind, Kind::Null)
            })
            .map(|(_, v)| v)
    }

    /// The key node of `key`, where a diagnostic about the key itself points.
    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == key))
            .map(|(k, _)| k)
    }

    /// The first of several spellings of one key (`bond-mode`, `bond_mode`).
    pub fn get_any(&self, keys: &[&str]) -> Option<(&'n str, &'n Node)> {
        self.entries.iter().find_map(|(k, v)| match &k.kind {
            Kind::Str(s) if keys.contains(&s.as_str()) && !matches!(v.kind, Kind::Null) => {
                Some((s.as_str(), v))
            }
            _ => None,
        })
    }

    pub fn entries(&self) -> &'n [(Node, Node)] {
        self.entries
    }

    pub fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Decoder<'_> {
    fn type_error(&mut self, node: &Node, path: &str, expected: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::Type,
                Some(node.span),
                format!(
                    "`{}` must be {expected}, found {}",
                    clip(path),
                    node.kind.describe()
                ),
            )
            .with_help(format!(
                "write `{}` as {expected}",
                clip(last_segment(path))
            )),
        );
    }

    /// Opens a mapping and warns about every key not in `known`.
    pub fn map<'n>(&mut self, node: &'n Node, path: &str, known: &[&str]) -> Option<Fields<'n>> {
        let fields = self.open_map(node, path)?;
        for (key, _) in fields.entries {
            let name = match &key.kind {
                Kind::Str(s) => s.clone(),
                other => format!("<{}>", other.describe()),
            };
            if !known.contains(&name.as_str()) {
                self.unknown_key(key.span, &name, path, known);
            }
        }
        Some(fields)
    }

    /// Warns about an unknown key, suggesting the known key it most likely misspells.
    pub fn unknown_key(&mut self, span: Span, name: &str, path: &str, known: &[&str]) {
        let where_ = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", clip(path))
        };
        let help = match suggest(name, known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("known keys here: {}", known.join(", ")),
        };
        self.diags.push(
            Diagnostic::warning(
                Code::UnknownKey,
                Some(span),
                format!("unknown key `{}` {where_} is ignored", clip(name)),
            )
            .with_help(help),
        );
    }

    /// Opens a mapping without judging its keys; the caller does.
    pub fn open_map<'n>(&mut self, node: &'n Node, path: &str) -> Option<Fields<'n>> {
        let Kind::Map(entries) = &node.kind else {
            self.type_error(node, path, "a mapping");
            return None;
        };
        Some(Fields {
            entries,
            span: node.span,
            path: path.to_string(),
        })
    }

    /// Opens a mapping whose keys are names chosen by the user (netplan `ethernets:`).
    pub fn named_map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
    ) -> Vec<(Located<String>, &'n Node)> {
        match &node.kind {
            Kind::Null => Vec::new(),
            Kind::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| self.string(k, path).map(|name| (name, v)))
                .collect(),
            _ => {
                self.type_error(node, path, "a mapping of names");
                Vec::new()
            }
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            Kind::Null => &[],
            _ => {
                self.type_error(node, path, "a list");
                &[]
            }
        }
    }

    /// A string; integers are accepted and written in decimal (YAML reads an id `100` as a number).
    pub fn string(&mut self, node: &Node, path: &str) -> Option<Located<String>> {
        match &node.kind {
            Kind::Str(s) => Some(Located::new(s.clone(), node.span)),
            Kind::Int(i) => Some(Located::new(i.to_string(), node.span)),
            _ => {
                self.type_error(node, path, "a string");
                None
            }
        }
    }

    /// One string or a list of strings (curtin accepts both for DNS entries).
    pub fn strings(&mut self, node: &Node, path: &str) -> Vec<Located<String>> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &format!("{path}[{i}]")))
                .collect(),
            Kind::Null => Vec::new(),
            _ => self.string(node, path).into_iter().collect(),
        }
    }

    /// Like [`Decoder::strings`], and a string holding several words separated by spaces is split into
    /// them, as cloud-init does for DNS servers and search domains (`dns_search: "a.example b.example"`).
    pub fn words(&mut self, node: &Node, path: &str) -> Vec<Located<String>> {
        self.strings(node, path)
            .into_iter()
            .flat_map(|s| {
                let span = s.span;
                s.value
                    .split_whitespace()
                    .map(|w| Located::new(w.to_string(), span))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// An integer; a quoted decimal is accepted, since JSON producers sometimes quote numbers.
    pub fn int(&mut self, node: &Node, path: &str) -> Option<Located<i128>> {
        match &node.kind {
            Kind::Int(i) => Some(Located::new(*i, node.span)),
            Kind::Str(s)
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() < 30 =>
            {
                s.parse().ok().map(|i| Located::new(i, node.span))
            }
            _ => {
                self.type_error(node, path, "an integer");
                None
            }
        }
    }

    /// A boolean in any spelling netplan and curtin accept: true/false, yes/no, on/off, y/n, 1/0.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<Located<bool>> {
        let value = match &node.kind {
            Kind::Bool(b) => Some(*b),
            Kind::Int(0) => Some(false),
            Kind::Int(1) => Some(true),
            Kind::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "y" | "1" => Some(true),
                "false" | "no" | "off" | "n" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if value.is_none() {
            self.type_error(node, path, "a boolean (true/false, yes/no, on/off)");
        }
        value.map(|v| Located::new(v, node.span))
    }

    /// A boolean as netplan spells it: true/false, yes/no, on/off, y/n; not 1/0, which netplan refuses.
    pub fn netplan_boolean(&mut self, node: &Node, path: &str) -> Option<Located<bool>> {
        if matches!(&node.kind, Kind::Int(_))
            || matches!(&node.kind, Kind::Str(s) if s == "1" || s == "0")
        {
            self.type_error(node, path, "a boolean (true/false, yes/no, on/off)");
            return None;
        }
        self.boolean(node, path)
    }

    /// An integer that may not be negative (netplan's unsigned values: metrics, MTUs, windows).
    pub fn unsigned(&mut self, node: &Node, path: &str) -> Option<Located<i128>> {
        let value = self.int(node, path)?;
        if value.value < 0 {
            self.type_error(node, path, "a non-negative integer");
            return None;
        }
        Some(value)
    }

    pub fn missing(&mut self, fields: &Fields<'_>, key: &str, help: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::MissingKey,
                Some(fields.span),
                format!("`{}` needs a `{key}` key", clip(&fields.path)),
            )
            .with_help(help.to_string()),
        );
    }
}

/// The known key closest to a misspelled one, if it is close enough to be what was meant.
pub(crate) fn suggest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let name = name.to_ascii_lowercase();
    let same_words = |k: &str| k.replace('_', "-") == name.replace('_', "-");
    if let Some(k) = known.iter().find(|k| same_words(k)) {
        return Some(k);
    }
    known
        .iter()
        .map(|k| (distance(&name, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between two short strings (keys).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}
