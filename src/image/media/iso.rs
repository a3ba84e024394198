//! ESXi installer ISOs: [`inspect`] reads the ISO 9660 structures and recognises the installer and its
//! version; [`patch_boot_options`] writes boot options into a copy's `BOOT.CFG` files in place.
//!
//! The patch rewrites the `kernelopt=` line inside each file's existing sectors and the data length in
//! every directory record that points at the file (the ECMA-119 tree, which Rock Ridge shares, and every
//! supplementary tree such as Joliet). Nothing else moves: the boot catalog, the boot images and every
//! other file keep their bytes, so BIOS and UEFI boot work as before. When the new text does not fit in
//! the file's last sector, or a UDF file system would keep the old length, the patch is not possible and
//! the caller types the options at the boot prompt instead.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::image::rejected::Rejected;

/// The boot configurations an ESXi installer carries: BIOS (isolinux → mboot.c32) and UEFI (mboot.efi).
pub const BOOT_CFG_PATHS: [&str; 2] = ["/BOOT.CFG", "/EFI/BOOT/BOOT.CFG"];

/// What [`inspect`] found in an ESXi installer ISO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoInfo {
    /// The primary volume identifier, trailing spaces removed.
    pub volume_id: String,
    /// The ESXi release, when the ISO says which.
    pub version: Option<EsxiVersion>,
    /// The `kernelopt=` value of `/BOOT.CFG`.
    pub kernelopt: String,
    /// `/EFI/BOOT/BOOT.CFG` exists: mboot.efi boots the installer under UEFI.
    pub uefi: bool,
    pub joliet: bool,
    pub rock_ridge: bool,
    /// A UDF file system sits next to ISO 9660; an in-place patch would leave its lengths stale.
    pub udf: bool,
}

/// An ESXi release as the installer ISO names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsxiVersion {
    pub major: u32,
    pub minor: u32,
    /// The release as written on the ISO: `8.0.3` (BOOT.CFG) or `8.0U3` (image profile name).
    pub name: String,
    /// The build number, e.g. 24280767.
    pub build: Option<u64>,
    pub source: VersionSource,
}

/// Where the version was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The `build=` line of `/BOOT.CFG` (ESXi 7.0 and later).
    BootCfg,
    /// The image profile name (`ESXi-8.0U3-24022510-standard`) in the isolinux menu.
    IsolinuxMenu,
    /// The volume identifier, when it is shaped like `ESXI-8.0U3-…`.
    VolumeId,
}

/// The outcome of [`patch_boot_options`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patched {
    /// `dst` is a copy of the ISO whose boot configurations carry the options.
    InPlace(Vec<PatchedFile>),
    /// The options cannot be written into the ISO in place; `dst` was not created. The reason says why.
    NotPossible(String),
}

/// One patched `BOOT.CFG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchedFile {
    /// The file's path on the ISO, e.g. `/EFI/BOOT/BOOT.CFG`.
    pub path: String,
    /// The new `kernelopt=` value.
    pub kernelopt: String,
    /// False when the file already carried every option (patching a patched ISO).
    pub changed: bool,
    /// How many directory records (one per ISO 9660 tree) now give the new length.
    pub records: usize,
}

