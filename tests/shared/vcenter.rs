//! A fake vCenter on a loopback address over HTTPS, shared by the tests of the vCenter helper and of the
//! first boot (with `http.rs`). It serves the vSphere Automation REST API's session, datacenter, folder
//! and host services in both generations — `/api` (vCenter 7.0 Update 2 and later, which still answers
//! `/rest` too) and `/rest` (6.5 to 7.0) — and checks every request as vCenter does (basic
//! authentication, the session header, the filter parameters of each generation) and each host to add as
//! the API defines it (the keys, the folder, the host certificate's thumbprint). It adds a host only by a
//! name it can reach, and runs a check of the test's at every request. Its certificate is made by openssl:
//! self-signed, or signed by a CA the test can put in the host's CA store.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::http::{Listener, Request, respond};

/// The loopback address the fake vCenter listens on: not MAAS's 127.0.0.1, so that the host's firewall
/// can let one out and not the other.
pub const ADDRESS: &str = "127.0.0.2";

/// A certificate and its key, made with openssl in a directory that lives as long as this.
pub struct Tls {
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA that signed `cert`, when it is not self-signed.
    pub ca: Option<PathBuf>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

impl Tls {
    /// A self-signed certificate for `name` (an address or a DNS name), as a fresh vCenter or ESXi host has.
    pub fn self_signed(name: &str) -> Tls {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (subject, san) = (format!("/CN={name}"), san(name));
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
        args.extend(EC);
        args.extend([
            "-keyout", "key.pem", "-out", "cert.pem", "-subj", &subject, "-addext", &san,
        ]);
        openssl(dir.path(), &args);
        Tls {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            ca: None,
            _dir: dir,
        }
    }

    /// A certificate for `name` signed by a CA of its own, as vCenter's VMCA signs its certificate.
    pub fn signed(name: &str) -> Tls {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
        ca.extend(EC);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Test VMCA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir.path(), &ca);
        let subject = format!("/CN={name}");
        let mut request = vec!["req", "-new", "-nodes"];
        request.extend(EC);
        request.extend(["-keyout", "key.pem", "-out", "cert.csr", "-subj", &subject]);
        openssl(dir.path(), &request);
        std::fs::write(
            dir.path().join("ext.cnf"),
            format!(
                "{}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
                san(name)
            ),
        )
        .expect("write");
        openssl(
            dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                "cert.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "cert.pem",
            ],
        );
        Tls {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            ca: Some(dir.path().join("ca.pem")),
            _dir: dir,
        }
    }

    /// The certificate's SHA-1 thumbprint as openssl prints it (`AA:BB:…`), the oracle for the helper's.
    pub fn thumbprint(&self) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&self.cert)
            .output()
            .expect("openssl runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .rsplit_once('=')
            .map(|(_, t)| t.to_uppercase())
            .expect("openssl prints a fingerprint")
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .expect("certificate file")
            .collect::<Result<_, _>>()
            .expect("PEM certificates");
        let key = PrivateKeyDer::from_pem_file(&self.key).expect("PEM key");
        Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("a usable certificate and key"),
        )
    }
}

fn san(name: &str) -> String {
    if name.parse::<std::net::IpAddr>().is_ok() {
        format!("subjectAltName=IP:{name}")
    } else {
        format!("subjectAltName=DNS:{name}")
    }
}

/// Which API the vCenter has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// 7.0 Update 2 and later: `/api`, and `/rest` still.
    Api,
    /// 6.5 to 7.0 Update 1: `/rest` only.
    Rest,
}

/// A host in vCenter's inventory.
#[derive(Clone, Debug)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub connection_state: String,
}

/// A check run at every request; what it returns are problems, recorded.
pub type Check = Box<dyn Fn(&Request) -> Vec<String> + Send>;

pub struct Config {
    pub generation: Generation,
    pub user: String,
    pub password: String,
    /// Datacenters by name; each gets the id `datacenter-<n>` and a host folder `group-h<n>` named
    /// `host` with a folder `Lab` inside it.
    pub datacenters: Vec<String>,
    /// The names and addresses vCenter can reach the host by.
    pub reachable: Vec<String>,
    /// The thumbprint of the host's certificate, which an add must name.
    pub thumbprint: String,
    pub hosts: Vec<Host>,
    pub check: Option<Check>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            generation: Generation::Api,
            user: "administrator@vsphere.local".into(),
            password: "V\"c3nter: p@ss #1 'x'".into(),
            datacenters: vec!["DC-East".into(), "DC-West".into()],
            reachable: vec![],
            thumbprint: String::new(),
            hosts: vec![],
            check: None,
        }
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    problems: Vec<String>,
    sessions: Vec<String>,
    added: Vec<Value>,
}

/// The running vCenter; it stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _listener: Listener,
}

