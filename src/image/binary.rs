//! The maas-esxi binary that goes into the image. It runs as the curtin hook in MAAS's ephemeral Ubuntu
//! (Linux x86-64), whose C library may be older than the build host's: it must be a static x86-64 build.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The command that installs the static build, run in the maas-esxi source directory (its
/// `.cargo/config.toml` links statically).
pub const STATIC_INSTALL: &str = "cargo install --locked --path .";

/// A binary that can go into the image, with what is worth knowing about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binary {
    pub path: PathBuf,
    /// Doubts that do not stop the image, e.g. a script in place of the executable.
    pub warnings: Vec<String>,
}

/// The binary `path` names, or the running executable for `None`.
pub fn path_or_current(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    match path {
        Some(path) => Ok(path.to_path_buf()),
        None => std::env::current_exe().context("finding the running executable"),
    }
}

/// Reads the binary and checks it; the error is the problem, as one sentence that says what to do.
pub fn inspect(path: &Path) -> Result<Binary, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    check(&bytes, path).map(|warnings| Binary {
        path: path.to_path_buf(),
        warnings,
    })
}

/// Checks the bytes of a binary: a dynamically linked executable, an executable for another machine and a
/// truncated one are refused; anything that is not an ELF file gets a warning (it may be a wrapper script).
pub fn check(bytes: &[u8], path: &Path) -> Result<Vec<String>, String> {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    if !bytes.starts_with(b"\x7fELF") {
        return Ok(vec![format!(
            "{} is not an x86-64 ELF executable",
            path.display()
        )]);
    }
    if !bytes.starts_with(b"\x7fELF\x02\x01") || u16_at(18) != Some(EM_X86_64) {
        return Err(format!(
            "{} is an executable for another machine; MAAS's ephemeral environment runs x86-64: build \
             maas-esxi for x86_64-unknown-linux-gnu",
            path.display()
        ));
    }
    let phoff = bytes
        .get(32..40)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
    let (Some(phoff), Some(entry_size), Some(count)) = (phoff, u16_at(54), u16_at(56)) else {
        return Err(format!("{} has a truncated ELF header", path.display()));
    };
    let has_interpreter = (0..u64::from(count)).any(|i| {
        let at = phoff.saturating_add(i * u64::from(entry_size));
        let p_type = usize::try_from(at)
            .ok()
            .and_then(|at| bytes.get(at..at.checked_add(4)?))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        p_type == Some(PT_INTERP)
    });
    if has_interpreter {
        return Err(format!(
            "{} is dynamically linked: in MAAS's ephemeral Ubuntu it runs only if that system's C library \
             is as new as this host's, else the deployment fails; install the static build in the \
             maas-esxi source directory with `{STATIC_INSTALL}`, or give one with --binary",
            path.display()
        ));
    }
    Ok(Vec::new())
}

/// `e_machine` of x86-64.
const EM_X86_64: u16 = 62;
/// The ELF program header type that names the dynamic loader.
const PT_INTERP: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF header for `machine` with `types` as its program headers' types.
    fn elf(machine: u16, types: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0; 64 + 56 * types.len()];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        bytes[18..20].copy_from_slice(&machine.to_le_bytes());
        bytes[32..40].copy_from_slice(&64u64.to_le_bytes());
        bytes[54..56].copy_from_slice(&56u16.to_le_bytes());
        bytes[56..58].copy_from_slice(&(types.len() as u16).to_le_bytes());
        for (i, t) in types.iter().enumerate() {
            bytes[64 + 56 * i..68 + 56 * i].copy_from_slice(&t.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn a_static_x86_64_executable_passes() {
        assert_eq!(
            check(&elf(EM_X86_64, &[6, 1, 1]), Path::new("b")),
            Ok(vec![])
        );
    }

    #[test]
    fn a_dynamic_executable_is_refused_with_the_command_that_fixes_it() {
        let problem =
            check(&elf(EM_X86_64, &[6, PT_INTERP, 1]), Path::new("b")).expect_err("dynamic");
        assert!(
            problem.starts_with("b is dynamically linked: "),
            "{problem}"
        );
        assert!(
            problem.contains("`cargo install --locked --path .`"),
            "{problem}"
        );
    }

    #[test]
    fn other_machines_and_truncated_headers_are_refused() {
        let aarch64 = check(&elf(183, &[1]), Path::new("b")).expect_err("aarch64");
        assert!(aarch64.starts_with("b is an executable for another machine"));
        let mut truncated = elf(EM_X86_64, &[PT_INTERP]);
        truncated.truncate(40);
        assert_eq!(
            check(&truncated, Path::new("b")),
            Err("b has a truncated ELF header".to_string())
        );
        let mut cut = elf(EM_X86_64, &[PT_INTERP]);
        cut.truncate(66);
        assert_eq!(
            check(&cut, Path::new("b")),
            Ok(vec![]),
            "program headers past the end are not read"
        );
    }

    #[test]
    fn what_is_not_elf_only_warns() {
        assert_eq!(
            check(b"#!/bin/sh\n", Path::new("b")),
            Ok(vec!["b is not an x86-64 ELF executable".to_string()])
        );
    }

    #[test]
    fn the_running_test_binary_is_static() {
        let exe = std::env::current_exe().expect("the test executable");
        assert_eq!(
            inspect(&exe).map(|b| b.warnings),
            Ok(vec![]),
            "this repository's builds are static (.cargo/config.toml)"
        );
    }
}
