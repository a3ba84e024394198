//! Checks the build host before the build writes anything big: the ISO, QEMU, KVM, OVMF and free space.
//! Every problem found is reported at once, each with what to do about it.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::units::{self, Size};
use super::vm::driver::{self, End, KeyTiming};
use super::vm::qemu::{self, Accel, Firmware, Machine};

/// Which accelerator the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM when it can run a guest, else TCG with a warning.
    Auto,
    /// KVM, or fail.
    Kvm,
    /// TCG emulation (very slow for an ESXi installation).
    Tcg,
}

/// The facts about the build host that preflight reads; [`Host::current`] is the real one.
#[derive(Clone, Debug)]
pub struct Host {
    /// The `PATH` to find QEMU on.
    pub path: OsString,
    pub kvm_device: PathBuf,
    pub cpuinfo: PathBuf,
    /// OVMF (code, variable template) pairs, preferred first.
    pub ovmf: Vec<(PathBuf, PathBuf)>,
}

impl Host {
    pub fn current() -> Host {
        Host {
            path: std::env::var_os("PATH").unwrap_or_default(),
            kvm_device: PathBuf::from("/dev/kvm"),
            cpuinfo: PathBuf::from("/proc/cpuinfo"),
            ovmf: qemu::OVMF_CANDIDATES
                .iter()
                .map(|(code, vars)| (PathBuf::from(code), PathBuf::from(vars)))
                .collect(),
        }
    }
}

/// What the build wants to do.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub iso: &'a Path,
    /// The directory that will hold the disk image and the logs.
    pub work: &'a Path,
    pub disk_size: Size,
    pub uefi: bool,
    pub accel: AccelChoice,
}

/// A host that passed: what the build runs with.
#[derive(Clone, Debug)]
pub struct Ready {
    pub qemu: PathBuf,
    pub accel: Accel,
    /// OVMF (code, variable template) for `--uefi`.
    pub ovmf: Option<(PathBuf, PathBuf)>,
    /// The ESXi version the installer ISO carries.
    pub esxi_version: String,
    /// Things the user should know that do not stop the build, e.g. falling back to TCG.
    pub warnings: Vec<String>,
}

/// Every reason the host cannot build, as one error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the build host is not ready:")?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// How long the KVM probe guest may take to power off.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Free space the work directory needs besides the ISO copy: an ESXi installation writes a few GiB of
/// its sparse disk (less when the disk is smaller than this).
const INSTALL_WRITES: u64 = 8 << 30;

/// Checks everything; `esxi_version` reads the installer's version from the ISO (and fails for an ISO
/// that is not an ESXi installer).
pub fn check(
    request: &Request<'_>,
    host: &Host,
    esxi_version: &dyn Fn(&Path) -> anyhow::Result<String>,
) -> Result<Ready, Problems> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    let version = match check_iso(request.iso) {
        Ok(()) => match esxi_version(request.iso) {
            Ok(version) => Some(version),
            Err(e) => {
                problems.push(format!(
                    "{} is not a usable ESXi installer ISO: {e:#}",
                    request.iso.display()
                ));
                None
            }
        },
        Err(problem) => {
            problems.push(problem);
            None
        }
    };

    let qemu = find_program(qemu::QEMU, &host.path);
    if qemu.is_none() {
        problems.push(format!(
            "{} is not on PATH; install it (Debian and Ubuntu: `apt-get install qemu-system-x86`)",
            qemu::QEMU
        ));
    }

    let ovmf = if request.uefi {
        let found = host
            .ovmf
            .iter()
            .find(|(code, vars)| code.is_file() && vars.is_file())
            .cloned();
        if found.is_none() {
            let looked: Vec<String> = host
                .ovmf
                .iter()
                .map(|(code, vars)| format!("{} with {}", code.display(), vars.display()))
                .collect();
            problems.push(format!(
                "--uefi needs the OVMF firmware, looked for {}; install it (`apt-get install ovmf`) \
                 or build with BIOS",
                looked.join(" or ")
            ));
        }
        found
    } else {
        None
    };

    match free_space(request.work) {
        Ok(free) => {
            let iso = std::fs::metadata(request.iso).map_or(0, |m| m.len());
            let needed = request.disk_size.bytes().min(INSTALL_WRITES) + iso;
            if let Some(problem) = space_problem(free, needed, request.work, request.disk_size) {
                problems.push(problem);
            }
        }
        Err(e) => problems.push(format!("{e:#}")),
    }

    let mut accel = Accel::Tcg;
    if let Some(qemu) = &qemu {
        match request.accel {
            AccelChoice::Tcg => warnings.push(
                "--accel tcg: the installation is emulated, which is many times slower than KVM; \
                 give it a long --timeout"
                    .to_string(),
            ),
            AccelChoice::Kvm | AccelChoice::Auto => match kvm_usable(host, qemu) {
                Ok(()) => accel = Accel::Kvm,
                Err(reason) if request.accel == AccelChoice::Kvm => {
                    problems.push(format!("KVM is not usable: {reason}"));
                }
                Err(reason) => warnings.push(format!(
                    "KVM is not usable: {reason}; installing with TCG emulation instead, which is many \
                     times slower (give it a long --timeout, or build on a host with KVM)"
                )),
            },
        }
    }

    match (qemu, version) {
        (Some(qemu), Some(esxi_version)) if problems.is_empty() => Ok(Ready {
            qemu,
            accel,
            ovmf,
            esxi_version,
            warnings,
        }),
        _ => Err(Problems(problems)),
    }
}

