//! The image builder: an ESXi installer ISO → a MAAS `ddgz` image, without Packer, root, nbd or FUSE.
//!
//! `kickstart` renders the KS.CFG, `build` drives QEMU through the installation, and `finalize` injects
//! the curtin hook into partition 6 and compresses the disk. Unlike the translator, this module does IO.

pub mod binary;
pub mod build;
pub mod finalize;
pub mod media;
pub mod preflight;
pub mod progress;
pub mod rejected;
pub mod units;
pub mod vm;

use media::kickstart;
use preflight::Problems;
use progress::Verbosity;
use rejected::Rejected;

/// `maas-esxi image …`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print the KS.CFG that `image build` puts on the kickstart media.
    Kickstart(kickstart::Args),
    /// Install ESXi from its ISO in QEMU and produce the MAAS `ddgz` image.
    Build(build::Args),
    /// Inject the curtin hook into partition 6 of a raw ESXi disk and compress it to `ddgz`.
    Finalize(finalize::Args),
}

/// Runs one `image` subcommand; the result is the process exit status. Errors that decide their own
/// status are printed here: input the builder refuses exits 1 ([`Rejected`]), a command that cannot start
/// lists its problems and exits 1 or 3 ([`Problems`]), an installation that did not finish exits 4
/// ([`build::InstallFailed`]). Any other error is an environment or IO failure, for the caller (exit 3).
pub fn run(command: &Command, verbosity: Verbosity) -> anyhow::Result<u8> {
    let result = match command {
        Command::Kickstart(args) => kickstart::run(args),
        Command::Build(args) => build::run(args, verbosity),
        Command::Finalize(args) => finalize::run(args, verbosity),
    };
    let error = match result {
        Ok(status) => return Ok(status),
        Err(error) => error,
    };
    if let Some(rejected) = error.downcast_ref::<Rejected>() {
        eprint!("{}", rejected.render());
        Ok(1)
    } else if let Some(problems) = error.downcast_ref::<Problems>() {
        eprintln!("error: {problems}");
        Ok(problems.exit_status())
    } else if error.downcast_ref::<build::InstallFailed>().is_some() {
        eprintln!("error: {error:#}");
        Ok(EXIT_INSTALL_FAILED)
    } else {
        Err(error)
    }
}

/// The exit status of a build whose installation did not finish (timeout, reboot, QEMU stopped).
pub const EXIT_INSTALL_FAILED: u8 = 4;
