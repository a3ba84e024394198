//! The QEMU driver against a real QEMU (TCG only, no KVM needed): typed keys arrive exactly, a power-off
//! ends the run, a reboot and a timeout are failures, QEMU's own errors are reported, and the whole
//! `image build` orchestration runs with stand-in media and finalize steps.
//!
//! The guest is built here: a 512-byte boot sector on a hand-made El Torito CD. It prints `READY` on
//! COM1, then echoes every key to COM1; Enter on a non-empty line powers off through ACPI, Tab resets.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use maas_esxi::image::build::{self, Args, BootMethod, Finalize, Media, Patch};
use maas_esxi::image::media::kickstart;
use maas_esxi::image::vm::driver::{self, End, KeyTiming, Phase, Step};
use maas_esxi::image::vm::keymap::Key;

use crate::{snapshot, transcript};
use maas_esxi::image::preflight::{self, AccelChoice, Host, Inputs};
use maas_esxi::image::progress::{Progress, Verbosity};
use maas_esxi::image::units::Size;
use maas_esxi::image::vm::qemu::{self, Accel, Firmware, Machine};

/// A SHA-512 crypt hash for builds that get as far as the kickstart (`openssl passwd -6`).
const ROOT_HASH: &str = "$6$maasesxi$sHM0QxzFu35uKTjPicW6I0aPfDytON7KUEzVVmW3BZpyr/8wolzpT0ZDcsR6iuzzH2Nv6w3qQKEBHjDIqNWBF1";

/// The echo guest. Real-mode code, position independent (only relative jumps), as SeaBIOS runs a boot
/// image at 07C0:0000.
const ECHO_GUEST: [u8; 0x44] = [
    0xBA, 0xF8, 0x03, //       0000  mov dx, 0x3f8        COM1 data port
    0xB0, b'R', 0xEE, //       0003  mov al, 'R'; out dx, al
    0xB0, b'E', 0xEE, //       0006
    0xB0, b'A', 0xEE, //       0009
    0xB0, b'D', 0xEE, //       000C
    0xB0, b'Y', 0xEE, //       000F
    0xB0, b'\n', 0xEE, //      0012
    0x31, 0xDB, //             0015  xor bx, bx           BL = 0: the line is empty
    0x31, 0xC0, //             0017  key: xor ax, ax      AH = 0: wait for a key
    0xCD, 0x16, //             0019  int 0x16             AL = its character
    0xBA, 0xF8, 0x03, //       001B  mov dx, 0x3f8
    0x3C, 0x0D, //             001E  cmp al, 13           Enter?
    0x74, 0x09, //             0020  je enter (002B)
    0x3C, 0x09, //             0022  cmp al, 9            Tab?
    0x74, 0x16, //             0024  je reset (003C)
    0xEE, //                   0026  out dx, al           echo
    0xB3, 0x01, //             0027  mov bl, 1            the line is not empty
    0xEB, 0xEC, //             0029  jmp key (0017)
    0xB0, 0x0A, //             002B  enter: mov al, 10
    0xEE, //                   002D  out dx, al           echo a newline
    0x84, 0xDB, //             002E  test bl, bl
    0x74, 0xE5, //             0030  jz key (0017)        an empty line does not power off
    0xBA, 0x04, 0x06, //       0032  mov dx, 0x604        ACPI PM1a control on q35
    0xB8, 0x00, 0x20, //       0035  mov ax, 0x2000       SLP_EN, sleep type 0 (S5)
    0xEF, //                   0038  out dx, ax
    0xF4, //                   0039  halt: hlt
    0xEB, 0xFD, //             003A  jmp halt (0039)
    0xBA, 0xF9, 0x0C, //       003C  reset: mov dx, 0xcf9 ICH9 reset control
    0xB0, 0x06, //             003F  mov al, 6            full reset
    0xEE, //                   0041  out dx, al
    0xEB, 0xF5, //             0042  jmp halt (0039)
];

const SECTOR: usize = 2048;