/// Whether KVM can run a guest: the CPU flag, the device, and a tiny guest that must power off.
pub fn kvm_usable(host: &Host, qemu: &Path) -> Result<(), String> {
    let cpuinfo = std::fs::read_to_string(&host.cpuinfo)
        .map_err(|e| format!("cannot read {}: {e}", host.cpuinfo.display()))?;
    if !has_virtualisation_flag(&cpuinfo) {
        return Err(format!(
            "the CPU offers no hardware virtualisation (no vmx or svm flag in {}); on a virtual build \
             host, enable nested virtualisation",
            host.cpuinfo.display()
        ));
    }
    if let Err(e) = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&host.kvm_device)
    {
        let hint = match e.kind() {
            ErrorKind::NotFound => "; load the kvm_intel or kvm_amd module",
            ErrorKind::PermissionDenied => "; add the user to the `kvm` group",
            _ => "",
        };
        return Err(format!(
            "cannot open {}: {e}{hint}",
            host.kvm_device.display()
        ));
    }
    probe(qemu, Accel::Kvm).map_err(|e| format!("{e:#}"))
}

/// Boots a one-instruction guest with `accel` and expects it to power off within [`PROBE_TIMEOUT`]: a KVM
/// that opens but cannot run a guest (QEMU aborts, or the guest never runs) is found here, not an hour
/// into a build.
pub fn probe(qemu: &Path, accel: Accel) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("maas-esxi-probe-")
        .tempdir()
        .context("creating a directory for the KVM probe")?;
    let disk = dir.path().join("probe.img");
    // SeaBIOS does not boot a disk of one sector; 1 MiB (sparse) is plenty.
    std::fs::write(&disk, POWER_OFF_BOOT_SECTOR)
        .and_then(|()| File::options().write(true).open(&disk)?.set_len(1 << 20))
        .with_context(|| format!("writing {}", disk.display()))?;
    let machine = Machine {
        name: "maas-esxi-probe".to_string(),
        accel,
        firmware: Firmware::Bios,
        memory_mib: 32,
        cpus: 1,
        disk,
        cdrom: None,
        usb: None,
        qmp: dir.path().join("qmp.sock"),
        serial: dir.path().join("serial.log"),
    };
    let log = dir.path().join("qemu.log");
    let outcome = driver::run(
        &driver::Run {
            qemu,
            machine: &machine,
            boot: &[],
            keys: KeyTiming::default(),
            timeout: PROBE_TIMEOUT,
            log: &log,
            screendump: None,
        },
        &mut |_| {},
    )?;
    match outcome.end {
        End::PoweredOff => Ok(()),
        End::Exited {
            status,
            stderr_tail,
        } => anyhow::bail!(
            "a test guest made QEMU exit ({status}): {}",
            stderr_tail.trim()
        ),
        End::TimedOut { .. } => anyhow::bail!(
            "a test guest did not power off within {} s",
            PROBE_TIMEOUT.as_secs()
        ),
        End::Rebooted => anyhow::bail!("a test guest rebooted instead of powering off"),
        End::Shutdown { reason } => anyhow::bail!("a test guest stopped with reason {reason}"),
    }
}

