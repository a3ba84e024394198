//! curtin storage v1 → the storage model, with every check: ids and references, partition numbers, sizes
//! and overlaps, datastore names, extents, and the boot-disk partitions ESXi keeps for itself.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostics, Located, Span};
use crate::input::storage::{Config, Entry};
use crate::model::storage::{Datastore, Disk, Extent, Identity, Partition, Storage};

/// The longest datastore name the vSphere Client accepts.
pub const NAME_MAX: usize = 42;
/// At most this many extents per VMFS datastore, the head included (VMware KB 2000643).
pub const EXTENTS_MAX: usize = 32;
/// Numbers a GPT partition may have.
const NUMBERS: std::ops::RangeInclusive<i128> = 1..=128;
const SECTOR: u64 = 512;
/// A GPT's header and entries take the first 34 sectors.
const GPT_HEAD: u64 = 34 * SECTOR;

const READ: &str = "disk, partition, vmfs6, format, mount";
/// curtin entry types that build Linux storage; MAAS sends them when a non-VMFS layout is applied.
const LINUX: &[&str] = &[
    "lvm_volgroup",
    "lvm_partition",
    "raid",
    "bcache",
    "dm_crypt",
    "zfs",
    "zpool",
    "dasd",
    "nvme_controller",
    "device",
];
const LINUX_HELP: &str = "without vmfs6 datastores, ESXi's datastore1 takes the rest of the boot disk (in MAAS, apply the VMFS6 or VMFS7 storage layout to choose datastores)";
const NAME_HELP: &str = "a datastore name is 1 to 42 characters (the vSphere Client's limit) without `/`, `\\`, `%` or control characters: it is the VMFS label and the directory name under /vmfs/volumes/";

/// Normalizes a parsed storage config. The model is returned even when errors were found; the caller stops.
pub fn storage(config: &Config, diags: &mut Diagnostics) -> Storage {
    let mut n = Normalizer {
        diags,
        ids: BTreeMap::new(),
        disks: Vec::new(),
        partitions: BTreeMap::new(),
        boot_seen: None,
    };
    n.register(config);
    for e in &config.entries {
        n.disk(e);
    }
    for e in &config.entries {
        n.partition(e);
    }
    n.check_partitions();
    let mut datastores = Vec::new();
    let mut owner: BTreeMap<(usize, usize), String> = BTreeMap::new();
    for e in &config.entries {
        match e.kind.as_ref().map(|k| k.value.as_str()) {
            Some("vmfs6") => {
                if let Some(d) = n.datastore(e, &mut owner, &datastores) {
                    datastores.push(d);
                }
            }
            Some("format") => n.format(e),
            Some("mount") => n.mount(e),
            _ => {}
        }
    }
    n.check_identities(&datastores);
    Storage {
        disks: n.disks,
        datastores,
    }
}

/// What an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Disk(usize),
    /// Partition of a disk, before its disk is known.
    Partition,
    Vmfs,
    Format,
    Mount,
    Linux,
    /// An entry of an unknown type, already reported.
    Unknown,
}

struct Normalizer<'d> {
    diags: &'d mut Diagnostics,
    /// Every id, with where it is defined and what it names.
    ids: BTreeMap<String, (Span, Kind)>,
    disks: Vec<Disk>,
    /// Partition id → (disk index, index in that disk's partitions).
    partitions: BTreeMap<String, (usize, usize)>,
    /// The first boot disk's line.
    boot_seen: Option<u32>,
}