impl Server {
    pub fn start(config: Config, tls: &Tls) -> Server {
        let state = Arc::new(Mutex::new(State::default()));
        let tls = tls.server_config();
        let listener = {
            let state = state.clone();
            let mut config = config;
            Listener::start(ADDRESS, move |stream| {
                serve(stream, tls.clone(), &mut config, &state)
            })
        };
        Server {
            addr: listener.addr,
            state,
            _listener: listener,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("not poisoned").requests.clone()
    }

    /// `METHOD path` of every request, in order, the query left out.
    pub fn calls(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.query().0))
            .collect()
    }

    pub fn problems(&self) -> Vec<String> {
        self.state.lock().expect("not poisoned").problems.clone()
    }

    /// The hosts added, as the specs the adds carried.
    pub fn added(&self) -> Vec<Value> {
        self.state.lock().expect("not poisoned").added.clone()
    }

    /// Whether every session that was opened was closed again.
    pub fn sessions_closed(&self) -> bool {
        self.state.lock().expect("not poisoned").sessions.is_empty()
    }
}

fn serve(
    stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    config: &mut Config,
    state: &Mutex<State>,
) {
    let port = stream.local_addr().map_or(0, |a| a.port());
    let Ok(connection) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let mut stream = rustls::StreamOwned::new(connection, stream);
    // A client that gives up on the certificate ends here, in the handshake.
    let Some(mut request) = Request::read(&mut stream, port) else {
        return;
    };
    let mut problems = Vec::new();
    let (status, body) = {
        let mut state = state.lock().expect("not poisoned");
        answer(&request, config, &mut state, &mut problems)
    };
    if let Some(check) = &config.check {
        problems.extend(check(&request));
    }
    request.status = status;
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let headers = [("Content-Type", "application/json".to_string())];
    respond(&mut stream, status, &headers, &body);
    stream.conn.send_close_notify();
    let _ = std::io::Write::flush(&mut stream);
    let mut state = state.lock().expect("not poisoned");
    let label = format!("{} {}", request.method, request.path);
    state
        .problems
        .extend(problems.into_iter().map(|p| format!("{label}: {p}")));
    state.requests.push(request);
}

/// An error as the generation writes it: `/api` `{error_type, messages}`, `/rest` `{type, value}`.
fn error(rest: bool, status: u16, kind: &str, message: &str) -> (u16, Option<Value>) {
    let messages = json!([{"args": [], "default_message": message, "id": format!("vapi.{}", kind.to_lowercase())}]);
    let body = if rest {
        json!({
            "type": format!("com.vmware.vapi.std.errors.{}", kind.to_lowercase()),
            "value": {"error_type": kind, "messages": messages},
        })
    } else {
        json!({"error_type": kind, "messages": messages})
    };
    (status, Some(body))
}

/// The status and JSON body vCenter would answer.
fn answer(
    request: &Request,
    config: &Config,
    state: &mut State,
    problems: &mut Vec<String>,
) -> (u16, Option<Value>) {
    let (path, params) = request.query();
    let (rest, service) = if let Some(service) = path.strip_prefix("/rest/") {
        (true, service)
    } else if let Some(service) = path.strip_prefix("/api/") {
        if config.generation == Generation::Rest {
            return (404, None);
        }
        (false, service)
    } else {
        problems.push(format!("a path outside /api and /rest: {path}"));
        return (404, None);
    };
    let wrap = |value: Value| {
        if rest {
            json!({ "value": value })
        } else {
            value
        }
    };
    let session = if rest {
        "com/vmware/cis/session"
    } else {
        "session"
    };
    if service == session {
        return match request.method.as_str() {
            "POST" => {
                if request.header("Authorization") != Some(&basic(&config.user, &config.password)) {
                    return error(rest, 401, "UNAUTHENTICATED", "Authentication required.");
                }
                let token = format!("session-{}", state.requests.len() + 1);
                state.sessions.push(token.clone());
                (if rest { 200 } else { 201 }, Some(wrap(json!(token))))
            }
            "DELETE" => {
                let token = request.header("vmware-api-session-id").unwrap_or_default();
                state.sessions.retain(|s| s != token);
                (if rest { 200 } else { 204 }, None)
            }
            other => {
                problems.push(format!("{other} on the session service"));
                (405, None)
            }
        };
    }
    let token = request.header("vmware-api-session-id");
    if !token.is_some_and(|t| state.sessions.iter().any(|s| s == t)) {
        return error(rest, 401, "UNAUTHENTICATED", "Authentication required.");
    }
    let filter = |name: &str| {
        let key = if rest {
            format!("filter.{name}")
        } else {
            name.to_string()
        };
        params
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .collect::<Vec<String>>()
    };
    let known = |allowed: &[&str], problems: &mut Vec<String>| {
        for (k, _) in &params {
            let name = if rest {
                k.strip_prefix("filter.")
            } else {
                Some(k.as_str())
            };
            if !name.is_some_and(|n| allowed.contains(&n)) {
                problems.push(format!("a filter parameter this API does not have: {k}"));
                return false;
            }
        }
        true
    };
    let datacenters: Vec<(String, &String)> = config
        .datacenters
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("datacenter-{}", i + 1), name))
        .collect();
    match (request.method.as_str(), service) {
        ("GET", "vcenter/datacenter") => {
            if !known(&["names", "datacenters"], problems) {
                return error(rest, 400, "INVALID_ARGUMENT", "Unknown filter parameter.");
            }
            let names = filter("names");
            let list: Vec<Value> = datacenters
                .iter()
                .filter(|(_, name)| names.is_empty() || names.contains(name))
                .map(|(id, name)| json!({"datacenter": id, "name": name}))
                .collect();
            (200, Some(wrap(json!(list))))
        }
        ("GET", "vcenter/folder") => {
            if !known(&["type", "datacenters", "names"], problems) {
                return error(rest, 400, "INVALID_ARGUMENT", "Unknown filter parameter.");
            }
            let kinds = filter("type");
            let wanted = filter("datacenters");
            let mut list = Vec::new();
            for (i, (id, _)) in datacenters.iter().enumerate() {
                if !wanted.is_empty() && !wanted.contains(id) {
                    continue;
                }
                let n = i + 1;
                for (folder, name, kind) in [
                    (format!("group-h{n}"), "host", "HOST"),
                    (format!("group-h{n}1"), "Lab", "HOST"),
                    (format!("group-v{n}"), "vm", "VIRTUAL_MACHINE"),
                ] {
                    if kinds.is_empty() || kinds.iter().any(|k| k == kind) {
                        list.push(json!({"folder": folder, "name": name, "type": kind}));
                    }
                }
            }
            (200, Some(wrap(json!(list))))
        }
        ("GET", "vcenter/host") => {
            if !known(&["names", "folders", "datacenters"], problems) {
                return error(rest, 400, "INVALID_ARGUMENT", "Unknown filter parameter.");
            }
            let names = filter("names");
            let list: Vec<Value> = config
                .hosts
                .iter()
                .filter(|h| names.is_empty() || names.contains(&h.name))
                .map(|h| json!({"host": h.id, "name": h.name, "connection_state": h.connection_state, "power_state": "POWERED_ON"}))
                .collect();
            (200, Some(wrap(json!(list))))
        }
        ("POST", "vcenter/host") => add(request, config, state, rest, problems),
        _ => {
            problems.push(format!("unknown service {} {path}", request.method));
            error(rest, 404, "NOT_FOUND", "Not found.")
        }
    }
}

