//! `image build`: install ESXi from its ISO in QEMU, then finalize the disk.

use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The VMware ESXi installer ISO.
    #[arg(long)]
    pub iso: PathBuf,
    /// Where to write the MAAS image.
    #[arg(long, default_value = "vmware-esxi.dd.gz")]
    pub out: PathBuf,
}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("image build is not implemented yet")
}
