//! curtin storage config version 1: a list of entries (`disk`, `partition`, `vmfs6`, `format`, `mount`, and
//! the Linux-only kinds), each a bag of optional fields keyed by `type:`.

use crate::diag::{Code, Diagnostic, Located, Span};
use crate::input::decode::{Decoder, Fields};
use crate::input::yaml::{Kind, Node};

/// A whole `storage: {version: 1, config: [...]}` section.
#[derive(Debug)]
pub struct Config {
    pub span: Span,
    pub entries: Vec<Entry>,
}

/// One `config:` entry. Which fields matter depends on `kind`; `normalize` decides.
#[derive(Debug, Default)]
pub struct Entry {
    pub span: Span,
    pub path: String,
    pub kind: Option<Located<String>>,
    pub id: Option<Located<String>>,
    pub name: Option<Located<String>>,
    /// `disk`: how Linux saw the disk.
    pub serial: Option<Located<String>>,
    pub model: Option<Located<String>>,
    pub wwn: Option<Located<String>>,
    /// `disk`: a `/dev/disk/by-id/…` path; `mount`: the mount point.
    pub device_path: Option<Located<String>>,
    pub grub_device: Option<Located<bool>>,
    pub ptable: Option<Located<String>>,
    pub wipe: Option<Located<String>>,
    /// `partition`: the disk; `mount`: the `format` entry.
    pub device: Option<Located<String>>,
    pub number: Option<Located<i128>>,
    /// `partition`: bytes, as curtin writes sizes (`"4194304B"`, `4G`, a plain number).
    pub size: Option<Located<String>>,
    pub offset: Option<Located<String>>,
    pub flag: Option<Located<String>>,
    /// `vmfs6` (and the Linux groups): member ids.
    pub devices: Vec<Located<String>>,
    /// `format`.
    pub fstype: Option<Located<String>>,
    pub volume: Option<Located<String>>,
}

/// Entry types whose keys are read; others are judged whole by `normalize`.
const READ_TYPES: &[&str] = &["disk", "partition", "vmfs6", "format", "mount"];

const ENTRY_KEYS: &[&str] = &[
    "type",
    "id",
    "name",
    "preserve",
    // disk
    "serial",
    "model",
    "wwn",
    "path",
    "grub_device",
    "ptable",
    "wipe",
    "multipath",
    "nvme_controller",
    "device_id",
    // partition
    "device",
    "number",
    "size",
    "offset",
    "flag",
    "uuid",
    "partition_type",
    "partition_name",
    "resize",
    // vmfs6
    "devices",
    // format
    "fstype",
    "volume",
    "label",
    "extra_options",
    // mount
    "options",
    "spec",
    "freq",
    "passno",
];

impl Decoder<'_> {
    pub(crate) fn storage(&mut self, storage: &Node, path: &str) -> Option<Config> {
        let fields = self.map(storage, path, &["version", "config"])?;
        let Some(version) = fields.get("version") else {
            self.missing(
                &fields,
                "version",
                "MAAS sends curtin storage config `version: 1`",
            );
            return None;
        };
        if !matches!(&version.kind, Kind::Int(1))
            && !matches!(&version.kind, Kind::Str(s) if s == "1")
        {
            let shown = version.kind.shown();
            self.diags.push(
                Diagnostic::error(
                    Code::Version,
                    Some(version.span),
                    format!("unsupported storage config version {shown}"),
                )
                .with_help("supported: curtin storage config version 1, which MAAS sends"),
            );
            return None;
        }
        let mut entries = Vec::new();
        let Some(config) = fields.get("config") else {
            self.missing(
                &fields,
                "config",
                "version 1 lists disks, partitions and datastores under `config:`",
            );
            return None;
        };
        let config_path = fields.child("config");
        for (i, node) in self.list(config, &config_path).iter().enumerate() {
            if let Some(entry) = self.storage_entry(node, &format!("{config_path}[{i}]")) {
                entries.push(entry);
            }
        }
        Some(Config {
            span: storage.span,
            entries,
        })
    }

    fn storage_entry(&mut self, node: &Node, path: &str) -> Option<Entry> {
        let f = self.open_map(node, path)?;
        let kind = f.get("type").and_then(|n| self.string(n, &f.child("type")));
        // Linux-only entries are reported whole, not key by key.
        let f = match &kind {
            Some(k) if READ_TYPES.contains(&k.value.as_str()) => {
                self.map(node, path, ENTRY_KEYS)?
            }
            _ => f,
        };
        let mut e = Entry {
            span: node.span,
            path: path.to_string(),
            kind,
            ..Entry::default()
        };
        e.id = self.opt_string(&f, "id");
        e.name = self.opt_string(&f, "name");
        e.serial = self.opt_string(&f, "serial");
        e.model = self.opt_string(&f, "model");
        e.wwn = self.opt_string(&f, "wwn");
        e.device_path = self.opt_string(&f, "path");
        e.grub_device =
            present(&f, "grub_device").and_then(|n| self.boolean(n, &f.child("grub_device")));
        e.ptable = self.opt_string(&f, "ptable");
        e.wipe = self.opt_string(&f, "wipe");
        e.device = self.opt_string(&f, "device");
        e.number = present(&f, "number").and_then(|n| self.int(n, &f.child("number")));
        e.size = self.opt_string(&f, "size");
        e.offset = self.opt_string(&f, "offset");
        e.flag = self.opt_string(&f, "flag");
        e.devices = present(&f, "devices")
            .map(|n| self.strings(n, &f.child("devices")))
            .unwrap_or_default();
        e.fstype = self.opt_string(&f, "fstype");
        e.volume = self.opt_string(&f, "volume");
        Some(e)
    }

    /// A string field; `null` (MAAS writes `uuid: null`, `label: null`) counts as absent.
    fn opt_string(&mut self, f: &Fields<'_>, key: &str) -> Option<Located<String>> {
        present(f, key).and_then(|n| self.string(n, &f.child(key)))
    }
}

/// A key's value unless it is missing or `null`.
fn present<'n>(f: &Fields<'n>, key: &str) -> Option<&'n Node> {
    f.get(key).filter(|n| !matches!(n.kind, Kind::Null))
}