impl fmt::Display for EsxiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.build {
            Some(build) => write!(f, "{} (build {build})", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Reads the volume descriptors and directories of the ISO at `path` and checks that it is an ESXi
/// installer: a `/BOOT.CFG` with `kernel=` and `kernelopt=` lines, and the kernel and the base system
/// image `S.V00` it boots. Anything else is a [`Rejected`] error naming the file.
pub fn inspect(path: &Path) -> anyhow::Result<IsoInfo> {
    let image = Image::open(path)?;
    let iso = Iso::read(&image)?;
    let installer = Installer::find(&image, &iso)?;
    Ok(installer.info)
}

/// Copies the ISO `src` to `dst` and sets the options in `extra` on the `kernelopt=` line of its
/// `/BOOT.CFG` and `/EFI/BOOT/BOOT.CFG`: an option whose name (the part before `=`) is already there is
/// replaced, any other is appended. Patching a patched copy gives the same bytes.
pub fn patch_boot_options(src: &Path, dst: &Path, extra: &str) -> anyhow::Result<Patched> {
    let image = Image::open(src)?;
    let iso = Iso::read(&image)?;
    let installer = Installer::find(&image, &iso)?;
    if installer.info.udf {
        return Ok(Patched::NotPossible(format!(
            "{} also carries a UDF file system, whose file entries would keep the old length of BOOT.CFG",
            src.display()
        )));
    }
    let mut edits: Vec<Edit> = Vec::new();
    for file in &installer.boot_cfgs {
        if file.record.flags & FLAG_MULTI_EXTENT != 0 {
            return Ok(Patched::NotPossible(format!(
                "{} of {} is stored in several extents",
                file.path,
                src.display()
            )));
        }
        let Some(new) = with_boot_options(&file.content, extra) else {
            return Err(not_esxi(src, &format!("{} has no kernelopt= line", file.path)).into());
        };
        let room = file.record.size.div_ceil(SECTOR as u32) as usize * SECTOR as usize;
        if file.record.data_lba() * SECTOR + room as u64 > image.len {
            return Err(image
                .damaged(&format!(
                    "the last sector of {} lies beyond the end of the file",
                    file.path
                ))
                .into());
        }
        if new.len() > room {
            return Ok(Patched::NotPossible(format!(
                "the options do not fit in {} of {}: it would grow to {} bytes, its sectors hold {room}",
                file.path,
                src.display(),
                new.len()
            )));
        }
        edits.push(Edit {
            path: file.path.to_string(),
            data_lba: file.record.data_lba(),
            old_size: file.record.size,
            kernelopt: kernelopt(&new).unwrap_or_default(),
            changed: new != file.content,
            new,
            record_offsets: Vec::new(),
        });
    }
    let records = iso.all_records(&image)?;
    for edit in &mut edits {
        edit.record_offsets = records
            .iter()
            .filter(|r| !r.is_dir() && r.data_lba() == edit.data_lba && r.size == edit.old_size)
            .map(|r| r.offset)
            .collect();
        if edit.changed && edit.record_offsets.is_empty() {
            anyhow::bail!(
                "internal error, this is a bug: no directory record of {} was found",
                edit.path
            );
        }
    }
    write_patched_copy(src, dst, &edits)
        .with_context(|| format!("writing the patched ISO {}", dst.display()))?;
    Ok(Patched::InPlace(
        edits
            .into_iter()
            .map(|e| PatchedFile {
                path: e.path,
                kernelopt: e.kernelopt,
                changed: e.changed,
                records: if e.changed { e.record_offsets.len() } else { 0 },
            })
            .collect(),
    ))
}

const SECTOR: u64 = 2048;
const FIRST_DESCRIPTOR: u64 = 16;
/// Volume descriptors are few; a set without a terminator in this many sectors is damaged.
const MAX_DESCRIPTORS: u64 = 64;
const FLAG_DIRECTORY: u8 = 0x02;
const FLAG_MULTI_EXTENT: u8 = 0x80;
/// No ESXi directory or BOOT.CFG comes near these sizes; larger ones mean a damaged or foreign image.
const MAX_DIRECTORY: u32 = 16 << 20;
const MAX_BOOT_CFG: u32 = 1 << 20;
const MAX_DEPTH: usize = 64;

/// One planned change of a `BOOT.CFG`.
struct Edit {
    path: String,
    data_lba: u64,
    old_size: u32,
    new: Vec<u8>,
    kernelopt: String,
    changed: bool,
    /// Byte offsets in the image of every directory record to update.
    record_offsets: Vec<u64>,
}

/// The ISO file, read with positioned reads that check the image's bounds.
struct Image {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Image {
    fn open(path: &Path) -> anyhow::Result<Image> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("reading the size of {}", path.display()))?
            .len();
        Ok(Image {
            file,
            path: path.to_path_buf(),
            len,
        })
    }

    /// `len` bytes at `offset`; a range outside the file means the structures are damaged.
    fn read(&self, offset: u64, len: u64, what: &str) -> anyhow::Result<Vec<u8>> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(self
                .damaged(&format!("{what} lies beyond the end of the file"))
                .into());
        }
        let mut buf = vec![0; len as usize];
        self.file
            .read_exact_at(&mut buf, offset)
            .with_context(|| format!("reading {what} of {}", self.path.display()))?;
        Ok(buf)
    }

    fn damaged(&self, detail: &str) -> Rejected {
        Rejected::new(format!(
            "{} is not a readable ISO 9660 image: {detail}",
            self.path.display()
        ))
    }
}

