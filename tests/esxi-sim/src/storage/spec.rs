//! Disk specs (`nvme,500G,model=…,layout=esxi7,boot`) into disks, the partition tables the ESXi installer
//! or an image left on them, and the volumes on those; the syntax is documented in the parent module.

use super::{
    Disk, Extent, Fs, Label, MIB, Partition, SECTOR, Storage, Table, Transport, VMFS_GUID,
    VMFS_MIN, Volume, hash,
};

const GIB: u64 = 1 << 30;
const SYSTEM_GUID: &str = "C12A7328F81F11D2BA4B00A0C93EC93B";
const NATIVE_GUID: &str = "EBD0A0A2B9E5443387C068B6B72699C7";
const DIAGNOSTIC_GUID: &str = "9D27538040AD11DBBF97000C2911D1B8";
const VMFSL_GUID: &str = "4EB2EA3978554790A79EFAE495E21F8D";

pub fn build(specs: &[String]) -> Result<Storage, String> {
    let mut storage = Storage::default();
    let mut adapters = Adapters::default();
    for text in specs {
        let context = |e: String| format!("disk spec '{text}': {e}");
        let spec = parse(text).map_err(context)?;
        let (disk, volumes) = disk(&spec, &mut adapters, &storage).map_err(context)?;
        if storage.disks.iter().any(|d| d.id == disk.id) {
            return Err(context(format!("a disk named {} already exists", disk.id)));
        }
        if disk.boot && storage.disks.iter().any(|d| d.boot) {
            return Err(context("only one disk can be the boot disk".into()));
        }
        storage.disks.push(disk);
        storage.volumes.extend(volumes);
    }
    Ok(storage)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    None,
    Gpt,
    Msdos,
    Esxi7,
    Esxi67,
}

#[derive(Debug)]
struct Spec {
    transport: Transport,
    sectors: Option<u64>,
    id: Option<String>,
    vendor: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    revision: Option<String>,
    wwn: Option<String>,
    eui: Option<String>,
    boot: bool,
    ssd: bool,
    emulated: bool,
    layout: Option<Layout>,
    image: Option<u64>,
    system: Option<u64>,
    bootbank: Option<u64>,
    vmfs: Option<String>,
}

fn parse(text: &str) -> Result<Spec, String> {
    let mut items = text.split(',');
    let transport = match items.next().unwrap_or_default() {
        "sata" => Transport::Sata,
        "sas" => Transport::Sas,
        "nvme" => Transport::Nvme,
        "virtual" => Transport::Virtual,
        other => {
            return Err(format!(
                "unknown disk kind '{other}' (sata, sas, nvme or virtual)"
            ));
        }
    };
    let mut spec = Spec {
        transport,
        sectors: None,
        id: None,
        vendor: None,
        model: None,
        serial: None,
        revision: None,
        wwn: None,
        eui: None,
        boot: false,
        ssd: transport == Transport::Nvme,
        emulated: false,
        layout: None,
        image: None,
        system: None,
        bootbank: None,
        vmfs: None,
    };
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            match item {
                "boot" => spec.boot = true,
                "ssd" => spec.ssd = true,
                "512e" => spec.emulated = true,
                size if size.starts_with(|c: char| c.is_ascii_digit()) => {
                    spec.sectors = Some(parse_size(size)?);
                }
                other => return Err(format!("unknown item '{other}'")),
            }
            continue;
        };
        let value = value.to_string();
        match key {
            "size" => spec.sectors = Some(parse_size(&value)?),
            "id" => spec.id = Some(value),
            "vendor" => spec.vendor = Some(value),
            "model" => spec.model = Some(value),
            "serial" => spec.serial = Some(value),
            "rev" => spec.revision = Some(value),
            "wwn" => spec.wwn = Some(hex_id(&value, "wwn")?),
            "eui" => spec.eui = Some(hex_id(&value, "eui")?),
            "layout" => {
                spec.layout = Some(match value.as_str() {
                    "none" => Layout::None,
                    "gpt" => Layout::Gpt,
                    "msdos" => Layout::Msdos,
                    "esxi7" => Layout::Esxi7,
                    "esxi67" => Layout::Esxi67,
                    _ => {
                        return Err(format!(
                            "unknown layout '{value}' (none, gpt, msdos, esxi7 or esxi67)"
                        ));
                    }
                });
            }
            "image" => spec.image = Some(parse_size(&value)?),
            "system" => spec.system = Some(parse_size(&value)?),
            "bootbank" => spec.bootbank = Some(parse_size(&value)?),
            "vmfs" => spec.vmfs = Some(value),
            _ => return Err(format!("unknown key '{key}'")),
        }
    }
    Ok(spec)
}

