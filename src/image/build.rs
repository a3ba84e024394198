//! `image build`: install ESXi from its ISO in QEMU, then finalize the disk.
//!
//! The steps: preflight; the kickstart USB image and the boot options (written into a copy of the ISO, or
//! typed at the boot prompt); QEMU until the installer powers the VM off; finalize into `.dd.gz`. The
//! media and finalize steps are behind [`Media`] and [`Finalize`], implemented by the modules that write
//! those formats. stdout gets one line, the `maas … boot-resources create` command that uploads the image;
//! progress and messages go to stderr.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::finalize;
use super::media::{iso, kickstart, usb};
use super::preflight::{self, AccelChoice, Host, Inputs, Ready};
use super::progress::{self, Progress, Verbosity};
use super::units::{self, Size};
use super::vm::driver::{self, End, KeyTiming, Phase, Step};
use super::vm::keymap::Key;
use super::vm::qemu::{Accel, Firmware, Machine, display_argv};
use crate::render::shell_quote;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The VMware ESXi installer ISO.
    #[arg(long)]
    pub iso: PathBuf,
    /// Where to write the MAAS image.
    #[arg(long, default_value = "vmware-esxi.dd.gz")]
    pub out: PathBuf,
    /// Size of the disk ESXi installs to, at least 32G (ESXi 7 and later need it; a sparse file).
    #[arg(long, default_value = "32G", value_parser = units::parse_disk_size, value_name = "SIZE")]
    pub disk_size: Size,
    /// Memory of the installation VM, at least 8G (ESXi 7 and later need it).
    #[arg(long, default_value = "8G", value_parser = units::parse_memory, value_name = "SIZE")]
    pub memory: Size,
    /// Virtual CPUs of the installation VM, at least 2 (ESXi needs two cores).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=255))]
    pub cpus: u32,
    /// Stop the installation after this long, e.g. 1h, 90m, 1h30m [default: 1h with KVM; required with
    /// TCG emulation, which is many times slower].
    #[arg(long, value_parser = units::parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Boot the installer with UEFI (OVMF) instead of BIOS.
    #[arg(long)]
    pub uefi: bool,
    /// Work in DIR and keep it: disk.raw, usb.img, esxi.iso, serial.log, qemu.log. Without it a temporary
    /// directory next to --out is used, removed after success and kept (without the disk) after a failure.
    #[arg(long, value_name = "DIR")]
    pub keep_work: Option<PathBuf>,
    /// The accelerator: KVM, TCG emulation, or KVM when it works and TCG (with a warning) when not.
    #[arg(long, value_enum, default_value_t = AccelChoice::Auto)]
    pub accel: AccelChoice,
    /// How the installer gets its boot options: written into a copy of the ISO (typing them when that is
    /// not possible), or typed at the boot prompt.
    #[arg(long, value_enum, default_value_t = BootMethod::Iso)]
    pub boot_method: BootMethod,
    /// How fast boot options are typed (not an option: the default suits ESXi's boot prompt).
    #[arg(skip)]
    pub keys: KeyTiming,
    /// The root password of the image, and the rest of the kickstart.
    #[command(flatten)]
    pub kickstart: kickstart::Options,
    /// The maas-esxi binary to put into the image for the curtin hook (default: this executable).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
}

/// How the boot options reach the installer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BootMethod {
    /// In `BOOT.CFG` of a copy of the ISO; typed when the copy cannot be patched.
    Iso,
    /// Typed at the boot prompt through QMP `send-key`, as packer-maas does over VNC.
    Keys,
}

/// The installer's boot options: the kickstart on the USB stick and the installer's log console on COM1
/// (the serial log), plus the two that let ESXi install in a VM onto a 32 GiB disk.
pub use super::media::kickstart::BOOT_OPTIONS;

/// The kickstart and ISO formats the build needs; preflight reads the ISO's version and checks the
/// kickstart through [`Inputs`].
pub trait Media: Inputs {
    /// Writes the USB stick image holding `KS.CFG`.
    fn write_kickstart_usb(&self, usb: &Path) -> anyhow::Result<()>;
    /// Copies `iso` to `copy` with `options` appended to the kernel options of its boot configuration.
    fn patch_iso(&self, iso: &Path, copy: &Path, options: &str) -> anyhow::Result<Patch>;
}

