//! `vmkfstools`: create (`-C`), span (`-Z`), grow (`-G`), query (`-P`) and rescan (`-V`) VMFS volumes on
//! device partitions, with getopt's option grammar. Only `-Z` reads stdin, for its confirmation.

use std::io::BufRead;

use super::{
    Extent, Fs, MAX_EXTENTS, MIB, SECTOR, Storage, Target, VMFS_GUID, VMFS_MIN, Volume, failure,
};
use crate::tool::Outcome;

pub fn run(storage: &mut Storage, mac: &str, argv: &[String], stdin: &mut dyn BufRead) -> Outcome {
    let mut stdout = String::new();
    match dispatch(storage, mac, argv, stdin, &mut stdout) {
        Ok(()) => Outcome::ok(stdout),
        Err(error) => failure(stdout, String::new(), &error),
    }
}

/// The operation a command line asks for, as its short option (`-C`), for call accounting.
pub fn operation(argv: &[String]) -> Option<&'static str> {
    parse(argv).ok().and_then(|o| o.op).map(|(op, _)| match op {
        'C' => "-C",
        'Z' => "-Z",
        'G' => "-G",
        'P' => "-P",
        _ => "-V",
    })
}

/// Short letter, long name, whether it takes a value.
const OPTIONS: &[(char, &str, bool)] = &[
    ('C', "createfs", true),
    ('b', "blocksize", true),
    ('S', "setfsname", true),
    ('Z', "spanfs", true),
    ('G', "growfs", true),
    ('P', "queryfs", false),
    ('h', "human-readable", false),
    ('V', "rescanvmfs", false),
    ('v', "verbose", true),
];

#[derive(Debug, Default)]
struct Opts {
    /// The operation's letter and its value.
    op: Option<(char, Option<String>)>,
    block: Option<String>,
    label: Option<String>,
    human: bool,
    positional: Vec<String>,
}

fn parse(argv: &[String]) -> Result<Opts, String> {
    let mut opts = Opts::default();
    let mut given: Vec<(char, Option<String>)> = Vec::new();
    let mut i = 0;
    while let Some(token) = argv.get(i) {
        i += 1;
        let mut take_value = |inline: Option<String>, letter: char| -> Result<String, String> {
            match inline {
                Some(v) => Ok(v),
                None => {
                    i += 1;
                    argv.get(i - 1).cloned().ok_or_else(|| {
                        format!("vmkfstools: option requires an argument -- '{letter}'")
                    })
                }
            }
        };
        if let Some(long) = token.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let &(letter, _, valued) = OPTIONS
                .iter()
                .find(|(_, l, _)| *l == name)
                .ok_or_else(|| format!("vmkfstools: unrecognized option '--{name}'"))?;
            let value = if valued {
                Some(take_value(inline, letter)?)
            } else {
                None
            };
            given.push((letter, value));
        } else if let Some(shorts) = token.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, letter) in shorts.char_indices() {
                let &(_, _, valued) = OPTIONS
                    .iter()
                    .find(|(c, _, _)| *c == letter)
                    .ok_or_else(|| format!("vmkfstools: invalid option -- '{letter}'"))?;
                if valued {
                    let rest = &shorts[at + letter.len_utf8()..];
                    let inline = (!rest.is_empty()).then(|| rest.to_string());
                    given.push((letter, Some(take_value(inline, letter)?)));
                    break;
                }
                given.push((letter, None));
            }
        } else {
            opts.positional.push(token.clone());
        }
    }
    for (letter, value) in given {
        match letter {
            'b' => opts.block = value,
            'S' => opts.label = value,
            'h' => opts.human = true,
            'v' => {}
            op => {
                if opts.op.is_some() {
                    return Err("Error: Give only one of -C, -Z, -G, -P and -V".into());
                }
                opts.op = Some((op, value));
            }
        }
    }
    Ok(opts)
}

