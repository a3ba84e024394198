//! The vCenter helper the bundle carries (`maas_esxi::bundle::VCENTER`) against the fake vCenter on
//! 127.0.0.2 over HTTPS: both API generations, the host added by its FQDN or else by an address, the
//! datacenter by name or vCenter's only one, a host vCenter already has, a wrong datacenter, wrong
//! credentials, a vCenter that cannot be reached, its certificate verified through the host's CA store or
//! said to be unverified; the settings read and judged complete; passwords for the temporary account.
//! vCenter's and the account's passwords appear in no message. Needs python3 and openssl.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::vcenter::{self, Config, Generation, Host, Server, Tls};

const PASSWORD: &str = "V\"c3nter: p@ss #1 'x'";
const ACCOUNT: &str = "maas-vcenter";
const ACCOUNT_PASSWORD: &str = "pQ7-xR2_mK9.tL4+wZ8@";
const FQDN: &str = "esx01.maas";
const ADDRESS: &str = "10.20.0.15";

/// vCenter's self-signed certificate, one signed by a CA, and the host's: made once.
fn tls() -> &'static (Tls, Tls, Tls) {
    static TLS: OnceLock<(Tls, Tls, Tls)> = OnceLock::new();
    TLS.get_or_init(|| {
        (
            Tls::self_signed(vcenter::ADDRESS),
            Tls::signed(vcenter::ADDRESS),
            Tls::self_signed(FQDN),
        )
    })
}

/// A directory with the bundle's Python files, MAAS's vCenter settings and the host's certificate, which
/// stands for `$MAAS_ESXI_ROOT`.
struct Helper {
    dir: tempfile::TempDir,
}

impl Helper {
    fn new(settings: &str) -> Helper {
        let dir = tempfile::tempdir().expect("temporary directory");
        let maas = dir.path().join("altbootbank/maas");
        std::fs::create_dir_all(&maas).expect("mkdir");
        for (path, source) in maas_esxi::bundle::PYTHON {
            std::fs::write(dir.path().join("altbootbank").join(path), source).expect("write");
        }
        std::fs::write(maas.join("vcenter.yaml"), settings).expect("write");
        let ssl = dir.path().join("etc/vmware/ssl");
        std::fs::create_dir_all(&ssl).expect("mkdir");
        std::fs::copy(&tls().2.cert, ssl.join("rui.crt")).expect("copy");
        Helper { dir }
    }

    /// MAAS's settings as its vendor-data writes them, for vCenter at `server`.
    fn standard(server: &str) -> Helper {
        Helper::new(&settings(server, Some("DC-West")))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Trusts the CA that signed `tls` the way ESXi does: its CA store.
    fn trust(&self, tls: &Tls) {
        std::fs::copy(
            tls.ca.as_ref().expect("a CA"),
            self.path("etc/vmware/ssl/castore.pem"),
        )
        .expect("copy");
    }

    /// Runs the helper for vCenter on `port` with `stdin`; checks that no password is in its messages.
    fn run(&self, port: u16, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut child = Command::new("python3")
            .arg(self.path("altbootbank/maas/maas-vcenter"))
            .arg(format!(
                "--settings={}",
                self.path("altbootbank/maas/vcenter.yaml").display()
            ))
            .args(args)
            .env("MAAS_ESXI_ROOT", self.dir.path())
            .env("MAAS_VCENTER_PORT", port.to_string())
            .env("MAAS_VCENTER_DELAY", "0.01")
            .env("MAAS_VCENTER_ATTEMPTS", "2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        {
            use std::io::Write;
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(stdin.as_bytes()).expect("write stdin");
        }
        let out: Output = child.wait_with_output().expect("the helper ends");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        for secret in [PASSWORD, ACCOUNT_PASSWORD, "p@ss"] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "a password in the helper's messages:\n{stdout}{stderr}"
            );
        }
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    /// `register` for the host by its FQDN, then its address.
    fn register(&self, port: u16) -> (i32, String) {
        let certificate = format!(
            "--certificate={}",
            self.path("etc/vmware/ssl/rui.crt").display()
        );
        let (status, _, stderr) = self.run(
            port,
            &[
                "register",
                &format!("--user={ACCOUNT}"),
                &format!("--hostname={FQDN}"),
                &format!("--hostname={ADDRESS}"),
                &certificate,
            ],
            &format!("{ACCOUNT_PASSWORD}\n"),
        );
        (status, stderr)
    }
}

/// vcenter.yaml as MAAS writes it (PyYAML's safe_dump, keys sorted, blank values left out).
fn settings(server: &str, datacenter: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(datacenter) = datacenter {
        text.push_str(&format!("vcenter_datacenter: {datacenter}\n"));
    }
    text.push_str(&format!(
        "vcenter_password: '{}'\nvcenter_server: {server}\nvcenter_username: administrator@vsphere.local\n",
        PASSWORD.replace('\'', "''")
    ));
    text
}