/// How a tree spells its file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// ECMA-119 d-characters (and whatever else a writer put there), read as Latin-1.
    Bytes,
    /// Joliet: UCS-2 big-endian.
    Ucs2,
}

/// A directory record.
#[derive(Debug, Clone)]
struct Record {
    /// Where the record starts in the image.
    offset: u64,
    lba: u32,
    extended_attribute_sectors: u8,
    size: u32,
    flags: u8,
    /// The name without its `;1` version and trailing dot.
    name: String,
    system_use: Vec<u8>,
}

impl Record {
    fn parse(bytes: &[u8], offset: u64, names: Names) -> Option<Record> {
        let len = *bytes.first()? as usize;
        let name_len = *bytes.get(32)? as usize;
        if len < 34 || bytes.len() < len || 33 + name_len > len {
            return None;
        }
        let raw_name = &bytes[33..33 + name_len];
        let system_use_start = 33 + name_len + usize::from(name_len.is_multiple_of(2));
        let name = match (raw_name, names) {
            ([0], _) => ".".to_string(),
            ([1], _) => "..".to_string(),
            (raw, Names::Bytes) => raw.iter().map(|&b| char::from(b)).collect(),
            (raw, Names::Ucs2) => char::decode_utf16(
                raw.chunks_exact(2)
                    .map(|pair| u16::from_be_bytes([pair[0], pair[1]])),
            )
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        };
        Some(Record {
            offset,
            lba: le_u32(&bytes[2..6]),
            extended_attribute_sectors: bytes[1],
            size: le_u32(&bytes[10..14]),
            flags: bytes[25],
            name: file_name(&name),
            system_use: bytes
                .get(system_use_start..len)
                .unwrap_or_default()
                .to_vec(),
        })
    }

    fn is_dir(&self) -> bool {
        self.flags & FLAG_DIRECTORY != 0
    }

    /// The first sector of the file's data, after any extended attribute record.
    fn data_lba(&self) -> u64 {
        u64::from(self.lba) + u64::from(self.extended_attribute_sectors)
    }
}

/// A name as lookups compare it: without the `;1` version and the dot of an empty extension.
fn file_name(raw: &str) -> String {
    let base = match raw.rsplit_once(';') {
        Some((base, version)) if version.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => raw,
    };
    if base.len() > 1 {
        base.strip_suffix('.').unwrap_or(base).to_string()
    } else {
        base.to_string()
    }
}

fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The both-endian 32-bit field ECMA-119 stores lengths in: little-endian, then big-endian.
fn both_endian_u32(value: u32) -> [u8; 8] {
    let mut out = [0; 8];
    out[..4].copy_from_slice(&value.to_le_bytes());
    out[4..].copy_from_slice(&value.to_be_bytes());
    out
}

/// One directory tree: the primary one, or a supplementary (Joliet) or enhanced one.
#[derive(Debug)]
struct Tree {
    names: Names,
    root: Record,
}