fn dispatch(
    storage: &mut Storage,
    mac: &str,
    argv: &[String],
    stdin: &mut dyn BufRead,
    out: &mut String,
) -> Result<(), String> {
    let opts = parse(argv)?;
    let Some((op, value)) = opts.op.clone() else {
        return Err(
            "Error: No operation: give -C|--createfs, -Z|--spanfs, -G|--growfs, -P|--queryfs or -V|--rescanvmfs"
                .into(),
        );
    };
    let value = value.unwrap_or_default();
    let one = |what: &str| -> Result<String, String> {
        match &opts.positional[..] {
            [only] => Ok(only.clone()),
            _ => Err(format!("Error: -{op} takes {what}")),
        }
    };
    match op {
        'C' => {
            let device = one("one partition, /vmfs/devices/disks/<device>:<N>")?;
            create(storage, mac, &opts, &value, &device, out)
        }
        'Z' => {
            let head =
                one("the new extent and the head extent, /vmfs/devices/disks/<device>:<N> each")?;
            span(storage, &value, &head, stdin, out)
        }
        'G' => {
            let second = one("the grown partition twice, /vmfs/devices/disks/<device>:<N>")?;
            grow(storage, &value, &second)
        }
        'P' => {
            let path = one("a volume, /vmfs/volumes/<label or UUID>")?;
            query(storage, &path, opts.human, out)
        }
        _ => {
            if !opts.positional.is_empty() {
                return Err("Error: -V takes no arguments".into());
            }
            storage.rescan();
            Ok(())
        }
    }
}

/// A partition path's disk index, disk name and partition number; the partition exists.
fn partition(storage: &Storage, path: &str) -> Result<(usize, String, u32), String> {
    match storage.resolve(path) {
        Some(Target::Partition(i, n)) if storage.disks[i].partition(n).is_some() => {
            Ok((i, storage.disks[i].id.clone(), n))
        }
        Some(Target::Disk(_)) => Err(format!(
            "Error: {path} is a whole disk: give a partition, {path}:<N>"
        )),
        _ => Err(format!("Error: No such file or directory: {path}")),
    }
}

/// The partition has the VMFS type and no mounted volume on it.
fn free_vmfs_partition(storage: &Storage, i: usize, number: u32) -> Result<(), String> {
    let disk = &storage.disks[i];
    let p = disk
        .partition(number)
        .ok_or_else(|| format!("Error: No such file or directory: {}:{number}", disk.id))?;
    if p.kind != VMFS_GUID && p.kind != "251" {
        return Err(format!(
            "Error: Partition {}:{number} has type {}, not vmfs ({VMFS_GUID})",
            disk.id,
            p.type_name()
        ));
    }
    if let Some(v) = storage.user_of(&disk.id, number) {
        return Err(format!(
            "Error: Device or resource busy: {}:{number} holds the mounted volume '{}'",
            disk.id,
            display_label(v)
        ));
    }
    Ok(())
}

fn display_label(v: &Volume) -> &str {
    if v.label.is_empty() {
        &v.uuid
    } else {
        &v.label
    }
}

fn create(
    storage: &mut Storage,
    mac: &str,
    opts: &Opts,
    fstype: &str,
    device: &str,
    out: &mut String,
) -> Result<(), String> {
    let fs = match fstype {
        "vmfs6" => Fs::Vmfs6,
        "vmfs5" => Fs::Vmfs5,
        _ => {
            return Err(format!(
                "Error: Unsupported file system type '{fstype}': use vmfs6 or vmfs5"
            ));
        }
    };
    if let Some(block) = &opts.block
        && !["1m", "1M", "1024k", "1024K", "1048576"].contains(&block.as_str())
    {
        return Err(format!(
            "Error: Invalid block size '{block}': {fstype} uses 1m"
        ));
    }
    let label = opts.label.clone().unwrap_or_default();
    out.push_str(&format!(
        "create fs deviceName:'{device}', fsShortName:'{fstype}', fsName:'{label}'\n"
    ));
    let (i, id, number) = partition(storage, device)?;
    out.push_str(&format!(
        "deviceFullPath:/dev/disks/{id}:{number} deviceFile:{id}:{number}\n"
    ));
    free_vmfs_partition(storage, i, number)?;
    let p = storage.disks[i]
        .partition(number)
        .cloned()
        .ok_or_else(|| format!("Error: No such file or directory: {device}"))?;
    if p.sectors() < VMFS_MIN {
        return Err(format!(
            "Error: No space left on device: {id}:{number} has {} MiB, a VMFS volume needs 1300 MiB",
            p.sectors() * SECTOR / MIB
        ));
    }
    if !label.is_empty()
        && storage
            .volumes
            .iter()
            .any(|v| v.mounted && v.label == label)
    {
        return Err(format!(
            "Error: A mounted volume is already labelled '{label}'"
        ));
    }
    out.push_str(&format!(
        "ATS on device /dev/disks/{id}:{number}: not supported\n.\n\
         Checking if remote hosts are using this device as a valid file system. This may take a few seconds...\n"
    ));
    out.push_str(&match fs {
        Fs::Vmfs5 => format!(
            "Creating vmfs5 file system on \"{id}:{number}\" with blockSize 1048576 and volume label \"{label}\".\n"
        ),
        _ => format!(
            "Creating vmfs6 file system on \"{id}:{number}\" with blockSize 1048576, unmapGranularity 1048576, \
             unmapPriority default and volume label \"{label}\".\n"
        ),
    });
    storage.overwrite(&id, p.start, p.end);
    let uuid = storage.new_uuid(mac);
    let mut volume = Volume {
        uuid: uuid.clone(),
        label,
        fs,
        extents: vec![Extent {
            disk: id,
            partition: number,
            start: p.start,
            sectors: p.sectors(),
        }],
        mounted: true,
        used: 0,
        system: false,
    };
    volume.used = Volume::metadata(volume.capacity());
    storage.volumes.push(volume);
    out.push_str(&format!("Successfully created new volume: {uuid}\n"));
    Ok(())
}

