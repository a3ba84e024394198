//! `image kickstart`: the KS.CFG the build installs ESXi with, and the root password checks behind it.
//!
//! The ESXi installer splits each command line of a kickstart like a POSIX shell (Python's `shlex` in
//! POSIX mode, `#` starting a comment), so the `rootpw` value is single-quoted the same way the first-boot
//! script quotes its values. The password is checked here against ESXi's default password policy, because
//! the installer refuses a weak one in the middle of an unattended build.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use minijinja::{Environment, context};

use crate::image::rejected::Rejected;

/// The kernel options that make the installer run the KS.CFG from the kickstart USB image unattended:
/// the kickstart location, no PSOD on CPUs that differ (virtual ones do), small system partitions so the
/// image fits a 32 GB disk, and the installer's log console on the first serial port.
pub const BOOT_OPTIONS: &str = "ks=usb:/KS.CFG cpuUniformityHardCheckPanic=FALSE systemMediaSize=min com1_Port=0x3f8 tty2Port=com1";

/// How the installed system's root password is given. Exactly one source is required.
#[derive(clap::Args, Debug, Clone, Default)]
#[group(id = "root-password", required = true, multiple = false)]
pub struct Options {
    /// Root password of the installed ESXi; checked against ESXi's password policy. A command line is
    /// visible to other users and kept in shell history: prefer the environment variable or a file.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "MAAS_ESXI_ROOT_PASSWORD",
        hide_env_values = true
    )]
    pub root_password: Option<Secret>,
    /// Read the root password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub root_password_file: Option<PathBuf>,
    /// Root password as a SHA-512 crypt hash (`openssl passwd -6`); ESXi does not check its strength.
    #[arg(long, value_name = "HASH")]
    pub root_password_hash: Option<String>,
}

/// `maas-esxi image kickstart`
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub options: Options,
}

/// A password. Its `Debug` output does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Prints the KS.CFG on stdout; a refused password is a [`Rejected`] error (exit 1).
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let text = render(&args.options)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing the kickstart to stdout")?;
    Ok(0)
}

/// The KS.CFG text. A password that ESXi would refuse, or a hash it cannot use, is a [`Rejected`] error;
/// failing to read `--root-password-file` is an IO error.
pub fn render(options: &Options) -> anyhow::Result<String> {
    let (password, password_hash) = match (
        &options.root_password,
        &options.root_password_file,
        &options.root_password_hash,
    ) {
        (Some(Secret(password)), None, None) => {
            check_password(password)?;
            (Some(password.clone()), None)
        }
        (None, Some(path), None) => {
            let password = read_password_file(path)?;
            check_password(&password)?;
            (Some(password), None)
        }
        (None, None, Some(hash)) => {
            check_password_hash(hash)?;
            (None, Some(hash.clone()))
        }
        (None, None, None) => {
            return Err(Rejected::new("no root password was given")
                .with_help(
                    "give one of --root-password, --root-password-file or --root-password-hash",
                )
                .into());
        }
        _ => {
            return Err(Rejected::new("more than one root password was given")
                .with_help("give only one of --root-password, --root-password-file or --root-password-hash")
                .into());
        }
    };
    let env = environment();
    let template = env
        .get_template("ks.cfg")
        .expect("the kickstart template is registered");
    template
        .render(context! { password => password, password_hash => password_hash })
        .context("internal error, this is a bug: rendering the kickstart failed")
}