/// An ISO 9660 image whose El Torito boot catalog boots `code` with no emulation: a primary volume
/// descriptor (so it is recognisably ISO 9660), the boot record, the terminator, the catalog and the
/// boot image.
fn el_torito_iso(code: &[u8]) -> Vec<u8> {
    let mut iso = vec![0u8; 21 * SECTOR];
    let descriptor = |iso: &mut Vec<u8>, sector: usize, kind: u8| {
        let at = sector * SECTOR;
        iso[at] = kind;
        iso[at + 1..at + 6].copy_from_slice(b"CD001");
        iso[at + 6] = 1;
    };
    descriptor(&mut iso, 16, 1);
    descriptor(&mut iso, 17, 0);
    let boot_record = 17 * SECTOR;
    iso[boot_record + 7..boot_record + 30].copy_from_slice(b"EL TORITO SPECIFICATION");
    iso[boot_record + 0x47..boot_record + 0x4B].copy_from_slice(&19u32.to_le_bytes());
    descriptor(&mut iso, 18, 255);

    let catalog = 19 * SECTOR;
    let mut validation = [0u8; 32];
    validation[0] = 1; // header id; platform 0 is x86
    validation[30] = 0x55;
    validation[31] = 0xAA;
    let sum = validation.chunks(2).fold(0u16, |sum, w| {
        sum.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    validation[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    iso[catalog..catalog + 32].copy_from_slice(&validation);
    let entry = catalog + 32;
    iso[entry] = 0x88; // bootable; media type 0 = no emulation; load segment 0 = 07C0
    iso[entry + 6..entry + 8].copy_from_slice(&4u16.to_le_bytes()); // 4 × 512 bytes
    iso[entry + 8..entry + 12].copy_from_slice(&20u32.to_le_bytes());

    let image = 20 * SECTOR;
    iso[image..image + code.len()].copy_from_slice(code);
    iso
}

fn qemu_path() -> PathBuf {
    preflight::find_program(qemu::QEMU, &std::env::var_os("PATH").unwrap_or_default())
        .expect("qemu-system-x86_64 is installed (Debian package qemu-system-x86)")
}

/// A work directory with the echo guest's CD, an empty disk and an empty USB stick.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("maas-esxi-it-")
            .tempdir()
            .expect("a temporary directory");
        std::fs::write(dir.path().join("guest.iso"), el_torito_iso(&ECHO_GUEST))
            .expect("CD written");
        let disk = std::fs::File::create(dir.path().join("disk.raw")).expect("disk created");
        disk.set_len(64 << 20).expect("sparse disk");
        std::fs::write(dir.path().join("usb.img"), vec![0u8; 1 << 20]).expect("USB image written");
        Lab { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn machine(&self) -> Machine {
        Machine {
            name: "maas-esxi-test".to_string(),
            accel: Accel::Tcg,
            firmware: Firmware::Bios,
            memory_mib: 64,
            cpus: 1,
            disk: self.path("disk.raw"),
            cdrom: Some(self.path("guest.iso")),
            usb: Some(self.path("usb.img")),
            qmp: self.path("qmp.sock"),
            serial: self.path("serial.log"),
        }
    }

    fn run(&self, machine: &Machine, boot: &[Step], timeout: Duration) -> driver::Outcome {
        let qemu = qemu_path();
        let log = self.path("qemu.log");
        let screen = self.path("screen.png");
        driver::run(
            &driver::Run {
                qemu: &qemu,
                machine,
                boot,
                keys: FAST_KEYS,
                timeout,
                log: &log,
                screendump: Some(&screen),
            },
            &mut |_| {},
        )
        .expect("the driver runs QEMU")
    }

    fn serial(&self) -> String {
        std::fs::read_to_string(self.path("serial.log")).expect("serial log")
    }
}

fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// The guest reads keys as fast as QEMU sends them; QEMU keeps them in order.
const FAST_KEYS: KeyTiming = KeyTiming {
    hold: Duration::from_millis(10),
    gap: Duration::ZERO,
};

/// Long enough for any of these runs; the runs end long before unless something is broken.
const GENEROUS: Duration = Duration::from_secs(120);

#[test]
fn typed_keys_arrive_exactly_and_a_power_off_ends_the_run() {
    let lab = Lab::new();
    let text: String = (' '..='~').collect();
    let boot = [
        Step::WaitSerial("READY\n".to_string()),
        Step::Type(text.clone()),
        Step::Press(Key::Enter),
    ];
    let outcome = lab.run(&lab.machine(), &boot, GENEROUS);
    assert_eq!(outcome.end, End::PoweredOff, "serial: {}", lab.serial());
    assert_eq!(lab.serial(), format!("READY\n{text}\n"));
    assert_eq!(outcome.serial, text);
    assert!(gone(outcome.pid), "QEMU {} is still there", outcome.pid);
}

#[test]
fn the_boot_options_arrive_as_packer_maas_types_them() {
    let lab = Lab::new();
    let mut boot = vec![Step::WaitSerial("READY\n".to_string())];
    boot.extend(
        build::typed_boot(&Firmware::Bios)
            .into_iter()
            .filter(|step| !matches!(step, Step::Wait(_))),
    );
    let outcome = lab.run(&lab.machine(), &boot, GENEROUS);
    assert_eq!(outcome.end, End::PoweredOff, "serial: {}", lab.serial());
    assert_eq!(
        lab.serial(),
        format!("READY\n\nO {}\n", build::BOOT_OPTIONS),
        "the first Enter is an empty line, a lone Shift types nothing"
    );
}

#[test]
fn a_reboot_is_not_a_power_off() {
    let lab = Lab::new();
    let boot = [
        Step::WaitSerial("READY".to_string()),
        Step::Type("x".to_string()),
        Step::Press(Key::Tab),
    ];
    let outcome = lab.run(&lab.machine(), &boot, GENEROUS);
    assert_eq!(outcome.end, End::Rebooted);
    assert_eq!(lab.serial(), "READY\nx", "the guest did not start again");
    assert!(gone(outcome.pid));
}

#[test]
fn a_guest_that_never_halts_hits_the_timeout_and_qemu_is_stopped() {
    let lab = Lab::new();
    let outcome = lab.run(&lab.machine(), &[], Duration::from_secs(3));
    assert_eq!(
        outcome.end,
        End::TimedOut {
            phase: Phase::Guest
        }
    );
    assert!(gone(outcome.pid), "QEMU {} is still there", outcome.pid);
    assert!(lab.path("serial.log").exists(), "the serial log is kept");
    assert!(lab.path("qemu.log").exists(), "the QEMU log is kept");
    let screen = std::fs::read(lab.path("screen.png")).expect("the screen was saved");
    assert_eq!(&screen[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(outcome.screendump, Some(lab.path("screen.png")));
}

#[test]
fn waiting_for_text_the_guest_never_prints_also_times_out() {
    let lab = Lab::new();
    let boot = [Step::WaitSerial("NEVER".to_string())];
    let outcome = lab.run(&lab.machine(), &boot, Duration::from_secs(3));
    assert_eq!(outcome.end, End::TimedOut { phase: Phase::Boot });
    assert!(gone(outcome.pid));
}

#[test]
fn qemu_exiting_on_its_own_is_reported_with_its_stderr() {
    let lab = Lab::new();
    let machine = Machine {
        disk: lab.path("missing.raw"),
        ..lab.machine()
    };
    let outcome = lab.run(&machine, &[], GENEROUS);
    let End::Exited {
        status,
        stderr_tail,
    } = &outcome.end
    else {
        panic!("expected QEMU to exit, got {:?}", outcome.end);
    };
    assert_eq!(status, "exit status: 1");
    assert!(
        stderr_tail.contains("missing.raw"),
        "stderr tail names the disk: {stderr_tail}"
    );
    assert!(gone(outcome.pid));
}

#[test]
fn qemu_accepts_the_uefi_machine() {
    let lab = Lab::new();
    let (code, vars) = qemu::OVMF_CANDIDATES[0];
    std::fs::copy(vars, lab.path("OVMF_VARS.fd")).expect("OVMF is installed (Debian package ovmf)");
    let machine = Machine {
        firmware: Firmware::Uefi {
            code: PathBuf::from(code),
            vars: lab.path("OVMF_VARS.fd"),
        },
        ..lab.machine()
    };
    // The echo guest's CD has no UEFI boot image, so OVMF runs until the timeout: QEMU took the
    // firmware drives and did not exit with an error.
    let outcome = lab.run(&machine, &[], Duration::from_secs(2));
    assert!(
        matches!(outcome.end, End::TimedOut { .. }),
        "{:?}",
        outcome.end
    );
    assert!(gone(outcome.pid));
}

#[test]
fn the_kvm_probe_guest_powers_off_under_tcg() {
    preflight::probe(&qemu_path(), Accel::Tcg).expect("the probe guest powers off");
}

#[test]
fn argv_bios_and_uefi() {
    let machine = Machine {
        name: "maas-esxi-build".to_string(),
        accel: Accel::Kvm,
        firmware: Firmware::Bios,
        memory_mib: 8192,
        cpus: 4,
        disk: PathBuf::from("/work/disk.raw"),
        cdrom: Some(PathBuf::from("/work/esxi.iso")),
        usb: Some(PathBuf::from("/work/usb.img")),
        qmp: PathBuf::from("/work/qmp.sock"),
        serial: PathBuf::from("/work/serial.log"),
    };
    let uefi = Machine {
        accel: Accel::Tcg,
        firmware: Firmware::Uefi {
            code: PathBuf::from("/usr/share/OVMF/OVMF_CODE_4M.fd"),
            vars: PathBuf::from("/work/OVMF_VARS.fd"),
        },
        ..machine.clone()
    };
    let program = OsString::from(qemu::QEMU);
    snapshot(
        "qemu-argv-bios",
        qemu::display_argv(&program, &machine.argv()),
    );
    snapshot("qemu-argv-uefi", qemu::display_argv(&program, &uefi.argv()));
}

/// Stand-in media: the version is fixed, the USB stick is empty, and the ISO cannot be patched, so the
/// build types the boot options. The "ISO" is the echo guest's CD.
struct TestMedia;

impl Inputs for TestMedia {
    fn esxi_version(&self, _iso: &Path) -> anyhow::Result<String> {
        Ok("8.0U3".to_string())
    }

    fn check_kickstart(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

impl Media for TestMedia {
    fn write_kickstart_usb(&self, usb: &Path) -> anyhow::Result<()> {
        std::fs::write(usb, vec![0u8; 1 << 20])?;
        Ok(())
    }

    fn patch_iso(&self, _iso: &Path, _copy: &Path, _options: &str) -> anyhow::Result<Patch> {
        Ok(Patch::NotPatched("the test CD has no BOOT.CFG".to_string()))
    }
}

/// Stand-in finalize: copies the raw disk to the output.
struct CopyDisk;

impl Finalize for CopyDisk {
    fn finalize(&self, raw: &Path, out: &Path) -> anyhow::Result<()> {
        std::fs::copy(raw, out)?;
        Ok(())
    }
}

fn build_args(lab: &Lab, timeout: Duration) -> Args {
    Args {
        iso: lab.path("guest.iso"),
        out: lab.path("out/test.dd.gz"),
        disk_size: Size::from_bytes(64 << 20),
        memory: Size::from_bytes(64 << 20),
        cpus: 1,
        timeout: Some(timeout),
        uefi: false,
        keep_work: None,
        accel: AccelChoice::Tcg,
        boot_method: BootMethod::Iso,
        keys: FAST_KEYS,
        kickstart: kickstart::Options::default(),
        binary: None,
    }
}

#[test]
fn image_build_types_the_boot_options_installs_and_finalizes() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path("out")).expect("output directory");
    let args = Args {
        keep_work: Some(lab.path("work")),
        ..build_args(&lab, GENEROUS)
    };
    let built = build::build(
        &args,
        &TestMedia,
        &CopyDisk,
        &Host::current(),
        &mut Progress::stderr(Verbosity::Normal),
    )
    .expect("the build succeeds");
    assert_eq!(built.esxi_version, "8.0U3");
    let serial = std::fs::read_to_string(lab.path("work/serial.log")).expect("serial log kept");
    assert!(
        serial.ends_with(&format!("\nO {}\n", build::BOOT_OPTIONS)),
        "serial: {serial:?}"
    );
    assert_eq!(
        std::fs::metadata(lab.path("out/test.dd.gz"))
            .expect("finalize wrote the output")
            .len(),
        64 << 20
    );
    for kept in ["disk.raw", "usb.img", "serial.log", "qemu.log"] {
        assert!(lab.path("work").join(kept).exists(), "{kept} is kept");
    }
}

#[test]
fn a_failed_build_names_the_phase_and_keeps_the_logs() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path("out")).expect("output directory");
    let args = build_args(&lab, Duration::from_secs(2));
    let error = build::build(
        &args,
        &TestMedia,
        &CopyDisk,
        &Host::current(),
        &mut Progress::stderr(Verbosity::Normal),
    )
    .expect_err("the build times out while it waits to type");
    let text = format!("{error:#}");
    assert!(
        text.starts_with(
            "the build failed while booting the installer: the installation did not finish within \
             --timeout 0:00:02"
        ),
        "{text}"
    );
    let work = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("work directory: "))
        .map(PathBuf::from)
        .expect("the error names the work directory");
    assert_eq!(work.parent(), Some(lab.path("out").as_path()));
    assert!(text.contains(&format!(
        "serial log: {}",
        work.join("serial.log").display()
    )));
    assert!(work.join("serial.log").exists());
    assert!(work.join("qemu.log").exists());
    assert!(!work.join("disk.raw").exists(), "the disk image is removed");
    assert!(!lab.path("out/test.dd.gz").exists());
}

/// Preflight's view of the ISO and the kickstart: a fixed version, or the error an ISO check gives; a
/// kickstart that passes.
struct Stand(Result<&'static str, &'static str>);

impl Inputs for Stand {
    fn esxi_version(&self, _iso: &Path) -> anyhow::Result<String> {
        self.0
            .map(str::to_string)
            .map_err(|e| maas_esxi::image::rejected::Rejected::new(e).into())
    }

    fn check_kickstart(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Preflight's view of an ESXi 8.0 ISO with the kickstart the real media module renders.
struct WithKickstart(kickstart::Options);

impl Inputs for WithKickstart {
    fn esxi_version(&self, _iso: &Path) -> anyhow::Result<String> {
        Ok("8.0".to_string())
    }

    fn check_kickstart(&self) -> anyhow::Result<()> {
        kickstart::render(&self.0).map(drop)
    }
}

#[test]
fn preflight_finds_a_root_password_esxi_would_refuse_before_the_installation() {
    let lab = Lab::new();
    let (iso, out) = (lab.path("guest.iso"), lab.path("esxi.dd.gz"));
    let weak = WithKickstart(kickstart::Options {
        root_password: Some(kickstart::Secret("password".to_string())),
        ..kickstart::Options::default()
    });
    let problems = preflight::check(&request(&lab, &iso, &out), &Host::current(), &weak)
        .expect_err("a weak password");
    assert_eq!(problems.problems.len(), 1, "{problems}");
    assert!(
        problems.problems[0].text.starts_with("the root password "),
        "{problems}"
    );
    assert_eq!(
        problems.exit_status(),
        1,
        "the input is wrong, not the host"
    );
    let unreadable = WithKickstart(kickstart::Options {
        root_password_file: Some(lab.path("no-such-file")),
        ..kickstart::Options::default()
    });
    let problems = preflight::check(&request(&lab, &iso, &out), &Host::current(), &unreadable)
        .expect_err("an unreadable password file");
    assert_eq!(
        problems.exit_status(),
        3,
        "a file that cannot be read: {problems}"
    );
}

fn request<'a>(lab: &'a Lab, iso: &'a Path, out: &'a Path) -> preflight::Request<'a> {
    preflight::Request {
        iso,
        work: lab.dir.path(),
        out,
        binary: None,
        disk_size: Size::from_bytes(32 << 30),
        uefi: false,
        accel: AccelChoice::Tcg,
        timeout: Some(Duration::from_secs(3600)),
    }
}

#[test]
fn preflight_names_everything_missing() {
    let lab = Lab::new();
    std::fs::write(lab.path("notes.txt"), "not an ISO").expect("file written");
    std::fs::write(lab.path("dynamic"), crate::dynamic_elf()).expect("file written");
    let host = Host {
        ovmf: vec![(lab.path("no/CODE.fd"), lab.path("no/VARS.fd"))],
        ..host_without_qemu(&lab)
    };
    let (iso, out, binary) = (
        lab.path("notes.txt"),
        lab.path("no-dir/esxi.dd.gz"),
        lab.path("dynamic"),
    );
    let problems = preflight::check(
        &preflight::Request {
            uefi: true,
            accel: AccelChoice::Kvm,
            binary: Some(&binary),
            ..request(&lab, &iso, &out)
        },
        &host,
        &Stand(Ok("8.0")),
    )
    .expect_err("nothing is ready");
    let dir = lab.dir.path().display().to_string();
    assert_eq!(problems.exit_status(), 3);
    assert_eq!(
        problems.to_string().replace(&dir, "$LAB"),
        "the build cannot start:\n  \
         - $LAB/notes.txt is too small to be an ISO 9660 image; pass the VMware ESXi installer ISO\n  \
         - qemu-system-x86_64 is not on PATH; install it (Debian and Ubuntu: `apt-get install \
         qemu-system-x86`)\n  \
         - --uefi needs the OVMF firmware, looked for $LAB/no/CODE.fd with $LAB/no/VARS.fd; install it \
         (`apt-get install ovmf`) or build with BIOS\n  \
         - $LAB/dynamic is dynamically linked: in MAAS's ephemeral Ubuntu it runs only if that system's \
         C library is as new as this host's, else the deployment fails; install the static build in the \
         maas-esxi source directory with `cargo install --locked --path .`, or give one with --binary\n  \
         - $LAB/no-dir, the directory of --out, does not exist; create it, or choose another --out"
    );
}

#[test]
fn preflight_passes_on_the_iso_checks_message() {
    let lab = Lab::new();
    let (iso, out) = (lab.path("guest.iso"), lab.path("esxi.dd.gz"));
    let request = request(&lab, &iso, &out);
    let problems = preflight::check(
        &request,
        &Host::current(),
        &Stand(Err(
            "guest.iso is not a VMware ESXi installer ISO: no /BOOT.CFG",
        )),
    )
    .expect_err("not ESXi");
    assert_eq!(
        problems.to_string(),
        "the build cannot start:\n  - guest.iso is not a VMware ESXi installer ISO: no /BOOT.CFG",
        "the ISO's own message, not wrapped in another that names the file again"
    );
    assert_eq!(problems.exit_status(), 1, "only the input is wrong");
    let ready = preflight::check(&request, &Host::current(), &Stand(Ok("8.0")))
        .expect("an ISO 9660 image that the ISO module accepts");
    assert_eq!(ready.accel, Accel::Tcg);
    assert_eq!(ready.esxi_version, "8.0");
    assert_eq!(ready.qemu, qemu_path());
    assert_eq!(ready.timeout, Duration::from_secs(3600));
    assert_eq!(ready.warnings.len(), 1, "TCG is slow: {:?}", ready.warnings);
}

#[test]
fn preflight_refuses_emulation_with_the_kvm_timeout() {
    let lab = Lab::new();
    let (iso, out) = (lab.path("guest.iso"), lab.path("esxi.dd.gz"));
    let problems = preflight::check(
        &preflight::Request {
            timeout: None,
            ..request(&lab, &iso, &out)
        },
        &Host::current(),
        &Stand(Ok("8.0")),
    )
    .expect_err("TCG without a timeout");
    assert_eq!(
        problems.problems[0].text,
        "--accel tcg: the installation is emulated, many times slower than with KVM, and the default \
         --timeout 1:00:00 is for KVM; give the emulation the hours it needs with --timeout"
    );
    // `auto` on a host whose KVM is unusable (no device) falls back to TCG only with a timeout given.
    let no_kvm = Host {
        kvm_device: lab.path("no-kvm"),
        cpuinfo: lab.path("cpuinfo"),
        ..Host::current()
    };
    std::fs::write(lab.path("cpuinfo"), "flags\t\t: fpu vmx\n").expect("cpuinfo written");
    let auto = preflight::Request {
        accel: AccelChoice::Auto,
        timeout: None,
        ..request(&lab, &iso, &out)
    };
    let problems = preflight::check(&auto, &no_kvm, &Stand(Ok("8.0"))).expect_err("1h under TCG");
    let text = problems.problems[0]
        .text
        .replace(&lab.dir.path().display().to_string(), "$LAB");
    assert_eq!(
        text,
        "KVM is not usable: cannot open $LAB/no-kvm: No such file or directory (os error 2); load the \
         kvm_intel or kvm_amd module; without it the installation is emulated (TCG), many times slower, \
         and the default --timeout 1:00:00 is for KVM: build on a host with KVM, or choose emulation \
         with --accel tcg and a --timeout of several hours"
    );
    let ready = preflight::check(
        &preflight::Request {
            timeout: Some(Duration::from_secs(12 * 3600)),
            ..auto
        },
        &no_kvm,
        &Stand(Ok("8.0")),
    )
    .expect("a timeout for the emulation");
    assert_eq!(
        (ready.accel, ready.timeout),
        (Accel::Tcg, Duration::from_secs(12 * 3600))
    );
}

#[test]
fn preflight_checks_the_output_before_the_installation() {
    let lab = Lab::new();
    let iso = lab.path("guest.iso");
    std::fs::create_dir(lab.path("images")).expect("a directory");
    std::fs::create_dir(lab.path("locked")).expect("a directory");
    let text = |out: &Path| {
        let problems = preflight::check(
            &request(&lab, &iso, out),
            &Host::current(),
            &Stand(Ok("8.0")),
        )
        .expect_err("the output is not usable");
        problems
            .to_string()
            .replace(&lab.dir.path().display().to_string(), "$LAB")
    };
    assert_eq!(
        text(&lab.path("images")),
        "the build cannot start:\n  - --out $LAB/images is a directory; name the image file, e.g. --out \
         $LAB/images/vmware-esxi.dd.gz"
    );
    // An immutable directory refuses new files even to root.
    run_ok("chattr", &["+i", &lab.path("locked").display().to_string()]);
    let locked = text(&lab.path("locked/esxi.dd.gz"));
    run_ok("chattr", &["-i", &lab.path("locked").display().to_string()]);
    assert_eq!(
        locked,
        "the build cannot start:\n  - cannot create files in $LAB/locked, the directory of --out: \
         Operation not permitted (os error 1)"
    );
}

fn run_ok(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .expect("the program runs");
    assert!(status.success(), "{program} {args:?}: {status}");
}

fn host_without_qemu(lab: &Lab) -> Host {
    std::fs::create_dir_all(lab.path("empty-bin")).expect("an empty PATH directory");
    Host {
        path: lab.path("empty-bin").into_os_string(),
        ..Host::current()
    }
}

fn cli(lab: &Lab, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maas-esxi"))
        .args(args)
        .current_dir(lab.dir.path())
        .env("PATH", lab.path("empty-bin"))
        .output()
        .expect("maas-esxi runs")
}

#[test]
fn cli_preflight_failure_exits_3() {
    let lab = Lab::new();
    host_without_qemu(&lab);
    std::fs::write(lab.path("notes.txt"), vec![b'x'; 40000]).expect("file written");
    let args = [
        "image",
        "build",
        "--iso",
        "notes.txt",
        "--accel",
        "tcg",
        "--out",
        "esxi.dd.gz",
        "--root-password-hash",
        ROOT_HASH,
    ];
    let out = cli(&lab, &args);
    snapshot("cli-image-build-preflight", transcript(&args, &out));
    let leftovers: Vec<_> = std::fs::read_dir(lab.dir.path())
        .expect("readable")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".maas-esxi-build-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "the temporary work directory is removed"
    );
}

#[test]
fn cli_rejects_bad_sizes_and_durations_with_exit_2() {
    let lab = Lab::new();
    for (name, args) in [
        (
            "cli-image-build-bad-size",
            ["image", "build", "--iso", "x.iso", "--disk-size", "32"],
        ),
        (
            "cli-image-build-bad-timeout",
            ["image", "build", "--iso", "x.iso", "--timeout", "1d"],
        ),
    ] {
        let out = cli(&lab, &args);
        assert_eq!(out.status.code(), Some(2));
        snapshot(name, transcript(&args, &out));
    }
}