/// Adds `extent` to the volume whose head extent is `head`, after the confirmation `0`.
fn span(
    storage: &mut Storage,
    extent: &str,
    head: &str,
    stdin: &mut dyn BufRead,
    out: &mut String,
) -> Result<(), String> {
    for path in [extent, head] {
        if !path.starts_with("/vmfs/devices/disks/") && !path.starts_with("/dev/disks/") {
            return Err(format!(
                "Error: {path} is not a device partition: -Z takes /vmfs/devices/disks/<device>:<N> for the new extent and for the head"
            ));
        }
    }
    let (_, head_disk, head_number) = partition(storage, head)?;
    let volume = storage
        .volumes
        .iter()
        .find(|v| {
            v.mounted
                && v.is_vmfs()
                && v.extents
                    .iter()
                    .any(|e| e.disk == head_disk && e.partition == head_number)
        })
        .ok_or_else(|| format!("Error: {head} does not hold a mounted VMFS volume"))?;
    if volume.extents[0].disk != head_disk || volume.extents[0].partition != head_number {
        return Err(format!(
            "Error: {head} is not the head extent of volume '{}'",
            display_label(volume)
        ));
    }
    if volume.extents.len() >= MAX_EXTENTS {
        return Err(format!(
            "Error: Volume '{}' already spans the maximum of {MAX_EXTENTS} extents",
            display_label(volume)
        ));
    }
    let uuid = volume.uuid.clone();
    let (i, disk, number) = partition(storage, extent)?;
    free_vmfs_partition(storage, i, number)?;
    let p = storage.disks[i]
        .partition(number)
        .cloned()
        .ok_or_else(|| format!("Error: No such file or directory: {extent}"))?;
    out.push_str(&format!(
        "VMware ESX Question:\nAll data on {extent} will be lost. Continue and format?\n\n0) _Yes\n1) _No\n\n"
    ));
    loop {
        out.push_str("Select a number from 0-1: ");
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => return Err("Error: No answer: end of input".into()),
            Ok(_) => {}
        }
        match line.trim() {
            "0" => break,
            "1" => return Err("Error: Operation cancelled by the user".into()),
            _ => {}
        }
    }
    storage.overwrite(&disk, p.start, p.end);
    let volume = storage
        .volumes
        .iter_mut()
        .find(|v| v.uuid == uuid)
        .ok_or("Error: internal error, the head volume vanished; this is a bug")?;
    volume.extents.push(Extent {
        disk,
        partition: number,
        start: p.start,
        sectors: p.sectors(),
    });
    Ok(())
}

/// Grows the volume's extent on a partition to the partition's end, after `partedUtil resize`.
fn grow(storage: &mut Storage, first: &str, second: &str) -> Result<(), String> {
    let (i, disk, number) = partition(storage, first)?;
    if partition(storage, second)? != (i, disk.clone(), number) {
        return Err(format!(
            "Error: -G takes the grown partition twice; {first} and {second} differ"
        ));
    }
    let end = storage.disks[i]
        .partition(number)
        .map(|p| p.end)
        .unwrap_or_default();
    let volume = storage
        .volumes
        .iter_mut()
        .find(|v| {
            v.mounted
                && v.is_vmfs()
                && v.extents
                    .iter()
                    .any(|e| e.disk == disk && e.partition == number)
        })
        .ok_or_else(|| format!("Error: {first} does not hold a mounted VMFS volume"))?;
    let extent = volume
        .extents
        .iter_mut()
        .find(|e| e.disk == disk && e.partition == number)
        .ok_or("Error: internal error, the extent vanished; this is a bug")?;
    if end < extent.start + extent.sectors {
        return Err(format!(
            "Error: Cannot grow {first}: the volume already fills the partition (resize it first)"
        ));
    }
    extent.sectors = end - extent.start + 1;
    Ok(())
}

