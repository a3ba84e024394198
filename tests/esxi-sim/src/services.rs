//! The services ESXi 6.7 and 7.0 (before Update 1, which brought `esxcli system ntp`) set NTP up with:
//! `chkconfig`, which says whether a service starts with the host, and the ntpd init script, which starts
//! ntpd with the `server` lines of /etc/ntp.conf (the file next to the script's directory).

use std::path::Path;

use crate::host::Host;
use crate::tool::{Invocation, Outcome};

/// The services chkconfig knows, and whether each starts with the host.
fn starts(host: &Host, service: &str) -> Option<bool> {
    (service == "ntpd").then_some(host.ntp.enabled)
}

pub fn classify(tool: &str, argv: &[String]) -> Invocation {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (kind, mutating) = match (tool, words.as_slice()) {
        ("chkconfig", [_, "on" | "off"]) => ("chkconfig set", true),
        ("chkconfig", _) => ("chkconfig list", false),
        ("ntpd", [_, "start" | "stop" | "restart"]) => ("ntpd start/stop", true),
        _ => ("ntpd status", false),
    };
    Invocation {
        kind: kind.into(),
        mutating,
    }
}

fn failed(message: String, status: i32) -> Outcome {
    Outcome {
        stdout: String::new(),
        stderr: format!("{message}\n"),
        status,
    }
}

/// `chkconfig --list [NAME]`, `chkconfig NAME` (status 0 when it starts with the host), `chkconfig NAME
/// on|off`.
pub fn chkconfig(host: &mut Host, argv: &[String]) -> Outcome {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let unknown = |name: &str| {
        failed(
            format!("error reading information on service {name}: No such file or directory"),
            1,
        )
    };
    match words.as_slice() {
        ["--list"] => Outcome::ok(format!(
            "ntpd                    {}\n",
            if host.ntp.enabled { "on" } else { "off" }
        )),
        ["--list", name] => match starts(host, name) {
            Some(on) => Outcome::ok(format!("{name:<24}{}\n", if on { "on" } else { "off" })),
            None => unknown(name),
        },
        [name] => match starts(host, name) {
            Some(true) => Outcome::ok(String::new()),
            Some(false) => failed(String::new(), 1),
            None => unknown(name),
        },
        [name, state @ ("on" | "off")] => match starts(host, name) {
            Some(_) => {
                host.ntp.enabled = *state == "on";
                Outcome::ok(String::new())
            }
            None => unknown(name),
        },
        _ => failed(
            "usage: chkconfig --list [name] | chkconfig name [on|off]".into(),
            1,
        ),
    }
}

/// `/etc/init.d/ntpd start|stop|restart|status`; the first argument is the script's own path.
pub fn ntpd(host: &mut Host, argv: &[String]) -> Outcome {
    let script = Path::new(argv.first().map_or("", String::as_str));
    match argv.get(1).map(String::as_str) {
        Some("start" | "restart") => {
            let conf = script
                .parent()
                .and_then(Path::parent)
                .map(|etc| etc.join("ntp.conf"))
                .unwrap_or_default();
            let Ok(text) = std::fs::read_to_string(&conf) else {
                return failed(format!("ntpd: cannot read {}", conf.display()), 1);
            };
            host.ntp.servers = text
                .lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    (words.next() == Some("server"))
                        .then(|| words.next())
                        .flatten()
                        .map(String::from)
                })
                .collect();
            host.ntp.running = true;
            Outcome::ok("Starting ntpd\n".into())
        }
        Some("stop") => {
            host.ntp.running = false;
            Outcome::ok("Stopping ntpd\n".into())
        }
        Some("status") if host.ntp.running => Outcome::ok("ntpd is running\n".into()),
        Some("status") => Outcome {
            stdout: "ntpd is not running\n".into(),
            stderr: String::new(),
            status: 3,
        },
        _ => failed("Usage: ntpd {start|stop|restart|status}".into(), 1),
    }
}