/// Whether the boot options could be written into the ISO copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Patch {
    Patched,
    /// Not patched, with the reason; the options are typed instead.
    NotPatched(String),
}

/// Turns the installed raw disk into the MAAS image.
pub trait Finalize {
    fn finalize(&self, raw: &Path, out: &Path) -> anyhow::Result<()>;
}

/// A finished build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub out: PathBuf,
    pub esxi_version: String,
}

/// Runs `image build`: the build, then the upload command on stdout.
pub fn run(args: &Args, verbosity: Verbosity) -> anyhow::Result<u8> {
    let mut progress = Progress::stderr(verbosity);
    let steps = Steps { args, verbosity };
    let built = build(args, &steps, &steps, &Host::current(), &mut progress)?;
    println!("{}", upload_command(&built.esxi_version, &built.out));
    Ok(0)
}

/// The installation did not end with the installer powering the VM off: it timed out, rebooted, or QEMU
/// stopped. The command exits 4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallFailed(pub String);

impl std::fmt::Display for InstallFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InstallFailed {}

/// Runs the whole build; returns what `run` needs to print the upload command.
pub fn build(
    args: &Args,
    media: &dyn Media,
    finalize: &dyn Finalize,
    host: &Host,
    progress: &mut Progress,
) -> anyhow::Result<Built> {
    let work_parent = match &args.keep_work {
        Some(dir) => dir.clone(),
        None => preflight::parent(&args.out),
    };
    let ready = preflight::check(
        &preflight::Request {
            iso: &args.iso,
            work: &work_parent,
            out: &args.out,
            binary: args.binary.as_deref(),
            disk_size: args.disk_size,
            uefi: args.uefi,
            accel: args.accel,
            timeout: args.timeout,
        },
        host,
        media,
    )?;
    for warning in &ready.warnings {
        progress.warn(warning);
    }
    let work = WorkDir::create(args.keep_work.as_deref(), &args.out)?;
    progress.note(&format!(
        "ESXi {} from {}; work directory {}",
        ready.esxi_version,
        args.iso.display(),
        work.path().display()
    ));
    if let Err(e) = install(args, media, &ready, &work, progress) {
        return Err(work.failed(e));
    }
    progress.note(&format!("finalizing {}", args.out.display()));
    if let Err(e) = finalize.finalize(&work.file(DISK), &args.out) {
        return Err(work.failed(e.context("the build failed while finalizing the image")));
    }
    work.finish();
    progress.note(&format!("wrote {}", args.out.display()));
    Ok(Built {
        out: args.out.clone(),
        esxi_version: ready.esxi_version,
    })
}

/// The command that uploads the image to MAAS (`$PROFILE` is the user's MAAS CLI profile).
pub fn upload_command(esxi_version: &str, out: &Path) -> String {
    format!(
        "maas $PROFILE boot-resources create name={} title={} architecture='amd64/generic' \
         filetype='ddgz' content@={}",
        shell_quote(&format!("esxi/{}", release_name(esxi_version))),
        shell_quote(&format!("VMware ESXi {esxi_version}")),
        shell_quote(&out.to_string_lossy())
    )
}

/// The boot sequence typed at the installer's boot prompt: packer-maas's, as QMP keys. With BIOS the
/// first Enter leaves the ISOLINUX menu; then Shift+O opens the boot options of ESXi's loader, and the
/// options are appended to the ones it shows.
pub fn typed_boot(firmware: &Firmware) -> Vec<Step> {
    let mut steps = vec![Step::Wait(Duration::from_secs(3))];
    if *firmware == Firmware::Bios {
        steps.push(Step::Press(Key::Enter));
        steps.push(Step::Wait(Duration::from_secs(1)));
    }
    steps.push(Step::Press(Key::Shift));
    steps.push(Step::Type("O".to_string()));
    steps.push(Step::Type(format!(" {BOOT_OPTIONS}")));
    steps.push(Step::Press(Key::Enter));
    steps
}

