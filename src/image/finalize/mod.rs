//! `image finalize`: write `curtin/` into the FAT partition 6 of a raw disk, then compress it to `ddgz`.
//!
//! curtin writes the image to the target disk, mounts each partition and runs `curtin/curtin-hooks` from
//! the one that has a `curtin/` directory. Partition 6 is the altbootbank (FAT16, 250 MB on ESXi 6.7, 500
//! MB to 4 GB on 7.0 and later): there is room for the binary on every release, and it is where the hook
//! leaves the first-boot bundle, through the mount point curtin made. The hook is a shell wrapper around
//! the static `maas-esxi` binary next to it.

pub(crate) mod fat;
pub(crate) mod gpt;
mod gzip;

use std::fmt;
use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::progress::{Progress, Verbosity};
use super::{binary, preflight};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The raw disk image (sparse or dense) an ESXi installation left; partition 6 is changed in place.
    #[arg(long)]
    pub raw: PathBuf,
    /// Where to write the gzip-compressed image.
    #[arg(long)]
    pub out: PathBuf,
    /// The maas-esxi binary to put into the image (default: this executable). It must be a static build.
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Compression threads (default: one per CPU).
    #[arg(long)]
    pub threads: Option<NonZeroUsize>,
}

/// What [`finalize`] does.
#[derive(Clone, Debug)]
pub struct Options {
    pub raw: PathBuf,
    pub out: PathBuf,
    /// The maas-esxi binary to put into the image; `None` is the running executable.
    pub binary: Option<PathBuf>,
    pub threads: NonZeroUsize,
    /// How much to tell on stderr: progress, each step (`-v`), nothing but warnings (`-q`).
    pub verbosity: Verbosity,
}

impl Options {
    /// The defaults: this executable, one thread per CPU, progress shown.
    pub fn new(raw: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Options {
        Options {
            raw: raw.into(),
            out: out.into(),
            binary: None,
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            verbosity: Verbosity::Normal,
        }
    }
}

/// What [`finalize`] did; its `Display` is the summary for people (without the warnings, which
/// [`finalize`] prints as it finds them).
#[derive(Clone, Debug)]
pub struct Report {
    pub raw: PathBuf,
    pub out: PathBuf,
    /// The binary written as `curtin/maas-esxi`.
    pub binary: PathBuf,
    pub binary_bytes: u64,
    /// Byte range of partition 6 in the disk.
    pub partition: Range<u64>,
    /// `FAT12`, `FAT16` or `FAT32`.
    pub fat_type: &'static str,
    /// Free bytes in partition 6 before and after writing `curtin/`.
    pub free_before: u64,
    pub free_after: u64,
    /// The disk's length.
    pub disk_bytes: u64,
    /// Bytes of the disk that were deflated; the rest were holes or zeros.
    pub deflated_bytes: u64,
    pub out_bytes: u64,
    pub threads: NonZeroUsize,
    /// Things that may make the image fail at deployment, such as a binary that is not an ELF file; already
    /// printed on stderr.
    pub warnings: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {dir}/{HOOK} and {dir}/{BINARY} ({}, from {}) into partition {PARTITION} of {} ({}, {} free of {} before, {} after)",
            size(self.binary_bytes),
            self.binary.display(),
            self.raw.display(),
            self.fat_type,
            size(self.free_before),
            size(self.partition.end - self.partition.start),
            size(self.free_after),
            dir = fat::DIR,
        )?;
        writeln!(
            f,
            "wrote {}: {} from a {} disk ({} deflated, the rest holes and zeros), {} thread{}",
            self.out.display(),
            size(self.out_bytes),
            size(self.disk_bytes),
            size(self.deflated_bytes),
            self.threads,
            if self.threads.get() == 1 { "" } else { "s" },
        )
    }
}

/// Runs `image finalize`; progress and the summary go to stderr.
pub fn run(args: &Args, verbosity: Verbosity) -> anyhow::Result<u8> {
    let mut options = Options::new(&args.raw, &args.out);
    options.binary = args.binary.clone();
    options.verbosity = verbosity;
    if let Some(threads) = args.threads {
        options.threads = threads;
    }
    let report = finalize(&options)?;
    if verbosity >= Verbosity::Normal {
        eprint!("{report}");
    }
    Ok(0)
}