/// Checks a plain root password against what the ESXi installer accepts by default: 7 to 40 printable
/// ASCII characters (space included) from at least three of four classes (lowercase, uppercase, digits,
/// other), where an uppercase letter at the start and a digit at the end do not count. The installer
/// also runs `pwqcheck`, which rejects dictionary words, common sequences and too few different
/// characters; those checks need its word list and are not repeated here.
pub fn check_password(password: &str) -> Result<(), Rejected> {
    let policy = "ESXi's default policy wants 7 to 40 printable ASCII characters from at least three of: \
                  lowercase letters, uppercase letters, digits, other characters; an uppercase letter at \
                  the start and a digit at the end do not count";
    if let Some(position) = password.chars().position(|c| !(' '..='~').contains(&c)) {
        return Err(Rejected::new(format!(
            "the root password has a character ESXi does not accept at position {}",
            position + 1
        ))
        .with_help("only printable ASCII characters and spaces are allowed"));
    }
    let length = password.len();
    if length < 7 {
        return Err(Rejected::new(format!(
            "the root password is too short: {length} characters, ESXi needs at least 7"
        ))
        .with_help(policy));
    }
    if length > 40 {
        return Err(Rejected::new(format!(
            "the root password is too long: {length} characters, ESXi takes at most 40"
        ))
        .with_help(policy));
    }
    if password.starts_with("--") {
        return Err(Rejected::new(
            "the root password starts with `--`: the installer would read it as an option of `rootpw`",
        ));
    }
    let classes = character_classes(password);
    if classes.len() < 3 {
        let used = if classes.is_empty() {
            "none".to_string()
        } else {
            classes.join(", ")
        };
        let counted = match classes.len() {
            1 => "1 character class".to_string(),
            n => format!("{n} character classes"),
        };
        return Err(Rejected::new(format!(
            "the root password is too weak for ESXi: it counts {counted} ({used}), ESXi needs 3"
        ))
        .with_help(policy));
    }
    Ok(())
}

/// Checks a pre-hashed root password: the installer takes a SHA-512 crypt hash as `openssl passwd -6`
/// writes it (`$6$`, a salt of at most 16 characters, 86 characters of hash) without `rounds=`. It also
/// takes MD5 and DES crypt, which are refused here because they are weak.
pub fn check_password_hash(hash: &str) -> Result<(), Rejected> {
    let help = "make one with `openssl passwd -6` or `mkpasswd --method=sha-512`";
    let fields: Option<(&str, &str)> = hash
        .strip_prefix("$6$")
        .and_then(|rest| rest.split_once('$'));
    let Some((salt, digest)) = fields else {
        let scheme = match hash.split('$').nth(1) {
            Some("1") => "an MD5 crypt hash, which is weak",
            Some("5") => "a SHA-256 crypt hash, which ESXi does not accept",
            Some("y") => "a yescrypt hash, which ESXi does not accept",
            Some("2a" | "2b" | "2y") => "a bcrypt hash, which ESXi does not accept",
            _ => "not a SHA-512 crypt hash (`$6$salt$hash`)",
        };
        return Err(Rejected::new(format!("the root password hash is {scheme}")).with_help(help));
    };
    if salt.starts_with("rounds=") {
        return Err(Rejected::new(
            "the root password hash sets `rounds=`, which the ESXi installer does not accept",
        )
        .with_help(help));
    }
    let crypt64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    };
    if salt.len() > 16 || !crypt64(salt) {
        return Err(Rejected::new(
            "the root password hash has an invalid salt: at most 16 of `a-z A-Z 0-9 . /`",
        )
        .with_help(help));
    }
    if digest.len() != 86 || !crypt64(digest) {
        return Err(Rejected::new(
            "the root password hash is malformed: a SHA-512 crypt hash ends in 86 of `a-z A-Z 0-9 . /`",
        )
        .with_help(help));
    }
    Ok(())
}

/// The character classes a password counts under passwdqc's rules, in a fixed order.
fn character_classes(password: &str) -> Vec<&'static str> {
    let bytes = password.as_bytes();
    let count = |f: fn(&u8) -> bool| bytes.iter().filter(|b| f(b)).count();
    let mut uppers = count(u8::is_ascii_uppercase);
    let mut digits = count(u8::is_ascii_digit);
    let lowers = count(u8::is_ascii_lowercase);
    let others = bytes.len() - uppers - digits - lowers;
    if bytes.first().is_some_and(u8::is_ascii_uppercase) {
        uppers -= 1;
    }
    if bytes.last().is_some_and(u8::is_ascii_digit) {
        digits -= 1;
    }
    [
        (lowers, "lowercase letters"),
        (uppers, "uppercase letters"),
        (digits, "digits"),
        (others, "other characters"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(_, name)| name)
    .collect()
}

