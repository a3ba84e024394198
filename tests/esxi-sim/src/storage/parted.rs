//! `partedUtil`: read and change partition tables with GPT's rules, in partedUtil's argument order and
//! output formats. Only `fixGpt` reads stdin, for its two questions.

use std::io::BufRead;

use super::{Disk, Label, Partition, Storage, TYPES, Target, failure};
use crate::tool::Outcome;

pub fn run(storage: &mut Storage, argv: &[String], stdin: &mut dyn BufRead) -> Outcome {
    let mut out = Printed::default();
    match dispatch(storage, argv, stdin, &mut out) {
        Ok(()) => Outcome {
            stdout: out.stdout,
            stderr: out.stderr,
            status: 0,
        },
        Err(error) => failure(out.stdout, out.stderr, &error),
    }
}

/// `partedUtil showGuids`, as ESXi prints it.
pub const SHOW_GUIDS: &str = "\
 Partition Type       GUID
 vmfs                 AA31E02A400F11DB9590000C2911D1B8
 vmkDiagnostic        9D27538040AD11DBBF97000C2911D1B8
 vsan                 381CFCCC728811E092EE000C2911D0B2
 VMware Reserved      9198EFFC31C011DB8F78000C2911D1B8
 Basic Data           EBD0A0A2B9E5443387C068B6B72699C7
 Linux Swap           0657FD6DA4AB43C484E50933C84B4F4F
 Linux Lvm            E6D6D379F50744C2A23C238F2A3DF928
 Linux Raid           A19D880F05FC4D3BA006743F0F84911E
 Efi System           C12A7328F81F11D2BA4B00A0C93EC93B
 Microsoft Reserved   E3C9E3160B5C4DB8817DF92DF00215AE
 Unused Entry         00000000000000000000000000000000
";

