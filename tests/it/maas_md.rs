//! The metadata helper the bundle carries (`maas_esxi::bundle::HELPER`) against the fake MAAS: an OAuth
//! header on every request, a GET to stdout and to a file, 404 as nothing, retries after 500s, the clock
//! corrected from a 401's `Date`, status events as MAAS's status API takes them, failures whose messages
//! carry no secret; and vermin for the Python 3.5 floor (ESXi 6.7). Needs python3 and vermin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::maas::{Config, Failure, Server, Token};

/// A directory with the helper and a credentials file for `server`.
struct Helper {
    dir: tempfile::TempDir,
    endpoint: String,
    token: Token,
}

impl Helper {
    fn new(endpoint: String, token: Token) -> Helper {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("maas-md"), maas_esxi::bundle::HELPER)
            .expect("write helper");
        let helper = Helper {
            dir,
            endpoint,
            token,
        };
        let reporting = maas_esxi::model::Reporting {
            endpoint: helper.endpoint.clone(),
            consumer_key: helper.token.consumer_key.clone(),
            token_key: helper.token.token_key.clone(),
            token_secret: helper.token.token_secret.clone(),
        };
        std::fs::write(
            helper.path("credentials"),
            maas_esxi::bundle::credentials(&reporting),
        )
        .expect("write credentials");
        helper
    }

    fn for_server(server: &Server) -> Helper {
        Helper::new(server.endpoint(), Token::fixture())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the helper with short retry delays and `env` on top.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new("python3")
            .arg(self.path("maas-md"))
            .arg("--credentials")
            .arg(self.path("credentials"))
            .args(args)
            .env("MAAS_MD_DELAY", "0.01")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("python3 runs")
    }

    /// Runs the helper; checks its exit status and that its messages carry no secret; returns stdout.
    fn expect(&self, status: i32, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
        let out = self.run(args, env);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(out.status.code(), Some(status), "{args:?}:\n{stderr}");
        for secret in self.token.secrets() {
            assert!(
                !stderr.contains(secret),
                "a secret in the messages:\n{stderr}"
            );
        }
        (stdout, stderr)
    }
}

fn no_problems(server: &Server) {
    let problems = server.problems();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_get_is_signed_and_prints_the_body() {
    let server = Server::start(Config {
        hostname: Some("esx01.maas".into()),
        ..Config::default()
    });
    let helper = Helper::for_server(&server);
    let (stdout, _) = helper.expect(0, &["get", "latest/meta-data/local-hostname"], &[]);
    assert_eq!(stdout, "esx01.maas");
    assert_eq!(
        server.gets(),
        ["/MAAS/metadata/latest/meta-data/local-hostname"]
    );
    no_problems(&server);
}

#[test]
fn a_get_into_a_file_keeps_every_byte_and_a_404_is_nothing() {
    let user_data = b"#!/bin/sh\n\0\xff no newline at the end".to_vec();
    let server = Server::start(Config {
        user_data: Some(user_data.clone()),
        ..Config::default()
    });
    let helper = Helper::for_server(&server);
    let file = helper.path("user-data");
    let output = format!("--output={}", file.display());
    let (stdout, _) = helper.expect(0, &["get", "latest/user-data", &output], &[]);
    assert!(stdout.is_empty());
    assert_eq!(std::fs::read(&file).expect("written"), user_data);
    let mode = std::fs::metadata(&file)
        .expect("written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "user-data is private");

    let nothing = Server::start(Config::default());
    let helper = Helper::for_server(&nothing);
    let (stdout, _) = helper.expect(0, &["get", "latest/user-data", &output], &[]);
    assert!(stdout.is_empty());
    assert_eq!(std::fs::read(&file).expect("written"), b"");
    let (stdout, _) = helper.expect(0, &["get", "latest/meta-data/public-keys"], &[]);
    assert_eq!(stdout, "");
    assert_eq!(nothing.requests().len(), 2, "a 404 is not retried");
    no_problems(&nothing);
}

#[test]
fn server_errors_are_retried_until_the_attempts_run_out() {
    let server = Server::start(Config {
        hostname: Some("esx01.maas".into()),
        failures: vec![Failure {
            path: "local-hostname",
            status: 500,
            count: 2,
        }],
        ..Config::default()
    });
    let helper = Helper::for_server(&server);
    let (stdout, stderr) = helper.expect(0, &["get", "latest/meta-data/local-hostname"], &[]);
    assert_eq!(stdout, "esx01.maas");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(
        stderr
            .matches("HTTP 500 Internal Server Error; trying again in")
            .count(),
        2,
        "{stderr}"
    );

    let failing = Server::start(Config {
        failures: vec![Failure {
            path: "local-hostname",
            status: 500,
            count: 10,
        }],
        ..Config::default()
    });
    let helper = Helper::for_server(&failing);
    let (_, stderr) = helper.expect(
        1,
        &["get", "latest/meta-data/local-hostname"],
        &[("MAAS_MD_ATTEMPTS", "3")],
    );
    assert_eq!(failing.requests().len(), 3);
    assert!(
        stderr.ends_with(&format!(
            "maas-md: error: GET http://{}/MAAS/metadata/latest/meta-data/local-hostname: HTTP 500 Internal \
             Server Error (3 attempts)\n",
            failing.addr
        )),
        "{stderr}"
    );
}

#[test]
fn a_clock_that_is_off_is_corrected_from_the_401s_date() {
    let server = Server::start(Config {
        hostname: Some("esx01.maas".into()),
        clock_offset: 3 * 3600,
        ..Config::default()
    });
    let helper = Helper::for_server(&server);
    let (stdout, stderr) = helper.expect(0, &["get", "latest/meta-data/local-hostname"], &[]);
    assert_eq!(stdout, "esx01.maas");
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 200]);
    assert!(
        stderr.contains("the service's clock is +10800 s from ours, trying again with its time")
            || stderr
                .contains("the service's clock is +10799 s from ours, trying again with its time"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("trying again in"),
        "a clock correction is tried again at once: {stderr}"
    );
    no_problems(&server);
}

#[test]
fn status_events_are_posted_as_maas_takes_them() {
    let server = Server::start(Config::default());
    let helper = Helper::for_server(&server);
    helper.expect(
        0,
        &[
            "event",
            "start",
            "maas-esxi/network",
            "ESXi first boot: network",
        ],
        &[],
    );
    helper.expect(
        0,
        &[
            "event",
            "finish",
            "maas-esxi",
            "failed at step “network”, see the log",
            "FAIL",
        ],
        &[],
    );
    no_problems(&server);
    let events = server.events();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0]["event_type"], "start");
    assert_eq!(events[0]["origin"], "maas-esxi");
    assert_eq!(events[0]["name"], "maas-esxi/network");
    assert_eq!(events[0]["description"], "ESXi first boot: network");
    assert!(events[0].get("result").is_none());
    assert!(events[0]["timestamp"].is_f64());
    assert_eq!(events[1]["result"], "FAIL");
    assert_eq!(
        events[1]["description"],
        "failed at step “network”, see the log"
    );
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "POST"
        && r.path == "/MAAS/metadata/status/x7kqfp"
        && r.header("Content-Type") == Some("application/json")));
}

