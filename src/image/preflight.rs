//! Checks the build host before the build writes anything big: the ISO, QEMU, KVM, OVMF and free space.
//! Every problem found is reported at once, each with what to do about it.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::binary;
use super::rejected::Rejected;
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
    /// The directory that will hold the disk image and the logs (it may not exist yet).
    pub work: &'a Path,
    /// The image file to write.
    pub out: &'a Path,
    /// The maas-esxi binary for the image; `None` is the running executable.
    pub binary: Option<&'a Path>,
    pub disk_size: Size,
    pub uefi: bool,
    pub accel: AccelChoice,
    /// `--timeout` as given; `None` is [`DEFAULT_TIMEOUT`], which only an installation with KVM gets.
    pub timeout: Option<Duration>,
}

/// What the build needs besides the host: the ESXi version of its ISO (an error for an ISO that is not an
/// ESXi installer) and the kickstart (an error for a root password ESXi would refuse).
pub trait Inputs {
    fn esxi_version(&self, iso: &Path) -> anyhow::Result<String>;
    fn check_kickstart(&self) -> anyhow::Result<()>;
}

/// A host that passed: what the build runs with.
#[derive(Clone, Debug)]
pub struct Ready {
    pub qemu: PathBuf,
    pub accel: Accel,
    /// The installation's time limit.
    pub timeout: Duration,
    /// OVMF (code, variable template) for `--uefi`.
    pub ovmf: Option<(PathBuf, PathBuf)>,
    /// The ESXi version the installer ISO carries.
    pub esxi_version: String,
    /// Things the user should know that do not stop the build, e.g. falling back to TCG.
    pub warnings: Vec<String>,
}

/// The installation's time limit when `--timeout` is not given: packer-maas's, for KVM.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// One reason a command cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub text: String,
    /// The operator's input is wrong (the ISO, the password), rather than the host.
    pub input: bool,
}

impl Problem {
    /// A problem with the host: a missing tool, a directory, space.
    pub fn host(text: impl Into<String>) -> Problem {
        Problem {
            text: text.into(),
            input: false,
        }
    }

    /// The problem an error describes: the operator's input when it is [`Rejected`] (an ISO that is not an
    /// ESXi installer, a root password ESXi refuses), else the host's (a file that cannot be read).
    pub fn of(error: &anyhow::Error) -> Problem {
        match error.downcast_ref::<Rejected>() {
            Some(rejected) => Problem {
                text: match &rejected.help {
                    Some(help) => format!("{}; {help}", rejected.message),
                    None => rejected.message.clone(),
                },
                input: true,
            },
            None => Problem::host(format!("{error:#}")),
        }
    }
}

/// Every reason a command cannot start, as one error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems {
    /// What cannot happen, e.g. "the build cannot start".
    pub title: &'static str,
    pub problems: Vec<Problem>,
}