fn query(storage: &Storage, path: &str, human: bool, out: &mut String) -> Result<(), String> {
    let name = path
        .strip_prefix("/vmfs/volumes/")
        .map(|n| n.trim_end_matches('/'))
        .unwrap_or_default();
    let volume = storage
        .volumes
        .iter()
        .find(|v| v.mounted && !name.is_empty() && (v.label == name || v.uuid == name))
        .ok_or_else(|| {
            format!("Error: Could not retrieve attributes for {path}: No such file or directory")
        })?;
    let (version, mode, on) = match volume.fs {
        Fs::Vmfs6 => ("VMFS-6.82 (Raw Major Version: 24)", "public", "lvm"),
        Fs::Vmfs5 => ("VMFS-5.61 (Raw Major Version: 14)", "public", "lvm"),
        Fs::Vffs => ("VFFS-1.0 (Raw Major Version: 1)", "public", "disks"),
        Fs::Vfat => ("vfat-0.04 (Raw Major Version: 0)", "private", "disks"),
    };
    let capacity = volume.capacity();
    let free = capacity - volume.used.min(capacity);
    let capacity_line = if human {
        format!(
            "Capacity {}, {} available, file block size 1 MB, max supported file size 64 TB",
            human_size(capacity),
            human_size(free)
        )
    } else {
        format!(
            "Capacity {capacity} ({} file blocks * 1048576), {free} ({} blocks) avail, max supported file size 70368744177664",
            capacity / MIB,
            free / MIB
        )
    };
    out.push_str(&format!(
        "{version} file system spanning {} partitions.\nFile system label (if any): {}\nMode: {mode}\n{capacity_line}\nUUID: {}\nPartitions spanned (on \"{on}\"):\n",
        volume.extents.len(),
        volume.label,
        volume.uuid
    ));
    for e in &volume.extents {
        out.push_str(&format!("\t{}:{}\n", e.disk, e.partition));
    }
    out.push_str("Is Native Snapshot Capable: NO\n");
    Ok(())
}

/// `119.8 GB`, `512.0 MB`, as `vmkfstools -Ph` prints sizes.
fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MB", bytes as f64 / f64::from(1u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_take_getopt_spellings() {
        for form in [
            &["-C", "vmfs6", "-b", "1m", "-S", "ds", "/dev/disks/x:1"][..],
            &[
                "--createfs",
                "vmfs6",
                "--blocksize=1m",
                "--setfsname",
                "ds",
                "/dev/disks/x:1",
            ],
            &["-Cvmfs6", "-b1m", "-Sds", "/dev/disks/x:1"],
            &["/dev/disks/x:1", "--createfs=vmfs6", "-S", "ds", "-b", "1m"],
        ] {
            let o = parse(&argv(form)).expect("valid");
            assert_eq!(o.op, Some(('C', Some("vmfs6".into()))), "{form:?}");
            assert_eq!(o.label.as_deref(), Some("ds"));
            assert_eq!(o.block.as_deref(), Some("1m"));
            assert_eq!(o.positional, ["/dev/disks/x:1"]);
        }
        let o = parse(&argv(&["-Ph", "/vmfs/volumes/ds"])).expect("valid");
        assert_eq!(o.op, Some(('P', None)));
        assert!(o.human);
    }

    #[test]
    fn option_errors_are_worded_like_getopt() {
        let err = |s: &[&str]| parse(&argv(s)).expect_err("rejected");
        assert_eq!(err(&["-x"]), "vmkfstools: invalid option -- 'x'");
        assert_eq!(
            err(&["--frobnicate"]),
            "vmkfstools: unrecognized option '--frobnicate'"
        );
        assert_eq!(
            err(&["-C"]),
            "vmkfstools: option requires an argument -- 'C'"
        );
        assert_eq!(
            err(&["-P", "-V"]),
            "Error: Give only one of -C, -Z, -G, -P and -V"
        );
    }

    #[test]
    fn operations_classify_by_short_letter() {
        assert_eq!(operation(&argv(&["--growfs", "a", "a"])), Some("-G"));
        assert_eq!(operation(&argv(&["-Z", "a", "b"])), Some("-Z"));
        assert_eq!(operation(&argv(&["-V"])), Some("-V"));
        assert_eq!(operation(&argv(&["-q"])), None);
        assert_eq!(human_size(128_634_000_000), "119.8 GB");
        assert_eq!(human_size(512 << 20), "512.0 MB");
    }
}
