//! Secrets in config text: the values of keys that hold credentials, found by looking at the text rather
//! than parsing it (text with a syntax error has secrets too), so that nothing printed shows them.
//!
//! A key holds a secret when its name contains `secret` or `password`, or ends in `token_key` or
//! `consumer_key` (MAAS's OAuth values: `token_key`, `token_secret`, `consumer_key`, and
//! `oauth_token_secret=…` in a debconf line). Its value is what follows `:` or `=`: a quoted string, or a
//! plain word up to the end of the line or a delimiter. Every copy of a value found that way is masked too,
//! wherever it appears (curtin's config repeats the OAuth values in several places).

use std::borrow::Cow;
use std::ops::Range;

/// Config text with every secret value replaced by `*`, one per character, so that columns stay right.
/// Text without secrets is not copied.
#[derive(Debug)]
pub struct Masked<'a> {
    pub text: Cow<'a, str>,
    /// The secret values found, longest first; masked wherever they appear.
    values: Vec<String>,
}

/// Values shorter than this are masked where they follow their key, but not elsewhere: masking every
/// `1` in a config would hide more than it protects.
const MIN_REPEATED: usize = 4;

impl<'a> Masked<'a> {
    pub fn new(source: &'a str) -> Masked<'a> {
        let bytes = source.as_bytes();
        let mut ranges: Vec<Range<usize>> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !is_word(bytes[i]) || (i > 0 && is_word(bytes[i - 1])) {
                i += 1;
                continue;
            }
            let end = (i..bytes.len())
                .find(|&j| !is_word(bytes[j]))
                .unwrap_or(bytes.len());
            if is_secret_key(&source[i..end])
                && let Some(value) = value_after(bytes, end)
            {
                let found = &source[value.clone()];
                if !values.iter().any(|v| v == found) {
                    values.push(found.to_string());
                }
                ranges.push(value);
            }
            i = end;
        }
        values.retain(|v| v.chars().count() >= MIN_REPEATED);
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let masked = Masked {
            text: Cow::Borrowed(source),
            values,
        };
        ranges.extend(masked.copies(source));
        if ranges.is_empty() {
            return masked;
        }
        Masked {
            text: Cow::Owned(star(source, ranges)),
            ..masked
        }
    }

    /// `text` with every secret value found in the config masked (for messages that quote the config).
    pub fn mask(&self, text: &str) -> String {
        star(text, self.copies(text).collect())
    }

    /// Where the secret values appear in `text`.
    fn copies<'t>(&'t self, text: &'t str) -> impl Iterator<Item = Range<usize>> + 't {
        self.values.iter().flat_map(move |v| {
            text.match_indices(v.as_str())
                .map(|(at, m)| at..at + m.len())
        })
    }
}

/// `text` with the characters in `ranges` (byte ranges on character boundaries) replaced by `*`.
fn star(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in ranges {
        let start = range.start.max(at);
        if start >= range.end {
            continue;
        }
        out.push_str(&text[at..start]);
        out.extend(text[start..range.end].chars().map(|_| '*'));
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_secret_key(word: &str) -> bool {
    let word = word.to_ascii_lowercase().replace('-', "_");
    word.contains("secret")
        || word.contains("password")
        || word.ends_with("token_key")
        || word.ends_with("consumer_key")
}

/// Where the value of a key that ends at byte `at` lies: after an optional closing quote, `:` or `=`, and
/// blanks; a quoted string without its quotes (a JSON-escaped `\"` counts as a quote), or a plain word.
/// The ends are at ASCII delimiters, so on character boundaries.
fn value_after(bytes: &[u8], mut at: usize) -> Option<Range<usize>> {
    let get = |i: usize| bytes.get(i).copied();
    if matches!(get(at), Some(b'"' | b'\'')) {
        at += 1;
    } else if get(at) == Some(b'\\') && get(at + 1) == Some(b'"') {
        at += 2;
    }
    while matches!(get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    let separator = get(at).filter(|c| matches!(c, b':' | b'='))?;
    at += 1;
    while matches!(get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    let (start, quote): (usize, Option<&[u8]>) = match (get(at), get(at + 1)) {
        (Some(b'"'), _) => (at + 1, Some(b"\"")),
        (Some(b'\''), _) => (at + 1, Some(b"'")),
        (Some(b'\\'), Some(b'"')) => (at + 2, Some(b"\\\"")),
        _ => (at, None),
    };
    let mut end = start;
    match quote {
        Some(quote) => {
            while end < bytes.len() && bytes[end] != b'\n' && !bytes[end..].starts_with(quote) {
                if quote == b"\"" && bytes[end] == b'\\' {
                    end += 1;
                }
                end += 1;
            }
            end = end.min(bytes.len());
        }
        None => {
            let stops: &[u8] = if separator == b'=' {
                b"\n\r \t,}]\"'\\&;"
            } else {
                b"\n\r,}]\"'\\&;#"
            };
            while end < bytes.len() && !stops.contains(&bytes[end]) {
                end += 1;
            }
            while end > start && matches!(bytes[end - 1], b' ' | b'\t') {
                end -= 1;
            }
        }
    }
    (end > start).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_yaml_and_query_strings() {
        let json = r#"{"reporting":{"maas":{"consumer_key":"Kc8x2Rbq","endpoint":"http://10.0.0.2:5248/","token_key":"9VnUq4sY","token_secret":"Zr5t\"W8y","type":"webhook"}}}"#;
        let masked = Masked::new(json);
        assert_eq!(
            masked.text,
            r#"{"reporting":{"maas":{"consumer_key":"********","endpoint":"http://10.0.0.2:5248/","token_key":"********","token_secret":"*********","type":"webhook"}}}"#
        );
        assert_eq!(masked.text.chars().count(), json.chars().count());

        let yaml = "reporting:\n  maas:\n    token_secret: Zr5tW8yBn3mQ  \n    root-password: 'a b c'\n    x: 1\n";
        assert_eq!(
            Masked::new(yaml).text,
            "reporting:\n  maas:\n    token_secret: ************  \n    root-password: '*****'\n    x: 1\n"
        );

        let debconf =
            "string oauth_consumer_key=Kc8x&oauth_token_key=9VnU&oauth_token_secret=Zr5t end";
        assert_eq!(
            Masked::new(debconf).text,
            "string oauth_consumer_key=****&oauth_token_key=****&oauth_token_secret=**** end"
        );
    }

    #[test]
    fn secrets_inside_json_strings_and_their_copies_elsewhere() {
        // A cloud-config inside a JSON string, and the same token in a URL no key names.
        let json = r##"{"content":"#cloud-config\n    token_secret: Zr5tW8yBn3\n","url":"http://x/?t=Zr5tW8yBn3","quoted":"password: \"p4ss w0rd\" ok"}"##;
        let masked = Masked::new(json);
        assert_eq!(
            masked.text,
            r##"{"content":"#cloud-config\n    token_secret: **********\n","url":"http://x/?t=**********","quoted":"password: \"*********\" ok"}"##
        );
        assert_eq!(
            masked.mask("invalid value `Zr5tW8yBn3` here"),
            "invalid value `**********` here"
        );
    }

    #[test]
    fn text_that_does_not_parse_and_keys_that_are_not_secret() {
        let broken = "token_secret: [unclosed Zr5t\nsecretive: {x\npassword:\nname: token_key\n";
        assert_eq!(
            Masked::new(broken).text,
            "token_secret: **************\nsecretive: **\npassword:\nname: token_key\n"
        );
        let plain = "network: {version: 1, config: []}\nmtu: 9000\n";
        assert_eq!(Masked::new(plain).text, plain);
    }
}
