//! A fake MAAS metadata service on 127.0.0.1, shared by the tests of the metadata helper and of the first
//! boot. It checks the OAuth 1.0 PLAINTEXT header of every request as MAAS does, serves the public keys,
//! the hostname and user-data, records status events after checking them as MAAS's status API does, and
//! can be told to answer 500s, to run a clock that is off (a GET signed with a timestamp too far from it
//! gets a 401 carrying its `Date`), and to run a check of the caller's at every request.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine's OAuth token.
#[derive(Clone, Debug)]
pub struct Token {
    pub consumer_key: String,
    pub token_key: String,
    pub token_secret: String,
}

impl Token {
    /// The values as the test config holds them.
    pub fn fixture() -> Token {
        Token {
            consumer_key: "Kc8x2RbqZLz3WmH7tA".into(),
            token_key: "9VnUq4sYdE2hJfX6pL".into(),
            token_secret: "Zr5tW8yBn3mQ7cK2vXsLp9HgDa4eJuFo".into(),
        }
    }

    pub fn secrets(&self) -> [&str; 3] {
        [&self.consumer_key, &self.token_key, &self.token_secret]
    }
}

/// The machine's id in the URLs.
pub const SYSTEM_ID: &str = "x7kqfp";

/// A check run at every request; what it returns are problems, recorded.
pub type Check = Box<dyn Fn(&Request) -> Vec<String> + Send>;

/// What the service holds and how it misbehaves.
pub struct Config {
    pub token: Token,
    /// `latest/meta-data/public-keys`, `local-hostname`, `latest/user-data`; `None` answers 404.
    pub public_keys: Option<String>,
    pub hostname: Option<String>,
    pub user_data: Option<Vec<u8>>,
    /// Seconds the service's clock is ahead of the real one.
    pub clock_offset: i64,
    /// The next `count` requests whose path ends with `path` are answered with `status`.
    pub failures: Vec<Failure>,
    pub check: Option<Check>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token: Token::fixture(),
            public_keys: None,
            hostname: None,
            user_data: None,
            clock_offset: 0,
            failures: Vec::new(),
            check: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Failure {
    pub path: &'static str,
    pub status: u16,
    pub count: usize,
}

/// One request as the service saw it, and its answer.
#[derive(Clone, Debug)]
pub struct Request {
    /// The service's port the request came to.
    pub port: u16,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status event a POST carried.
    pub fn event(&self) -> Option<serde_json::Value> {
        (self.method == "POST")
            .then(|| serde_json::from_slice(&self.body).ok())
            .flatten()
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    problems: Vec<String>,
}

/// The running service; it stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut config = config;
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &mut config, &state);
                    }
                }
            })
        };
        Server {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `reporting.maas.endpoint` for this service.
    pub fn endpoint(&self) -> String {
        format!("http://{}/MAAS/metadata/status/{SYSTEM_ID}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("not poisoned").requests.clone()
    }

    /// Everything that was wrong with a request: its OAuth header, an event, a check's findings.
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().expect("not poisoned").problems.clone()
    }

    /// The status events that were accepted, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .filter(|r| r.status == 204)
            .filter_map(Request::event)
            .collect()
    }

    /// The paths of the GETs that were answered 200 or 404, in order.
    pub fn gets(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.method == "GET" && matches!(r.status, 200 | 404))
            .map(|r| r.path.clone())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn serve(stream: TcpStream, config: &mut Config, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        port: stream.local_addr().map_or(0, |a| a.port()),
        method,
        path,
        headers,
        body: Vec::new(),
        status: 0,
    };
    let length: usize = request
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    let _ = reader.read_exact(&mut request.body);

    let clock = now() + config.clock_offset;
    let mut problems = Vec::new();
    let (status, body) = answer(&request, config, clock, &mut problems);
    if let Some(check) = &config.check {
        problems.extend(check(&request));
    }
    request.status = status;
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nDate: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        http_date(clock),
        body.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let mut state = state.lock().expect("not poisoned");
    let label = format!("{} {}", request.method, request.path);
    state
        .problems
        .extend(problems.into_iter().map(|p| format!("{label}: {p}")));
    state.requests.push(request);
}

