//! What the image commands tell people on stderr, at the verbosity they chose: notes, details (`-v`),
//! warnings (always), and progress. On a terminal progress is a live line (indicatif) with bytes, rate
//! and, when the total is known, a bar and the time left; in a file or a pipe it is plain lines (for the
//! installation a line when something changed, else one a minute; for compression one per tenth).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::units;

/// How much the image commands say: `-q` keeps warnings and errors only, `-v` adds the QEMU command line
/// and each step of finalize.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// The live installation status: elapsed time, phase, bytes written and the rate, the last serial line.
const STATUS_TEMPLATE: &str =
    "[{elapsed_precise}] {prefix}, {binary_bytes} written ({binary_bytes_per_sec}) {wide_msg}";
/// The live progress through known work: a bar, bytes, rate and the time left.
const BYTES_TEMPLATE: &str = "{prefix} [{bar:30}] {binary_bytes} of {binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)";

/// How often plain output repeats an unchanged installation status.
const PLAIN_HEARTBEAT: Duration = Duration::from_secs(60);

/// Writes the messages and progress of one command to stderr.
#[derive(Debug)]
pub struct Progress {
    verbosity: Verbosity,
    terminal: bool,
    /// The live installation status on a terminal.
    live: Option<ProgressBar>,
    /// The last plain status (without the clock), and when it was printed.
    last_plain: Option<(String, Instant)>,
}

/// What one installation status shows.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub phase: &'a str,
    pub elapsed: Duration,
    pub disk_bytes: u64,
    pub serial: &'a str,
}

impl Progress {
    /// Progress on this process's stderr: live on a terminal, plain lines otherwise.
    pub fn stderr(verbosity: Verbosity) -> Progress {
        Progress {
            verbosity,
            terminal: std::io::stderr().is_terminal(),
            live: None,
            last_plain: None,
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// A message on its own line, unless `-q`.
    pub fn note(&mut self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.println(text);
        }
    }

    /// A message for `-v` only.
    pub fn detail(&mut self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.println(text);
        }
    }

    /// `warning: …`, at every verbosity.
    pub fn warn(&mut self, text: &str) {
        self.println(&format!("warning: {text}"));
    }

    /// Shows the installation's status; called about once a second.
    pub fn status(&mut self, line: &Line<'_>) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        if self.terminal {
            let bar = self.live.get_or_insert_with(|| {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(style(STATUS_TEMPLATE));
                bar
            });
            bar.set_prefix(line.phase.to_string());
            bar.set_message(match line.serial.trim() {
                "" => String::new(),
                serial => format!("| {serial}"),
            });
            bar.set_position(line.disk_bytes);
            return;
        }
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

    /// Removes the live status line, if one is shown.
    pub fn clear(&mut self) {
        if let Some(bar) = self.live.take() {
            bar.finish_and_clear();
        }
    }

    /// Progress through `total` bytes of work named `label`, e.g. `compressing disk.raw`.
    pub fn bytes(&mut self, label: &str, total: u64) -> Bytes {
        self.clear();
        let bar = (self.terminal && self.verbosity >= Verbosity::Normal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style(BYTES_TEMPLATE));
            bar.set_prefix(label.to_string());
            bar
        });
        Bytes {
            label: label.to_string(),
            total,
            plain: !self.terminal && self.verbosity >= Verbosity::Normal,
            bar,
            shown: None,
        }
    }

    fn println(&mut self, text: &str) {
        match &self.live {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }
}

/// Progress through a known number of bytes; see [`Progress::bytes`].
#[derive(Debug)]
pub struct Bytes {
    label: String,
    total: u64,
    plain: bool,
    bar: Option<ProgressBar>,
    /// The last tenth printed as a plain line.
    shown: Option<u64>,
}

impl Bytes {
    /// `done` of the total bytes are done.
    pub fn update(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
        if self.plain && self.total > 0 {
            let percent = done.min(self.total).saturating_mul(100) / self.total;
            if self.shown != Some(percent / 10) {
                self.shown = Some(percent / 10);
                eprintln!("{}", plain_bytes_line(&self.label, percent, self.total));
            }
        }
    }

    /// The work is done: the bar is removed.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `compressing disk.raw: 40% of 32 GiB`: a percentage rounded down, so 100% means done.
pub fn plain_bytes_line(label: &str, percent: u64, total: u64) -> String {
    format!("{label}: {percent}% of {}", units::human_bytes(total))
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

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
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
    fn the_templates_parse() {
        for template in [STATUS_TEMPLATE, BYTES_TEMPLATE] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    #[test]
    fn plain_byte_lines_never_claim_more_than_is_done() {
        assert_eq!(
            plain_bytes_line("compressing d", 90, 200 << 20),
            "compressing d: 90% of 200 MiB"
        );
    }
}