impl Normalizer<'_> {
    /// Registers every entry's id; reports entries without a type or an id, unknown types, duplicate ids, and
    /// the Linux-only entries.
    fn register(&mut self, config: &Config) {
        for e in &config.entries {
            let Some(kind) = &e.kind else {
                self.diags.error(
                    Code::MissingKey,
                    e.span,
                    format!("`{}` has no `type`", e.path),
                    &format!("storage entries MAAS sends for ESXi: {READ}"),
                );
                continue;
            };
            let what = match kind.value.as_str() {
                "disk" => Kind::Disk(usize::MAX),
                "partition" => Kind::Partition,
                "vmfs6" => Kind::Vmfs,
                "format" => Kind::Format,
                "mount" => Kind::Mount,
                other if LINUX.contains(&other) => {
                    let id =
                        e.id.as_ref()
                            .map_or(String::new(), |i| format!(" `{}`", i.value));
                    self.diags.warning(
                        Code::Ignored,
                        kind.span,
                        format!("`{other}` entry{id} has no meaning on ESXi and is ignored"),
                        LINUX_HELP,
                    );
                    Kind::Linux
                }
                other => {
                    self.diags.error(
                        Code::UnknownType,
                        kind.span,
                        format!("unsupported storage entry type `{other}`"),
                        &format!(
                            "supported: {READ}; Linux-only types ({}) are ignored with a warning",
                            LINUX.join(", ")
                        ),
                    );
                    Kind::Unknown
                }
            };
            let Some(id) = &e.id else {
                self.diags.error(
                    Code::MissingKey,
                    e.span,
                    format!("`{}` has no `id`", e.path),
                    "every storage entry needs an `id` that others refer to",
                );
                continue;
            };
            if let Some((first, _)) = self.ids.get(&id.value) {
                let line = first.line;
                self.diags.error(
                    Code::DuplicateId,
                    id.span,
                    format!("duplicate storage id `{}`", id.value),
                    &format!("`{}` is first defined at line {line}", id.value),
                );
                continue;
            }
            self.ids.insert(id.value.clone(), (id.span, what));
        }
    }

    /// The id an entry was registered under, if it was (entries with duplicate ids are not).
    fn own_id<'e>(&self, e: &'e Entry) -> Option<&'e Located<String>> {
        e.id.as_ref()
            .filter(|id| self.ids.get(&id.value).is_some_and(|(s, _)| *s == id.span))
    }

    fn disk(&mut self, e: &Entry) {
        if e.kind.as_ref().is_none_or(|k| k.value != "disk") {
            return;
        }
        let Some(id) = self.own_id(e).cloned() else {
            return;
        };
        let mut boot = e.grub_device.as_ref().is_some_and(|g| g.value);
        if boot {
            if let Some(line) = self.boot_seen {
                let span = e.grub_device.as_ref().map_or(e.span, |g| g.span);
                self.diags.warning(
                    Code::Approximation,
                    span,
                    format!(
                        "`{}` is a second boot disk; only the first is used",
                        id.value
                    ),
                    &format!("ESXi boots from one disk: the one at line {line}"),
                );
                boot = false;
            } else {
                self.boot_seen = Some(id.span.line);
            }
        }
        if let Some(w) = &e.wipe
            && matches!(w.value.as_str(), "zero" | "random")
        {
            self.diags.warning(
                Code::Approximation,
                w.span,
                format!("`wipe: {}` of `{}` is not repeated on ESXi", w.value, id.value),
                "curtin clears every listed disk before it writes the image; a full wipe at first boot would take hours",
            );
        }
        if let Some(p) = &e.ptable
            && !boot
            && p.value != "gpt"
        {
            self.diags.warning(
                Code::Approximation,
                p.span,
                format!("`{}` gets a GPT, not `{}`", id.value, p.value),
                "ESXi writes datastore partitions on a GPT",
            );
        }
        let identity = self.identity(e);
        let index = self.disks.len();
        if let Some(entry) = self.ids.get_mut(&id.value) {
            entry.1 = Kind::Disk(index);
        }
        self.disks.push(Disk {
            id,
            identity,
            boot,
            partitions: Vec::new(),
        });
    }

    /// What identifies a disk: serial and model, a WWN, or what its `/dev/disk/by-id/` path carries.
    fn identity(&mut self, e: &Entry) -> Identity {
        let text = |v: &Option<Located<String>>| {
            v.as_ref()
                .map(|s| Located::new(s.value.trim().to_string(), s.span))
                .filter(|s| !s.value.is_empty())
        };
        let mut identity = Identity {
            serial: text(&e.serial),
            model: text(&e.model),
            ..Identity::default()
        };
        if let Some(w) = text(&e.wwn) {
            match hex(w.value.strip_prefix("0x").unwrap_or(&w.value)) {
                Some(h) => identity.wwn = Some(Located::new(h, w.span)),
                None => self.diags.error(
                    Code::Type,
                    w.span,
                    format!("`{}` is not a World Wide Name", w.value),
                    "write the WWN in hexadecimal, e.g. 0x5000c500a1b2c3d4",
                ),
            }
        }
        if let Some(path) = text(&e.device_path) {
            let from_path = by_id(&path.value);
            let at = |v: Option<String>| v.map(|s| Located::new(s, path.span));
            if identity.serial.is_none() && identity.wwn.is_none() {
                identity.wwn = at(from_path.wwn);
                identity.eui = at(from_path.eui);
                identity.serial = at(from_path.serial);
                identity.model = identity.model.or(at(from_path.model));
            }
            identity.path = Some(path);
        }
        identity
    }

    fn partition(&mut self, e: &Entry) {
        if e.kind.as_ref().is_none_or(|k| k.value != "partition") {
            return;
        }
        let Some(id) = self.own_id(e).cloned() else {
            return;
        };
        let Some(device) = &e.device else {
            self.diags.error(
                Code::MissingKey,
                e.span,
                format!("partition `{}` has no `device`", id.value),
                "`device` names the disk the partition is on",
            );
            return;
        };
        let disk = match self.ids.get(&device.value) {
            Some((_, Kind::Disk(i))) => *i,
            // A partition of a RAID or other Linux device belongs to the ignored Linux layout.
            Some((_, Kind::Linux)) => return,
            Some(_) => {
                self.diags.error(
                    Code::InvalidReference,
                    device.span,
                    format!(
                        "partition `{}` is on `{}`, which is not a disk",
                        id.value, device.value
                    ),
                    "a partition's `device` must name a `disk` entry",
                );
                return;
            }
            None => {
                self.diags.error(
                    Code::UnknownReference,
                    device.span,
                    format!(
                        "partition `{}` refers to unknown device `{}`",
                        id.value, device.value
                    ),
                    "`device` must name a `disk` entry of this config",
                );
                return;
            }
        };
        let number = match &e.number {
            Some(n) if NUMBERS.contains(&n.value) => Located::new(n.value as u32, n.span),
            Some(n) => {
                self.diags.error(
                    Code::Partition,
                    n.span,
                    format!("partition number {} is out of range", n.value),
                    "a GPT holds partitions 1 to 128",
                );
                return;
            }
            // curtin numbers unnumbered partitions in order.
            None => Located::new(
                self.disks[disk]
                    .partitions
                    .iter()
                    .map(|p| p.number.value)
                    .max()
                    .unwrap_or(0)
                    + 1,
                id.span,
            ),
        };
        if let Some(other) = self.disks[disk]
            .partitions
            .iter()
            .find(|p| p.number.value == number.value)
        {
            let line = other.id.span.line;
            self.diags.error(
                Code::Partition,
                number.span,
                format!(
                    "`{}` has two partitions numbered {}",
                    self.disks[disk].id.value, number.value
                ),
                &format!("the other is at line {line}"),
            );
            return;
        }
        let Some(size_text) = &e.size else {
            self.diags.error(
                Code::MissingKey,
                e.span,
                format!("partition `{}` has no `size`", id.value),
                "MAAS writes sizes in bytes, e.g. `size: 4294967296B`",
            );
            return;
        };
        let Some(size) = self.bytes(size_text, "size") else {
            return;
        };
        if size.value == 0 {
            self.diags.error(
                Code::Size,
                size.span,
                format!("partition `{}` has size 0", id.value),
                "give the partition's size in bytes, e.g. `size: 4294967296B`",
            );
            return;
        }
        let offset = match &e.offset {
            Some(o) => match self.bytes(o, "offset") {
                Some(o) if o.value < GPT_HEAD => {
                    self.diags.error(
                        Code::Partition,
                        o.span,
                        format!(
                            "partition `{}` starts inside the partition table",
                            id.value
                        ),
                        "the first 17408 bytes (34 sectors) of a GPT disk hold the table; MAAS starts partition 1 at 4194304B",
                    );
                    return;
                }
                Some(o) => Some(o),
                None => return,
            },
            None => None,
        };
        if let Some(f) = &e.flag
            && !matches!(f.value.as_str(), "boot" | "")
        {
            self.diags.warning(
                Code::Ignored,
                f.span,
                format!("partition flag `{}` has no meaning on ESXi", f.value),
                "ESXi's own partitions keep their types; datastore partitions get the VMFS type",
            );
        }
        let p = Partition {
            id: id.clone(),
            number,
            size,
            offset,
        };
        let list = &mut self.disks[disk].partitions;
        let at = list
            .iter()
            .position(|q| q.number.value > p.number.value)
            .unwrap_or(list.len());
        list.insert(at, p);
        for (k, q) in list.iter().enumerate() {
            self.partitions.insert(q.id.value.clone(), (disk, k));
        }
    }

    /// A curtin size: bytes with an optional `B`, or a number (decimals allowed) of `K`, `M`, `G`, `T`
    /// binary units; a whole number of 512-byte sectors.
    fn bytes(&mut self, text: &Located<String>, what: &str) -> Option<Located<u64>> {
        match parse_bytes(&text.value) {
            Some(b) if b % SECTOR == 0 => Some(Located::new(b, text.span)),
            Some(b) => {
                self.diags.error(
                    Code::Size,
                    text.span,
                    format!("{what} {b} bytes is not a whole number of 512-byte sectors"),
                    "MAAS gives sizes in multiples of 4 MiB",
                );
                None
            }
            None => {
                self.diags.error(
                    Code::Size,
                    text.span,
                    format!("`{}` is not a {what}", text.value),
                    "write bytes (`4294967296B`, `4294967296`) or binary units (`4G`, `512M`, `1.5T`)",
                );
                None
            }
        }
    }

    /// Partitions of a disk, laid out as curtin lays them out (from the given offset, else after the
    /// previous one), must not overlap or run past the largest disk a GPT can address.
    fn check_partitions(&mut self) {
        let mut problems = Vec::new();
        for disk in &self.disks {
            let mut previous: Option<(&Partition, u64)> = None;
            let mut cursor: u64 = 1 << 20;
            for p in &disk.partitions {
                let start = p.offset.as_ref().map_or(cursor, |o| o.value);
                let Some(end) = start
                    .checked_add(p.size.value)
                    .filter(|e| *e <= u64::MAX / 2)
                else {
                    problems.push((
                        p.size.span,
                        format!("partition `{}` does not fit on any disk", p.id.value),
                        "check the size and offset: a GPT addresses at most 2^64 sectors"
                            .to_string(),
                    ));
                    break;
                };
                if let Some((q, q_end)) = previous
                    && start < q_end
                {
                    let span = p.offset.as_ref().map_or(p.id.span, |o| o.span);
                    problems.push((
                        span,
                        format!(
                            "partition `{}` (bytes {start}–{}) overlaps `{}` (which ends at byte {})",
                            p.id.value,
                            end - 1,
                            q.id.value,
                            q_end - 1
                        ),
                        "each partition starts after the one numbered before it; drop the `offset` or make it larger".to_string(),
                    ));
                }
                previous = Some((p, end));
                cursor = end;
            }
        }
        for (span, message, help) in problems {
            self.diags.error(Code::Partition, span, message, &help);
        }
    }

    fn datastore(
        &mut self,
        e: &Entry,
        owner: &mut BTreeMap<(usize, usize), String>,
        earlier: &[Datastore],
    ) -> Option<Datastore> {
        self.own_id(e)?;
        let name = e.name.clone().or_else(|| e.id.clone())?;
        let mut ok = self.check_name(&name);
        if let Some(first) = earlier.iter().find(|d| d.name.value == name.value) {
            let line = first.name.span.line;
            self.diags.error(
                Code::DuplicateId,
                name.span,
                format!("duplicate datastore name `{}`", name.value),
                &format!("`{}` is first defined at line {line}; ESXi labels each VMFS volume with its own name", name.value),
            );
            ok = false;
        }
        if e.devices.is_empty() {
            self.diags.error(
                Code::MissingKey,
                e.span,
                format!("datastore `{}` has no `devices`", name.value),
                "list the partitions the datastore spans under `devices`",
            );
            return None;
        }
        if e.devices.len() > EXTENTS_MAX {
            self.diags.error(
                Code::Extent,
                e.devices[EXTENTS_MAX].span,
                format!(
                    "datastore `{}` spans {} partitions",
                    name.value,
                    e.devices.len()
                ),
                "a VMFS datastore has at most 32 extents (VMware KB 2000643)",
            );
            ok = false;
        }
        let mut extents = Vec::new();
        for device in &e.devices {
            let Some(&(disk, partition)) = self.partitions.get(&device.value) else {
                let (code, message, help) = match self.ids.get(&device.value) {
                    // A partition or entry already reported: no second error for the same mistake.
                    Some((_, Kind::Partition | Kind::Unknown)) => {
                        ok = false;
                        continue;
                    }
                    None => (
                        Code::UnknownReference,
                        format!(
                            "datastore `{}` refers to unknown device `{}`",
                            name.value, device.value
                        ),
                        "`devices` lists partition ids of this config",
                    ),
                    Some((_, Kind::Disk(_))) => (
                        Code::InvalidReference,
                        format!(
                            "datastore `{}` lists the whole disk `{}`",
                            name.value, device.value
                        ),
                        "a datastore extent is a partition: MAAS adds one that fills the disk",
                    ),
                    Some(_) => (
                        Code::InvalidReference,
                        format!(
                            "datastore `{}` lists `{}`, which is not a partition",
                            name.value, device.value
                        ),
                        "`devices` lists partition ids of this config",
                    ),
                };
                self.diags.error(code, device.span, message, help);
                ok = false;
                continue;
            };
            if let Some(other) = owner.get(&(disk, partition)) {
                let message = if *other == name.value {
                    format!("datastore `{other}` lists `{}` twice", device.value)
                } else {
                    format!(
                        "`{}` is already an extent of datastore `{other}`",
                        device.value
                    )
                };
                self.diags.error(
                    Code::SharedMember,
                    device.span,
                    message,
                    "a partition holds one VMFS extent: it can be in one datastore only",
                );
                ok = false;
                continue;
            }
            owner.insert((disk, partition), name.value.clone());
            let d = &self.disks[disk];
            let number = d.partitions[partition].number.value;
            if d.boot && d.layout().is_system(number) {
                let slot = d.layout().slot();
                let disk_id = d.id.value.clone();
                self.diags.error(
                    Code::Extent,
                    device.span,
                    format!(
                        "datastore `{}` is on `{}`, partition {number} of the boot disk `{disk_id}`",
                        name.value, device.value
                    ),
                    &format!("ESXi keeps boot-disk partitions 1–9 for itself; a datastore may take partition {slot} (datastore1) or a partition numbered after ESXi's"),
                );
                ok = false;
                continue;
            }
            extents.push(Extent { disk, partition });
        }
        ok.then_some(Datastore { name, extents })
    }

    fn check_name(&mut self, name: &Located<String>) -> bool {
        let v = &name.value;
        let why = if v.is_empty() {
            Some("is empty".to_string())
        } else if v.chars().count() > NAME_MAX {
            Some(format!("is {} characters long", v.chars().count()))
        } else if let Some(c) = v
            .chars()
            .find(|c| matches!(c, '/' | '\\' | '%') || c.is_control())
        {
            Some(format!("contains {c:?}"))
        } else if v == "." || v == ".." {
            Some("is not a directory name".to_string())
        } else {
            None
        };
        match why {
            Some(why) => {
                self.diags.error(
                    Code::Name,
                    name.span,
                    format!("datastore name {v:?} {why}"),
                    NAME_HELP,
                );
                false
            }
            None => true,
        }
    }

    fn format(&mut self, e: &Entry) {
        let Some(id) = self.own_id(e).cloned() else {
            return;
        };
        let vmfs = e.fstype.as_ref().is_some_and(|f| f.value == "vmfs6");
        if let Some(f) = &e.fstype
            && !vmfs
        {
            self.diags.warning(
                Code::Ignored,
                f.span,
                format!(
                    "`{}` file system `{}` has no meaning on ESXi and is ignored",
                    f.value, id.value
                ),
                LINUX_HELP,
            );
        }
        let Some(volume) = &e.volume else {
            return;
        };
        match self.ids.get(&volume.value) {
            None => self.diags.error(
                Code::UnknownReference,
                volume.span,
                format!(
                    "format `{}` refers to unknown volume `{}`",
                    id.value, volume.value
                ),
                "`volume` names a datastore, partition or disk of this config",
            ),
            Some((_, kind)) if vmfs && !matches!(kind, Kind::Vmfs | Kind::Unknown) => {
                self.diags.error(
                    Code::InvalidReference,
                    volume.span,
                    format!(
                        "vmfs6 format `{}` is on `{}`, which is not a vmfs6 datastore",
                        id.value, volume.value
                    ),
                    "a vmfs6 file system is the `format` of a `vmfs6` entry",
                )
            }
            Some(_) => {}
        }
    }

    fn mount(&mut self, e: &Entry) {
        let Some(id) = self.own_id(e).cloned() else {
            return;
        };
        if let Some(device) = &e.device
            && !self.ids.contains_key(&device.value)
        {
            self.diags.error(
                Code::UnknownReference,
                device.span,
                format!(
                    "mount `{}` refers to unknown format `{}`",
                    id.value, device.value
                ),
                "`device` names a `format` entry of this config",
            );
        }
    }

    /// Every disk a datastore is on must be recognisable on the host; the boot disk always is.
    fn check_identities(&mut self, datastores: &[Datastore]) {
        let mut seen = Vec::new();
        for d in datastores {
            for x in &d.extents {
                let disk = &self.disks[x.disk];
                if disk.boot || !disk.identity.is_empty() || seen.contains(&x.disk) {
                    continue;
                }
                seen.push(x.disk);
                let (span, id) = (disk.id.span, disk.id.value.clone());
                let help = match &disk.identity.path {
                    Some(p) => format!("its path `{}` names nothing ESXi shows: ESXi recognises wwn-0x…, scsi-3…, nvme-eui.…, ata-…, scsi-SATA_… and nvme-… names", p.value),
                    None => "give it a `serial` (MAAS sends `serial` and `model`, or `path` when they are missing)".to_string(),
                };
                self.diags.error(
                    Code::MissingKey,
                    span,
                    format!(
                        "disk `{id}` holds datastore `{}` but nothing identifies it on the host",
                        d.name.value
                    ),
                    &help,
                );
            }
        }
    }
}

