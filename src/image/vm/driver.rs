//! Drives one QEMU run: start it, type a boot sequence through QMP, watch events, the serial log and the
//! disk, and end it — on the guest's power-off, a reboot, QEMU's exit, or the timeout.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::keymap::{self, Chord, Key};
use super::qemu::{self, Machine, Process};
use super::qmp::{Event, Next, Qmp};

/// One step of a boot sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Wait until the serial console has printed this text (since the previous `WaitSerial`).
    WaitSerial(String),
    /// Wait this long.
    Wait(Duration),
    /// Type printable ASCII text.
    Type(String),
    /// Press a named key.
    Press(Key),
}

/// How keys are typed: how long each is held, and the pause after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyTiming {
    pub hold: Duration,
    pub gap: Duration,
}

impl Default for KeyTiming {
    /// 50 ms held and 60 ms apart, the pacing an ESXi boot prompt was shown to take.
    fn default() -> KeyTiming {
        KeyTiming {
            hold: Duration::from_millis(50),
            gap: Duration::from_millis(60),
        }
    }
}

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    pub qemu: &'a Path,
    pub machine: &'a Machine,
    pub boot: &'a [Step],
    pub keys: KeyTiming,
    /// The whole run, from starting QEMU to its exit.
    pub timeout: Duration,
    /// Where QEMU's stderr goes.
    pub log: &'a Path,
    /// Where to save a PNG of the screen when the run times out.
    pub screendump: Option<&'a Path>,
}

/// The part of a run QEMU is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// QEMU is starting and the driver connects to QMP.
    Starting,
    /// The boot sequence is being waited for and typed.
    Boot,
    /// The guest runs on its own; the driver waits for it to power off.
    Guest,
}

/// What the progress display is told about once a second.
#[derive(Clone, Copy, Debug)]
pub struct Status<'a> {
    pub phase: Phase,
    pub elapsed: Duration,
    /// The last line the guest printed on its serial console, without control characters.
    pub serial: &'a str,
    /// Bytes allocated to the sparse disk image, i.e. roughly what the guest has written.
    pub disk_bytes: u64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The guest powered itself off (QMP `SHUTDOWN`, reason `guest-shutdown`).
    PoweredOff,
    /// The guest rebooted (`SHUTDOWN` with reason `guest-reset` under `-no-reboot`, or a `RESET` event).
    Rebooted,
    /// QEMU stopped the guest for another reason, e.g. `guest-panic` or `host-signal`.
    Shutdown { reason: String },
    /// The timeout passed in this phase; QEMU was stopped.
    TimedOut { phase: Phase },
    /// QEMU exited without a `SHUTDOWN` event.
    Exited { status: String, stderr_tail: String },
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub end: End,
    /// QEMU's process id (it has exited and been reaped when `run` returns).
    pub pid: u32,
    pub elapsed: Duration,
    /// The last serial line, for error messages.
    pub serial: String,
    /// The screen at the timeout, if it was saved.
    pub screendump: Option<PathBuf>,
}

/// Lines of QEMU's stderr shown when it exits on its own.
const STDERR_TAIL_LINES: usize = 15;
/// How often the progress display is refreshed, and the longest the driver blocks on QMP.
const TICK: Duration = Duration::from_secs(1);
/// How often the serial log is checked while a boot step waits for text.
const SERIAL_POLL: Duration = Duration::from_millis(50);
/// Serial text kept for `WaitSerial` matches; boot prompts are short, an installation log is not.
const UNMATCHED_MAX: usize = 64 << 10;
/// How long QEMU may take to exit after the guest stopped or after `quit`.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Runs QEMU until the guest stops or the timeout passes. Errors are failures of the driver itself
/// (QEMU cannot be started, the boot sequence has an untypable character, QMP misbehaves); a guest that
/// does not power off is an [`End`], not an error. QEMU never outlives this call.
pub fn run(run: &Run<'_>, observe: &mut dyn FnMut(&Status<'_>)) -> anyhow::Result<Outcome> {
    let actions = compile(run.boot)?;
    // A socket left by an earlier run would take QEMU's place until it binds; it is ours to remove.
    let _ = std::fs::remove_file(&run.machine.qmp);
    let started = Instant::now();
    let process = qemu::spawn(run.qemu, run.machine, run.log)?;
    let mut session = Session {
        pid: process.id(),
        process,
        qmp: None,
        serial: Serial::new(&run.machine.serial),
        disk: &run.machine.disk,
        log: run.log,
        started,
        deadline: started + run.timeout,
        next_tick: started,
        phase: Phase::Starting,
        observe,
    };
    let end = match session.drive(run, &actions) {
        Ok(end) => end,
        // QEMU can listen on QMP and then exit on a bad option (a missing disk, say), or die mid-run;
        // the QMP error that follows is less useful than QEMU's own message.
        Err(e) => match session.process.exit_within(EXIT_GRACE)? {
            Some(status) => session.exited(&status.to_string()),
            None => return Err(e),
        },
    };
    let screendump = match end {
        End::TimedOut { .. } => session.stop(run.screendump),
        _ => {
            session.process.wait_or_kill(EXIT_GRACE)?;
            None
        }
    };
    session.serial.poll();
    Ok(Outcome {
        end,
        pid: session.pid,
        elapsed: started.elapsed(),
        serial: session.serial.last_line.clone(),
        screendump,
    })
}

