//! How a disk the config names is recognised among the host's devices: Linux and ESXi name disks
//! differently, so the plan turns what Linux saw (serial, model, WWN, EUI) into what ESXi shows.
//!
//! ESXi names a device `naa.<wwn>` when it has a WWN, `eui.<nguid>` or `t10.NVMe____<model>____<suffix>`
//! for NVMe namespaces (the suffix is the EUI's last 8 bytes, byte-reversed), and
//! `t10.ATA_____<model>____<serial>` for ATA disks, padded with `_`, other punctuation as hex (`-` is `2D`).

use crate::diag::Located;
use crate::model::storage::{Disk, Identity};
use crate::plan::storage::Match;

pub(super) fn matching(identity: &Identity) -> Match {
    fn text(v: &Option<Located<String>>) -> Option<&str> {
        v.as_ref().map(|s| s.value.as_str())
    }
    Match {
        wwn: text(&identity.wwn).map(str::to_string),
        eui: text(&identity.eui).map(str::to_string),
        nvme_suffix: text(&identity.eui).and_then(nvme_suffix),
        ata_serial: text(&identity.serial).map(t10),
        ata_model: text(&identity.model).map(t10),
        serial: text(&identity.serial).map(loose),
        model: text(&identity.model).map(loose),
    }
}

/// How the config identifies a disk, for the script's messages.
pub(super) fn describe(disk: Option<&Disk>) -> String {
    let Some(disk) = disk else {
        return "the device ESXi booted from".to_string();
    };
    let i = &disk.identity;
    let mut parts = Vec::new();
    match &i.path {
        Some(p) => parts.push(format!("path {}", p.value)),
        None => {
            if let Some(s) = &i.serial {
                parts.push(format!("serial {}", s.value));
            }
            if let Some(m) = &i.model {
                parts.push(format!("model {}", m.value));
            }
            if let Some(w) = &i.wwn {
                parts.push(format!("WWN {}", w.value));
            }
        }
    }
    if disk.boot {
        parts.push("the boot disk".to_string());
    }
    parts.join(", ")
}

/// The last 8 bytes of an EUI-64 or NGUID, byte-reversed, upper case: the end of ESXi's t10.NVMe name.
fn nvme_suffix(eui: &str) -> Option<String> {
    let tail = eui.get(eui.len().checked_sub(16)?..)?;
    Some(
        (0..8)
            .rev()
            .filter_map(|i| tail.get(2 * i..2 * i + 2))
            .collect::<String>()
            .to_ascii_uppercase(),
    )
}

/// A t10 name field as ESXi writes it (letters and digits kept, blanks and `_` as `_`, anything else as
/// its hex code), `_` runs squeezed and trimmed, upper case.
fn t10(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if c == '_' || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A serial or model compared loosely: lower case, blank and `_` runs as one `_`, trimmed.
fn loose(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c == '_' || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_fields_are_written_as_esxi_writes_them() {
        // Real names from the research notes: t10.ATA_____ST3320620AS_______…_6QF1PZXB, and the VirtualBox
        // disk whose serial VB3708b3ff-6ab73e63 appears as VB3708b3ff2D6ab73e63.
        assert_eq!(t10("6QF1PZXB"), "6QF1PZXB");
        assert_eq!(t10("VB3708b3ff-6ab73e63"), "VB3708B3FF2D6AB73E63");
        assert_eq!(t10("  WD_BLACK  SN770 "), "WD_BLACK_SN770");
        assert_eq!(loose(" WD_BLACK  SN770 500GB "), "wd_black_sn770_500gb");
    }

    #[test]
    fn the_nvme_suffix_is_the_eui_tail_byte_reversed() {
        // packer-maas issue #190: nvme-eui.e8238fa6bf530001001b448b4b7d387b is t10.NVMe____…_7B387D4B8B441B00.
        assert_eq!(
            nvme_suffix("e8238fa6bf530001001b448b4b7d387b").as_deref(),
            Some("7B387D4B8B441B00")
        );
        assert_eq!(
            nvme_suffix("001b444a4630fd64").as_deref(),
            Some("64FD30464A441B00")
        );
        assert_eq!(nvme_suffix("abcd"), None);
    }
}