/// `<n>s` sectors, `<n>K|M|G|T` binary, `<n>KB|MB|GB|TB` decimal; a whole number of 512-byte sectors.
fn parse_size(text: &str) -> Result<u64, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid size '{text}'"))?;
    let scale: u64 = match unit {
        "s" => return positive(n, text),
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "invalid size '{text}': give a unit (s, K, M, G, T, KB, MB, GB, TB)"
            ));
        }
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("size '{text}' is too large"))?;
    if bytes % SECTOR != 0 {
        return Err(format!(
            "size '{text}' is not a whole number of 512-byte sectors"
        ));
    }
    positive(bytes / SECTOR, text)
}

fn positive(sectors: u64, text: &str) -> Result<u64, String> {
    if sectors == 0 {
        Err(format!("size '{text}' is zero"))
    } else {
        Ok(sectors)
    }
}

/// A WWN or EUI: 16 or 32 hex digits, `0x` allowed, kept in lower case.
fn hex_id(value: &str, key: &str) -> Result<String, String> {
    let hex = value
        .strip_prefix("0x")
        .unwrap_or(value)
        .to_ascii_lowercase();
    if [16, 32].contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!("{key} '{value}' is not 16 or 32 hex digits"))
    }
}

/// Adapter numbers as ESXi hands them out: one adapter for all SATA disks, one for all SAS disks, one for
/// all virtual disks, one per NVMe controller, numbered in the order they are first seen.
#[derive(Debug, Default)]
struct Adapters {
    next: u32,
    shared: Vec<(Transport, u32, u32)>,
}

impl Adapters {
    /// The adapter number and target number of the next disk of a transport.
    fn assign(&mut self, transport: Transport) -> (u32, u32) {
        let fresh = self.next;
        if transport == Transport::Nvme {
            self.next += 1;
            return (fresh, 0);
        }
        if let Some((_, adapter, targets)) =
            self.shared.iter_mut().find(|(t, _, _)| *t == transport)
        {
            *targets += 1;
            return (*adapter, *targets - 1);
        }
        self.next += 1;
        self.shared.push((transport, fresh, 1));
        (fresh, 0)
    }
}

