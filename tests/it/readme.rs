//! The README's commands as a new user copies them: every `maas-esxi` command line in its `sh` and `console`
//! blocks is run as written (up to a pipe or a redirection) and must not be a usage error, and the
//! translation of the bundled example must succeed.
//!
//! They run in a scratch directory that sees the repository's `fixtures/`, with no QEMU on `PATH`, so
//! `image build` stops at its preflight.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::root;

/// One command line of the README: the `maas-esxi` arguments, as the shell would split them.
#[derive(Debug)]
struct Example {
    line: String,
    args: Vec<String>,
}

/// The `maas-esxi` command lines of the `sh` and `console` blocks, continuation lines joined.
fn examples(readme: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if let Some(info) = line.strip_prefix("```") {
            in_block = !in_block && (info == "sh" || info == "console");
            continue;
        }
        if !in_block {
            continue;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        pending.push_str(line.trim_end_matches('\\'));
        if line.ends_with('\\') {
            pending.push(' ');
            continue;
        }
        let command = std::mem::take(&mut pending);
        let words = split(&command);
        let words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .collect();
        let args = match words.as_slice() {
            [program, rest @ ..] if Path::new(program).ends_with("maas-esxi") => rest.to_vec(),
            ["cargo", "run", rest @ ..] => match rest.iter().position(|w| *w == "--") {
                Some(at) => rest[at + 1..].to_vec(),
                None => continue,
            },
            _ => continue,
        };
        examples.push(Example {
            line: command.trim().to_string(),
            args: args.into_iter().map(str::to_string).collect(),
        });
    }
    examples
}

/// Splits a command line as sh does for plain words and quotes, up to the first unquoted `|`, `>`, `<`
/// or `#` (a pipe, a redirection, a comment).
fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&c| c != '"'));
            }
            '|' | '>' | '<' | '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn the_splitter_reads_quotes_and_stops_at_pipes() {
    assert_eq!(
        split("maas-esxi x 'a b' \"c\"d | jq . > f"),
        ["maas-esxi", "x", "a b", "cd"]
    );
    assert_eq!(
        split("maas-esxi translate f.json > out.sh  # c"),
        ["maas-esxi", "translate", "f.json"]
    );
}

#[test]
fn every_command_in_the_readme_is_accepted_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let examples = examples(&readme);
    assert!(
        examples.len() >= 8,
        "the README's examples were not found: {examples:?}"
    );
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let cwd = scratch.path().join("a/b");
    std::fs::create_dir_all(&cwd).expect("the working directory");
    for dir in [scratch.path(), cwd.as_path()] {
        std::os::unix::fs::symlink(root().join("fixtures"), dir.join("fixtures"))
            .expect("fixtures linked");
    }
    std::fs::create_dir(scratch.path().join("bin")).expect("an empty PATH directory");
    let mut failures = Vec::new();
    for example in &examples {
        let out = Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
            .args(&example.args)
            .current_dir(&cwd)
            .env("PATH", scratch.path().join("bin"))
            .stdin(Stdio::null())
            .output()
            .expect("maas-esxi runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let status = out.status.code();
        let bundled = example.args.iter().any(|a| a.starts_with("fixtures/"));
        if status == Some(2) || stderr.contains("Usage:") || (bundled && status != Some(0)) {
            failures.push(format!("{}\n  exit {status:?}\n{stderr}", example.line));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