/// A boot step with its text already turned into chords.
#[derive(Debug)]
enum Action {
    WaitSerial(String),
    Wait(Duration),
    Chord(Chord),
}

fn compile(steps: &[Step]) -> anyhow::Result<Vec<Action>> {
    let mut actions = Vec::new();
    for step in steps {
        match step {
            Step::WaitSerial(text) => actions.push(Action::WaitSerial(text.clone())),
            Step::Wait(duration) => actions.push(Action::Wait(*duration)),
            Step::Press(key) => actions.push(Action::Chord(key.chord())),
            Step::Type(text) => actions.extend(
                keymap::chords(text)
                    .with_context(|| format!("boot sequence text {text:?}"))?
                    .into_iter()
                    .map(Action::Chord),
            ),
        }
    }
    Ok(actions)
}

struct Session<'a, 'o> {
    process: Process,
    pid: u32,
    qmp: Option<Qmp>,
    serial: Serial,
    disk: &'a Path,
    log: &'a Path,
    started: Instant,
    deadline: Instant,
    next_tick: Instant,
    phase: Phase,
    observe: &'o mut dyn FnMut(&Status<'_>),
}

impl Session<'_, '_> {
    fn drive(&mut self, run: &Run<'_>, actions: &[Action]) -> anyhow::Result<End> {
        if let Some(end) = self.connect(&run.machine.qmp)? {
            return Ok(end);
        }
        self.phase = Phase::Boot;
        for action in actions {
            let end = match action {
                Action::WaitSerial(text) => self.wait_for_serial(text)?,
                Action::Wait(duration) => self.wait_until(Instant::now() + *duration)?,
                Action::Chord(chord) => {
                    self.qmp()?.send_key(chord, run.keys.hold)?;
                    self.wait_until(Instant::now() + run.keys.gap)?
                }
            };
            if let Some(end) = end {
                return Ok(end);
            }
        }
        self.phase = Phase::Guest;
        loop {
            if let Some(end) = self.wait_until(self.deadline)? {
                return Ok(end);
            }
        }
    }