fn disk(
    spec: &Spec,
    adapters: &mut Adapters,
    storage: &Storage,
) -> Result<(Disk, Vec<Volume>), String> {
    let sectors = spec.sectors.ok_or("no size (e.g. 500G or 976773168s)")?;
    let virtual_disk = spec.transport == Transport::Virtual;
    let model = match (&spec.model, virtual_disk) {
        (Some(m), _) => m.clone(),
        (None, true) => "Virtual disk".into(),
        (None, false) => return Err("no model= (required for sata, sas and nvme disks)".into()),
    };
    let serial = match (&spec.serial, virtual_disk) {
        (Some(s), _) => s.clone(),
        (None, true) => String::new(),
        (None, false) => return Err("no serial= (required for sata, sas and nvme disks)".into()),
    };
    let vendor = spec.vendor.clone().unwrap_or_else(|| {
        match spec.transport {
            Transport::Sata => "ATA",
            Transport::Sas => "SEAGATE",
            Transport::Nvme => "NVMe",
            Transport::Virtual => "VMware",
        }
        .into()
    });
    let (adapter, target) = adapters.assign(spec.transport);
    let adapter = format!("vmhba{adapter}");
    let id = match (&spec.id, &spec.wwn, spec.transport) {
        (Some(id), _, _) => {
            if !["naa.", "t10.", "eui.", "mpx."]
                .iter()
                .any(|p| id.starts_with(p))
            {
                return Err(format!(
                    "id '{id}' does not start with naa., t10., eui. or mpx."
                ));
            }
            id.clone()
        }
        (None, Some(wwn), Transport::Sata | Transport::Sas) => format!("naa.{wwn}"),
        (None, _, Transport::Sata) => format!(
            "t10.{}{}{}",
            t10_field("ATA", 8, false),
            t10_field(&model, 40, false),
            t10_field(&serial, 20, true)
        ),
        (None, _, Transport::Sas) => return Err("a sas disk needs wwn= or id=".into()),
        (None, _, Transport::Nvme) => {
            let eui = spec
                .eui
                .as_deref()
                .ok_or("an nvme disk needs eui= or id=")?;
            format!(
                "t10.{}{}{}",
                t10_field("NVMe", 8, false),
                t10_field(&model, 40, false),
                eui_suffix(eui)
            )
        }
        (None, _, Transport::Virtual) => format!("mpx.{adapter}:C0:T{target}:L0"),
    };
    let span = match spec.image {
        Some(image) if image > sectors => return Err("image= is larger than the disk".into()),
        Some(image) => image,
        None => sectors,
    };
    let layout = match (spec.layout, &spec.vmfs) {
        (None | Some(Layout::Gpt), Some(_)) => Layout::Gpt,
        (Some(_), Some(_)) => return Err("vmfs= goes with layout=gpt only".into()),
        (layout, None) => layout.unwrap_or(Layout::None),
    };
    if spec.image.is_some() && matches!(layout, Layout::None | Layout::Msdos) {
        return Err("image= needs a GPT layout (gpt, esxi7 or esxi67)".into());
    }
    if (spec.system.is_some() || spec.bootbank.is_some()) && layout != Layout::Esxi7 {
        return Err("system= and bootbank= go with layout=esxi7 only".into());
    }
    if span <= 2048 + 34 {
        return Err("the disk is too small".into());
    }
    let partitions = match layout {
        Layout::None | Layout::Gpt | Layout::Msdos => match &spec.vmfs {
            Some(_) if span < 2048 + VMFS_MIN + 34 => {
                return Err("the disk is too small for a VMFS datastore".into());
            }
            Some(_) => vec![part(1, 2048, span - 34, VMFS_GUID, 0)],
            None => vec![],
        },
        Layout::Esxi7 => esxi7(span, spec.system, spec.bootbank)?,
        Layout::Esxi67 => esxi67(span)?,
    };
    let disk = Disk {
        id,
        transport: spec.transport,
        adapter,
        target,
        vendor,
        model,
        serial,
        revision: spec
            .revision
            .clone()
            .unwrap_or_else(|| if virtual_disk { "2.0" } else { "1.0" }.into()),
        sectors,
        physical_block: if spec.emulated { 4096 } else { 512 },
        ssd: spec.ssd,
        boot: spec.boot,
        table: Table {
            label: match layout {
                Layout::None => Label::None,
                Layout::Msdos => Label::Msdos,
                _ => Label::Gpt,
            },
            span,
            partitions,
        },
    };
    let volumes = volumes(&disk, layout, spec.vmfs.as_deref(), storage);
    Ok((disk, volumes))
}

/// A t10 name field: padded to `width` (on the left when `right`), spaces as `_`, other characters that
/// are not letters or digits as their hex code.
fn t10_field(raw: &str, width: usize, right: bool) -> String {
    let padded = if right {
        format!("{raw:>width$}")
    } else {
        format!("{raw:<width$}")
    };
    padded
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() => c.to_string(),
            ' ' | '_' => "_".into(),
            c => format!("{:02X}", u32::from(c)),
        })
        .collect()
}

/// The last 8 bytes of an EUI-64 or NGUID, byte-reversed, as ESXi ends an NVMe t10 name.
fn eui_suffix(eui: &str) -> String {
    let tail = &eui[eui.len() - 16..];
    (0..8)
        .rev()
        .map(|i| &tail[2 * i..2 * i + 2])
        .collect::<String>()
        .to_ascii_uppercase()
}

fn part(number: u32, start: u64, end: u64, guid: &str, attr: u8) -> Partition {
    Partition {
        number,
        start,
        end,
        kind: guid.into(),
        attr,
    }
}

/// The ESXi 7.0+ installer's layout on a table of `span` sectors.
fn esxi7(span: u64, system: Option<u64>, bootbank: Option<u64>) -> Result<Vec<Partition>, String> {
    if span < 8 * GIB / SECTOR {
        return Err("the disk is too small for the esxi7 layout (it needs 8 GiB)".into());
    }
    let last = span - 34;
    let system = system.unwrap_or(span.min(128 * GIB / SECTOR));
    if system > span {
        return Err("system= is larger than the partition table".into());
    }
    let bootbank = bootbank.unwrap_or(if span < 10 * GIB / SECTOR {
        500 * MIB / SECTOR
    } else if span < 32 * GIB / SECTOR {
        GIB / SECTOR
    } else {
        4095 * MIB / SECTOR
    });
    let p5 = part(5, 208_896, 208_896 + bootbank - 1, NATIVE_GUID, 0);
    let p6 = part(
        6,
        p5.end + 2049,
        p5.end + 2049 + bootbank - 1,
        NATIVE_GUID,
        0,
    );
    let osdata_start = p6.end + 2049;
    if system < 34 || system - 34 < osdata_start + GIB / SECTOR {
        return Err("the disk is too small for the esxi7 layout (OSDATA needs 1 GiB)".into());
    }
    let p7 = part(7, osdata_start, system - 34, VMFSL_GUID, 0);
    let datastore_start = p7.end + 2049;
    let mut partitions = vec![part(1, 64, 204_863, SYSTEM_GUID, 128), p5, p6, p7];
    if last >= datastore_start && last - datastore_start + 1 >= VMFS_MIN {
        partitions.push(part(8, datastore_start, last, VMFS_GUID, 0));
    }
    Ok(partitions)
}