const USAGE: &str = "\
Usage:
 Get Partitions : get <diskName>
 Get Partitions : getptbl <diskName>
 Set Partitions : setptbl <diskName> <label> [\"partNum startSector endSector type/guid attr\"]*
 Add a Partition : add <diskName> <label> [\"partNum startSector endSector type/guid attr\"]
 Delete Partition : delete <diskName> <partNum>
 Resize Partition : resize <diskName> <partNum> <start> <end>
 Create New Label (all existing data will be lost): mklabel <diskName> <label>
 Show commonly used partition type guids : showGuids
 Get usable first and last sectors : getUsableSectors <diskName>
 Fix GPT Table interactively : fixGpt <diskName>
 Show Partition Information : partinfo <diskName> <partNumber>";

const FIX_GPT_INTRO: &str = "\
FixGpt tries to fix any problems detected in GPT table.
Please ensure that you don't run this on any RDM (Raw Device Mapping) disk.
Are you sure you want to continue (Y/N): ";

#[derive(Debug, Default)]
struct Printed {
    stdout: String,
    stderr: String,
}

fn dispatch(
    storage: &mut Storage,
    argv: &[String],
    stdin: &mut dyn BufRead,
    out: &mut Printed,
) -> Result<(), String> {
    let Some((op, args)) = argv.split_first() else {
        return Err(usage("Not enough arguments"));
    };
    let arity = |n: usize| match args.len().cmp(&n) {
        std::cmp::Ordering::Less => Err(usage("Not enough arguments")),
        std::cmp::Ordering::Greater => Err(usage("Too many arguments")),
        std::cmp::Ordering::Equal => Ok(()),
    };
    match op.as_str() {
        "showGuids" => {
            arity(0)?;
            out.stdout.push_str(SHOW_GUIDS);
        }
        "getptbl" => {
            arity(1)?;
            let (_, disk) = read(storage, &args[0], out)?;
            out.stdout.push_str(&getptbl(disk));
        }
        "get" => {
            arity(1)?;
            let (_, disk) = read(storage, &args[0], out)?;
            out.stdout.push_str(&get(disk));
        }
        "getUsableSectors" => {
            arity(1)?;
            let (_, disk) = read(storage, &args[0], out)?;
            labelled(disk)?;
            let (first, last) = disk.usable();
            out.stdout.push_str(&format!("{first} {last}\n"));
        }
        "partinfo" => {
            arity(2)?;
            let (_, disk) = read(storage, &args[0], out)?;
            labelled(disk)?;
            let number = number(&args[1])?;
            let p = existing(disk, number, &args[0])?;
            out.stdout.push_str(&format!(
                "{} {} {} {} {}\n",
                p.number, p.start, p.end, p.kind, p.attr
            ));
        }
        "mklabel" => {
            arity(2)?;
            let i = disk_index(storage, &args[0])?;
            let label = parse_label(&args[1])?;
            untouched(storage, i)?;
            let disk = &mut storage.disks[i];
            disk.table.label = label;
            disk.table.span = disk.sectors;
            disk.table.partitions.clear();
        }
        "setptbl" => {
            if args.len() < 2 {
                return Err(usage("Not enough arguments"));
            }
            let i = disk_index(storage, &args[0])?;
            let label = parse_label(&args[1])?;
            untouched(storage, i)?;
            let mut fresh = storage.disks[i].clone();
            fresh.table.label = label;
            fresh.table.span = fresh.sectors;
            fresh.table.partitions.clear();
            let mut echo = format!("{}\n0 0 0 0\n", args[1]);
            for text in &args[2..] {
                let p = parse_partition(text, label)?;
                check(&fresh, &p, None)?;
                insert(&mut fresh, p);
                echo.push_str(&text.split_whitespace().collect::<Vec<_>>().join(" "));
                echo.push('\n');
            }
            storage.disks[i] = fresh;
            out.stdout.push_str(&echo);
        }
        "add" => {
            arity(3)?;
            let (i, disk) = read(storage, &args[0], out)?;
            labelled(disk)?;
            let label = parse_label(&args[1])?;
            if label != disk.table.label {
                return Err(format!(
                    "Error: The disk has a {} label, not {}",
                    label_name(disk.table.label),
                    args[1]
                ));
            }
            let p = parse_partition(&args[2], label)?;
            check(disk, &p, None)?;
            insert(&mut storage.disks[i], p);
        }
        "delete" => {
            arity(2)?;
            let (i, disk) = read(storage, &args[0], out)?;
            labelled(disk)?;
            let number = number(&args[1])?;
            existing(disk, number, &args[0])?;
            if storage.user_of(&disk.id, number).is_some() {
                return Err(busy(disk));
            }
            storage.disks[i]
                .table
                .partitions
                .retain(|p| p.number != number);
        }
        "resize" => {
            arity(4)?;
            let (i, disk) = read(storage, &args[0], out)?;
            labelled(disk)?;
            let number = number(&args[1])?;
            let old = existing(disk, number, &args[0])?.clone();
            let mut new = old.clone();
            new.start = sector(&args[2])?;
            new.end = sector(&args[3])?;
            check(disk, &new, Some(number))?;
            if let Some(volume) = storage.user_of(&disk.id, number) {
                let extent_end = volume
                    .extents
                    .iter()
                    .filter(|e| e.disk == disk.id && e.partition == number)
                    .map(|e| e.start + e.sectors - 1)
                    .max()
                    .unwrap_or(old.end);
                if new.start != old.start || new.end < extent_end {
                    return Err(busy(disk));
                }
            }
            let disk = &mut storage.disks[i];
            disk.table.partitions.retain(|p| p.number != number);
            insert(disk, new);
        }
        "fixGpt" => {
            arity(1)?;
            let i = disk_index(storage, &args[0])?;
            fix_gpt(&mut storage.disks[i], stdin, out)?;
        }
        other => return Err(usage(&format!("Unknown command '{other}'"))),
    }
    Ok(())
}

fn usage(message: &str) -> String {
    format!("Error: {message}\n{USAGE}")
}

fn disk_index(storage: &Storage, path: &str) -> Result<usize, String> {
    match storage.resolve(path) {
        Some(Target::Disk(i)) => Ok(i),
        Some(Target::Partition(..)) => Err(format!(
            "Error: {path} is a partition; partedUtil takes a disk"
        )),
        None => Err(format!(
            "Error: Could not stat device {path} - No such file or directory.\nUnable to get device {path}"
        )),
    }
}

/// The disk and its index, after the warnings libparted prints when it reads a GPT whose backup is not
/// at the end.
fn read<'a>(
    storage: &'a Storage,
    path: &str,
    out: &mut Printed,
) -> Result<(usize, &'a Disk), String> {
    let i = disk_index(storage, path)?;
    let disk = &storage.disks[i];
    if disk.table.label == Label::Gpt && disk.table.span < disk.sectors {
        out.stderr.push_str(&format!(
            "Error: The backup GPT table is not at the end of the disk, as it should be.  This might mean \
             that another operating system believes the disk is smaller.  Fix, by moving the backup to the \
             end (and removing the old backup)?\n\
             Warning: Not all of the space available to /dev/disks/{} appears to be used, you can fix the \
             GPT to use all of the space (an extra {} blocks) or continue with the current setting? \n",
            disk.id,
            disk.sectors - disk.table.span
        ));
    }
    Ok((i, disk))
}

fn labelled(disk: &Disk) -> Result<(), String> {
    if disk.table.label == Label::None {
        Err("Error: Unknown partition table on disk".into())
    } else {
        Ok(())
    }
}

fn label_name(label: Label) -> &'static str {
    match label {
        Label::None => "unknown",
        Label::Gpt => "gpt",
        Label::Msdos => "msdos",
    }
}