/// The status and body MAAS would answer.
fn answer(
    request: &Request,
    config: &mut Config,
    clock: i64,
    problems: &mut Vec<String>,
) -> (u16, Vec<u8>) {
    if let Some(failure) = config
        .failures
        .iter_mut()
        .find(|f| f.count > 0 && request.path.ends_with(f.path))
    {
        failure.count -= 1;
        return (failure.status, b"injected failure".to_vec());
    }
    let status_path = format!("/MAAS/metadata/status/{SYSTEM_ID}");
    let timestamp = match check_oauth(request, &config.token) {
        Ok(timestamp) => timestamp,
        Err(problem) => {
            problems.push(problem);
            // A body echoing the token, as some OAuth errors do: the client must not repeat it.
            return (
                401,
                format!("Invalid token {}", config.token.token_key).into_bytes(),
            );
        }
    };
    if request.method == "POST" && request.path == status_path {
        // MAAS queues events without looking at the timestamp: its worker finds the node by token.
        return match check_event(&request.body) {
            Ok(()) => (204, Vec::new()),
            Err(problem) => {
                problems.push(problem.clone());
                (400, problem.into_bytes())
            }
        };
    }
    if (timestamp - clock).abs() > 300 {
        return (401, b"Authorization Error: timestamp out of range".to_vec());
    }
    if request.method != "GET" {
        problems.push(format!("unexpected method {}", request.method));
        return (400, Vec::new());
    }
    let found = match request.path.as_str() {
        "/MAAS/metadata/latest/meta-data/public-keys" => {
            config.public_keys.clone().map(String::into_bytes)
        }
        "/MAAS/metadata/latest/meta-data/local-hostname" => {
            config.hostname.clone().map(String::into_bytes)
        }
        "/MAAS/metadata/latest/user-data" => config.user_data.clone(),
        other => {
            problems.push(format!("unknown path {other}"));
            None
        }
    };
    match found {
        Some(body) => (200, body),
        None => (404, Vec::new()),
    }
}

/// Checks `Authorization: OAuth …` as MAAS reads it; returns the request's timestamp.
fn check_oauth(request: &Request, token: &Token) -> Result<i64, String> {
    let header = request
        .header("Authorization")
        .ok_or("no Authorization header")?;
    let params = header
        .strip_prefix("OAuth ")
        .ok_or_else(|| format!("not an OAuth header: {header}"))?;
    let mut fields = std::collections::BTreeMap::new();
    for param in params.split(',') {
        let (k, v) = param
            .trim()
            .split_once('=')
            .ok_or_else(|| format!("malformed parameter {param}"))?;
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("unquoted parameter {k}"))?;
        fields.insert(k.to_string(), percent_decode(v)?);
    }
    let want = [
        ("oauth_version", "1.0".to_string()),
        ("oauth_signature_method", "PLAINTEXT".to_string()),
        ("oauth_consumer_key", token.consumer_key.clone()),
        ("oauth_token", token.token_key.clone()),
        ("oauth_signature", format!("&{}", token.token_secret)),
    ];
    for (key, value) in want {
        if fields.get(key) != Some(&value) {
            return Err(format!("{key} is {:?}", fields.get(key)));
        }
    }
    if fields.get("oauth_nonce").is_none_or(String::is_empty) {
        return Err("no oauth_nonce".into());
    }
    fields
        .get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| "no oauth_timestamp".to_string())
}

/// What MAAS's status API requires of an event (`api_twisted.py`): ASCII, one JSON object, the four keys.
fn check_event(body: &[u8]) -> Result<(), String> {
    if !body.is_ascii() {
        return Err("the event is not ASCII".into());
    }
    let event: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the event is not JSON: {e}"))?;
    let object = event.as_object().ok_or("the event is not an object")?;
    for key in ["event_type", "origin", "name", "description"] {
        if !object.get(key).is_some_and(serde_json::Value::is_string) {
            return Err(format!("Missing parameter(s): {key}"));
        }
    }
    match object.get("result").and_then(|r| r.as_str()) {
        None | Some("SUCCESS" | "FAIL" | "FAILURE") => Ok(()),
        Some(other) => Err(format!("unknown result {other}")),
    }
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {text}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("not UTF-8: {text}"))
}

/// An HTTP date (RFC 9110 IMF-fixdate) for Unix time `t`.
pub fn http_date(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        months[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