    /// Connects to QMP once QEMU listens, then lets the paused guest run.
    fn connect(&mut self, socket: &Path) -> anyhow::Result<Option<End>> {
        let stream = loop {
            if let Some(status) = self.process.exited()? {
                return Ok(Some(self.exited(&status.to_string())));
            }
            if Instant::now() >= self.deadline {
                return Ok(Some(End::TimedOut { phase: self.phase }));
            }
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let mut qmp = Qmp::handshake(stream).context("connecting to QEMU's QMP socket")?;
        qmp.execute("cont", None)?;
        self.qmp = Some(qmp);
        Ok(None)
    }

    fn qmp(&mut self) -> anyhow::Result<&mut Qmp> {
        self.qmp
            .as_mut()
            .context("internal error, this is a bug: QMP is used before it is connected")
    }

    fn wait_for_serial(&mut self, text: &str) -> anyhow::Result<Option<End>> {
        loop {
            if self.serial.take_match(text) {
                return Ok(None);
            }
            if let Some(end) = self.step(Instant::now() + SERIAL_POLL)? {
                return Ok(Some(end));
            }
        }
    }

    fn wait_until(&mut self, until: Instant) -> anyhow::Result<Option<End>> {
        loop {
            if let Some(end) = self.step(until)? {
                return Ok(Some(end));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
        }
    }

    /// Handles what happened by `until` (at most one tick away): one QMP event, the serial log, the
    /// progress display, the deadline.
    fn step(&mut self, until: Instant) -> anyhow::Result<Option<End>> {
        let now = Instant::now();
        if now >= self.deadline {
            return Ok(Some(End::TimedOut { phase: self.phase }));
        }
        let wait = until
            .min(self.deadline)
            .min(now + TICK)
            .saturating_duration_since(now);
        let next = self.qmp()?.next_event(wait)?;
        let end = match next {
            Next::Event(event) => verdict(&event),
            Next::Idle => None,
            Next::Closed => {
                let status = self.process.wait_or_kill(EXIT_GRACE)?;
                Some(self.exited(&status.to_string()))
            }
        };
        self.serial.poll();
        if Instant::now() >= self.next_tick {
            self.next_tick = Instant::now() + TICK;
            let disk_bytes = std::fs::metadata(self.disk).map_or(0, |m| m.blocks() * 512);
            (self.observe)(&Status {
                phase: self.phase,
                elapsed: self.started.elapsed(),
                serial: &self.serial.last_line,
                disk_bytes,
            });
        }
        Ok(end)
    }

    fn exited(&self, status: &str) -> End {
        End::Exited {
            status: status.to_string(),
            stderr_tail: tail(self.log, STDERR_TAIL_LINES),
        }
    }

    /// Ends QEMU after a timeout: saves the screen, asks QEMU to quit, kills it if it does not.
    fn stop(&mut self, screendump: Option<&Path>) -> Option<PathBuf> {
        let mut saved = None;
        if let Some(qmp) = self.qmp.as_mut() {
            if let Some(path) = screendump {
                let arguments = json!({ "filename": path, "format": "png" });
                if qmp.execute("screendump", Some(arguments)).is_ok() {
                    saved = Some(path.to_path_buf());
                }
            }
            // QEMU may close the socket before it answers `quit`; either way it is leaving.
            let _ = qmp.execute("quit", None);
        }
        // A QEMU that cannot be killed or reaped leaves nothing more to do here.
        let _ = self.process.wait_or_kill(EXIT_GRACE);
        saved
    }
}

/// What a QMP event means for the run.
fn verdict(event: &Event) -> Option<End> {
    match event.name.as_str() {
        "SHUTDOWN" => {
            let reason = event.data["reason"].as_str().unwrap_or("unknown");
            Some(match reason {
                "guest-shutdown" => End::PoweredOff,
                "guest-reset" => End::Rebooted,
                other => End::Shutdown {
                    reason: other.to_string(),
                },
            })
        }
        "RESET" => Some(End::Rebooted),
        _ => None,
    }
}

/// Follows the serial log file as QEMU writes it.
struct Serial {
    path: PathBuf,
    file: Option<File>,
    /// The last complete or partial line, cleaned for display.
    last_line: String,
    /// The line being received.
    current: String,
    /// Text received since the last match of a `WaitSerial`.
    unmatched: String,
    /// Where a terminal escape sequence that may continue in the next read stands.
    escape: Escape,
}

/// A state of reading terminal escape sequences (ECMA-48), which the display drops: `ESC [ … final` (CSI),
/// `ESC ] … BEL` or `ESC ] … ESC \` (OSC), and `ESC` with one more character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// Plain text.
    None,
    /// After `ESC`.
    Start,
    /// Inside `ESC [`, until a final byte `@`..`~`.
    Csi,
    /// Inside `ESC ]`, until `BEL` or `ESC \`.
    Osc,
    /// After `ESC` inside an OSC: `\` ends it.
    OscEnd,
}

impl Escape {
    /// The next state after `c`, and whether `c` is text to show.
    fn next(self, c: char) -> (Escape, bool) {
        match (self, c) {
            (Escape::None, '\x1b') => (Escape::Start, false),
            (Escape::None, _) => (Escape::None, true),
            (Escape::Start, '[') => (Escape::Csi, false),
            (Escape::Start, ']') => (Escape::Osc, false),
            (Escape::Start, _) => (Escape::None, false),
            (Escape::Csi, '@'..='~') => (Escape::None, false),
            (Escape::Csi, _) => (Escape::Csi, false),
            (Escape::Osc, '\x07') => (Escape::None, false),
            (Escape::Osc, '\x1b') => (Escape::OscEnd, false),
            (Escape::Osc, _) => (Escape::Osc, false),
            (Escape::OscEnd, _) => (Escape::None, false),
        }
    }
}

impl Serial {
    fn new(path: &Path) -> Serial {
        Serial {
            path: path.to_path_buf(),
            file: None,
            last_line: String::new(),
            current: String::new(),
            unmatched: String::new(),
            escape: Escape::None,
        }
    }

