//! `image finalize`: write `curtin/` into the FAT partition 1 of a raw disk, then compress it to `ddgz`.

use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The raw disk image (sparse or dense) an ESXi installation left.
    #[arg(long)]
    pub raw: PathBuf,
    /// Where to write the gzip-compressed image.
    #[arg(long)]
    pub out: PathBuf,
    /// The maas-esxi binary to put into the image (default: this executable).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("image finalize is not implemented yet")
}
