//! The format-neutral network intent: what the MAAS config asks for, checked, before any ESXi decision.
//!
//! Links are kept in a canonical order (physical, bond, bridge, vlan; then by name) so that a v1 config and
//! its netplan v2 twin give equal models whatever order their files list things in. `storage` is the storage
//! half: disks, partitions and datastores.

pub mod storage;

mod reporting;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::Located;

pub use reporting::Reporting;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Network {
    pub links: Vec<Link>,
    /// At most one default gateway per address family; the first one the config names.
    pub gateway4: Option<Gateway>,
    pub gateway6: Option<Gateway>,
    /// Static routes other than the default, in link order, then the config's global routes.
    pub routes: Vec<Route>,
    pub dns: Dns,
}

impl Network {
    /// The MAAS-facing link, which carries the management vmk: the one whose static IPv4 subnet holds the
    /// IPv4 default gateway (among the links that name the gateway, when one does), else the gateway's link
    /// if it has IPv4 at all (DHCP), else the first link with an address.
    pub fn management_link(&self) -> Option<&Link> {
        if let Some(gw) = &self.gateway4
            && let IpAddr::V4(via) = gw.via.value
        {
            let on_link = |l: &&Link| gw.link.as_deref().is_none_or(|n| n == l.name.value);
            let found = self
                .links
                .iter()
                .filter(on_link)
                .find(|l| l.ipv4.iter().any(|a| a.value.contains(via)))
                .or_else(|| {
                    self.links
                        .iter()
                        .filter(on_link)
                        .find(|l| l.dhcp4 || !l.ipv4.is_empty())
                });
            if found.is_some() {
                return found;
            }
        }
        self.links.iter().find(|l| l.is_addressed())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub name: Located<String>,
    pub kind: LinkKind,
    pub mac: Option<Located<Mac>>,
    pub mtu: Option<Located<u32>>,
    /// Static IPv4 addresses, in the order given.
    pub ipv4: Vec<Located<Ipv4Net>>,
    /// Static IPv6 addresses, in the order given.
    pub ipv6: Vec<Located<Ipv6Net>>,
    pub dhcp4: bool,
    pub dhcp6: bool,
    /// Stateless autoconfiguration from router advertisements (SLAAC, `accept-ra`).
    pub accept_ra: bool,
}

impl Link {
    /// Whether the link asks for any address at all.
    pub fn is_addressed(&self) -> bool {
        self.dhcp4 || self.dhcp6 || self.accept_ra || !self.ipv4.is_empty() || !self.ipv6.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKind {
    Physical,
    Bond(Bond),
    Bridge(Bridge),
    Vlan(Vlan),
}

impl LinkKind {
    /// The rank used for canonical link order.
    pub fn rank(&self) -> u8 {
        match self {
            LinkKind::Physical => 0,
            LinkKind::Bond(_) => 1,
            LinkKind::Bridge(_) => 2,
            LinkKind::Vlan(_) => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bond {
    pub members: Vec<Located<String>>,
    pub mode: Located<BondMode>,
    pub primary: Option<Located<String>>,
    pub hash_policy: Option<Located<String>>,
    pub lacp_rate: Option<Located<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BondMode {
    BalanceRr,
    ActiveBackup,
    BalanceXor,
    Lacp,
    BalanceTlb,
    BalanceAlb,
}

impl BondMode {
    pub const SUPPORTED: &'static str =
        "balance-rr, active-backup, 802.3ad, balance-xor, balance-tlb, balance-alb";

    pub fn parse(s: &str) -> Option<BondMode> {
        Some(match s {
            "balance-rr" | "0" => BondMode::BalanceRr,
            "active-backup" | "1" => BondMode::ActiveBackup,
            "balance-xor" | "2" => BondMode::BalanceXor,
            "802.3ad" | "4" => BondMode::Lacp,
            "balance-tlb" | "5" => BondMode::BalanceTlb,
            "balance-alb" | "6" => BondMode::BalanceAlb,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Lacp => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bridge {
    pub members: Vec<Located<String>>,
    /// Bridge parameters a vSwitch cannot honour (STP, forward delay, ...), by name.
    pub ignored_params: Vec<Located<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vlan {
    pub parent: Located<String>,
    pub id: Located<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    pub via: Located<IpAddr>,
    /// The link whose configuration named the gateway, when there is one.
    pub link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub to: Located<IpNet>,
    pub via: Located<IpAddr>,
    pub metric: Option<Located<u32>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Dns {
    pub servers: Vec<IpAddr>,
    pub search: Vec<String>,
}

/// A MAC address, lower case, colon separated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mac(String);

impl Mac {
    pub fn parse(s: &str) -> Option<Mac> {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        let ok = parts.len() == 6
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        ok.then(|| Mac(parts.join(":").to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(
            u32::MAX
                .checked_shl(32 - u32::from(self.prefix))
                .unwrap_or(0),
        )
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & u32::from(self.netmask()))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.netmask()) == u32::from(self.network())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Net {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

impl Ipv6Net {
    pub fn network(&self) -> Ipv6Addr {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix))
            .unwrap_or(0);
        Ipv6Addr::from(u128::from(self.addr) & mask)
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix))
            .unwrap_or(0);
        u128::from(ip) & mask == u128::from(self.network())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpNet {
    V4(Ipv4Net),
    V6(Ipv6Net),
}

impl IpNet {
    pub fn is_default(&self) -> bool {
        match self {
            IpNet::V4(n) => n.prefix == 0,
            IpNet::V6(n) => n.prefix == 0,
        }
    }

    pub fn is_ipv4(&self) -> bool {
        matches!(self, IpNet::V4(_))
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpNet::V4(n) => write!(f, "{}/{}", n.network(), n.prefix),
            IpNet::V6(n) => write!(f, "{}/{}", n.network(), n.prefix),
        }
    }
}
