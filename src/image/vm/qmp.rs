//! A QMP client: JSON lines over QEMU's monitor socket, the greeting, commands, and queued events.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::keymap::Chord;

/// How long QEMU may take to answer one command.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// An asynchronous QMP event such as `SHUTDOWN`, with its `data` object.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: String,
    pub data: Value,
}

/// What waiting for an event produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Event(Event),
    /// Nothing arrived in time.
    Idle,
    /// QEMU closed the socket (it is exiting).
    Closed,
}

/// A connected QMP session in command mode.
#[derive(Debug)]
pub struct Qmp {
    stream: UnixStream,
    /// Bytes read but not yet a whole line.
    pending: Vec<u8>,
    /// Events that arrived while a command waited for its reply.
    events: VecDeque<Event>,
}

impl Qmp {
    /// Reads QEMU's greeting and leaves capabilities negotiation, so commands can be sent.
    pub fn handshake(stream: UnixStream) -> anyhow::Result<Qmp> {
        let mut qmp = Qmp {
            stream,
            pending: Vec::new(),
            events: VecDeque::new(),
        };
        match qmp.read_message(Instant::now() + REPLY_TIMEOUT)? {
            Some(Message::Greeting) => {}
            Some(other) => bail!("qemu sent {other:?} instead of the QMP greeting"),
            None => bail!(
                "qemu sent no QMP greeting within {} s",
                REPLY_TIMEOUT.as_secs()
            ),
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// Runs one command and returns its `return` value; events that arrive meanwhile are kept for
    /// [`Qmp::next_event`].
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> anyhow::Result<Value> {
        let mut request = json!({ "execute": command });
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.stream
            .write_all(line.as_bytes())
            .with_context(|| format!("sending `{command}` to qemu"))?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            match self.read_message(deadline)? {
                Some(Message::Return(value)) => return Ok(value),
                Some(Message::Error(desc)) => bail!("qemu refused `{command}`: {desc}"),
                Some(Message::Event(event)) => self.events.push_back(event),
                Some(Message::Greeting) => bail!("qemu sent a second QMP greeting"),
                Some(Message::Closed) => bail!("qemu closed its QMP socket during `{command}`"),
                None => bail!(
                    "qemu did not answer `{command}` within {} s",
                    REPLY_TIMEOUT.as_secs()
                ),
            }
        }
    }

    /// Presses one chord with `send-key` and holds it for `hold` before QEMU releases it.
    pub fn send_key(&mut self, chord: &Chord, hold: Duration) -> anyhow::Result<()> {
        let keys: Vec<Value> = chord
            .keys()
            .into_iter()
            .map(|key| json!({ "type": "qcode", "data": key }))
            .collect();
        let hold_ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX);
        self.execute(
            "send-key",
            Some(json!({ "keys": keys, "hold-time": hold_ms })),
        )?;
        Ok(())
    }

    /// The next event: a queued one at once, else whatever arrives within `timeout`.
    pub fn next_event(&mut self, timeout: Duration) -> anyhow::Result<Next> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Next::Event(event));
        }
        match self.read_message(Instant::now() + timeout)? {
            Some(Message::Event(event)) => Ok(Next::Event(event)),
            Some(Message::Closed) => Ok(Next::Closed),
            Some(other) => bail!("qemu sent {other:?} while no command was pending"),
            None => Ok(Next::Idle),
        }
    }

    /// Reads one whole message, or `None` when `deadline` passes first.
    fn read_message(&mut self, deadline: Instant) -> anyhow::Result<Option<Message>> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Message::parse(&line).map(Some);
            }
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return Ok(None);
            };
            self.stream
                .set_read_timeout(Some(left))
                .context("setting the QMP socket's read timeout")?;
            let mut buffer = [0u8; 4096];
            match self.stream.read(&mut buffer) {
                Ok(0) => return Ok(Some(Message::Closed)),
                Ok(n) => self.pending.extend_from_slice(&buffer[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    return Ok(Some(Message::Closed));
                }
                Err(e) => return Err(e).context("reading from the QMP socket"),
            }
        }
    }
}

/// One line from QEMU, classified.
#[derive(Debug)]
enum Message {
    Greeting,
    Return(Value),
    /// The error's `desc`.
    Error(String),
    Event(Event),
    Closed,
}

