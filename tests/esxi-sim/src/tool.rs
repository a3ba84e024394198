//! One command against the host: esxcli's global options and command lookup, call accounting, fault
//! injection, and the rule that a failed command changes nothing.

use crate::args::{self, Args, Opt};
use crate::host::{Call, Host, Sim};
use crate::out::{self, Formatter, Output};
use crate::{network, storage, system};

/// An esxcli command: its namespace path and verb, its options, whether it changes the host, and what it does.
#[derive(Clone, Copy)]
pub struct Command {
    pub path: &'static str,
    pub opts: &'static [Opt],
    pub mutating: bool,
    pub run: fn(&mut Host, &Args) -> Result<Output, String>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("path", &self.path)
            .field("mutating", &self.mutating)
            .finish()
    }
}

/// What a command printed and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl Outcome {
    pub fn ok(stdout: String) -> Outcome {
        Outcome {
            stdout,
            stderr: String::new(),
            status: 0,
        }
    }

    /// A failure as ESXi's tools print it: `Error: …` and status 1.
    pub fn error(message: &str) -> Outcome {
        Outcome {
            stdout: String::new(),
            stderr: format!("Error: {message}\n"),
            status: 1,
        }
    }
}

/// How a storage tool classifies one of its command lines, before running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// e.g. `partedUtil add`, `vmkfstools -C`.
    pub kind: String,
    pub mutating: bool,
}

/// Every esxcli command the simulator knows.
pub fn esxcli_commands() -> Vec<Command> {
    let mut all = network::commands();
    all.extend(system::commands());
    all.extend(storage::esxcli_commands());
    all
}

/// Runs one tool invocation against the simulation: records the call, fires a due fault, and keeps the
/// host unchanged unless the command succeeded.
pub fn run(
    sim: &mut Sim,
    tool: &str,
    argv: &[String],
    stdin: &mut dyn std::io::BufRead,
) -> Outcome {
    let (invocation, line) = classify(tool, argv);
    let number = sim.calls.len() + 1;
    let fault = sim.faults.iter_mut().find(|f| {
        (!f.fired || f.repeat)
            && (f.nth == Some(number)
                || f.matching
                    .as_ref()
                    .is_some_and(|m| line.contains(m.as_str())))
    });
    let outcome = if let Some(fault) = fault {
        fault.fired = true;
        Outcome::error(&fault.message)
    } else {
        let mut next = sim.host.clone();
        let outcome = match tool {
            "esxcli" | "localcli" => esxcli(&mut next, argv),
            "partedUtil" => storage::parted_util(&mut next, argv, stdin),
            "vmkfstools" => storage::vmkfstools(&mut next, argv, stdin),
            "vim-cmd" => storage::vim_cmd(&mut next, argv),
            other => Outcome::error(&format!("{other}: not found")),
        };
        if outcome.status == 0 {
            sim.host = next;
        }
        outcome
    };
    sim.calls.push(Call {
        tool: tool.to_string(),
        args: argv.to_vec(),
        kind: invocation.kind,
        mutating: invocation.mutating,
        ok: outcome.status == 0,
    });
    outcome
}

/// The kind of a call and the command line faults are matched against (esxcli's formatter options left out).
fn classify(tool: &str, argv: &[String]) -> (Invocation, String) {
    match tool {
        "esxcli" | "localcli" => {
            let rest = match split_globals(argv) {
                Ok((_, rest)) => rest,
                Err(_) => argv,
            };
            let line = std::iter::once(tool)
                .chain(rest.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            let invocation = match lookup(rest) {
                Some((command, _)) => Invocation {
                    kind: format!("esxcli {}", command.path),
                    mutating: command.mutating,
                },
                None => Invocation {
                    kind: format!("esxcli {}", namespace_words(rest).join(" ")),
                    mutating: false,
                },
            };
            (invocation, line)
        }
        _ => {
            let line = std::iter::once(tool)
                .chain(argv.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            (storage::classify(tool, argv), line)
        }
    }
}

struct Globals {
    formatter: Formatter,
}

/// esxcli's own options, which come before the namespace: `--formatter`, `--format-param`, `--debug`.
fn split_globals(argv: &[String]) -> Result<(Globals, &[String]), String> {
    let mut globals = Globals {
        formatter: Formatter::Human,
    };
    let mut i = 0;
    while let Some(token) = argv.get(i) {
        let Some(option) = token.strip_prefix("--") else {
            break;
        };
        let (name, inline) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (option, None),
        };
        i += 1;
        match name {
            "debug" => continue,
            "formatter" | "format-param" => {}
            _ => return Err(format!("Invalid option --{name}")),
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = argv
                    .get(i)
                    .cloned()
                    .ok_or_else(|| format!("Missing value for option --{name}"))?;
                i += 1;
                v
            }
        };
        if name == "formatter" {
            globals.formatter = Formatter::parse(&value)?;
        }
    }
    Ok((globals, &argv[i..]))
}

fn namespace_words(argv: &[String]) -> Vec<&str> {
    argv.iter()
        .map(String::as_str)
        .take_while(|w| !w.starts_with('-'))
        .collect()
}

/// The command named by the leading words of `argv`, and the options after them.
fn lookup(argv: &[String]) -> Option<(Command, &[String])> {
    let words = namespace_words(argv);
    let line = words.join(" ");
    esxcli_commands()
        .into_iter()
        .find(|c| c.path == line)
        .map(|c| (c, &argv[words.len()..]))
}

fn esxcli(host: &mut Host, argv: &[String]) -> Outcome {
    let (globals, rest) = match split_globals(argv) {
        Ok(split) => split,
        Err(message) => return Outcome::error(&message),
    };
    let Some((command, options)) = lookup(rest) else {
        let words = namespace_words(rest).join(" ");
        let known = esxcli_commands()
            .iter()
            .any(|c| c.path.starts_with(&format!("{words} ")));
        return if known {
            Outcome::error(&format!(
                "Incomplete command: esxcli {words} needs a command or namespace"
            ))
        } else {
            Outcome::error(&format!("Unknown command or namespace {words}"))
        };
    };
    let parsed = match args::parse(command.opts, options) {
        Ok(parsed) => parsed,
        Err(message) => return Outcome::error(&message),
    };
    match (command.run)(host, &parsed) {
        Ok(output) => Outcome::ok(out::render(&output, globals.formatter)),
        Err(message) => Outcome::error(&message),
    }
}