/// Explains a run that did not end with the guest powering off; `timeout` is the run's limit.
pub fn failure(end: &End, serial: &str, timeout: Duration) -> Option<String> {
    let last = if serial.is_empty() {
        String::new()
    } else {
        format!("; its last console line was: {serial}")
    };
    let text = match end {
        End::PoweredOff => return None,
        End::Rebooted => format!(
            "the installer rebooted instead of powering off (the kickstart's %post must halt; a purple \
             diagnostic screen also reboots){last}"
        ),
        End::Shutdown { reason } => {
            format!("QEMU stopped the VM ({reason}) before the installation finished{last}")
        }
        End::TimedOut { .. } => format!(
            "the installation did not finish within --timeout {}{last}",
            units::clock(timeout)
        ),
        End::Exited {
            status,
            stderr_tail,
        } => {
            let stderr = if stderr_tail.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", indent(stderr_tail.trim_end()))
            };
            format!("QEMU exited ({status}) before the VM powered off{stderr}")
        }
    };
    Some(text)
}

/// The media and finalize steps as `run` uses them: the kickstart, USB, ISO and finalize modules.
#[derive(Debug)]
struct Steps<'a> {
    args: &'a Args,
    verbosity: Verbosity,
}

impl Inputs for Steps<'_> {
    fn esxi_version(&self, iso: &Path) -> anyhow::Result<String> {
        let info = iso::inspect(iso)?;
        Ok(info.version.map_or(info.volume_id, |v| v.name))
    }

    fn check_kickstart(&self) -> anyhow::Result<()> {
        kickstart::render(&self.args.kickstart).map(drop)
    }
}

impl Media for Steps<'_> {
    fn write_kickstart_usb(&self, usb: &Path) -> anyhow::Result<()> {
        let ks = kickstart::render(&self.args.kickstart)?;
        usb::write_kickstart_image(usb, ks.as_bytes())
    }

    fn patch_iso(&self, iso: &Path, copy: &Path, options: &str) -> anyhow::Result<Patch> {
        Ok(match iso::patch_boot_options(iso, copy, options)? {
            iso::Patched::InPlace(_) => Patch::Patched,
            iso::Patched::NotPossible(reason) => Patch::NotPatched(reason),
        })
    }
}

impl Finalize for Steps<'_> {
    fn finalize(&self, raw: &Path, out: &Path) -> anyhow::Result<()> {
        let mut options = finalize::Options::new(raw, out);
        options.binary = self.args.binary.clone();
        options.verbosity = self.verbosity;
        let report = finalize::finalize(&options)?;
        if self.verbosity >= Verbosity::Normal {
            eprint!("{report}");
        }
        Ok(())
    }
}

const DISK: &str = "disk.raw";
const USB: &str = "usb.img";
const ISO_COPY: &str = "esxi.iso";
const SERIAL: &str = "serial.log";
const QEMU_LOG: &str = "qemu.log";
const OVMF_VARS: &str = "OVMF_VARS.fd";
const SCREEN: &str = "screen.png";

/// A Unix socket path must fit in 108 bytes; longer work paths put the QMP socket in a temporary directory.
const SOCKET_PATH_MAX: usize = 100;

