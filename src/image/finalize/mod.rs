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
use std::io::{BufWriter, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

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
    /// Show the compression's progress on stderr.
    pub progress: bool,
}

impl Options {
    /// The defaults: this executable, one thread per CPU, progress shown.
    pub fn new(raw: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Options {
        Options {
            raw: raw.into(),
            out: out.into(),
            binary: None,
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            progress: true,
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
    /// Things that may make the image fail at deployment, such as a dynamically linked binary; already
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
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let mut options = Options::new(&args.raw, &args.out);
    options.binary = args.binary.clone();
    if let Some(threads) = args.threads {
        options.threads = threads;
    }
    let report = finalize(&options)?;
    eprint!("{report}");
    Ok(0)
}

/// Writes `curtin/curtin-hooks` and `curtin/maas-esxi` into partition 6 of the raw disk, then compresses
/// the whole disk to a gzip file. The output appears only when complete; the disk is changed only inside
/// partition 6, and not at all when the files do not fit.
pub fn finalize(options: &Options) -> anyhow::Result<Report> {
    let raw = options.raw.display();
    let out = options.out.display();
    let binary_path = match &options.binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("finding the running executable")?,
    };
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
    let warnings: Vec<String> = binary_warning(&binary, &binary_path).into_iter().collect();
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }

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
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(out_dir)
        .with_context(|| format!("creating a temporary file in {}", out_dir.display()))?;

    let partition = gpt::partition(&mut disk, disk_meta.len(), PARTITION)
        .with_context(|| format!("reading GPT of {raw}"))?;
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

    let tmp_name = tmp.path().display().to_string();
    let mut progress = Progress::new(options.progress, &raw.to_string());
    let summary = {
        let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let summary = gzip::compress(&disk, &mut writer, options.threads, &mut |done, total| {
            progress.update(done, total)
        })
        .with_context(|| format!("compressing {raw} into {tmp_name}"))?;
        writer
            .flush()
            .with_context(|| format!("writing {tmp_name}"))?;
        summary
    };
    tmp.persist(&options.out)
        .with_context(|| format!("renaming {tmp_name} to {out}"))?;
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

/// Why `bytes` might not run as `curtin/maas-esxi` in the MAAS ephemeral environment (Linux x86-64),
/// if it looks so: not an x86-64 ELF file, or linked dynamically.
fn binary_warning(bytes: &[u8], path: &Path) -> Option<String> {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let is_elf_x86_64 = bytes.starts_with(b"\x7fELF\x02\x01") && u16_at(18) == Some(62);
    if !is_elf_x86_64 {
        return Some(format!(
            "{} is not an x86-64 ELF executable",
            path.display()
        ));
    }
    let phoff = bytes
        .get(32..40)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
    let (Some(phoff), Some(entry_size), Some(count)) = (phoff, u16_at(54), u16_at(56)) else {
        return Some(format!("{} has a truncated ELF header", path.display()));
    };
    let has_interpreter = (0..u64::from(count)).any(|i| {
        let at = phoff.saturating_add(i * u64::from(entry_size));
        let p_type = usize::try_from(at)
            .ok()
            .and_then(|at| bytes.get(at..at.checked_add(4)?))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        p_type == Some(PT_INTERP)
    });
    has_interpreter.then(|| {
        format!(
            "{} is dynamically linked: it needs a C library compatible with the one it was built against \
             at deployment time; see the README for the static build",
            path.display()
        )
    })
}

/// The ELF program header type that names the dynamic loader.
const PT_INTERP: u32 = 3;

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

/// The compression's progress on stderr: one line rewritten in place on a terminal, a line per tenth
/// otherwise (logs).
#[derive(Debug)]
struct Progress {
    enabled: bool,
    terminal: bool,
    name: String,
    shown: Option<u64>,
}

impl Progress {
    fn new(enabled: bool, name: &str) -> Progress {
        Progress {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            name: name.to_string(),
            shown: None,
        }
    }

    fn update(&mut self, done: u64, total: u64) {
        if !self.enabled || total == 0 {
            return;
        }
        let percent = done.saturating_mul(100) / total;
        let step = if self.terminal {
            percent
        } else {
            percent / 10 * 10
        };
        if self.shown == Some(step) {
            return;
        }
        self.shown = Some(step);
        let line = format!(
            "compressing {}: {step}% ({} of {})",
            self.name,
            size(done),
            size(total)
        );
        let mut stderr = std::io::stderr().lock();
        // Progress is best effort: a closed stderr must not fail the image.
        let _ = if self.terminal {
            write!(stderr, "\r{line}{}", if done == total { "\n" } else { "" })
        } else {
            writeln!(stderr, "{line}")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An x86-64 ELF header with `types` as its program headers' types.
    fn elf(types: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0; 64 + 56 * types.len()];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        bytes[18..20].copy_from_slice(&62u16.to_le_bytes());
        bytes[32..40].copy_from_slice(&64u64.to_le_bytes());
        bytes[54..56].copy_from_slice(&56u16.to_le_bytes());
        bytes[56..58].copy_from_slice(&(types.len() as u16).to_le_bytes());
        for (i, t) in types.iter().enumerate() {
            bytes[64 + 56 * i..68 + 56 * i].copy_from_slice(&t.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn binary_warnings() {
        let path = Path::new("b");
        assert_eq!(binary_warning(&elf(&[6, 1, 1]), path), None);
        let dynamic = binary_warning(&elf(&[6, PT_INTERP, 1]), path).expect("dynamic");
        assert!(dynamic.starts_with("b is dynamically linked"), "{dynamic}");
        assert_eq!(
            binary_warning(b"#!/bin/sh\n", path).as_deref(),
            Some("b is not an x86-64 ELF executable")
        );
        let mut truncated = elf(&[PT_INTERP]);
        truncated.truncate(66);
        assert_eq!(
            binary_warning(&truncated, path),
            None,
            "headers past the end are not read"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size(87), "87 B");
        assert_eq!(size(3 << 20), "3.0 MiB");
        assert_eq!(size(32 << 30), "32.0 GiB");
    }
}