/// Writes `curtin/curtin-hooks` and `curtin/maas-esxi` into partition 6 of the raw disk, then compresses
/// the whole disk to a gzip file. The output appears only when complete; the disk is changed only inside
/// partition 6, and not at all when the files do not fit.
pub fn finalize(options: &Options) -> anyhow::Result<Report> {
    let raw = options.raw.display();
    let out = options.out.display();
    let mut progress = Progress::stderr(options.verbosity);
    let mut problems = Vec::new();
    preflight::output_problems(&options.out, &mut problems);
    let binary_path = binary::path_or_current(options.binary.as_deref())?;
    if let Err(problem) = binary::inspect(&binary_path) {
        problems.push(preflight::Problem::host(problem));
    }
    if !problems.is_empty() {
        return Err(preflight::Problems {
            title: "image finalize cannot start",
            problems,
        }
        .into());
    }
    let binary_len = std::fs::metadata(&binary_path)
        .with_context(|| format!("reading {}", binary_path.display()))?
        .len();
    if binary_len > u64::from(u32::MAX) {
        bail!(
            "{} is {}, more than a FAT file can hold",
            binary_path.display(),
            size(binary_len)
        );
    }
    let binary = std::fs::read(&binary_path)
        .with_context(|| format!("reading {}", binary_path.display()))?;
    let warnings = binary::check(&binary, &binary_path).map_err(anyhow::Error::msg)?;
    for warning in &warnings {
        progress.warn(warning);
    }
    progress.detail(&format!(
        "binary: {} ({})",
        binary_path.display(),
        size(binary_len)
    ));

    let mut disk = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&options.raw)
        .with_context(|| format!("opening {raw}"))?;
    let disk_meta = disk
        .metadata()
        .with_context(|| format!("reading the size of {raw}"))?;
    if !disk_meta.is_file() {
        bail!("{raw} is not a regular file");
    }
    if let Ok(out_meta) = std::fs::metadata(&options.out)
        && (out_meta.dev(), out_meta.ino()) == (disk_meta.dev(), disk_meta.ino())
    {
        bail!("--out {out} is the raw disk itself");
    }
    // The output's temporary file comes first, so that an unwritable output directory fails before the
    // disk changes.
    let out_dir = match options.out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let prefix = format!(
        ".{}.",
        options
            .out
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
    );
    let allocated = disk_meta.blocks().saturating_mul(512);
    if let Ok(free) = preflight::free_space(out_dir)
        && free < allocated
    {
        progress.warn(&format!(
            "{} has {} free, less than the {} of data in {raw}: the image may not fit (compression \
             usually makes it smaller)",
            out_dir.display(),
            size(free),
            size(allocated)
        ));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(out_dir)
        .with_context(|| format!("creating a temporary file in {}", out_dir.display()))?;

    let partition = gpt::partition(&mut disk, disk_meta.len(), PARTITION)
        .with_context(|| format!("reading GPT of {raw}"))?;
    progress.detail(&format!(
        "partition {PARTITION} of {raw}: bytes {} to {}",
        partition.start, partition.end
    ));
    let written = fat::write_files(
        &mut disk,
        partition.clone(),
        &[
            fat::NewFile {
                name: HOOK,
                bytes: HOOK_SCRIPT.as_bytes(),
            },
            fat::NewFile {
                name: BINARY,
                bytes: &binary,
            },
        ],
        &format!("partition {PARTITION} of {raw}"),
    )?;

    progress.detail(&format!(
        "wrote {dir}/{HOOK} and {dir}/{BINARY} into partition {PARTITION} ({})",
        written.fat_type,
        dir = fat::DIR,
    ));
    let tmp_name = tmp.path().display().to_string();
    progress.detail(&format!(
        "compressing into {tmp_name} with {} thread{}",
        options.threads,
        if options.threads.get() == 1 { "" } else { "s" }
    ));
    let mut bytes = progress.bytes(&format!("compressing {raw}"), disk_meta.len());
    let summary = {
        let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let summary = gzip::compress(&disk, &mut writer, options.threads, &mut |done, _| {
            bytes.update(done)
        })
        .with_context(|| format!("compressing {raw} into {tmp_name}"))?;
        writer
            .flush()
            .with_context(|| format!("writing {tmp_name}"))?;
        summary
    };
    bytes.finish();
    tmp.persist(&options.out)
        .with_context(|| format!("renaming {tmp_name} to {out}"))?;
    progress.detail(&format!("renamed {tmp_name} to {out}"));
    Ok(Report {
        raw: options.raw.clone(),
        out: options.out.clone(),
        binary: binary_path,
        binary_bytes: binary.len() as u64,
        partition,
        fat_type: written.fat_type,
        free_before: written.free_before,
        free_after: written.free_after,
        disk_bytes: summary.input_bytes,
        deflated_bytes: summary.deflated_bytes,
        out_bytes: summary.output_bytes,
        threads: options.threads,
        warnings,
    })
}

/// What finalize writes as `curtin/curtin-hooks`. curtin runs it with a plain exec, its environment
/// carrying `CONFIG`, `TARGET_MOUNT_POINT` and the rest; the wrapper hands all of it and its arguments to
/// the binary next to it.
pub const HOOK_SCRIPT: &str = r#"#!/bin/sh
# Run by curtin after it wrote the image; the work is done by the maas-esxi binary next to this file.
exec "$(dirname -- "$0")/maas-esxi" curtin-hook "$@"
"#;

/// The partition that gets `curtin/`: the altbootbank.
pub const PARTITION: u32 = 6;

/// The names of the hook and the binary inside `curtin/`.
const HOOK: &str = "curtin-hooks";
const BINARY: &str = "maas-esxi";

/// A byte count for people: `9.3 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(87), "87 B");
        assert_eq!(size(3 << 20), "3.0 MiB");
        assert_eq!(size(32 << 30), "32.0 GiB");
    }
}