/// The ESXi 6.x installer's layout: fixed sectors for 1, 5–9 and 2, datastore 3 to the end.
fn esxi67(span: u64) -> Result<Vec<Partition>, String> {
    let last = span - 34;
    if last < 15_472_640 {
        return Err("the disk is too small for the esxi67 layout (it needs 7.4 GiB)".into());
    }
    let mut partitions = vec![
        part(1, 64, 8191, SYSTEM_GUID, 128),
        part(5, 8224, 520_191, NATIVE_GUID, 0),
        part(6, 520_224, 1_032_191, NATIVE_GUID, 0),
        part(7, 1_032_224, 1_257_471, DIAGNOSTIC_GUID, 0),
        part(8, 1_257_504, 1_843_199, NATIVE_GUID, 0),
        part(9, 1_843_200, 7_086_079, DIAGNOSTIC_GUID, 0),
        part(2, 7_086_080, 15_472_639, NATIVE_GUID, 0),
    ];
    if last - 15_472_640 + 1 >= VMFS_MIN {
        partitions.push(part(3, 15_472_640, last, VMFS_GUID, 0));
    }
    Ok(partitions)
}

/// The volumes the layout's partitions hold, all mounted; the boot disk's boot banks and OSDATA are the
/// host's own. A datastore label already taken gets ` (1)` appended, as ESXi does.
fn volumes(disk: &Disk, layout: Layout, vmfs: Option<&str>, storage: &Storage) -> Vec<Volume> {
    let datastore = |label: &str| -> String {
        let taken = |l: &str| storage.volumes.iter().any(|v| v.label == l);
        if !taken(label) {
            return label.to_string();
        }
        (1..)
            .map(|k| format!("{label} ({k})"))
            .find(|l| !taken(l))
            .unwrap_or_default()
    };
    let roles: Vec<(u32, Fs, String)> = match layout {
        Layout::Esxi7 => vec![
            (8, Fs::Vmfs6, datastore("datastore1")),
            (7, Fs::Vffs, "OSDATA".into()),
            (5, Fs::Vfat, "BOOTBANK1".into()),
            (6, Fs::Vfat, "BOOTBANK2".into()),
        ],
        Layout::Esxi67 => vec![
            (3, Fs::Vmfs6, datastore("datastore1")),
            (5, Fs::Vfat, String::new()),
            (6, Fs::Vfat, String::new()),
            (8, Fs::Vfat, String::new()),
            (2, Fs::Vfat, String::new()),
        ],
        _ => vmfs
            .map(|label| vec![(1, Fs::Vmfs6, datastore(label))])
            .unwrap_or_default(),
    };
    roles
        .into_iter()
        .filter_map(|(number, fs, label)| {
            let p = disk.partition(number)?;
            let uuid = initial_uuid(&disk.id, number);
            let label = if fs == Fs::Vffs {
                format!("{label}-{uuid}")
            } else {
                label
            };
            let mut volume = Volume {
                uuid,
                label,
                fs,
                extents: vec![Extent {
                    disk: disk.id.clone(),
                    partition: number,
                    start: p.start,
                    sectors: p.sectors(),
                }],
                mounted: true,
                used: 0,
                system: disk.boot && fs != Fs::Vmfs6,
            };
            volume.used = match fs {
                Fs::Vfat => volume.capacity() * 3 / 10 / MIB * MIB,
                Fs::Vffs => volume.capacity() / 20 / MIB * MIB,
                Fs::Vmfs5 | Fs::Vmfs6 => Volume::metadata(volume.capacity()),
            };
            Some(volume)
        })
        .collect()
}