impl Message {
    fn parse(line: &[u8]) -> anyhow::Result<Message> {
        let value: Value = serde_json::from_slice(line).with_context(|| {
            format!(
                "qemu sent a QMP line that is not JSON: {}",
                String::from_utf8_lossy(line).trim_end()
            )
        })?;
        if value.get("QMP").is_some() {
            return Ok(Message::Greeting);
        }
        if let Some(ret) = value.get("return") {
            return Ok(Message::Return(ret.clone()));
        }
        if let Some(error) = value.get("error") {
            let desc = error
                .get("desc")
                .and_then(Value::as_str)
                .unwrap_or("no description");
            return Ok(Message::Error(desc.to_string()));
        }
        if let Some(name) = value.get("event").and_then(Value::as_str) {
            return Ok(Message::Event(Event {
                name: name.to_string(),
                data: value.get("data").cloned().unwrap_or(Value::Null),
            }));
        }
        bail!("qemu sent an unknown QMP message: {value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    /// A fake QEMU on the other end of a socket pair: answers each command with the scripted lines.
    fn fake_qemu(script: Vec<(&'static str, Vec<&'static str>)>) -> UnixStream {
        let (ours, theirs) = UnixStream::pair().expect("a socket pair");
        std::thread::spawn(move || {
            let mut writer = theirs.try_clone().expect("a second handle");
            writer
                .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n")
                .expect("greeting sent");
            let mut lines = BufReader::new(theirs).lines();
            for (expected, replies) in script {
                let request = lines.next().expect("a request").expect("readable");
                let request: Value = serde_json::from_str(&request).expect("JSON request");
                let expected: Value = serde_json::from_str(expected).expect("JSON expectation");
                assert_eq!(request, expected);
                for reply in replies {
                    writer.write_all(reply.as_bytes()).expect("reply sent");
                }
            }
        });
        ours
    }

    #[test]
    fn commands_return_values_and_keep_events_for_later() {
        let stream = fake_qemu(vec![
            (
                r#"{"execute":"qmp_capabilities"}"#,
                vec!["{\"return\": {}}\r\n"],
            ),
            (
                r#"{"arguments":{"hold-time":50,"keys":[{"data":"shift","type":"qcode"},{"data":"o","type":"qcode"}]},"execute":"send-key"}"#,
                vec![
                    "{\"timestamp\": {}, \"event\": \"RESUME\"}\r\n{\"ret",
                    "urn\": {}}\r\n",
                ],
            ),
            (
                r#"{"execute":"query-status"}"#,
                vec![
                    "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n",
                ],
            ),
        ]);
        let mut qmp = Qmp::handshake(stream).expect("handshake");
        qmp.send_key(
            &Chord {
                shift: true,
                key: "o",
            },
            Duration::from_millis(50),
        )
        .expect("send-key");
        assert_eq!(
            qmp.next_event(Duration::from_secs(5)).expect("an event"),
            Next::Event(Event {
                name: "RESUME".to_string(),
                data: Value::Null
            })
        );
        let error = qmp.execute("query-status", None).expect_err("no reply");
        assert_eq!(
            error.to_string(),
            "qemu closed its QMP socket during `query-status`"
        );
        assert_eq!(
            qmp.next_event(Duration::from_secs(5)).expect("an event"),
            Next::Event(Event {
                name: "SHUTDOWN".to_string(),
                data: json!({"guest": true, "reason": "guest-shutdown"})
            })
        );
        assert_eq!(
            qmp.next_event(Duration::from_secs(5)).expect("closed"),
            Next::Closed
        );
    }

    #[test]
    fn errors_carry_qemus_description() {
        let stream = fake_qemu(vec![
            (
                r#"{"execute":"qmp_capabilities"}"#,
                vec!["{\"return\": {}}\n"],
            ),
            (
                r#"{"arguments":{"keys":[]},"execute":"send-key"}"#,
                vec![
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'keys' is empty\"}}\n",
                ],
            ),
        ]);
        let mut qmp = Qmp::handshake(stream).expect("handshake");
        let error = qmp
            .execute("send-key", Some(json!({ "keys": [] })))
            .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "qemu refused `send-key`: Parameter 'keys' is empty"
        );
    }

    #[test]
    fn a_quiet_socket_is_idle_until_qemu_closes_it() {
        let (ours, mut theirs) = UnixStream::pair().expect("a socket pair");
        let (close, closed) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            theirs
                .write_all(b"{\"QMP\": {}}\n{\"return\": {}}\n")
                .expect("greeting and reply sent");
            closed.recv().expect("told to close");
        });
        let mut qmp = Qmp::handshake(ours).expect("handshake");
        assert_eq!(
            qmp.next_event(Duration::from_millis(20)).expect("idle"),
            Next::Idle
        );
        close.send(()).expect("the fake is waiting");
        assert_eq!(
            qmp.next_event(Duration::from_secs(5)).expect("closed"),
            Next::Closed
        );
    }
}
