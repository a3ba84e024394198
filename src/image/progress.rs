//! The build's progress on stderr: one status line rewritten in place on a terminal, plain lines when
//! stderr is a file or a pipe (a line when something changed, else one a minute).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::units;

/// How often plain output repeats an unchanged status.
const PLAIN_HEARTBEAT: Duration = Duration::from_secs(60);

/// Writes progress to stderr.
#[derive(Debug)]
pub struct Progress {
    terminal: Option<usize>,
    /// A status line is on the terminal and must be cleared before other output.
    line_shown: bool,
    /// The last plain status (without the clock), and when it was printed.
    last_plain: Option<(String, Instant)>,
}

/// What one status line shows.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub phase: &'a str,
    pub elapsed: Duration,
    pub disk_bytes: u64,
    pub serial: &'a str,
}

impl Progress {
    /// Progress on this process's stderr: a live line on a terminal, plain lines otherwise.
    pub fn stderr() -> Progress {
        let stderr = std::io::stderr();
        let terminal = stderr.is_terminal().then(|| {
            rustix::termios::tcgetwinsize(&stderr)
                .map_or(80, |size| usize::from(size.ws_col))
                .max(20)
        });
        Progress {
            terminal,
            line_shown: false,
            last_plain: None,
        }
    }

    /// A message on its own line.
    pub fn note(&mut self, text: &str) {
        self.clear();
        eprintln!("{text}");
    }

    /// Shows the status; called about once a second.
    pub fn status(&mut self, line: &Line<'_>) {
        match self.terminal {
            Some(width) => {
                let text = truncate(&status_line(line), width - 1);
                eprint!("\r\x1b[2K{text}");
                self.line_shown = true;
            }
            None => {
                let now = Instant::now();
                let key = format!("{}|{}", line.phase, line.serial);
                let due = match &self.last_plain {
                    Some((last, at)) => *last != key || now.duration_since(*at) >= PLAIN_HEARTBEAT,
                    None => true,
                };
                if due {
                    eprintln!("{}", status_line(line));
                    self.last_plain = Some((key, now));
                }
            }
        }
    }

    /// Removes the live status line, if one is shown.
    pub fn clear(&mut self) {
        if self.line_shown {
            eprint!("\r\x1b[2K");
            self.line_shown = false;
        }
    }
}

/// `[0:12:34] installing ESXi, 2.1 GiB written | <last serial line>`
pub fn status_line(line: &Line<'_>) -> String {
    let mut text = format!(
        "[{}] {}, {} written",
        units::clock(line.elapsed),
        line.phase,
        units::human_bytes(line.disk_bytes)
    );
    let serial = line.serial.trim();
    if !serial.is_empty() {
        text.push_str(" | ");
        text.push_str(serial);
    }
    text
}

/// The first `width` characters of `text`, with `…` marking a cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_shows_clock_phase_disk_and_serial() {
        let line = Line {
            phase: "installing ESXi",
            elapsed: Duration::from_secs(754),
            disk_bytes: (21 << 30) / 10,
            serial: "  2024-01-01T00:00:00Z In(182) weasel: Installing VIBs  ",
        };
        assert_eq!(
            status_line(&line),
            "[0:12:34] installing ESXi, 2.1 GiB written | 2024-01-01T00:00:00Z In(182) weasel: \
             Installing VIBs"
        );
        let quiet = Line { serial: "", ..line };
        assert_eq!(
            status_line(&quiet),
            "[0:12:34] installing ESXi, 2.1 GiB written"
        );
    }

    #[test]
    fn long_lines_are_cut_to_the_terminal() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
    }
}