/// A vCenter that can reach the host by `reachable`, with the host's thumbprint.
fn config(generation: Generation, reachable: &[&str]) -> Config {
    Config {
        generation,
        reachable: reachable.iter().map(|r| r.to_string()).collect(),
        thumbprint: tls().2.thumbprint(),
        ..Config::default()
    }
}

fn no_problems(server: &Server) {
    let problems = server.problems();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(server.sessions_closed(), "a session was left open");
}

#[test]
fn the_host_is_added_by_its_fqdn_through_the_api_and_the_certificate_is_said_unverified() {
    let server = Server::start(config(Generation::Api, &[FQDN, ADDRESS]), &tls().0);
    let helper = Helper::standard(vcenter::ADDRESS);
    let (status, stderr) = helper.register(server.port());
    assert_eq!(status, 0, "{stderr}");
    no_problems(&server);
    assert_eq!(
        server.calls(),
        [
            "POST /api/session",
            "GET /api/vcenter/datacenter",
            "GET /api/vcenter/datacenter",
            "GET /api/vcenter/folder",
            "GET /api/vcenter/host",
            "GET /api/vcenter/host",
            "POST /api/vcenter/host",
            "DELETE /api/session",
        ]
    );
    let added = server.added();
    assert_eq!(added.len(), 1);
    assert_eq!(
        added[0],
        serde_json::json!({
            "hostname": FQDN,
            "user_name": ACCOUNT,
            "password": ACCOUNT_PASSWORD,
            "folder": "group-h2",
            "thumbprint_verification": "THUMBPRINT",
            "thumbprint": tls().2.thumbprint(),
            "force_add": false,
        })
    );
    assert!(
        stderr.contains("vCenter's certificate was NOT verified"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "added to vCenter 127.0.0.2 as {FQDN} (host-41), datacenter DC-West"
        )),
        "{stderr}"
    );
}

#[test]
fn an_older_vcenter_is_spoken_to_through_rest_and_the_host_added_by_its_address() {
    let server = Server::start(config(Generation::Rest, &[ADDRESS]), &tls().0);
    let helper = Helper::standard(vcenter::ADDRESS);
    let (status, stderr) = helper.register(server.port());
    assert_eq!(status, 0, "{stderr}");
    no_problems(&server);
    let calls = server.calls();
    assert_eq!(
        calls[..2],
        ["POST /api/session", "POST /rest/com/vmware/cis/session"]
    );
    assert!(
        calls[2..].iter().all(|c| c.contains(" /rest/")),
        "{calls:#?}"
    );
    let hostnames: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/vcenter/host"))
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
            body["spec"]["hostname"].as_str().unwrap_or("?").to_string()
        })
        .collect();
    assert_eq!(
        hostnames,
        [FQDN, ADDRESS],
        "the FQDN first, then the address"
    );
    assert!(
        stderr.contains(&format!(
            "could not add the host as {FQDN}: HTTP 400 ERROR: Cannot contact"
        )),
        "{stderr}"
    );
    assert_eq!(server.added()[0]["hostname"], ADDRESS);
}

#[test]
fn a_certificate_signed_by_a_ca_in_the_hosts_store_is_verified() {
    let server = Server::start(config(Generation::Api, &[FQDN]), &tls().1);
    let helper = Helper::standard(vcenter::ADDRESS);
    helper.trust(&tls().1);
    let (status, stderr) = helper.register(server.port());
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("vCenter's certificate is verified"),
        "{stderr}"
    );
    assert!(!stderr.contains("NOT verified"), "{stderr}");
    no_problems(&server);

    // The same certificate without its CA in the store is not.
    let helper = Helper::standard(vcenter::ADDRESS);
    let server = Server::start(config(Generation::Api, &[FQDN]), &tls().1);
    let (status, stderr) = helper.register(server.port());
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("NOT verified"), "{stderr}");
}

#[test]
fn a_wrong_datacenter_wrong_credentials_or_no_vcenter_fail_and_say_why() {
    for generation in [Generation::Api, Generation::Rest] {
        let server = Server::start(config(generation, &[FQDN]), &tls().0);
        let helper = Helper::new(&settings(vcenter::ADDRESS, Some("DC-North")));
        let (status, stderr) = helper.register(server.port());
        assert_eq!(status, 1, "{stderr}");
        assert!(
            stderr.contains(
                "error: vCenter 127.0.0.2 has no datacenter DC-North (it has: DC-East, DC-West)"
            ),
            "{stderr}"
        );
        assert!(server.added().is_empty());
        no_problems(&server);

        let mut wrong = config(generation, &[FQDN]);
        wrong.password = "another password".into();
        let server = Server::start(wrong, &tls().0);
        let (status, stderr) = Helper::standard(vcenter::ADDRESS).register(server.port());
        assert_eq!(status, 1, "{stderr}");
        assert!(
            stderr.contains(
                "error: vCenter 127.0.0.2 refused the user name or password of administrator@vsphere.local"
            ),
            "{stderr}"
        );
        assert_eq!(
            server.calls().last().map(String::as_str),
            Some(if generation == Generation::Api {
                "POST /api/session"
            } else {
                "POST /rest/com/vmware/cis/session"
            })
        );
    }

    // Nothing listens there any more.
    let port = Server::start(Config::default(), &tls().0).port();
    let (status, stderr) = Helper::standard(vcenter::ADDRESS).register(port);
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot reach vCenter 127.0.0.2:{port}: [Errno 111] Connection refused (2 attempts)"
        )),
        "{stderr}"
    );
}

