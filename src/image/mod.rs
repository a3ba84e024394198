//! The image builder: an ESXi installer ISO → a MAAS `ddgz` image, without Packer, root, nbd or FUSE.
//!
//! `kickstart` renders the KS.CFG, `build` drives QEMU through the installation, and `finalize` injects
//! the curtin hook into partition 1 and compresses the disk. Unlike the translator, this module does IO.

pub mod build;
pub mod finalize;
pub mod media;
pub mod preflight;
pub mod progress;
pub mod rejected;
pub mod units;
pub mod vm;

use media::kickstart;

/// `maas-esxi image …`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print the KS.CFG that `image build` puts on the kickstart media.
    Kickstart(kickstart::Args),
    /// Install ESXi from its ISO in QEMU and produce the MAAS `ddgz` image.
    Build(build::Args),
    /// Inject the curtin hook into partition 1 of a raw ESXi disk and compress it to `ddgz`.
    Finalize(finalize::Args),
}

/// Runs one `image` subcommand; the result is the process exit status.
pub fn run(command: &Command) -> anyhow::Result<u8> {
    match command {
        Command::Kickstart(args) => kickstart::run(args),
        Command::Build(args) => build::run(args),
        Command::Finalize(args) => finalize::run(args),
    }
}