/// Lower-case hex digits, or None.
fn hex(s: &str) -> Option<String> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// What a Linux `/dev/disk/by-id/` name tells about a disk.
#[derive(Debug, Default, PartialEq, Eq)]
struct ById {
    wwn: Option<String>,
    eui: Option<String>,
    serial: Option<String>,
    model: Option<String>,
}

/// Reads udev's by-id names: `wwn-0x<wwn>`, `scsi-3<naa>`, `nvme-eui.<eui>`, and the `<model>_<serial>` of
/// `ata-`, `scsi-SATA_` and `nvme-` names (the serial is what follows the last `_`).
fn by_id(path: &str) -> ById {
    let name = path.strip_prefix("/dev/disk/by-id/").unwrap_or_default();
    let mut out = ById::default();
    if let Some(w) = name.strip_prefix("wwn-0x").and_then(hex) {
        out.wwn = Some(w);
    } else if let Some(w) = name.strip_prefix("scsi-3").and_then(hex) {
        out.wwn = Some(w);
    } else if let Some(e) = name.strip_prefix("nvme-eui.").and_then(hex) {
        out.eui = Some(e);
    } else if let Some(rest) = ["ata-", "scsi-SATA_", "nvme-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        && let Some((model, serial)) = rest.rsplit_once('_')
        && !serial.is_empty()
    {
        out.serial = Some(serial.to_string());
        out.model = Some(model.replace('_', " ")).filter(|m| !m.is_empty());
    }
    out
}

/// curtin's size syntax (`util.human2bytes`): an optional trailing `B`, then an optional `K`, `M`, `G` or
/// `T` (powers of 1024) after a decimal number; the result must be a whole number of bytes.
fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.strip_suffix('B').unwrap_or(t);
    let (number, shift) = match t.char_indices().last() {
        Some((i, 'K')) => (&t[..i], 10),
        Some((i, 'M')) => (&t[..i], 20),
        Some((i, 'G')) => (&t[..i], 30),
        Some((i, 'T')) => (&t[..i], 40),
        _ => (t, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 20
        || fraction.len() > 20
    {
        return None;
    }
    let unit: u128 = 1 << shift;
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let scale = 10u128.checked_pow(fraction.len() as u32)?;
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let fraction_bytes = fraction.checked_mul(unit)?;
    if fraction_bytes % scale != 0 {
        return None;
    }
    let total = whole
        .checked_mul(unit)?
        .checked_add(fraction_bytes / scale)?;
    u64::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_curtin_reads_them() {
        assert_eq!(parse_bytes("4194304B"), Some(4_194_304));
        assert_eq!(parse_bytes("4194304"), Some(4_194_304));
        assert_eq!(parse_bytes("4G"), Some(4 << 30));
        assert_eq!(parse_bytes("4GB"), Some(4 << 30));
        assert_eq!(parse_bytes("1.5T"), Some(3 << 39));
        assert_eq!(parse_bytes("512M"), Some(512 << 20));
        assert_eq!(parse_bytes("0.5K"), Some(512));
        assert_eq!(parse_bytes("1.0000000001"), None, "not whole bytes");
        assert_eq!(parse_bytes("-4G"), None);
        assert_eq!(parse_bytes("4X"), None);
        assert_eq!(parse_bytes(""), None);
        assert_eq!(parse_bytes("B"), None);
        assert_eq!(parse_bytes("99999999999999999999999T"), None);
    }

    #[test]
    fn by_id_names_give_what_esxi_can_match() {
        assert_eq!(
            by_id("/dev/disk/by-id/wwn-0x5000C500A1B2C3D4")
                .wwn
                .as_deref(),
            Some("5000c500a1b2c3d4")
        );
        assert_eq!(
            by_id("/dev/disk/by-id/scsi-35000c500a1b2c3d4")
                .wwn
                .as_deref(),
            Some("5000c500a1b2c3d4")
        );
        assert_eq!(
            by_id("/dev/disk/by-id/nvme-eui.e8238fa6bf530001001b448b4b7d387b")
                .eui
                .as_deref(),
            Some("e8238fa6bf530001001b448b4b7d387b")
        );
        let ata = by_id("/dev/disk/by-id/ata-SAMSUNG_MZ7LH1T9HMLT-00005_S455NY0M812345");
        assert_eq!(ata.serial.as_deref(), Some("S455NY0M812345"));
        assert_eq!(ata.model.as_deref(), Some("SAMSUNG MZ7LH1T9HMLT-00005"));
        assert_eq!(
            by_id("/dev/disk/by-path/pci-0000:00:1f.2-ata-1"),
            ById::default()
        );
        assert_eq!(by_id("/dev/sda"), ById::default());
    }
}
