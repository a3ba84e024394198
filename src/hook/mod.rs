//! `maas-esxi curtin-hook`: what curtin runs, through the image's `curtin/curtin-hooks`, once it has written
//! the image to the disk. curtin mounts the partition holding `curtin/` (partition 6, the altbootbank) at
//! `$TARGET_MOUNT_POINT` and puts its merged config, as JSON, in the file `$CONFIG`.
//!
//! The hook checks that it stands on partition 6, validates and translates the config (an error fails the
//! hook, so MAAS shows a failed deployment with the diagnostics instead of a host that boots unconfigured),
//! writes the first-boot bundle through the mount point, each file complete before it is renamed into
//! place, and removes `curtin/`. It writes files through the mount only, never a raw block. What goes into
//! the bundle is [`crate::bundle::files`]'s business.

pub mod target;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::diag::{self, Diagnostics};
use crate::{Options, bundle};

/// Exit status of a rejected config (README's table).
const EXIT_REJECTED: u8 = 1;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The disk curtin wrote the image to, a device or an image file (default: found from the mount table
    /// and sysfs). Its partition 6 must be the one mounted at $TARGET_MOUNT_POINT.
    #[arg(long, env = "MAAS_ESXI_TARGET_DISK")]
    pub disk: Option<PathBuf>,
    /// The mount table to read.
    #[arg(long, hide = true, default_value = "/proc/self/mounts")]
    pub mount_table: PathBuf,
    /// Where sysfs is mounted.
    #[arg(long, hide = true, default_value = "/sys")]
    pub sysfs: PathBuf,
}

/// Where one run of the hook reads and writes.
#[derive(Clone, Debug)]
pub struct Paths {
    /// `$CONFIG`.
    pub config: PathBuf,
    /// `$TARGET_MOUNT_POINT`.
    pub mount_point: PathBuf,
    pub disk: Option<PathBuf>,
    pub mount_table: PathBuf,
    pub sysfs: PathBuf,
}

/// Runs the hook with curtin's environment; diagnostics and the summary go to stderr.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .with_context(|| format!("{name} is not set: curtin sets it when it runs the hook"))
    };
    let options = Paths {
        config: var("CONFIG")?,
        mount_point: var("TARGET_MOUNT_POINT")?,
        disk: args.disk.clone(),
        mount_table: args.mount_table.clone(),
        sysfs: args.sysfs.clone(),
    };
    install(&options, &mut std::io::stderr())
}

/// Checks the config, finds the target, writes the bundle and removes `curtin/`; what it prints goes to
/// `out`. Returns the exit status: 0, or 1 when the config was rejected (then nothing was written).
pub fn install(options: &Paths, out: &mut dyn Write) -> anyhow::Result<u8> {
    let name = options.config.display().to_string();
    let bytes = std::fs::read(&options.config).with_context(|| format!("reading {name}"))?;
    let (text, outcome) = crate::check_bytes(&bytes, &Options::default());
    let mut report = |diagnostics: &Diagnostics| -> anyhow::Result<()> {
        out.write_all(diag::render(&name, &text, &diagnostics.0).as_bytes())
            .context("writing to stderr")
    };
    report(&outcome.diagnostics)?;
    let Some(plan) = outcome.plan else {
        return Ok(EXIT_REJECTED);
    };
    let mut diagnostics = Diagnostics::default();
    let reporting = crate::reporting(&text, &mut diagnostics);
    report(&diagnostics)?;
    if diagnostics.has_errors() {
        return Ok(EXIT_REJECTED);
    }
    if reporting.is_none() {
        writeln!(
            out,
            "warning: {name} has no `reporting.maas` section: the first boot will configure the host but \
             report nothing to MAAS, which then never marks the machine Deployed"
        )
        .context("writing to stderr")?;
    }

    let lookup = target::Lookup {
        mount_table: &options.mount_table,
        sysfs: &options.sysfs,
    };
    let target = match &options.disk {
        Some(disk) => target::given(disk)?,
        None => target::mounted(&options.mount_point, lookup)?,
    };
    let files = bundle::files(&plan, reporting.as_ref());
    write_bundle(&options.mount_point, &files)?;
    remove_curtin(&options.mount_point)?;

    let names: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
    writeln!(
        out,
        "maas-esxi curtin-hook: wrote {} into partition {} of {}{} at {}; removed curtin/",
        list(&names),
        crate::image::finalize::PARTITION,
        target.disk.display(),
        target.device.map(|d| format!(" ({d})")).unwrap_or_default(),
        options.mount_point.display(),
    )
    .context("writing to stderr")?;
    Ok(0)
}

/// Writes `files` under `root`, each into a temporary name in its directory, flushed, then renamed over
/// the old one; then removes what else an earlier bundle left in [`bundle::DIR`].
fn write_bundle(root: &Path, files: &[(&str, Vec<u8>)]) -> anyhow::Result<()> {
    let dir = root.join(bundle::DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = BTreeSet::new();
    for (path, bytes) in files {
        let to = root.join(path);
        let file_name = to
            .file_name()
            .context("internal error, this is a bug: a bundle path without a file name")?
            .to_string_lossy()
            .into_owned();
        let part = to.with_file_name(format!(".{file_name}.part"));
        let mut file =
            std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", part.display()))?;
        std::fs::rename(&part, &to)
            .with_context(|| format!("renaming {} to {}", part.display(), to.display()))?;
        written.insert(file_name);
    }
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if written.contains(&*entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("removing {} of an earlier bundle", path.display()))?;
    }
    Ok(())
}

/// Removes `curtin/` (the binary running from it can be unlinked on Linux).
fn remove_curtin(root: &Path) -> anyhow::Result<()> {
    let curtin = root.join(crate::image::finalize::fat::DIR);
    match std::fs::remove_dir_all(&curtin) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.with_context(|| format!("removing {}", curtin.display())),
    }?;
    if curtin.exists() {
        bail!("{} is still there after its removal", curtin.display());
    }
    Ok(())
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