#[test]
fn a_host_vcenter_has_is_left_alone_when_connected_and_reported_when_not() {
    let mut known = config(Generation::Api, &[FQDN]);
    known.hosts = vec![Host {
        id: "host-12".into(),
        name: ADDRESS.into(),
        connection_state: "CONNECTED".into(),
    }];
    let server = Server::start(known, &tls().0);
    let (status, stderr) = Helper::standard(vcenter::ADDRESS).register(server.port());
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "already has this host as {ADDRESS} (host-12), connected"
        )),
        "{stderr}"
    );
    assert!(server.added().is_empty());
    no_problems(&server);

    let mut stale = config(Generation::Api, &[FQDN]);
    stale.hosts = vec![Host {
        id: "host-9".into(),
        name: FQDN.into(),
        connection_state: "NOT_RESPONDING".into(),
    }];
    let server = Server::start(stale, &tls().0);
    let (status, stderr) = Helper::standard(vcenter::ADDRESS).register(server.port());
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains(
            "already has this host as esx01.maas (host-9), NOT_RESPONDING: remove it there"
        ),
        "{stderr}"
    );
}

#[test]
fn without_a_datacenter_name_vcenters_only_one_is_taken() {
    let mut one = config(Generation::Api, &[FQDN]);
    one.datacenters = vec!["Datacenter".into()];
    let server = Server::start(one, &tls().0);
    let helper = Helper::new(&settings(vcenter::ADDRESS, None));
    let (status, stderr) = helper.register(server.port());
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("using vCenter's only one, Datacenter"),
        "{stderr}"
    );
    assert_eq!(server.added()[0]["folder"], "group-h1");
    no_problems(&server);

    let server = Server::start(config(Generation::Api, &[FQDN]), &tls().0);
    let (status, stderr) = helper.register(server.port());
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("(DC-East, DC-West)"), "{stderr}");
}

#[test]
fn the_settings_are_judged_complete_or_not_and_resolved() {
    let helper = Helper::standard(vcenter::ADDRESS);
    let (status, stdout, _) = helper.run(443, &["settings"], "");
    assert_eq!(
        (status, stdout.as_str()),
        (
            0,
            "vCenter 127.0.0.2, user administrator@vsphere.local, datacenter DC-West\n"
        )
    );
    let (status, stdout, _) = helper.run(443, &["addresses"], "");
    assert_eq!((status, stdout.as_str()), (0, "127.0.0.2\n"));

    let helper = Helper::new("vcenter_server: vc.example.com\nvcenter_username: admin\n");
    let (status, stdout, _) = helper.run(443, &["settings"], "");
    assert_eq!(
        (status, stdout.as_str()),
        (
            3,
            "the vCenter settings from MAAS have no vcenter_password\n"
        )
    );
    let helper = Helper::new("vcenter_server: [not, text]\n");
    let (status, _, stderr) = helper.run(443, &["settings"], "");
    assert_eq!(status, 2);
    assert!(stderr.contains("vcenter_server is not text"), "{stderr}");
}

/// The temporary account's passwords: 20 characters, lowercase at both ends, every character class, each
/// one new.
#[test]
fn passwords_meet_esxis_policy_and_differ() {
    let helper = Helper::standard(vcenter::ADDRESS);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, stdout, _) = helper.run(443, &["password"], "");
        assert_eq!(status, 0);
        let password = stdout.trim_end().to_string();
        let chars: Vec<char> = password.chars().collect();
        assert_eq!(chars.len(), 20, "{password}");
        assert!(chars[0].is_ascii_lowercase() && chars[19].is_ascii_lowercase());
        for class in [
            char::is_ascii_lowercase as fn(&char) -> bool,
            char::is_ascii_uppercase,
            char::is_ascii_digit,
            |c: &char| "-_.+@".contains(*c),
        ] {
            assert!(
                chars[1..19].iter().filter(|c| class(c)).count() >= 3,
                "{password}"
            );
        }
        assert!(seen.insert(password));
    }
}

/// The helper refuses to run without the account's password on standard input.
#[test]
fn register_needs_the_accounts_password_on_stdin() {
    let helper = Helper::standard(vcenter::ADDRESS);
    let (status, _, stderr) = helper.run(
        443,
        &[
            "register",
            "--user=x",
            "--hostname=y",
            "--certificate=/nonexistent",
        ],
        "",
    );
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("no password for x on standard input"),
        "{stderr}"
    );
}