    /// Reads what QEMU appended since the last call.
    fn poll(&mut self) {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut bytes = Vec::new();
        // The log is only shown and searched: after a read error the bytes read so far are used and the
        // next call reads on from there.
        let _ = file.read_to_end(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        self.unmatched.push_str(&text);
        if self.unmatched.len() > UNMATCHED_MAX {
            let from = (self.unmatched.len() - UNMATCHED_MAX..self.unmatched.len())
                .find(|&i| self.unmatched.is_char_boundary(i))
                .unwrap_or(self.unmatched.len());
            self.unmatched.drain(..from);
        }
        for c in text.chars() {
            let (escape, shown) = self.escape.next(c);
            self.escape = escape;
            if !shown {
                continue;
            }
            match c {
                '\n' | '\r' => {
                    if !self.current.trim().is_empty() {
                        self.last_line = std::mem::take(&mut self.current);
                    }
                    self.current.clear();
                }
                c if c.is_control() => {}
                c => self.current.push(c),
            }
        }
        if !self.current.trim().is_empty() {
            self.last_line = self.current.clone();
        }
    }

    /// True when `text` appeared since the last match; the text up to it is then consumed.
    fn take_match(&mut self, text: &str) -> bool {
        match self.unmatched.find(text) {
            Some(at) => {
                self.unmatched.drain(..at + text.len());
                true
            }
            None => {
                // Keep the tail that could still be the start of `text`.
                let keep = text.chars().count().saturating_sub(1);
                let from = match keep {
                    0 => self.unmatched.len(),
                    n => self
                        .unmatched
                        .char_indices()
                        .rev()
                        .nth(n - 1)
                        .map_or(0, |(i, _)| i),
                };
                self.unmatched.drain(..from);
                false
            }
        }
    }
}

/// The last `lines` lines of a text file, or a note that it could not be read.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("({} could not be read: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_reasons_decide_the_end() {
        let event = |name: &str, reason: &str| Event {
            name: name.to_string(),
            data: json!({ "guest": true, "reason": reason }),
        };
        assert_eq!(
            verdict(&event("SHUTDOWN", "guest-shutdown")),
            Some(End::PoweredOff)
        );
        assert_eq!(
            verdict(&event("SHUTDOWN", "guest-reset")),
            Some(End::Rebooted)
        );
        assert_eq!(
            verdict(&event("SHUTDOWN", "guest-panic")),
            Some(End::Shutdown {
                reason: "guest-panic".to_string()
            })
        );
        assert_eq!(verdict(&event("RESET", "guest-reset")), Some(End::Rebooted));
        assert_eq!(verdict(&event("RESUME", "")), None);
    }

    #[test]
    fn serial_matches_consume_the_text_up_to_them() {
        let mut serial = Serial::new(Path::new("/nonexistent"));
        serial.unmatched.push_str("booting... READY\nmore");
        assert!(serial.take_match("READY"));
        assert_eq!(serial.unmatched, "\nmore");
        assert!(!serial.take_match("READY"));
        assert_eq!(
            serial.unmatched, "more",
            "a partial match may still complete"
        );
    }

    #[test]
    fn the_status_line_never_shows_terminal_escape_sequences() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("serial.log");
        let mut serial = Serial::new(&path);
        let parts: [&[u8]; 3] = [
            b"\x1b[2J\x1b[1;1H\x1b[0;32mweasel\x1b[0m: Installing \x1b[",
            b"1mVIBs\x1b[0m\x1b]0;title\x07 (42%)\x1b",
            b"=\x1b]2;t\x1b\\ done",
        ];
        let mut written = Vec::new();
        for part in parts {
            written.extend_from_slice(part);
            std::fs::write(&path, &written).expect("serial log written");
            serial.poll();
        }
        assert_eq!(serial.last_line, "weasel: Installing VIBs (42%) done");
    }

    #[test]
    fn untypable_boot_text_fails_before_qemu_starts() {
        let error = compile(&[Step::Type("ks=µ".to_string())]).expect_err("µ is not ASCII");
        assert_eq!(
            format!("{error:#}"),
            "boot sequence text \"ks=µ\": cannot type 'µ' (character 4): the keymap has printable \
             ASCII only"
        );
    }
}
