//! The QEMU command line as data, and the one place that starts `qemu-system-x86_64`.
//!
//! The hardware matches packer-maas's `vmware-esxi` template: a q35 machine, the disk on an extra ICH9
//! AHCI controller, a vmxnet3 NIC (ESXi 7 dropped e1000), and the kickstart on a USB stick. VNC is replaced
//! by QMP, the serial console goes to a file, and `-no-reboot` turns a guest reboot into QEMU's exit.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The QEMU binary the builder runs.
pub const QEMU: &str = "qemu-system-x86_64";

/// Where Debian's `ovmf` package puts the UEFI firmware: (code, variable template), preferred first.
pub const OVMF_CANDIDATES: [(&str, &str); 2] = [
    (
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/OVMF/OVMF_VARS_4M.fd",
    ),
    (
        "/usr/share/OVMF/OVMF_CODE.fd",
        "/usr/share/OVMF/OVMF_VARS.fd",
    ),
];

/// One virtual machine, as plain data; [`Machine::argv`] turns it into QEMU's arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub name: String,
    pub accel: Accel,
    pub firmware: Firmware,
    pub memory_mib: u64,
    pub cpus: u32,
    /// The raw disk the guest installs to; it is also the second boot device.
    pub disk: PathBuf,
    /// The installer ISO, attached read-only as a CD and booted first.
    pub cdrom: Option<PathBuf>,
    /// A raw image attached as a USB stick (the kickstart).
    pub usb: Option<PathBuf>,
    /// The QMP socket QEMU listens on.
    pub qmp: PathBuf,
    /// The file the guest's first serial port is written to.
    pub serial: PathBuf,
}

/// How QEMU runs guest code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation, with the host's CPU model.
    Kvm,
    /// Emulation, with QEMU's most capable CPU model. Slow.
    Tcg,
}

/// The guest firmware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default.
    Bios,
    /// OVMF: its read-only code and a writable copy of its variable store.
    Uefi { code: PathBuf, vars: PathBuf },
}

impl Machine {
    /// QEMU's arguments (without the program name), in a fixed order. QEMU starts paused (`-S`): the
    /// driver connects to QMP first, so it sees every event, and then sends `cont`.
    pub fn argv(&self) -> Vec<OsString> {
        let mut args = Argv::default();
        args.flag("-name").arg(&self.name);
        args.flag("-machine").arg("q35");
        match self.accel {
            Accel::Kvm => args.flag("-accel").arg("kvm").flag("-cpu").arg("host"),
            Accel::Tcg => args.flag("-accel").arg("tcg").flag("-cpu").arg("max"),
        };
        args.flag("-m").arg(self.memory_mib.to_string());
        args.flag("-smp").arg(self.cpus.to_string());
        if let Firmware::Uefi { code, vars } = &self.firmware {
            args.flag("-drive").arg(option(
                "if=pflash,format=raw,unit=0,readonly=on,file=",
                code,
            ));
            args.flag("-drive")
                .arg(option("if=pflash,format=raw,unit=1,file=", vars));
        }
        args.flag("-display").arg("none");
        args.flag("-S");
        args.flag("-no-reboot");
        args.flag("-chardev")
            .arg(option("socket,id=qmp,server=on,wait=off,path=", &self.qmp));
        args.flag("-mon").arg("chardev=qmp,mode=control");
        args.flag("-chardev")
            .arg(option("file,id=serial0,path=", &self.serial));
        args.flag("-serial").arg("chardev:serial0");
        args.flag("-netdev").arg("user,id=net0");
        args.flag("-device").arg("vmxnet3,netdev=net0");
        args.flag("-device").arg("ich9-ahci,id=sata");
        args.flag("-drive").arg(option(
            "if=none,id=disk0,format=raw,cache=writeback,discard=ignore,file=",
            &self.disk,
        ));
        args.flag("-device")
            .arg("ide-hd,drive=disk0,bus=sata.0,bootindex=1");
        if let Some(iso) = &self.cdrom {
            args.flag("-drive").arg(option(
                "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=",
                iso,
            ));
            args.flag("-device")
                .arg("ide-cd,drive=cd0,bus=sata.1,bootindex=0");
        }
        if let Some(usb) = &self.usb {
            args.flag("-usb");
            args.flag("-drive")
                .arg(option("if=none,id=usb0,format=raw,file=", usb));
            args.flag("-device").arg("usb-storage,drive=usb0");
        }
        args.0
    }
}

/// A running QEMU. Dropping it kills QEMU if it is still running, so no error path leaves one behind.
#[derive(Debug)]
pub struct Process {
    child: Child,
}

/// Starts QEMU for `machine`, its stderr going to `log`. This is the only place QEMU is spawned.
pub fn spawn(program: &Path, machine: &Machine, log: &Path) -> anyhow::Result<Process> {
    let stderr =
        File::create(log).with_context(|| format!("creating the QEMU log {}", log.display()))?;
    let child = Command::new(program)
        .args(machine.argv())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    Ok(Process { child })
}

impl Process {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if QEMU has exited.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .context("checking whether QEMU is running")
    }

    /// Waits up to `grace` for QEMU to exit on its own; `None` if it is still running.
    pub fn exit_within(&mut self, grace: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.exited()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `grace` for QEMU to exit on its own, then kills it; returns the exit status.
    pub fn wait_or_kill(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        match self.exit_within(grace)? {
            Some(status) => Ok(status),
            None => self.kill(),
        }
    }

    /// Kills QEMU and reaps it.
    pub fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.exited()? {
            return Ok(status);
        }
        self.child.kill().context("killing QEMU")?;
        self.child.wait().context("waiting for QEMU to exit")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Best effort: a drop cannot report a failure, and the process is ours to end.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The argv as one line per argument, for people and snapshots.
pub fn display_argv(program: &OsStr, argv: &[OsString]) -> String {
    let mut out = program.to_string_lossy().into_owned();
    for arg in argv {
        let arg = arg.to_string_lossy();
        if arg.starts_with('-') {
            out.push_str(" \\\n  ");
        } else {
            out.push(' ');
        }
        out.push_str(&arg);
    }
    out.push('\n');
    out
}

/// Builds an argument list fluently.
#[derive(Default)]
struct Argv(Vec<OsString>);

impl Argv {
    fn flag(&mut self, flag: &str) -> &mut Argv {
        self.0.push(flag.into());
        self
    }

    fn arg(&mut self, value: impl Into<OsString>) -> &mut Argv {
        self.0.push(value.into());
        self
    }
}

/// `prefix` followed by a path as a QEMU option value: a comma is written twice, QEMU's escape.
fn option(prefix: &str, path: &Path) -> OsString {
    let mut bytes = prefix.as_bytes().to_vec();
    for &b in path.as_os_str().as_bytes() {
        bytes.push(b);
        if b == b',' {
            bytes.push(b',');
        }
    }
    OsString::from_vec(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_in_paths_are_doubled() {
        assert_eq!(
            option("file=", Path::new("/a,b/disk.raw")),
            OsString::from("file=/a,,b/disk.raw")
        );
    }
}