/// The media, the disk and QEMU: everything up to the guest powering off.
fn install(
    args: &Args,
    media: &dyn Media,
    ready: &Ready,
    work: &WorkDir,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let usb = work.file(USB);
    media
        .write_kickstart_usb(&usb)
        .context("the build failed while writing the kickstart USB image")?;

    let firmware = match &ready.ovmf {
        Some((code, vars_template)) => {
            let vars = work.file(OVMF_VARS);
            std::fs::copy(vars_template, &vars).with_context(|| {
                format!(
                    "copying the UEFI variable store {} to {}",
                    vars_template.display(),
                    vars.display()
                )
            })?;
            Firmware::Uefi {
                code: code.clone(),
                vars,
            }
        }
        None => Firmware::Bios,
    };

    let (cdrom, boot) = boot_media(args, media, work, &firmware, progress);

    let disk = work.file(DISK);
    File::create(&disk)
        .and_then(|f| f.set_len(args.disk_size.bytes()))
        .with_context(|| {
            format!(
                "creating the {} disk image {}",
                args.disk_size,
                disk.display()
            )
        })?;

    let socket_dir;
    let qmp = if work.file("qmp.sock").as_os_str().len() <= SOCKET_PATH_MAX {
        work.file("qmp.sock")
    } else {
        socket_dir = tempfile::Builder::new()
            .prefix("maas-esxi-qmp-")
            .tempdir()
            .context("creating a directory for the QMP socket")?;
        socket_dir.path().join("qmp.sock")
    };

    let machine = Machine {
        name: "maas-esxi-build".to_string(),
        accel: ready.accel,
        firmware,
        memory_mib: args.memory.mib(),
        cpus: args.cpus,
        disk,
        cdrom: Some(cdrom),
        usb: Some(usb),
        qmp,
        serial: work.file(SERIAL),
    };
    let screen = work.file(SCREEN);
    let log = work.file(QEMU_LOG);
    progress.detail(&format!(
        "QEMU command line:\n{}",
        display_argv(ready.qemu.as_os_str(), &machine.argv())
    ));
    progress.note(&format!(
        "installing with QEMU ({}), timeout {}; serial log {}",
        match ready.accel {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
        },
        units::clock(ready.timeout),
        machine.serial.display()
    ));
    let outcome = driver::run(
        &driver::Run {
            qemu: &ready.qemu,
            machine: &machine,
            boot: &boot,
            keys: args.keys,
            timeout: ready.timeout,
            log: &log,
            screendump: Some(&screen),
        },
        &mut |status| {
            progress.status(&progress::Line {
                phase: phase_label(status.phase),
                elapsed: status.elapsed,
                disk_bytes: status.disk_bytes,
                serial: status.serial,
            });
        },
    );
    progress.clear();
    let outcome = outcome.context("the build failed while running QEMU")?;
    let phase = match outcome.end {
        End::TimedOut { phase } => phase,
        _ => Phase::Guest,
    };
    if let Some(text) = failure(&outcome.end, &outcome.serial, ready.timeout) {
        let mut message = format!("the build failed while {}: {text}", phase_label(phase));
        if let Some(screen) = &outcome.screendump {
            message.push_str(&format!("\n  screen at the timeout: {}", screen.display()));
        }
        return Err(InstallFailed(message).into());
    }
    progress.note(&format!(
        "the installer powered the VM off after {}",
        units::clock(outcome.elapsed)
    ));
    Ok(())
}

/// The ISO QEMU boots and the keys to type: the patched copy and none, or the original and the typed
/// boot sequence.
fn boot_media(
    args: &Args,
    media: &dyn Media,
    work: &WorkDir,
    firmware: &Firmware,
    progress: &mut Progress,
) -> (PathBuf, Vec<Step>) {
    let typed = |progress: &mut Progress| {
        if *firmware != Firmware::Bios {
            progress.warn(
                "typing the boot options under UEFI depends on the loader's countdown; \
                 check the serial log if the installer does not find its kickstart",
            );
        }
        (args.iso.clone(), typed_boot(firmware))
    };
    if args.boot_method == BootMethod::Keys {
        progress.note("boot options: typed at the boot prompt");
        return typed(progress);
    }
    let copy = work.file(ISO_COPY);
    match media.patch_iso(&args.iso, &copy, BOOT_OPTIONS) {
        Ok(Patch::Patched) => {
            progress.note("boot options: written into the ISO copy");
            (copy, Vec::new())
        }
        Ok(Patch::NotPatched(reason)) => {
            progress.note(&format!(
                "boot options: {reason}; typing them at the boot prompt instead"
            ));
            typed(progress)
        }
        Err(e) => {
            progress.note(&format!(
                "boot options: the ISO copy could not be patched ({e:#}); typing them at the boot \
                 prompt instead"
            ));
            typed(progress)
        }
    }
}

fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Starting => "starting QEMU",
        Phase::Boot => "booting the installer",
        Phase::Guest => "installing ESXi",
    }
}

/// `8.0U3` → `8.0u3`: the version as a MAAS image name component.
fn release_name(version: &str) -> String {
    let mut name = String::new();
    for c in version.trim().chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '.' => name.push(c.to_ascii_lowercase()),
            _ if name.ends_with('-') || name.is_empty() => {}
            _ => name.push('-'),
        }
    }
    name.trim_end_matches('-').to_string()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The build's work directory: `--keep-work DIR`, or a temporary directory next to the output.
struct WorkDir {
    path: PathBuf,
    temporary: Option<tempfile::TempDir>,
}