/// `POST …/vcenter/host`: checks the spec as the API defines it, and adds the host if vCenter can reach
/// it by the name given.
fn add(
    request: &Request,
    config: &Config,
    state: &mut State,
    rest: bool,
    problems: &mut Vec<String>,
) -> (u16, Option<Value>) {
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(e) => {
            problems.push(format!("the body is not JSON: {e}"));
            return error(rest, 400, "INVALID_REQUEST", "Invalid JSON.");
        }
    };
    let spec = if rest {
        let keys: Vec<&String> = body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        if keys != ["spec"] {
            problems.push(format!("/rest wants the body {{\"spec\": …}}, not {body}"));
        }
        body.get("spec").cloned().unwrap_or(Value::Null)
    } else {
        body
    };
    let Some(object) = spec.as_object() else {
        problems.push(format!("the spec is not an object: {spec}"));
        return error(rest, 400, "INVALID_ARGUMENT", "Invalid spec.");
    };
    let allowed = [
        "hostname",
        "port",
        "user_name",
        "password",
        "folder",
        "thumbprint_verification",
        "thumbprint",
        "force_add",
    ];
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            problems.push(format!("the spec has a key the API does not: {key}"));
        }
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
    for key in ["hostname", "user_name", "password", "folder", "thumbprint"] {
        if text(key).is_empty() {
            problems.push(format!("the spec has no {key}"));
        }
    }
    if text("thumbprint_verification") != "THUMBPRINT" {
        problems.push(format!(
            "thumbprint_verification is {:?}, not THUMBPRINT",
            object.get("thumbprint_verification")
        ));
    }
    if object.get("force_add") != Some(&Value::Bool(false)) {
        problems.push(format!("force_add is {:?}", object.get("force_add")));
    }
    let folders: Vec<String> = (1..=config.datacenters.len())
        .map(|n| format!("group-h{n}"))
        .collect();
    if !folders.iter().any(|f| f == text("folder")) {
        problems.push(format!(
            "{} is not a datacenter's host folder",
            text("folder")
        ));
    }
    let hostname = text("hostname");
    if config.hosts.iter().any(|h| h.name == hostname)
        || state.added.iter().any(|a| a["hostname"] == hostname)
    {
        return error(
            rest,
            400,
            "ALREADY_EXISTS",
            &format!("The host {hostname} already exists."),
        );
    }
    if !config.reachable.iter().any(|r| r == hostname) {
        return error(
            rest,
            400,
            "ERROR",
            &format!(
                "Cannot contact the specified host ({hostname}). The host may not be available on the network, a network configuration problem may exist, or the management services on this host may not be responding."
            ),
        );
    }
    if text("thumbprint") != config.thumbprint {
        return error(
            rest,
            400,
            "UNVERIFIED_PEER",
            "The host certificate does not match the thumbprint.",
        );
    }
    state.added.push(spec.clone());
    let id = format!("host-{}", 40 + state.added.len());
    (
        if rest { 200 } else { 201 },
        Some(if rest {
            json!({ "value": id })
        } else {
            json!(id)
        }),
    )
}

/// `Basic …` for a user and password.
pub fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
