//! The prefix length of an address or a route destination, from every place a format lets it be written:
//! after a slash (a length or a netmask), a separate `netmask:` or `prefix:` (v1), or nowhere.

use std::net::IpAddr;

use super::Builder;
use crate::diag::{Code, Located, clip};
use crate::model::{IpNet, Ipv4Net, Ipv6Net};

/// Where a prefix length may be given besides after a slash.
#[derive(Clone, Copy)]
pub(super) enum Mask<'a> {
    /// Only after the slash (netplan). An address without one is refused; a route destination without one
    /// is a host route, as netplan hands it to the kernel.
    Netplan,
    /// Also as `netmask:` or `prefix:` beside it (curtin and cloud-init v1). With none, cloud-init's default
    /// (/24 for IPv4, /64 for IPv6) is used, with a warning.
    Apart {
        netmask: Option<&'a Located<String>>,
        prefix: Option<&'a Located<i128>>,
    },
}

/// What the text names: it decides the wording, and what a missing prefix length means to netplan.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Subject {
    Address,
    Route,
}

impl Subject {
    fn code(self) -> Code {
        match self {
            Subject::Address => Code::Address,
            Subject::Route => Code::Route,
        }
    }

    fn invalid(self, raw: &str, why: &str) -> String {
        match self {
            Subject::Address => format!("invalid address `{}`: {why}", clip(raw)),
            Subject::Route => format!("invalid route destination `{}`: {why}", clip(raw)),
        }
    }

    fn help(self) -> &'static str {
        match self {
            Subject::Address => {
                "write the address with its prefix length, e.g. 10.0.0.5/24 or 2001:db8::5/64"
            }
            Subject::Route => {
                "write a network with its prefix length, e.g. 10.60.0.0/16, or `default`"
            }
        }
    }
}

const MASK_HELP: &str =
    "write a prefix length (24, 64) or a contiguous netmask (255.255.255.0, ffff:ffff:ffff:ffff::)";

/// One place a prefix length was given: how it was written, where, and the length it stands for.
struct Given {
    written: String,
    span: crate::diag::Span,
    length: u8,
}