/// A boot sector that powers the machine off at once: it writes SLP_EN with sleep type 0 (S5) to the
/// ACPI PM1a control register, which SeaBIOS places at I/O port 0x604 on q35.
pub const POWER_OFF_BOOT_SECTOR: [u8; 512] = boot_sector(&[
    0xBA, 0x04, 0x06, // mov dx, 0x604
    0xB8, 0x00, 0x20, // mov ax, 0x2000
    0xEF, //             out dx, ax
    0xF4, //             hlt
    0xEB, 0xFD, //       jmp back to hlt
]);

/// 16-bit code padded to a 512-byte MBR boot sector with its 0x55 0xAA signature.
pub const fn boot_sector(code: &[u8]) -> [u8; 512] {
    let mut sector = [0u8; 512];
    let mut i = 0;
    while i < code.len() && i < 510 {
        sector[i] = code[i];
        i += 1;
    }
    sector[510] = 0x55;
    sector[511] = 0xAA;
    sector
}

/// Finds an executable `name` in the directories of `path`.
pub fn find_program(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The ISO can be read and is an ISO 9660 image (the primary volume descriptor's `CD001` at sector 16).
fn check_iso(iso: &Path) -> Result<(), String> {
    let mut file =
        File::open(iso).map_err(|e| format!("cannot read the ISO {}: {e}", iso.display()))?;
    let mut id = [0u8; 5];
    let read = file
        .seek(SeekFrom::Start(16 * 2048 + 1))
        .and_then(|_| file.read_exact(&mut id));
    match read {
        Ok(()) if &id == b"CD001" => Ok(()),
        Ok(()) => Err(format!(
            "{} is not an ISO 9660 image (no `CD001` at byte 32769); pass the VMware ESXi installer ISO",
            iso.display()
        )),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Err(format!(
            "{} is too small to be an ISO 9660 image; pass the VMware ESXi installer ISO",
            iso.display()
        )),
        Err(e) => Err(format!("cannot read the ISO {}: {e}", iso.display())),
    }
}

fn has_virtualisation_flag(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags"))
        .filter_map(|line| line.split_once(':'))
        .any(|(_, flags)| flags.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// Free bytes for an unprivileged user on the filesystem that holds `dir` (or its nearest existing
/// ancestor).
fn free_space(dir: &Path) -> anyhow::Result<u64> {
    let existing = dir
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or_else(|| Path::new("."));
    let stat = rustix::fs::statvfs(existing)
        .with_context(|| format!("reading the free space of {}", existing.display()))?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

fn space_problem(free: u64, needed: u64, work: &Path, disk: Size) -> Option<String> {
    (free < needed).then(|| {
        format!(
            "{} has {} free, the build needs about {} there (the {disk} disk image is sparse: the \
             installation writes a few GiB of it, and the ISO is copied); choose another place with \
             --keep-work DIR",
            work.display(),
            units::human_bytes(free),
            units::human_bytes(needed),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_flags() {
        assert!(has_virtualisation_flag(
            "processor\t: 0\nflags\t\t: fpu vme de pse msr vmx sse2\n"
        ));
        assert!(has_virtualisation_flag("flags\t\t: fpu svm\n"));
        assert!(!has_virtualisation_flag(
            "flags\t\t: fpu vmxnet svmx\nvmx flags\t: ept\n"
        ));
    }

    #[test]
    fn space_messages_name_the_directory_and_the_way_out() {
        assert_eq!(
            space_problem(
                9 << 30,
                8 << 30,
                Path::new("/w"),
                Size::from_bytes(32 << 30)
            ),
            None
        );
        assert_eq!(
            space_problem(
                2 << 30,
                8 << 30,
                Path::new("/w"),
                Size::from_bytes(32 << 30)
            ),
            Some(
                "/w has 2.0 GiB free, the build needs about 8.0 GiB there (the 32G disk image is \
                 sparse: the installation writes a few GiB of it, and the ISO is copied); choose \
                 another place with --keep-work DIR"
                    .to_string()
            )
        );
    }

    #[test]
    fn the_probe_boot_sector_is_a_boot_sector() {
        assert_eq!(POWER_OFF_BOOT_SECTOR[..3], [0xBA, 0x04, 0x06]);
        assert_eq!(POWER_OFF_BOOT_SECTOR[510..], [0x55, 0xAA]);
        assert!(POWER_OFF_BOOT_SECTOR[10..510].iter().all(|&b| b == 0));
    }
}