/// A UUID for a volume the installer made, stable for a disk name and partition number.
fn initial_uuid(disk: &str, number: u32) -> String {
    let h = hash(&format!("{disk}:{number}"));
    format!(
        "{:08x}-{:08x}-{:04x}-000c29{:06x}",
        0x6500_0000 + ((h >> 40) & 0xff_ffff),
        h & 0xffff_ffff,
        (h >> 32) & 0xffff,
        hash(disk) & 0xff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> Disk {
        build(&[spec.to_string()]).expect("valid spec").disks[0].clone()
    }

    fn rows(disk: &Disk) -> Vec<(u32, u64, u64)> {
        disk.table
            .partitions
            .iter()
            .map(|p| (p.number, p.start, p.end))
            .collect()
    }

    #[test]
    fn names_are_derived_as_esxi_derives_them() {
        assert_eq!(
            one("sata,300G,model=ST3320620AS,serial=6QF1PZXB").id,
            "t10.ATA_____ST3320620AS_________________________________________6QF1PZXB"
        );
        assert_eq!(
            one("sata,8G,model=VBOX HARDDISK,serial=VB3708b3ff-6ab73e63 ").id,
            "t10.ATA_____VBOX_HARDDISK___________________________VB3708b3ff2D6ab73e63_"
        );
        assert_eq!(
            one(
                "nvme,500G,model=WD_BLACK SN770 500GB,serial=1,eui=e8238fa6bf530001001b448b4b7d387b"
            )
            .id,
            "t10.NVMe____WD_BLACK_SN770_500GB____________________7B387D4B8B441B00"
        );
        assert_eq!(
            one("nvme,1T,model=WDC WDS100T2B0C-00PXH0,serial=1,eui=001b444a4630fd64").id,
            "t10.NVMe____WDC_WDS100T2B0C2D00PXH0__________________64FD30464A441B00"
        );
        assert_eq!(
            one("sas,2T,model=X,serial=Y,wwn=0x5000C5008C8B0F7F").id,
            "naa.5000c5008c8b0f7f"
        );
        assert_eq!(
            one("nvme,1T,model=X,serial=Y,id=eui.e8238fa6bf530001001b448b4b7d387b").id,
            "eui.e8238fa6bf530001001b448b4b7d387b"
        );
        let vm = one("virtual,32G");
        assert_eq!(vm.id, "mpx.vmhba0:C0:T0:L0");
        assert_eq!(vm.vml(), "vml.0000000000766d686261303a303a30");
        assert_eq!(
            one("sata,300G,model=ST3320620AS,serial=6QF1PZXB").vml(),
            "vml.010000000020202020202020202020202036514631505a5842535433333230"
        );
    }

    #[test]
    fn adapters_are_shared_by_transport_and_nvme_gets_its_own() {
        let storage = build(&[
            "nvme,1T,model=A,serial=1,eui=0000000000000001".into(),
            "sata,1T,model=B,serial=2".into(),
            "nvme,1T,model=A,serial=3,eui=0000000000000002".into(),
            "sata,1T,model=B,serial=4".into(),
            "virtual,1T".into(),
        ])
        .expect("valid");
        let at: Vec<(&str, u32)> = storage
            .disks
            .iter()
            .map(|d| (d.adapter.as_str(), d.target))
            .collect();
        assert_eq!(
            at,
            [
                ("vmhba0", 0),
                ("vmhba1", 0),
                ("vmhba2", 0),
                ("vmhba1", 1),
                ("vmhba3", 0)
            ]
        );
        assert_eq!(storage.disks[4].id, "mpx.vmhba3:C0:T0:L0");
    }

    #[test]
    fn sizes_take_sectors_binary_and_decimal_units() {
        assert_eq!(parse_size("976773168s"), Ok(976_773_168));
        assert_eq!(parse_size("32G"), Ok(67_108_864));
        assert_eq!(parse_size("500GB"), Ok(976_562_500));
        assert_eq!(parse_size("1T"), Ok(2_147_483_648));
        assert!(parse_size("100").is_err());
        assert!(parse_size("1KB").is_err(), "not whole sectors");
        assert!(parse_size("0G").is_err());
    }

    #[test]
    fn the_esxi7_layout_matches_the_installer_and_the_maas_image() {
        // The 8.0U3 install on 100 GiB with systemMediaSize=min (research §3.1).
        let disk = one("virtual,100G,layout=esxi7,system=10G,bootbank=1G,boot");
        assert_eq!(
            rows(&disk),
            [
                (1, 64, 204_863),
                (5, 208_896, 2_306_047),
                (6, 2_308_096, 4_405_247),
                (7, 4_407_296, 20_971_486),
                (8, 20_973_535, 209_715_166)
            ]
        );
        // The 32 GiB MAAS image on a 500 GB NVMe disk (packer-maas issue #190).
        let disk = one(
            "nvme,976773168s,model=M,serial=S,eui=0000000000000001,layout=esxi7,image=32G,boot",
        );
        assert_eq!(
            rows(&disk),
            [
                (1, 64, 204_863),
                (5, 208_896, 8_595_455),
                (6, 8_597_504, 16_984_063),
                (7, 16_986_112, 67_108_830)
            ]
        );
        assert_eq!(disk.usable(), (34, 67_108_830));
        // Defaults: 4095 MiB boot banks, OSDATA up to 128 GiB, the rest a datastore.
        let disk = one("virtual,200G,layout=esxi7");
        assert_eq!(disk.table.partitions[3].end, 268_435_422);
        assert_eq!(disk.table.partitions[4].start, 268_437_471);
        assert!(one("virtual,64G,layout=esxi7").partition(8).is_none());
    }

    #[test]
    fn the_esxi67_layout_uses_the_installer_sectors() {
        let storage =
            build(&["sata,16G,model=M,serial=S,layout=esxi67,boot".into()]).expect("valid");
        let disk = &storage.disks[0];
        let numbers: Vec<u32> = disk.table.partitions.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [1, 5, 6, 7, 8, 9, 2, 3]);
        assert_eq!(disk.partition(3).map(|p| p.end), Some(33_554_398));
        let labels: Vec<&str> = storage.volumes.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(labels, ["datastore1", "", "", "", ""]);
        assert!(storage.volumes.iter().all(|v| v.mounted));
    }

    #[test]
    fn volumes_follow_the_layout() {
        let storage = build(&[
            "virtual,200G,layout=esxi7,boot".into(),
            "sata,1T,model=M,serial=S,vmfs=datastore1".into(),
        ])
        .expect("valid");
        let v: Vec<(&str, Fs, bool)> = storage
            .volumes
            .iter()
            .map(|v| (v.label.as_str(), v.fs, v.system))
            .collect();
        assert_eq!(v[0], ("datastore1", Fs::Vmfs6, false));
        assert!(v[1].0.starts_with("OSDATA-") && v[1].1 == Fs::Vffs && v[1].2);
        assert_eq!(v[2], ("BOOTBANK1", Fs::Vfat, true));
        assert_eq!(v[3], ("BOOTBANK2", Fs::Vfat, true));
        assert_eq!(v[4], ("datastore1 (1)", Fs::Vmfs6, false));
        assert_eq!(storage.disks[1].partition(1).map(|p| p.start), Some(2048));
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        for (spec, reason) in [
            ("floppy,1G", "unknown disk kind"),
            ("sata,1T,serial=S", "no model="),
            ("sata,1T,model=M", "no serial="),
            ("sata,model=M,serial=S", "no size"),
            ("sas,1T,model=M,serial=S", "wwn= or id="),
            ("nvme,1T,model=M,serial=S", "eui= or id="),
            ("nvme,1T,model=M,serial=S,eui=12", "16 or 32 hex digits"),
            ("virtual,1T,colour=red", "unknown key 'colour'"),
            ("virtual,1T,fast", "unknown item 'fast'"),
            ("virtual,1T,layout=zfs", "unknown layout"),
            ("virtual,1T,image=2T,layout=gpt", "larger than the disk"),
            ("virtual,1T,image=1G", "needs a GPT layout"),
            ("virtual,1T,system=8G", "layout=esxi7 only"),
            ("virtual,4G,layout=esxi7", "too small"),
            ("virtual,4G,layout=esxi67", "too small"),
            ("virtual,1T,id=sda", "does not start with"),
            ("virtual,1T,layout=esxi7,vmfs=x", "layout=gpt only"),
        ] {
            let err = build(&[spec.to_string()]).expect_err(spec);
            assert!(err.contains(reason), "{spec}: {err}");
        }
        let err =
            build(&["virtual,1T,boot".into(), "virtual,1T,boot".into()]).expect_err("two boots");
        assert!(err.contains("only one disk"), "{err}");
        let err = build(&["virtual,1T,id=mpx.x".into(), "virtual,1T,id=mpx.x".into()])
            .expect_err("same name");
        assert!(err.contains("already exists"), "{err}");
    }
}