impl WorkDir {
    fn create(keep: Option<&Path>, out: &Path) -> anyhow::Result<WorkDir> {
        if let Some(dir) = keep {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the work directory {}", dir.display()))?;
            return Ok(WorkDir {
                path: dir.to_path_buf(),
                temporary: None,
            });
        }
        // The current directory by its name, so the paths shown do not read `/srv/./.maas-esxi-build-…`.
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::env::current_dir().context("finding the current directory")?,
        };
        let temporary = tempfile::Builder::new()
            .prefix(".maas-esxi-build-")
            .tempdir_in(&parent)
            .with_context(|| {
                format!(
                    "creating a work directory in {} (the directory of --out)",
                    parent.display()
                )
            })?;
        Ok(WorkDir {
            path: temporary.path().to_path_buf(),
            temporary: Some(temporary),
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Removes a temporary work directory after success.
    fn finish(self) {
        drop(self.temporary);
    }

    /// Keeps the logs after a failure and adds where they are to the error. A temporary directory
    /// loses the disk image and the ISO copy (gigabytes, and rebuilt by the next run).
    fn failed(self, error: anyhow::Error) -> anyhow::Error {
        let path = match self.temporary {
            Some(temporary) => {
                for big in [DISK, ISO_COPY] {
                    // Absent when the build failed before writing it.
                    let _ = std::fs::remove_file(self.path.join(big));
                }
                temporary.keep()
            }
            None => self.path,
        };
        let serial = path.join(SERIAL);
        let mut text = format!("{error:#}");
        if serial.exists() {
            text.push_str(&format!("\n  serial log: {}", serial.display()));
            text.push_str(&format!("\n  QEMU log: {}", path.join(QEMU_LOG).display()));
        }
        text.push_str(&format!("\n  work directory: {}", path.display()));
        if error.downcast_ref::<InstallFailed>().is_some() {
            InstallFailed(text).into()
        } else {
            anyhow::Error::msg(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_command_names_the_release() {
        assert_eq!(
            upload_command("8.0U3", Path::new("vmware-esxi.dd.gz")),
            "maas $PROFILE boot-resources create name='esxi/8.0u3' title='VMware ESXi 8.0U3' \
             architecture='amd64/generic' filetype='ddgz' content@='vmware-esxi.dd.gz'"
        );
        assert_eq!(
            upload_command("7.0 Update 3", Path::new("/srv/it's.dd.gz")),
            "maas $PROFILE boot-resources create name='esxi/7.0-update-3' title='VMware ESXi 7.0 Update \
             3' architecture='amd64/generic' filetype='ddgz' content@='/srv/it'\\''s.dd.gz'"
        );
    }

    #[test]
    fn the_typed_boot_matches_packer_maas() {
        let steps = typed_boot(&Firmware::Bios);
        assert_eq!(
            steps,
            [
                Step::Wait(Duration::from_secs(3)),
                Step::Press(Key::Enter),
                Step::Wait(Duration::from_secs(1)),
                Step::Press(Key::Shift),
                Step::Type("O".to_string()),
                Step::Type(
                    " ks=usb:/KS.CFG cpuUniformityHardCheckPanic=FALSE systemMediaSize=min \
                     com1_Port=0x3f8 tty2Port=com1"
                        .to_string()
                ),
                Step::Press(Key::Enter),
            ]
        );
        let uefi = typed_boot(&Firmware::Uefi {
            code: PathBuf::from("/c"),
            vars: PathBuf::from("/v"),
        });
        assert_eq!(
            uefi[1],
            Step::Press(Key::Shift),
            "no ISOLINUX menu under UEFI"
        );
    }

    #[test]
    fn failures_say_what_happened() {
        let hour = Duration::from_secs(3600);
        assert_eq!(failure(&End::PoweredOff, "", hour), None);
        assert_eq!(
            failure(&End::Rebooted, "VMB: 402: Loading /k.b00", hour).as_deref(),
            Some(
                "the installer rebooted instead of powering off (the kickstart's %post must halt; a \
                 purple diagnostic screen also reboots); its last console line was: VMB: 402: \
                 Loading /k.b00"
            )
        );
        assert_eq!(
            failure(
                &End::Exited {
                    status: "exit status: 1".to_string(),
                    stderr_tail: "qemu-system-x86_64: -accel kvm: could not open /dev/kvm\n"
                        .to_string()
                },
                "",
                hour
            )
            .as_deref(),
            Some(
                "QEMU exited (exit status: 1) before the VM powered off:\n    qemu-system-x86_64: \
                 -accel kvm: could not open /dev/kvm"
            )
        );
        assert_eq!(
            failure(
                &End::TimedOut {
                    phase: Phase::Guest
                },
                "",
                hour
            )
            .as_deref(),
            Some("the installation did not finish within --timeout 1:00:00")
        );
    }
}