impl Builder<'_> {
    /// `raw` (an address or a route destination, maybe with `/length` or `/netmask`) as a network with its
    /// prefix length taken from wherever `mask` allows; `None` after an error. Prefix lengths given in more
    /// than one place must agree: cloud-init silently prefers one, which would hide a typo.
    pub(super) fn network(
        &mut self,
        raw: &Located<String>,
        subject: Subject,
        mask: Mask<'_>,
    ) -> Option<IpNet> {
        let text = raw.value.trim();
        let (addr_text, inline) = match text.split_once('/') {
            Some((a, m)) => (a.trim(), Some(m.trim())),
            None => (text, None),
        };
        let Ok(addr) = addr_text.parse::<IpAddr>() else {
            self.error(
                subject.code(),
                raw.span,
                subject.invalid(
                    &raw.value,
                    &format!("`{}` is not an IP address", clip(addr_text)),
                ),
                subject.help(),
            );
            return None;
        };
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let (netmask, prefix) = match mask {
            Mask::Netplan => (None, None),
            Mask::Apart { netmask, prefix } => (netmask, prefix),
        };
        let mut given = Vec::new();
        let mut ok = true;
        if let Some(m) = inline {
            let netplan_address = matches!(mask, Mask::Netplan) && subject == Subject::Address;
            if netplan_address && !m.bytes().all(|b| b.is_ascii_digit()) {
                self.error(
                    Code::Address,
                    raw.span,
                    format!(
                        "address `{}` has a netmask after the slash; netplan takes a prefix length there",
                        clip(&raw.value)
                    ),
                    subject.help(),
                );
                return None;
            }
            match prefix_of(m, addr.is_ipv4()).map(u8::try_from) {
                Ok(Ok(length)) if length <= max => given.push(Given {
                    written: "after the slash".to_string(),
                    span: raw.span,
                    length,
                }),
                Ok(_) => {
                    self.error(
                        subject.code(),
                        raw.span,
                        subject.invalid(
                            &raw.value,
                            &format!("prefix length `/{}` {}", clip(m), out_of_range(addr)),
                        ),
                        subject.help(),
                    );
                    ok = false;
                }
                Err(why) => {
                    self.error(
                        subject.code(),
                        raw.span,
                        subject.invalid(&raw.value, &why),
                        MASK_HELP,
                    );
                    ok = false;
                }
            }
        }
        if let Some(m) = netmask {
            match prefix_of(&m.value, addr.is_ipv4()).map(u8::try_from) {
                Ok(Ok(length)) if length <= max => given.push(Given {
                    written: format!("as `netmask: {}`", clip(m.value.trim())),
                    span: m.span,
                    length,
                }),
                Ok(_) => {
                    self.error(
                        subject.code(),
                        m.span,
                        format!(
                            "`netmask: {}` of `{}` {}",
                            clip(m.value.trim()),
                            clip(&raw.value),
                            out_of_range(addr)
                        ),
                        MASK_HELP,
                    );
                    ok = false;
                }
                Err(why) => {
                    let message = match subject {
                        Subject::Address => why,
                        Subject::Route => format!(
                            "the route to `{}` has an invalid netmask: {why}",
                            clip(&raw.value)
                        ),
                    };
                    self.error(subject.code(), m.span, message, MASK_HELP);
                    ok = false;
                }
            }
        }
        if let Some(p) = prefix {
            match u8::try_from(p.value) {
                Ok(length) if length <= max => given.push(Given {
                    written: format!("as `prefix: {}`", p.value),
                    span: p.span,
                    length,
                }),
                _ => {
                    self.error(
                        subject.code(),
                        p.span,
                        format!(
                            "`prefix: {}` of `{}` {}",
                            p.value,
                            clip(&raw.value),
                            out_of_range(addr)
                        ),
                        subject.help(),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        let length = match given.as_slice() {
            [] => self.no_prefix(raw, subject, mask, addr)?,
            [first, rest @ ..] => {
                if let Some(other) = rest.iter().find(|g| g.length != first.length) {
                    self.error(
                        subject.code(),
                        other.span,
                        format!(
                            "`{}` has two prefix lengths that disagree: /{} {} and /{} {}",
                            clip(text),
                            first.length,
                            first.written,
                            other.length,
                            other.written
                        ),
                        "give the prefix length once (on the address, or as `netmask:` or `prefix:`), or make them agree",
                    );
                    return None;
                }
                first.length
            }
        };
        Some(match addr {
            IpAddr::V4(addr) => IpNet::V4(Ipv4Net {
                addr,
                prefix: length,
            }),
            IpAddr::V6(addr) => IpNet::V6(Ipv6Net {
                addr,
                prefix: length,
            }),
        })
    }

    /// The prefix length when none is written: netplan refuses an address without one and makes a route
    /// a host route; v1 takes cloud-init's default, which may not be what was meant, so it warns.
    fn no_prefix(
        &mut self,
        raw: &Located<String>,
        subject: Subject,
        mask: Mask<'_>,
        addr: IpAddr,
    ) -> Option<u8> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match (mask, subject) {
            (Mask::Netplan, Subject::Route) => Some(max),
            (Mask::Netplan, Subject::Address) => {
                self.error(
                    Code::Address,
                    raw.span,
                    format!("address `{}` has no prefix length", clip(&raw.value)),
                    subject.help(),
                );
                None
            }
            (Mask::Apart { .. }, _) => {
                let default = if addr.is_ipv4() { 24 } else { 64 };
                let (message, help) = match subject {
                    Subject::Address => (
                        format!(
                            "address `{}` has no prefix length; /{default} is used, as cloud-init does",
                            clip(&raw.value)
                        ),
                        "write the prefix length on the address (10.0.0.5/24) or give `netmask:`",
                    ),
                    Subject::Route => (
                        format!(
                            "the route to `{}` has no prefix length; /{default} is used, as cloud-init does",
                            clip(&raw.value)
                        ),
                        "write the destination with its prefix length (10.60.0.0/16, or /32 for one host) or give `netmask:` or `prefix:`",
                    ),
                };
                self.warning(subject.code(), raw.span, message, help);
                Some(default)
            }
        }
    }
}

/// The end of a message about a prefix length too long for the address's family.
fn out_of_range(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "is out of range for IPv4 (0-32)"
    } else {
        "is out of range for IPv6 (0-128)"
    }
}

/// The prefix length a netmask or prefix text stands for: `24`, `255.255.255.0`, `ffff:ffff::`, `::`.
fn prefix_of(mask: &str, ipv4: bool) -> Result<u32, String> {
    let mask = mask.trim();
    if !mask.is_empty() && mask.bytes().all(|b| b.is_ascii_digit()) {
        // A length too long for any family is out of range, not an invalid netmask.
        return Ok(mask.parse::<u32>().unwrap_or(u32::MAX));
    }
    let length = match mask.parse::<IpAddr>() {
        Ok(IpAddr::V4(m)) if ipv4 => contiguous_length(u128::from(u32::from(m)), 32),
        Ok(IpAddr::V6(m)) if !ipv4 => contiguous_length(u128::from(m), 128),
        Ok(_) => {
            return Err(format!(
                "netmask `{}` is of the other address family",
                clip(mask)
            ));
        }
        Err(_) => return Err(format!("netmask `{}` is not valid", clip(mask))),
    };
    length.ok_or_else(|| format!("netmask `{}` is not contiguous", clip(mask)))
}

/// The number of leading ones of a netmask `width` bits wide (in the low bits of `mask`), if nothing but
/// zeros follows them.
fn contiguous_length(mask: u128, width: u32) -> Option<u32> {
    let top = mask << (128 - width);
    let ones = top.leading_ones();
    (top.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

#[cfg(test)]
mod tests {
    use super::prefix_of;

    #[test]
    fn netmasks_and_lengths() {
        let v4 = [
            ("24", 24),
            ("33", 33),
            ("255.255.255.0", 24),
            ("255.255.255.255", 32),
            ("0.0.0.0", 0),
            ("128.0.0.0", 1),
            ("99999999999", u32::MAX),
        ];
        for (mask, length) in v4 {
            assert_eq!(prefix_of(mask, true), Ok(length), "{mask}");
        }
        let v6 = [
            ("::", 0),
            ("ffff:ffff:ffff:ffff::", 64),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128),
            ("fffe::", 15),
        ];
        for (mask, length) in v6 {
            assert_eq!(prefix_of(mask, false), Ok(length), "{mask}");
        }
        for (mask, ipv4) in [
            ("255.0.255.0", true),
            ("0.255.255.255", true),
            ("ffff::ffff", false),
            ("255.255.255.0", false),
            ("ffff::", true),
            ("", true),
            ("twenty", true),
        ] {
            assert!(prefix_of(mask, ipv4).is_err(), "{mask} was accepted");
        }
    }
}