impl Problems {
    /// 3 when the host is not ready, else 1: only the operator's input is wrong.
    pub fn exit_status(&self) -> u8 {
        if self.problems.iter().all(|p| p.input) {
            1
        } else {
            3
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.title)?;
        for problem in &self.problems {
            write!(f, "\n  - {}", problem.text)?;
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

/// The room the image needs, in ISOs: the installed system is mostly the ISO's modules, which are
/// compressed already, so the image is about as large as the ISO; this leaves as much again.
const IMAGE_PER_ISO: u64 = 2;

/// Checks everything and lists every problem found.
pub fn check(request: &Request<'_>, host: &Host, inputs: &dyn Inputs) -> Result<Ready, Problems> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    let version = match check_iso(request.iso) {
        Ok(()) => match inputs.esxi_version(request.iso) {
            Ok(version) => Some(version),
            Err(e) => {
                problems.push(Problem::of(&e));
                None
            }
        },
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    if let Err(e) = inputs.check_kickstart() {
        problems.push(Problem::of(&e));
    }

    let qemu = find_program(qemu::QEMU, &host.path);
    if qemu.is_none() {
        problems.push(Problem::host(format!(
            "{} is not on PATH; install it (Debian and Ubuntu: `apt-get install qemu-system-x86`)",
            qemu::QEMU
        )));
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
            problems.push(Problem::host(format!(
                "--uefi needs the OVMF firmware, looked for {}; install it (`apt-get install ovmf`) \
                 or build with BIOS",
                looked.join(" or ")
            )));
        }
        found
    } else {
        None
    };

    match binary::path_or_current(request.binary) {
        Ok(path) => match binary::inspect(&path) {
            Ok(binary) => warnings.extend(binary.warnings),
            Err(problem) => problems.push(Problem::host(problem)),
        },
        Err(e) => problems.push(Problem::host(format!("{e:#}"))),
    }

    let output_ok = output_problems(request.out, &mut problems);
    if output_ok {
        let iso = std::fs::metadata(request.iso).map_or(0, |m| m.len());
        let work = Need {
            dir: request.work,
            bytes: request.disk_size.bytes().min(INSTALL_WRITES) + iso,
            what: format!(
                "the {} disk image is sparse: the installation writes a few GiB of it, and the ISO is \
                 copied",
                request.disk_size
            ),
        };
        let image = Need {
            dir: &parent(request.out),
            bytes: iso.saturating_mul(IMAGE_PER_ISO),
            what: "the image, about as large as the ISO".to_string(),
        };
        problems.extend(
            space_problems(&[work, image])
                .into_iter()
                .map(Problem::host),
        );
    }

    let mut accel = Accel::Tcg;
    let timeout = request.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if let Some(qemu) = &qemu {
        let fallback = match request.accel {
            AccelChoice::Tcg => None,
            AccelChoice::Kvm | AccelChoice::Auto => match kvm_usable(host, qemu) {
                Ok(()) => {
                    accel = Accel::Kvm;
                    None
                }
                Err(reason) if request.accel == AccelChoice::Kvm => {
                    problems.push(Problem::host(format!("KVM is not usable: {reason}")));
                    None
                }
                Err(reason) => Some(reason),
            },
        };
        if accel == Accel::Tcg && !problems.iter().any(|p| p.text.starts_with("KVM")) {
            let default = units::clock(DEFAULT_TIMEOUT);
            match (fallback, request.timeout) {
                (None, Some(given)) => warnings.push(format!(
                    "--accel tcg: the installation is emulated, many times slower than with KVM; it \
                     has --timeout {}",
                    units::clock(given)
                )),
                (None, None) => problems.push(Problem::host(format!(
                    "--accel tcg: the installation is emulated, many times slower than with KVM, and \
                     the default --timeout {default} is for KVM; give the emulation the hours it needs \
                     with --timeout"
                ))),
                (Some(reason), Some(given)) => warnings.push(format!(
                    "KVM is not usable: {reason}; installing with TCG emulation instead, many times \
                     slower, within --timeout {}",
                    units::clock(given)
                )),
                (Some(reason), None) => problems.push(Problem::host(format!(
                    "KVM is not usable: {reason}; without it the installation is emulated (TCG), many \
                     times slower, and the default --timeout {default} is for KVM: build on a host with \
                     KVM, or choose emulation with --accel tcg and a --timeout of several hours"
                ))),
            }
        }
    }

    match (qemu, version) {
        (Some(qemu), Some(esxi_version)) if problems.is_empty() => Ok(Ready {
            qemu,
            accel,
            timeout,
            ovmf,
            esxi_version,
            warnings,
        }),
        _ => Err(Problems {
            title: "the build cannot start",
            problems,
        }),
    }
}

/// Checks that `out` can be written as a new file: it names no directory and its directory exists and
/// takes new files. Pushes each problem; true when there were none.
pub fn output_problems(out: &Path, problems: &mut Vec<Problem>) -> bool {
    let before = problems.len();
    let dir = parent(out);
    if out.is_dir() {
        problems.push(Problem::host(format!(
            "--out {} is a directory; name the image file, e.g. --out {}",
            out.display(),
            out.join("vmware-esxi.dd.gz").display()
        )));
    } else if !dir.exists() {
        problems.push(Problem::host(format!(
            "{}, the directory of --out, does not exist; create it, or choose another --out",
            dir.display()
        )));
    } else if !dir.is_dir() {
        problems.push(Problem::host(format!(
            "{}, the directory of --out, is not a directory",
            dir.display()
        )));
    } else if let Err(e) = tempfile::tempfile_in(&dir) {
        problems.push(Problem::host(format!(
            "cannot create files in {}, the directory of --out: {e}",
            dir.display()
        )));
    }
    problems.len() == before
}

/// The directory a file is in: `.` for a bare file name.
pub fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Room a command needs in a directory, and what for.
#[derive(Clone, Debug)]
pub struct Need<'a> {
    pub dir: &'a Path,
    pub bytes: u64,
    pub what: String,
}

/// What lacks room: needs of directories on one file system add up, and each file system short of
/// space is one problem that names the directories and what they hold.
pub fn space_problems(needs: &[Need<'_>]) -> Vec<String> {
    let mut problems = Vec::new();
    // (file system, free bytes, the needs on it), in the order of the needs.
    let mut filesystems: Vec<(u64, u64, Vec<&Need<'_>>)> = Vec::new();
    for need in needs {
        let existing = need
            .dir
            .ancestors()
            .find(|a| a.exists())
            .unwrap_or_else(|| Path::new("."));
        let (device, free) = match (std::fs::metadata(existing), free_space(existing)) {
            (Ok(meta), Ok(free)) => (meta.dev(), free),
            (Err(e), _) => {
                problems.push(format!("cannot read {}: {e}", existing.display()));
                continue;
            }
            (_, Err(e)) => {
                problems.push(format!("{e:#}"));
                continue;
            }
        };
        match filesystems.iter_mut().find(|(d, _, _)| *d == device) {
            Some((_, _, on_it)) => on_it.push(need),
            None => filesystems.push((device, free, vec![need])),
        }
    }
    for (_, free, on_it) in filesystems {
        let needed: u64 = on_it.iter().map(|n| n.bytes).sum();
        if let Some(problem) = space_problem(free, needed, &on_it) {
            problems.push(problem);
        }
    }
    problems
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
fn check_iso(iso: &Path) -> Result<(), Problem> {
    let unreadable =
        |e: std::io::Error| Problem::host(format!("cannot read the ISO {}: {e}", iso.display()));
    let mut file = File::open(iso).map_err(unreadable)?;
    let mut id = [0u8; 5];
    let read = file
        .seek(SeekFrom::Start(16 * 2048 + 1))
        .and_then(|_| file.read_exact(&mut id));
    match read {
        Ok(()) if &id == b"CD001" => Ok(()),
        Ok(()) => Err(Problem {
            text: format!(
                "{} is not an ISO 9660 image (no `CD001` at byte 32769); pass the VMware ESXi installer \
                 ISO",
                iso.display()
            ),
            input: true,
        }),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Err(Problem {
            text: format!(
                "{} is too small to be an ISO 9660 image; pass the VMware ESXi installer ISO",
                iso.display()
            ),
            input: true,
        }),
        Err(e) => Err(unreadable(e)),
    }
}

fn has_virtualisation_flag(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags"))
        .filter_map(|line| line.split_once(':'))
        .any(|(_, flags)| flags.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// Free bytes for an unprivileged user on the file system that holds `dir`.
pub fn free_space(dir: &Path) -> anyhow::Result<u64> {
    let stat = rustix::fs::statvfs(dir)
        .with_context(|| format!("reading the free space of {}", dir.display()))?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

fn space_problem(free: u64, needed: u64, needs: &[&Need<'_>]) -> Option<String> {
    (free < needed).then(|| {
        let parts: Vec<String> = needs
            .iter()
            .map(|n| {
                format!(
                    "{} in {} ({})",
                    units::human_bytes(n.bytes),
                    n.dir.display(),
                    n.what
                )
            })
            .collect();
        format!(
            "not enough space: {} free where the build needs about {}: {}; free some space, or choose \
             other places with --keep-work DIR and --out",
            units::human_bytes(free),
            units::human_bytes(needed),
            parts.join(", ")
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
    fn space_messages_name_the_directories_and_the_way_out() {
        let work = Need {
            dir: Path::new("/w"),
            bytes: 6 << 30,
            what: "the disk".to_string(),
        };
        let out = Need {
            dir: Path::new("/o"),
            bytes: 2 << 30,
            what: "the image".to_string(),
        };
        assert_eq!(space_problem(9 << 30, 8 << 30, &[&work, &out]), None);
        assert_eq!(
            space_problem(2 << 30, 8 << 30, &[&work, &out]).as_deref(),
            Some(
                "not enough space: 2.0 GiB free where the build needs about 8.0 GiB: 6.0 GiB in /w (the \
                 disk), 2.0 GiB in /o (the image); free some space, or choose other places with \
                 --keep-work DIR and --out"
            )
        );
    }

    #[test]
    fn needs_on_one_file_system_add_up() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let free = free_space(dir.path()).expect("free space");
        let half = Need {
            dir: dir.path(),
            bytes: free / 2 + 1,
            what: "half".to_string(),
        };
        assert!(space_problems(std::slice::from_ref(&half)).is_empty());
        let problems = space_problems(&[half.clone(), half]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("not enough space: "),
            "{problems:?}"
        );
    }

    #[test]
    fn the_probe_boot_sector_is_a_boot_sector() {
        assert_eq!(POWER_OFF_BOOT_SECTOR[..3], [0xBA, 0x04, 0x06]);
        assert_eq!(POWER_OFF_BOOT_SECTOR[510..], [0x55, 0xAA]);
        assert!(POWER_OFF_BOOT_SECTOR[10..510].iter().all(|&b| b == 0));
    }
}
