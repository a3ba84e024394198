//! Secrets in config text: the values of keys that hold credentials, found by looking at the text rather
//! than parsing it (text with a syntax error has secrets too), so that nothing printed shows them.
//!
//! A key holds a secret when its name contains `secret` or `password`, or ends in `token_key` or
//! `consumer_key` (MAAS's OAuth values: `token_key`, `token_secret`, `consumer_key`, and
//! `oauth_token_secret=…` in a debconf line). Its value is what follows `:` or `=`: a quoted string, or a
//! plain word up to the end of the line or a delimiter. Every copy of a value found that way is masked too,
//! wherever it appears (curtin's config repeats the OAuth values in several places).

/// Config text with every secret value replaced by `*`, one per character, so that columns stay right.
#[derive(Debug)]
pub struct Masked {
    pub text: String,
    /// The secret values found, longest first; masked wherever they appear.
    values: Vec<Vec<char>>,
}

/// Values shorter than this are masked where they follow their key, but not elsewhere: masking every
/// `1` in a config would hide more than it protects.
const MIN_REPEATED: usize = 4;

impl Masked {
    pub fn new(source: &str) -> Masked {
        let mut chars: Vec<char> = source.chars().collect();
        let mut values: Vec<Vec<char>> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if !is_word(chars[i]) || (i > 0 && is_word(chars[i - 1])) {
                i += 1;
                continue;
            }
            let end = (i..chars.len())
                .find(|&j| !is_word(chars[j]))
                .unwrap_or(chars.len());
            let word: String = chars[i..end].iter().collect();
            if is_secret_key(&word)
                && let Some(value) = value_after(&chars, end)
            {
                let found: Vec<char> = chars[value.clone()].to_vec();
                if !found.is_empty() && !values.contains(&found) {
                    values.push(found);
                }
                chars[value].fill('*');
            }
            i = end;
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.retain(|v| v.len() >= MIN_REPEATED);
        let masked = Masked {
            text: String::new(),
            values,
        };
        let text = masked.mask_chars(chars);
        Masked { text, ..masked }
    }

    /// `text` with every secret value found in the config masked (for messages that quote the config).
    pub fn mask(&self, text: &str) -> String {
        self.mask_chars(text.chars().collect())
    }

    fn mask_chars(&self, mut chars: Vec<char>) -> String {
        for value in &self.values {
            let mut at = 0;
            while at + value.len() <= chars.len() {
                if chars[at..at + value.len()] == value[..] {
                    chars[at..at + value.len()].fill('*');
                    at += value.len();
                } else {
                    at += 1;
                }
            }
        }
        chars.into_iter().collect()
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_secret_key(word: &str) -> bool {
    let word = word.to_ascii_lowercase().replace('-', "_");
    word.contains("secret")
        || word.contains("password")
        || word.ends_with("token_key")
        || word.ends_with("consumer_key")
}

/// Where the value of a key that ends at `at` lies: after an optional closing quote, `:` or `=`, and
/// blanks; a quoted string without its quotes (a JSON-escaped `\"` counts as a quote), or a plain word.
fn value_after(chars: &[char], mut at: usize) -> Option<std::ops::Range<usize>> {
    let get = |i: usize| chars.get(i).copied();
    if matches!(get(at), Some('"' | '\'')) {
        at += 1;
    } else if get(at) == Some('\\') && get(at + 1) == Some('"') {
        at += 2;
    }
    while matches!(get(at), Some(' ' | '\t')) {
        at += 1;
    }
    let separator = get(at).filter(|c| matches!(c, ':' | '='))?;
    at += 1;
    while matches!(get(at), Some(' ' | '\t')) {
        at += 1;
    }
    let (start, quote) = match (get(at), get(at + 1)) {
        (Some(q @ ('"' | '\'')), _) => (at + 1, Some(vec![q])),
        (Some('\\'), Some('"')) => (at + 2, Some(vec!['\\', '"'])),
        _ => (at, None),
    };
    let mut end = start;
    match quote {
        Some(quote) => {
            while end < chars.len() && chars[end] != '\n' {
                if chars[end..].starts_with(&quote) {
                    break;
                }
                if quote == ['"'] && chars[end] == '\\' {
                    end += 1;
                }
                end += 1;
            }
        }
        None => {
            let stops: &[char] = if separator == '=' {
                &[
                    '\n', '\r', ' ', '\t', ',', '}', ']', '"', '\'', '\\', '&', ';',
                ]
            } else {
                &['\n', '\r', ',', '}', ']', '"', '\'', '\\', '&', ';', '#']
            };
            while end < chars.len() && !stops.contains(&chars[end]) {
                end += 1;
            }
            while end > start && matches!(chars[end - 1], ' ' | '\t') {
                end -= 1;
            }
        }
    }
    let end = end.min(chars.len());
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