fn parse_label(text: &str) -> Result<Label, String> {
    match text {
        "gpt" => Ok(Label::Gpt),
        "msdos" => Ok(Label::Msdos),
        _ => Err(format!(
            "Error: Invalid label type '{text}': use gpt or msdos"
        )),
    }
}

fn number(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("Error: Invalid partition number '{text}'"))
}

fn sector(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("Error: Invalid sector '{text}'"))
}

fn existing<'a>(disk: &'a Disk, number: u32, path: &str) -> Result<&'a Partition, String> {
    disk.partition(number)
        .ok_or_else(|| format!("Error: Partition {number} does not exist on {path}"))
}

/// A disk none of whose partitions is in use, for commands that rewrite the whole table.
fn untouched(storage: &Storage, i: usize) -> Result<(), String> {
    let disk = &storage.disks[i];
    if disk
        .table
        .partitions
        .iter()
        .any(|p| storage.user_of(&disk.id, p.number).is_some())
    {
        return Err(busy(disk));
    }
    Ok(())
}

/// What partedUtil prints when the VMkernel refuses a table change under a mounted file system.
fn busy(disk: &Disk) -> String {
    format!(
        "Error: Read-only file system during write on /dev/disks/{}\nSetPtableGpt: Unable to commit to disk",
        disk.id
    )
}

fn getptbl(disk: &Disk) -> String {
    let mut text = format!("{}\n{}\n", label_name(disk.table.label), disk.geometry());
    for p in &disk.table.partitions {
        text.push_str(&match disk.table.label {
            Label::Msdos => format!("{} {} {} {} {}\n", p.number, p.start, p.end, p.kind, p.attr),
            _ => format!(
                "{} {} {} {} {} {}\n",
                p.number,
                p.start,
                p.end,
                p.kind,
                p.type_name(),
                p.attr
            ),
        });
    }
    text
}

fn get(disk: &Disk) -> String {
    let mut text = format!("{}\n", disk.geometry());
    for p in &disk.table.partitions {
        let kind = match disk.table.label {
            Label::Msdos => p.kind.clone(),
            _ => TYPES
                .iter()
                .find(|(_, guid, _)| *guid == p.kind)
                .map_or(0, |(_, _, n)| *n)
                .to_string(),
        };
        text.push_str(&format!(
            "{} {} {} {kind} {}\n",
            p.number, p.start, p.end, p.attr
        ));
    }
    text
}