/// The volume descriptors of an ISO.
#[derive(Debug)]
struct Iso {
    volume_id: String,
    primary: Tree,
    supplementary: Vec<Tree>,
    joliet: bool,
    udf: bool,
}

impl Iso {
    fn read(image: &Image) -> anyhow::Result<Iso> {
        if image.len < (FIRST_DESCRIPTOR + 1) * SECTOR {
            return Err(not_iso(&image.path, "the file is too small").into());
        }
        let mut primary = None;
        let mut volume_id = String::new();
        let mut supplementary = Vec::new();
        let mut joliet = false;
        let mut terminator = None;
        for sector in FIRST_DESCRIPTOR..FIRST_DESCRIPTOR + MAX_DESCRIPTORS {
            let bytes = image.read(sector * SECTOR, SECTOR, "a volume descriptor")?;
            if &bytes[1..6] != b"CD001" {
                if sector == FIRST_DESCRIPTOR {
                    return Err(
                        not_iso(&image.path, "it has no volume descriptor at sector 16").into(),
                    );
                }
                return Err(image
                    .damaged("the volume descriptors end without a terminator")
                    .into());
            }
            match bytes[0] {
                1 if primary.is_none() => {
                    let block_size = u16::from_le_bytes([bytes[128], bytes[129]]);
                    if u64::from(block_size) != SECTOR {
                        return Err(image
                            .damaged(&format!("its logical block size is {block_size}, not 2048"))
                            .into());
                    }
                    volume_id = String::from_utf8_lossy(&bytes[40..72])
                        .trim_end()
                        .to_string();
                    primary = Some(root_record(image, &bytes, sector, Names::Bytes)?);
                }
                2 => {
                    let escapes = &bytes[88..120];
                    let is_joliet = [b"%/@", b"%/C", b"%/E"]
                        .iter()
                        .any(|seq| escapes.windows(3).any(|w| w == *seq));
                    joliet |= is_joliet;
                    let names = if is_joliet { Names::Ucs2 } else { Names::Bytes };
                    supplementary.push(Tree {
                        names,
                        root: root_record(image, &bytes, sector, names)?,
                    });
                }
                255 => {
                    terminator = Some(sector);
                    break;
                }
                _ => {}
            }
        }
        let Some(terminator) = terminator else {
            return Err(image
                .damaged("the volume descriptors end without a terminator")
                .into());
        };
        let Some(root) = primary else {
            return Err(not_iso(&image.path, "it has no primary volume descriptor").into());
        };
        Ok(Iso {
            volume_id,
            primary: Tree {
                names: Names::Bytes,
                root,
            },
            supplementary,
            joliet,
            udf: has_udf(image, terminator)?,
        })
    }

    /// Whether the primary tree carries Rock Ridge: its root's `.` entry starts with the SUSP `SP` entry.
    fn rock_ridge(&self, image: &Image) -> anyhow::Result<bool> {
        let first = image.read(
            u64::from(self.primary.root.lba) * SECTOR,
            SECTOR,
            "the root directory",
        )?;
        Ok(Record::parse(&first, 0, Names::Bytes)
            .is_some_and(|dot| dot.system_use.starts_with(&[b'S', b'P', 7, 1, 0xbe, 0xef])))
    }