/// The first line of a password file, without its line ending.
fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the root password from {}", path.display()))?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8(line.to_vec()).map_err(|_| {
        Rejected::new(format!(
            "the root password in {} is not ASCII text",
            path.display()
        ))
        .with_help("only printable ASCII characters and spaces are allowed")
    })?;
    if text.is_empty() {
        return Err(Rejected::new(format!(
            "the first line of {} is empty: it should hold the root password",
            path.display()
        ))
        .into());
    }
    Ok(text)
}

const KS_CFG: &str = include_str!("templates/ks.cfg.j2");

/// The shell-quoting template environment of `render`, with the kickstart template.
fn environment() -> Environment<'static> {
    let mut env = crate::render::shell_environment();
    // The template is part of the binary; failing to load it is a bug caught by every kickstart test.
    env.add_template("ks.cfg", KS_CFG)
        .expect("the kickstart template parses");
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(password: &str) -> String {
        check_password(password)
            .err()
            .map(|r| r.message)
            .unwrap_or_else(|| panic!("{password:?} should be refused"))
    }

    #[test]
    fn the_policy_examples_of_the_vmware_docs() {
        assert_eq!(check_password("xQaTEhb!"), Ok(()));
        assert_eq!(check_password("xQaT3#A"), Ok(()));
        // An uppercase letter at the start and a digit at the end do not count.
        assert!(refused("Xqat3hi").contains("2 character classes"));
        assert!(refused("xQaTEh2").contains("2 character classes"));
    }

    #[test]
    fn length_and_characters() {
        assert!(refused("aB3!").contains("too short: 4 characters"));
        assert!(refused(&"aB3!".repeat(11)).contains("too long: 44 characters"));
        assert_eq!(check_password(&"aB3!".repeat(10)), Ok(()));
        assert!(refused("pässWord1!").contains("position 2"));
        assert!(refused("tab\tWord1!").contains("position 4"));
        assert_eq!(check_password("with Space1"), Ok(()));
        assert!(refused("--iscrypted=X1y").contains("starts with `--`"));
    }

    #[test]
    fn a_repeated_leading_capital_or_trailing_digit_still_counts() {
        assert!(refused("AAbcdefg").contains("2 character classes"));
        assert_eq!(check_password("ABcdefg!"), Ok(()));
        assert_eq!(check_password("abcdef!12"), Ok(()));
        assert!(refused("abcdefg!1").contains("2 character classes"));
    }

    #[test]
    fn hashes() {
        let digest = "a".repeat(86);
        assert_eq!(
            check_password_hash(&format!("$6$saltsalt${digest}")),
            Ok(())
        );
        assert_eq!(check_password_hash(&format!("$6$${digest}")), Ok(()));
        assert!(check_password_hash(&format!("$6${digest}")).is_err());
        assert!(check_password_hash(&format!("$6$rounds=5000$salt${digest}")).is_err());
        assert!(check_password_hash(&format!("$6${}${digest}", "s".repeat(17))).is_err());
        assert_eq!(
            check_password_hash(&format!("$6$salt${}", "a".repeat(85))).map_err(|r| r.message),
            Err("the root password hash is malformed: a SHA-512 crypt hash ends in 86 of `a-z A-Z 0-9 . /`"
                .to_string())
        );
        assert!(check_password_hash(&format!("$6$sa:t${digest}")).is_err());
        let message = |h: &str| check_password_hash(h).map_err(|r| r.message).err();
        assert_eq!(
            message("$1$abcdefgh$0123456789012345678901"),
            Some("the root password hash is an MD5 crypt hash, which is weak".to_string())
        );
        assert_eq!(
            message("$y$j9T$salt$hash"),
            Some(
                "the root password hash is a yescrypt hash, which ESXi does not accept".to_string()
            )
        );
        assert_eq!(
            message("plaintext"),
            Some("the root password hash is not a SHA-512 crypt hash (`$6$salt$hash`)".to_string())
        );
    }
}