/// `"partNum startSector endSector type/guid attr"`, one argument. GPT takes a GUID or a type name,
/// msdos a type number or a type name that has one.
fn parse_partition(text: &str, label: Label) -> Result<Partition, String> {
    let invalid = || {
        format!(
            "Error: Invalid partition specification \"{text}\": expected \"partNum startSector endSector type/guid attr\""
        )
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [number, start, end, kind, attr] = fields[..] else {
        return Err(invalid());
    };
    let number: u32 = number.parse().map_err(|_| invalid())?;
    let start: u64 = start.parse().map_err(|_| invalid())?;
    let end: u64 = end.parse().map_err(|_| invalid())?;
    let attr: u8 = attr.parse().map_err(|_| invalid())?;
    let named = TYPES.iter().find(|(name, _, _)| *name == kind);
    let kind = match label {
        Label::Msdos => match (named, kind.parse::<u8>()) {
            (_, Ok(n)) => n.to_string(),
            (Some((_, _, n)), _) if *n > 0 => n.to_string(),
            _ => {
                return Err(format!(
                    "Error: Invalid partition type '{kind}' for an msdos label"
                ));
            }
        },
        _ => match named {
            Some((_, guid, _)) => (*guid).to_string(),
            None if kind.len() == 32 && kind.bytes().all(|b| b.is_ascii_hexdigit()) => {
                kind.to_ascii_uppercase()
            }
            None => {
                return Err(format!("Error: Invalid partition type or GUID '{kind}'"));
            }
        },
    };
    Ok(Partition {
        number,
        start,
        end,
        kind,
        attr,
    })
}

/// GPT's rules (msdos: numbers 1–4): a number not in use, start ≤ end, within the usable sectors, no
/// overlap. `replacing` is the partition being resized.
fn check(disk: &Disk, p: &Partition, replacing: Option<u32>) -> Result<(), String> {
    let most = if disk.table.label == Label::Msdos {
        4
    } else {
        128
    };
    if p.number == 0 || p.number > most {
        return Err(format!(
            "Error: Invalid partition number {}: it must be 1-{most}",
            p.number
        ));
    }
    let others = || {
        disk.table
            .partitions
            .iter()
            .filter(move |q| Some(q.number) != replacing)
    };
    if others().any(|q| q.number == p.number) {
        return Err(format!(
            "Error: Partition number {} is already in use",
            p.number
        ));
    }
    if p.start > p.end {
        return Err(format!(
            "Error: Invalid partition {}: start sector {} is after end sector {}",
            p.number, p.start, p.end
        ));
    }
    let (first, last) = disk.usable();
    if p.start < first || p.end > last {
        return Err(format!(
            "Error: Can't have a partition outside the disk!\nPartition {} at sectors {}-{} is outside the usable sectors {first}-{last}",
            p.number, p.start, p.end
        ));
    }
    if let Some(q) = others().find(|q| q.start <= p.end && p.start <= q.end) {
        return Err(format!(
            "Error: Can't have overlapping partitions.\nPartition {} at sectors {}-{} overlaps partition {} at sectors {}-{}",
            p.number, p.start, p.end, q.number, q.start, q.end
        ));
    }
    Ok(())
}

fn insert(disk: &mut Disk, p: Partition) {
    let at = disk
        .table
        .partitions
        .iter()
        .position(|q| q.start > p.start)
        .unwrap_or(disk.table.partitions.len());
    disk.table.partitions.insert(at, p);
}

/// One answer from stdin, or None at its end.
fn answer(stdin: &mut dyn BufRead) -> Option<String> {
    let mut line = String::new();
    match stdin.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

const NO_ANSWER: &str = "Error: No answer: end of input";

/// Asks whether to go on; `Y` does. Then, when the backup GPT is not at the end, asks Fix/Ignore/Cancel
/// (libparted takes any case and any prefix, and asks again after anything else); Fix moves the backup
/// header to the end and the last usable sector with it. `N`, Ignore: nothing changes, status 0. End of
/// input or Cancel: status 255.
fn fix_gpt(disk: &mut Disk, stdin: &mut dyn BufRead, out: &mut Printed) -> Result<(), String> {
    out.stdout.push_str(FIX_GPT_INTRO);
    let go_on = answer(stdin).ok_or(NO_ANSWER)?;
    if !go_on.eq_ignore_ascii_case("y") {
        return Ok(());
    }
    if disk.table.label != Label::Gpt {
        return Err(format!(
            "Error: /dev/disks/{} has no GPT to fix: its partition table is {}",
            disk.id,
            label_name(disk.table.label)
        ));
    }
    out.stdout.push_str(&format!("gpt\n{}\n", disk.geometry()));
    if disk.table.span == disk.sectors {
        return Ok(());
    }
    out.stdout.push_str(&format!(
        "Warning: The available space to /dev/disks/{id} appears to have increased. Not all of the space \
         available to /dev/disks/{id} appears to be used, you can fix the GPT to use all of the space (an \
         extra {extra} blocks) or continue with the current setting? This will also move the backup table \
         at the end if is is not at the end already. diskSize ({size}) AlternateLBA ({alternate}) \
         LastUsableLBA ({last}) NewLastUsableLBA ({new_last})\n",
        id = disk.id,
        extra = disk.sectors - disk.table.span,
        size = disk.sectors,
        alternate = disk.table.span - 1,
        last = disk.table.span - super::GPT_RESERVED,
        new_last = disk.sectors - super::GPT_RESERVED,
    ));
    loop {
        out.stdout.push_str("Fix/Ignore/Cancel? ");
        let choice = answer(stdin).ok_or(NO_ANSWER)?.to_ascii_lowercase();
        let picks = |word: &str| !choice.is_empty() && word.starts_with(choice.as_str());
        if picks("fix") {
            disk.table.span = disk.sectors;
            return Ok(());
        }
        if picks("ignore") {
            return Ok(());
        }
        if picks("cancel") {
            return Err("Error: Cancelled".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_take_a_guid_or_a_type_name() {
        let p = parse_partition("8 20973535 209715166 vmfs 0", Label::Gpt).expect("valid");
        assert_eq!(p.kind, super::super::VMFS_GUID);
        let p = parse_partition(
            " 1  64 204863 c12a7328f81f11d2ba4b00a0c93ec93b 128 ",
            Label::Gpt,
        )
        .expect("valid");
        assert_eq!((p.number, p.start, p.end, p.attr), (1, 64, 204_863, 128));
        assert_eq!(p.type_name(), "systemPartition");
        assert_eq!(
            parse_partition("1 2048 4096 vmfs 0", Label::Msdos).map(|p| p.kind),
            Ok("251".into())
        );
        for bad in [
            "1 2048 4096 vmfs",
            "1 2048 4096 vmfs 256",
            "x 2048 4096 vmfs 0",
            "1 -1 4096 vmfs 0",
        ] {
            assert!(parse_partition(bad, Label::Gpt).is_err(), "{bad}");
        }
        let unknown = Partition {
            number: 3,
            start: 1,
            end: 2,
            kind: "0FC63DAF848347728E793D69D8477DE4".into(),
            attr: 0,
        };
        assert_eq!(unknown.type_name(), "unknown");
    }
}