#[test]
fn failures_name_the_request_and_never_a_secret() {
    // A token MAAS does not know: every request is refused with a body that repeats the token key.
    let server = Server::start(Config::default());
    let mut wrong = Token::fixture();
    wrong.token_secret = "Wr0ngS3cretValue".into();
    let helper = Helper::new(server.endpoint(), wrong);
    let (_, stderr) = helper.expect(
        1,
        &["get", "latest/meta-data/public-keys"],
        &[("MAAS_MD_ATTEMPTS", "2")],
    );
    assert!(
        stderr.contains("HTTP 401 Unauthorized (2 attempts)"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 2);

    // Nothing listens on the endpoint's port any more.
    let endpoint = server.endpoint();
    drop(server);
    let helper = Helper::new(endpoint, Token::fixture());
    let (_, stderr) = helper.expect(
        1,
        &["event", "start", "maas-esxi", "ESXi first boot"],
        &[("MAAS_MD_ATTEMPTS", "2")],
    );
    assert!(
        stderr.contains("Connection refused (2 attempts)"),
        "{stderr}"
    );

    // A credentials file that is not one.
    std::fs::write(
        helper.path("credentials"),
        "{\"endpoint\": 1, \"token_secret\": \"Zr5t\"}",
    )
    .expect("write");
    let (_, stderr) = helper.expect(2, &["address"], &[]);
    assert!(
        stderr.starts_with("maas-md: error: the credentials file ") && !stderr.contains("Zr5t"),
        "{stderr}"
    );
}

#[test]
fn address_prints_where_the_service_is() {
    let server = Server::start(Config::default());
    let helper = Helper::for_server(&server);
    let (stdout, _) = helper.expect(0, &["address"], &[]);
    assert_eq!(stdout, "127.0.0.1\n");
    assert!(server.requests().is_empty());
}

/// vermin (PyPI) finds nothing in the helper that Python 3.5 lacks; it does find an f-string.
#[test]
fn the_helper_needs_nothing_newer_than_python_3_5() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let helper = dir.path().join("maas-md.py");
    std::fs::write(&helper, maas_esxi::bundle::HELPER).expect("write");
    let (ok, report) = vermin(&helper);
    assert!(ok, "vermin:\n{report}");
    assert!(report.contains("Minimum required versions: 3."), "{report}");

    let newer = dir.path().join("newer.py");
    std::fs::write(&newer, "x = 1\nprint(f\"{x}\")\n").expect("write");
    let (ok, report) = vermin(&newer);
    assert!(!ok, "vermin let an f-string through:\n{report}");
}

/// Runs vermin with Python 3.5 as the target; whether it passed, and its report.
fn vermin(file: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-c", "import sys, vermin; sys.exit(vermin.main())"])
        .args([
            "--target=3.5-",
            "--violations",
            "--no-tips",
            "--no-parse-comments",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !report.contains("No module named"),
        "vermin is not installed (scripts/test installs it from PyPI):\n{report}"
    );
    (out.status.success(), report)
}