    /// The record at `path` (`/EFI/BOOT/BOOT.CFG`) in the primary tree; names compare case-insensitively.
    fn lookup(&self, image: &Image, path: &str) -> anyhow::Result<Option<Record>> {
        let mut current = self.primary.root.clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !current.is_dir() {
                return Ok(None);
            }
            let entries = read_dir(image, &current, Names::Bytes)?;
            match entries
                .into_iter()
                .find(|e| e.name.eq_ignore_ascii_case(part))
            {
                Some(entry) => current = entry,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// Every file and directory record of every tree.
    fn all_records(&self, image: &Image) -> anyhow::Result<Vec<Record>> {
        let mut out = Vec::new();
        for tree in std::iter::once(&self.primary).chain(&self.supplementary) {
            let mut visited = BTreeSet::new();
            walk(image, &tree.root, tree.names, 0, &mut visited, &mut out)?;
        }
        Ok(out)
    }
}

/// The root directory record of a volume descriptor (bytes 156..190).
fn root_record(
    image: &Image,
    descriptor: &[u8],
    sector: u64,
    names: Names,
) -> anyhow::Result<Record> {
    Record::parse(&descriptor[156..190], sector * SECTOR + 156, names)
        .filter(Record::is_dir)
        .ok_or_else(|| {
            image
                .damaged(&format!(
                    "the root directory record at sector {sector} is malformed"
                ))
                .into()
        })
}

/// Whether a UDF volume recognition sequence (`BEA01`, `NSR02`/`NSR03`) follows the ISO 9660 descriptors.
fn has_udf(image: &Image, terminator: u64) -> anyhow::Result<bool> {
    for sector in terminator + 1..terminator + 1 + MAX_DESCRIPTORS {
        if (sector + 1) * SECTOR > image.len {
            return Ok(false);
        }
        let bytes = image.read(sector * SECTOR, 8, "a volume recognition descriptor")?;
        match &bytes[1..6] {
            b"NSR02" | b"NSR03" => return Ok(true),
            b"BEA01" | b"BOOT2" | b"CD001" | b"CDW02" => {}
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// The entries of a directory, without `.` and `..`.
fn read_dir(image: &Image, dir: &Record, names: Names) -> anyhow::Result<Vec<Record>> {
    if dir.size > MAX_DIRECTORY {
        return Err(image
            .damaged(&format!("a directory claims {} bytes", dir.size))
            .into());
    }
    let start = dir.data_lba() * SECTOR;
    let data = image.read(start, u64::from(dir.size), "a directory")?;
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len = usize::from(data[pos]);
        if len == 0 {
            // Records do not cross sector boundaries; the rest of this sector is padding.
            pos = (pos / SECTOR as usize + 1) * SECTOR as usize;
            continue;
        }
        let record = data
            .get(pos..pos + len)
            .and_then(|bytes| Record::parse(bytes, start + pos as u64, names))
            .ok_or_else(|| {
                image.damaged(&format!(
                    "the directory record at byte {} is malformed",
                    start + pos as u64
                ))
            })?;
        if record.name != "." && record.name != ".." {
            entries.push(record);
        }
        pos += len;
    }
    Ok(entries)
}

fn walk(
    image: &Image,
    dir: &Record,
    names: Names,
    depth: usize,
    visited: &mut BTreeSet<u64>,
    out: &mut Vec<Record>,
) -> anyhow::Result<()> {
    if depth > MAX_DEPTH || !visited.insert(dir.data_lba()) {
        return Ok(());
    }
    for entry in read_dir(image, dir, names)? {
        if entry.is_dir() {
            walk(image, &entry, names, depth + 1, visited, out)?;
        }
        out.push(entry);
    }
    Ok(())
}

/// A `BOOT.CFG` found on the ISO.
struct BootCfg {
    path: &'static str,
    record: Record,
    content: Vec<u8>,
}

/// An ISO recognised as an ESXi installer.
struct Installer {
    info: IsoInfo,
    boot_cfgs: Vec<BootCfg>,
}

impl Installer {
    fn find(image: &Image, iso: &Iso) -> anyhow::Result<Installer> {
        let src = &image.path;
        let mut boot_cfgs = Vec::new();
        for path in BOOT_CFG_PATHS {
            let Some(record) = iso.lookup(image, path)? else {
                continue;
            };
            if record.is_dir() || record.size > MAX_BOOT_CFG {
                return Err(not_esxi(src, &format!("{path} is not a boot configuration")).into());
            }
            let content = image.read(record.data_lba() * SECTOR, u64::from(record.size), path)?;
            boot_cfgs.push(BootCfg {
                path,
                record,
                content,
            });
        }
        let Some(bios) = boot_cfgs.first().filter(|b| b.path == BOOT_CFG_PATHS[0]) else {
            return Err(not_esxi(src, "it has no /BOOT.CFG").into());
        };
        let text = String::from_utf8_lossy(&bios.content).into_owned();
        let Some(kernel) = setting(&text, "kernel") else {
            return Err(not_esxi(src, "/BOOT.CFG has no kernel= line").into());
        };
        let Some(options) = setting(&text, "kernelopt") else {
            return Err(not_esxi(src, "/BOOT.CFG has no kernelopt= line").into());
        };
        let prefix = setting(&text, "prefix").unwrap_or_default();
        let kernel_path = if kernel.starts_with('/') || prefix.is_empty() {
            kernel.to_string()
        } else {
            format!("{prefix}/{kernel}")
        };
        for (what, path) in [
            ("the kernel", kernel_path.as_str()),
            ("the base system", "/S.V00"),
        ] {
            if iso.lookup(image, path)?.is_none_or(|r| r.is_dir()) {
                return Err(not_esxi(
                    src,
                    &format!("{what} {path} that /BOOT.CFG boots is not on it"),
                )
                .into());
            }
        }
        let version = match version_from_boot_cfg(&text) {
            Some(version) => Some(version),
            None => match iso.lookup(image, "/ISOLINUX.CFG")? {
                Some(record) if !record.is_dir() && record.size <= MAX_BOOT_CFG => {
                    let menu = image.read(
                        record.data_lba() * SECTOR,
                        u64::from(record.size),
                        "/ISOLINUX.CFG",
                    )?;
                    version_from_profile(
                        &String::from_utf8_lossy(&menu),
                        VersionSource::IsolinuxMenu,
                    )
                }
                _ => None,
            },
        }
        .or_else(|| version_from_profile(&iso.volume_id, VersionSource::VolumeId));
        let info = IsoInfo {
            volume_id: iso.volume_id.clone(),
            version,
            kernelopt: options.to_string(),
            uefi: boot_cfgs.len() > 1,
            joliet: iso.joliet,
            rock_ridge: iso.rock_ridge(image)?,
            udf: iso.udf,
        };
        Ok(Installer { info, boot_cfgs })
    }
}

/// The value of the first `key=` line of a boot.cfg; keys compare case-insensitively.
fn setting<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim_end_matches('\r').trim())
    })
}

