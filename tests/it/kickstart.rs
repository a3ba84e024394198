//! `image kickstart`: the KS.CFG on stdout, the root password sources, the policy check (with passwdqc's
//! `pwqcheck`, the checker the ESXi installer runs, as an oracle) and the quoting of the `rootpw` line.
//!
//! `pwqcheck` (Debian package `passwdqc`) and `busybox` must be installed; these tests never skip.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use maas_esxi::image::media::kickstart::{self, Options, Secret, check_password};
use proptest::prelude::*;

use crate::{root, snapshot};

/// A SHA-512 crypt hash as `openssl passwd -6 -salt maasesxi 'Example-pw1'` prints it.
const HASH: &str = "$6$maasesxi$oGoQ93st54vgk6O.UHj1hVnL7hr9iagZ/X7kElV.hwZkamqR1vPkLy2ggki6Kk3J5Egi77KFlrog9LVdmVQl.0";

fn maas_esxi(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .args(args)
        .current_dir(root())
        .env_remove("MAAS_ESXI_ROOT_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("maas-esxi runs")
}

fn transcript(args: &[&str], env: &[(&str, &str)]) -> String {
    crate::transcript(args, &maas_esxi(args, env))
}

#[test]
fn the_kickstart_with_a_hashed_password() {
    snapshot(
        "kickstart-hash",
        transcript(&["image", "kickstart", "--root-password-hash", HASH], &[]),
    );
}

#[test]
fn a_weak_password_is_rejected_with_exit_1() {
    snapshot(
        "kickstart-weak-password",
        transcript(&["image", "kickstart", "--root-password", "Password1"], &[]),
    );
    let out = maas_esxi(
        &["image", "kickstart"],
        &[("MAAS_ESXI_ROOT_PASSWORD", "short")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: the root password is too short"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short,"),
        "the password is not echoed: {stderr}"
    );
}

#[test]
fn a_hash_esxi_cannot_use_is_rejected() {
    snapshot(
        "kickstart-bad-hash",
        transcript(
            &[
                "image",
                "kickstart",
                "--root-password-hash",
                "$y$j9T$abc$def",
            ],
            &[],
        ),
    );
}

#[test]
fn the_password_comes_from_the_environment_or_a_file() {
    let from_env = maas_esxi(
        &["image", "kickstart"],
        &[("MAAS_ESXI_ROOT_PASSWORD", "env-Pass1x")],
    );
    assert_eq!(from_env.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&from_env.stdout).contains("\nrootpw 'env-Pass1x'\n"));

    let dir = std::env::temp_dir().join(format!("maas-esxi-ks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("root-password");
    std::fs::write(&file, "file Pass#1x\r\nsecond line ignored\n").expect("password file");
    let from_file = maas_esxi(
        &[
            "image",
            "kickstart",
            "--root-password-file",
            &file.display().to_string(),
        ],
        &[],
    );
    assert_eq!(from_file.status.code(), Some(0), "{from_file:?}");
    assert!(String::from_utf8_lossy(&from_file.stdout).contains("\nrootpw 'file Pass#1x'\n"));

    let missing = dir.join("missing");
    let out = maas_esxi(
        &[
            "image",
            "kickstart",
            "--root-password-file",
            &missing.display().to_string(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: reading the root password from ")
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn exactly_one_password_source_is_a_usage_rule() {
    snapshot(
        "kickstart-no-password",
        transcript(&["image", "kickstart"], &[]),
    );
    let both = maas_esxi(
        &[
            "image",
            "kickstart",
            "--root-password",
            "Abc-defg1",
            "--root-password-hash",
            HASH,
        ],
        &[],
    );
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn the_library_refuses_options_without_exactly_one_source() {
    let none = kickstart::render(&Options::default()).expect_err("no password");
    assert_eq!(none.to_string(), "no root password was given");
    let two = Options {
        root_password: Some(Secret("Abc-defg1".to_string())),
        root_password_hash: Some(HASH.to_string()),
        ..Options::default()
    };
    let err = kickstart::render(&two).expect_err("two passwords");
    assert_eq!(err.to_string(), "more than one root password was given");
    assert_eq!(format!("{:?}", two.root_password), "Some(Secret(..))");
}

/// passwdqc's verdict with ESXi's default `Security.PasswordQualityControl`.
fn pwqcheck_accepts(password: &str) -> bool {
    let mut child = Command::new("pwqcheck")
        .args(["-1", "min=disabled,disabled,disabled,7,7", "max=40"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pwqcheck runs (Debian package passwdqc)");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(format!("{password}\n").as_bytes())
        .expect("pwqcheck reads the password");
    let out = child.wait_with_output().expect("pwqcheck finishes");
    String::from_utf8_lossy(&out.stdout).trim() == "OK"
}

#[test]
fn the_documented_examples_agree_with_pwqcheck() {
    for (password, accepted) in [
        ("xQaTEhb!", true),
        ("xQaT3#A", true),
        ("Xqat3hi", false),
        ("xQaTEh2", false),
        ("aB3!xy", false),
        ("abcdefgh", false),
    ] {
        assert_eq!(
            pwqcheck_accepts(password),
            accepted,
            "pwqcheck on {password:?}"
        );
        assert_eq!(
            check_password(password).is_ok(),
            accepted,
            "check_password on {password:?}"
        );
    }
}

/// `sh -c 'eval "set -- $LINE"; printf %s "$2"'`: the second word of a rootpw line, split like a shell.
fn second_word(line: &str) -> String {
    let out = Command::new("busybox")
        .args(["sh", "-c", "eval \"set -- $LINE\"; printf %s \"$2\""])
        .env("LINE", line)
        .output()
        .expect("busybox sh runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// We are never stricter than the installer's own check, except for a leading `--`.
    #[test]
    fn what_pwqcheck_accepts_we_accept(password in "[ -~]{5,42}") {
        prop_assume!(!password.starts_with("--"));
        if pwqcheck_accepts(&password) {
            prop_assert_eq!(check_password(&password).map_err(|r| r.message), Ok(()));
        }
    }

    /// The rootpw line gives the installer's shell-like splitter the password back, byte for byte.
    #[test]
    fn the_rootpw_line_quotes_any_password(password in "[a-z]{2}[A-Z]{2}[0-9]{2}[ -~]{1,30}") {
        prop_assume!(check_password(&password).is_ok());
        let options = Options { root_password: Some(Secret(password.clone())), ..Options::default() };
        let ks = kickstart::render(&options).expect("an accepted password renders");
        let line = ks.lines().find(|l| l.starts_with("rootpw ")).expect("a rootpw line");
        prop_assert_eq!(second_word(line), password);
    }
}
