//! `image kickstart`: the KS.CFG the build installs ESXi with.

#[derive(clap::Args, Debug, Clone)]
pub struct Args {}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("image kickstart is not implemented yet")
}