/// `build=8.0.3-0.35.24280767` → 8.0.3, build 24280767.
fn version_from_boot_cfg(text: &str) -> Option<EsxiVersion> {
    let build_line = setting(text, "build")?;
    let (name, rest) = build_line.split_once('-')?;
    let mut numbers = name.split('.');
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some(EsxiVersion {
        major,
        minor,
        name: name.to_string(),
        build: rest.rsplit('.').next().and_then(|b| b.parse().ok()),
        source: VersionSource::BootCfg,
    })
}

/// `ESXi-8.0U3-24022510-standard` (any case, anywhere in `text`) → 8.0U3, build 24022510.
fn version_from_profile(text: &str, source: VersionSource) -> Option<EsxiVersion> {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("esxi-").find_map(|(at, _)| {
        let rest = &text[at + 5..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let (major, after) = name.split_once('.')?;
        let minor: String = after.chars().take_while(char::is_ascii_digit).collect();
        let build = rest[name.len()..]
            .strip_prefix('-')
            .map(|b| {
                b.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|b| b.parse().ok());
        Some(EsxiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
            name,
            build,
            source,
        })
    })
}

/// `content` with `extra` merged into its first `kernelopt=` line, or None without such a line.
fn with_boot_options(content: &[u8], extra: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(content.len() + extra.len() + 1);
    let mut done = false;
    for line in content.split_inclusive(|&b| b == b'\n') {
        let (body, ending) = split_line_ending(line);
        let key = body.split(|&b| b == b'=').next().unwrap_or_default();
        if !done && body.contains(&b'=') && key.trim_ascii().eq_ignore_ascii_case(b"kernelopt") {
            let value = String::from_utf8_lossy(&body[key.len() + 1..]);
            out.extend_from_slice(key);
            out.push(b'=');
            out.extend_from_slice(merge_options(&value, extra).as_bytes());
            out.extend_from_slice(ending);
            done = true;
        } else {
            out.extend_from_slice(line);
        }
    }
    done.then_some(out)
}

fn split_line_ending(line: &[u8]) -> (&[u8], &[u8]) {
    let cut = if line.ends_with(b"\r\n") {
        line.len() - 2
    } else if line.ends_with(b"\n") {
        line.len() - 1
    } else {
        line.len()
    };
    line.split_at(cut)
}

/// The `kernelopt=` value of a boot.cfg's bytes.
fn kernelopt(content: &[u8]) -> Option<String> {
    setting(&String::from_utf8_lossy(content), "kernelopt").map(str::to_string)
}

/// Options separated by single spaces: `existing`, where each option of `extra` replaces the first one
/// with its name (dropping later ones) or is appended.
fn merge_options(existing: &str, extra: &str) -> String {
    fn name(option: &str) -> &str {
        option.split('=').next().unwrap_or(option)
    }
    let mut options: Vec<&str> = existing.split_whitespace().collect();
    for option in extra.split_whitespace() {
        match options.iter().position(|o| name(o) == name(option)) {
            Some(first) => {
                options[first] = option;
                let mut index = 0;
                options.retain(|o| {
                    let keep = index <= first || name(o) != name(option);
                    index += 1;
                    keep
                });
            }
            None => options.push(option),
        }
    }
    options.join(" ")
}

/// Copies `src` next to `dst`, applies the edits, and renames the copy to `dst` once it is complete.
fn write_patched_copy(src: &Path, dst: &Path, edits: &[Edit]) -> anyhow::Result<()> {
    let same = match (src.canonicalize(), dst.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        anyhow::bail!("it is the source ISO itself; write the patched copy elsewhere");
    }
    let mut partial = dst.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::copy(src, &partial)
        .with_context(|| format!("copying {} to {}", src.display(), partial.display()))?;
    let result = apply_edits(&partial, edits).and_then(|()| {
        std::fs::rename(&partial, dst)
            .with_context(|| format!("renaming {} to {}", partial.display(), dst.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn apply_edits(path: &Path, edits: &[Edit]) -> anyhow::Result<()> {
    let mut permissions = std::fs::metadata(path)
        .with_context(|| format!("reading the permissions of {}", path.display()))?
        .permissions();
    permissions.set_mode(permissions.mode() | 0o200);
    std::fs::set_permissions(path, permissions)
        .with_context(|| format!("making {} writable", path.display()))?;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    for edit in edits.iter().filter(|e| e.changed) {
        let start = edit.data_lba * SECTOR;
        let room = u64::from(edit.old_size).div_ceil(SECTOR) * SECTOR;
        let mut data = edit.new.clone();
        data.resize(room as usize, 0);
        file.write_all_at(&data, start)
            .with_context(|| format!("writing {}", edit.path))?;
        let new_size = u32::try_from(edit.new.len())
            .context("internal error, this is a bug: a BOOT.CFG larger than 4 GiB")?;
        for &offset in &edit.record_offsets {
            file.write_all_at(&both_endian_u32(new_size), offset + 10)
                .with_context(|| format!("updating a directory record of {}", edit.path))?;
        }
    }
    file.sync_all()
        .with_context(|| format!("flushing {}", path.display()))
}

fn not_iso(path: &Path, detail: &str) -> Rejected {
    Rejected::new(format!(
        "{} is not an ISO 9660 image: {detail}",
        path.display()
    ))
    .with_help("give the VMware ESXi installer ISO (VMware-VMvisor-Installer-*.iso)")
}

fn not_esxi(path: &Path, detail: &str) -> Rejected {
    Rejected::new(format!(
        "{} is not a VMware ESXi installer ISO: {detail}",
        path.display()
    ))
    .with_help("give the VMware ESXi installer ISO (VMware-VMvisor-Installer-*.iso)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESXI_8: &str = "bootstate=0\ntitle=Loading ESXi installer\ntimeout=5\nprefix=\nkernel=/b.b00\n\
                          kernelopt=runweasel cdromBoot\nmodules=/jumpstrt.gz --- /s.v00\n\
                          build=8.0.3-0.35.24280767\nupdated=0\n";

    #[test]
    fn options_are_appended_once() {
        let extra = "ks=usb:/KS.CFG com1_Port=0x3f8";
        let once = with_boot_options(ESXI_8.as_bytes(), extra).expect("has kernelopt");
        let text = String::from_utf8(once.clone()).expect("ascii");
        assert!(text.contains("\nkernelopt=runweasel cdromBoot ks=usb:/KS.CFG com1_Port=0x3f8\n"));
        assert_eq!(text.len(), ESXI_8.len() + extra.len() + 1);
        let twice = with_boot_options(&once, extra).expect("has kernelopt");
        assert_eq!(once, twice);
    }

    #[test]
    fn an_option_of_the_same_name_is_replaced() {
        assert_eq!(
            merge_options(
                "runweasel ks=cdrom:/KS.CFG x ks=http://h/ks",
                "ks=usb:/KS.CFG"
            ),
            "runweasel ks=usb:/KS.CFG x"
        );
        assert_eq!(merge_options("", "a=1 b"), "a=1 b");
    }

    #[test]
    fn crlf_line_endings_are_kept() {
        let patched = with_boot_options(
            b"kernel=/b.b00\r\nkernelopt=runweasel\r\n",
            "ks=usb:/KS.CFG",
        )
        .expect("has kernelopt");
        assert_eq!(
            patched,
            b"kernel=/b.b00\r\nkernelopt=runweasel ks=usb:/KS.CFG\r\n"
        );
        assert_eq!(
            with_boot_options(b"kernel=/b.b00\n", "ks=usb:/KS.CFG"),
            None
        );
    }

    #[test]
    fn versions() {
        let v = version_from_boot_cfg(ESXI_8).expect("a version");
        assert_eq!(
            (v.major, v.minor, v.name.as_str(), v.build),
            (8, 0, "8.0.3", Some(24280767))
        );
        assert_eq!(v.to_string(), "8.0.3 (build 24280767)");
        let menu = "MENU TITLE ESXi-7.0U3g-20328353-standard Boot Menu\n";
        let v = version_from_profile(menu, VersionSource::IsolinuxMenu).expect("a version");
        assert_eq!(
            (v.major, v.minor, v.name.as_str(), v.build),
            (7, 0, "7.0U3g", Some(20328353))
        );
        let v =
            version_from_profile("ESXI-9.0-EXAMPLE", VersionSource::VolumeId).expect("a version");
        assert_eq!((v.major, v.minor, v.build), (9, 0, None));
        assert_eq!(version_from_profile("CDROM", VersionSource::VolumeId), None);
        assert_eq!(version_from_boot_cfg("build=\n"), None);
    }

    #[test]
    fn names_lose_their_version_and_empty_extension() {
        assert_eq!(file_name("BOOT.CFG;1"), "BOOT.CFG");
        assert_eq!(file_name("README.;1"), "README");
        assert_eq!(file_name("EFI"), "EFI");
        assert_eq!(file_name("."), ".");
    }
}
