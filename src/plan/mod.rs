//! Model → ESXi objects: vSwitches, uplinks by MAC, teaming, port groups, VMkernel NICs, routes and DNS, in a
//! deterministic order. Every ESXi-specific decision is made here; templates only loop over the result.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{BondMode, IpNet, Ipv4Net, Link, LinkKind, Network};

/// The version of the JSON plan's shape; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Choices the config does not make.
#[derive(Clone, Debug)]
pub struct Options {
    /// Name of the VM port group created on the management vSwitch; `None` creates none.
    pub vm_network: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            vm_network: Some("VM Network".to_string()),
        }
    }
}

/// What the host must look like.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    #[serde(rename = "format-version")]
    pub format_version: u32,
    /// Physical NICs the plan uses, found on the host by MAC at run time.
    pub nics: Vec<Nic>,
    pub vswitches: Vec<VSwitch>,
    pub portgroups: Vec<PortGroup>,
    /// VMkernel NICs; the management one is first and is `vmk0`.
    pub vmks: Vec<Vmk>,
    pub routes: Vec<Route>,
    pub dns: Dns,
    /// What the script rebuilds, on DHCP, if no VMkernel NIC ends up with an address.
    pub fallback: Option<Fallback>,
}

/// The management vmk in its simplest working form: on its port group and vSwitch, with the first active
/// uplink, its MAC, and DHCP.
#[derive(Clone, Debug, Serialize)]
pub struct Fallback {
    pub vmk: String,
    pub portgroup: String,
    pub vswitch: String,
    /// Index into `nics`.
    pub uplink: Option<usize>,
    pub mac: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Nic {
    pub mac: String,
    pub link: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct VSwitch {
    pub name: String,
    /// The link (NIC, bond or bridge) this vSwitch stands for.
    pub link: String,
    pub mtu: u32,
    /// Indexes into `nics`, in failover order.
    pub uplinks: Vec<usize>,
    pub teaming: Teaming,
}

#[derive(Clone, Debug, Serialize)]
pub struct Teaming {
    /// `portid`, `iphash`, `mac` or `explicit`.
    pub load_balancing: &'static str,
    pub active: Vec<usize>,
    pub standby: Vec<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PortGroup {
    pub name: String,
    pub vswitch: String,
    /// 0 means untagged.
    pub vlan: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct Vmk {
    pub name: String,
    pub portgroup: String,
    pub link: String,
    pub mac: Option<String>,
    pub mtu: u32,
    pub ipv4: Ipv4,
    pub ipv6: Ipv6,
    /// Tagged `Management`.
    pub management: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Ipv4 {
    None,
    Dhcp,
    Static {
        address: String,
        netmask: String,
        prefix: u8,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct Ipv6 {
    pub dhcpv6: bool,
    pub router_adv: bool,
    /// `address/prefix`, in canonical text form.
    pub addresses: Vec<Ipv6Address>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Ipv6Address {
    pub address: String,
    pub prefix: u8,
}

#[derive(Clone, Debug, Serialize)]
pub struct Route {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// `default`, or the network address.
    pub network: String,
    /// Dotted netmask (IPv4) or prefix length (IPv6), as esxcli lists it; empty for `default`.
    pub netmask: String,
    /// `network/prefix` or `default`, as esxcli takes it.
    pub destination: String,
    pub gateway: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dns {
    pub servers: Vec<String>,
    pub search: Vec<String>,
}

/// Builds the plan; approximations become warnings, what ESXi cannot do becomes errors.
pub fn plan(net: &Network, options: &Options, diags: &mut Diagnostics) -> Plan {
    let by_name = net
        .links
        .iter()
        .map(|l| (l.name.value.as_str(), l))
        .collect();
    let mut owner_of = BTreeMap::new();
    for l in &net.links {
        let members = match &l.kind {
            LinkKind::Bond(b) => &b.members,
            LinkKind::Bridge(b) => &b.members,
            _ => continue,
        };
        for m in members {
            owner_of.entry(m.value.as_str()).or_insert(l);
        }
    }
    let mut p = Planner {
        net,
        diags,
        nics: Vec::new(),
        by_name,
        owner_of,
    };
    p.build(options)
}

struct Planner<'a, 'd> {
    net: &'a Network,
    diags: &'d mut Diagnostics,
    nics: Vec<Nic>,
    by_name: BTreeMap<&'a str, &'a Link>,
    /// The bond or bridge each member link belongs to.
    owner_of: BTreeMap<&'a str, &'a Link>,
}

/// The IPv4 configurations of one link, one per vmk: DHCP first (it needs the link's MAC, on which MAAS
/// keys the lease), then the static addresses in order.
fn ipv4_configs(link: &Link) -> Vec<Ipv4> {
    let mut v = Vec::new();
    if link.dhcp4 {
        v.push(Ipv4::Dhcp);
    }
    v.extend(link.ipv4.iter().map(|a| Ipv4::Static {
        address: a.value.addr.to_string(),
        netmask: a.value.netmask().to_string(),
        prefix: a.value.prefix,
    }));
    v
}

impl<'a> Planner<'a, '_> {
    fn link(&self, name: &str) -> Option<&'a Link> {
        self.by_name.get(name).copied()
    }

    /// The bond or bridge a link is a member of.
    fn owner(&self, name: &str) -> Option<&'a Link> {
        self.owner_of.get(name).copied()
    }

    /// The link whose vSwitch carries `link`: its outermost bond or bridge, or the VLAN parent's.
    fn root(&self, link: &'a Link) -> &'a Link {
        let mut current = link;
        for _ in 0..=self.net.links.len() {
            let next = match &current.kind {
                LinkKind::Vlan(v) => self.link(&v.parent.value),
                _ => self.owner(&current.name.value),
            };
            match next {
                Some(n) => current = n,
                None => break,
            }
        }
        current
    }

    /// The physical NICs under a root, in member order.
    fn leaves(&self, link: &Link, out: &mut Vec<String>) {
        match &link.kind {
            LinkKind::Physical => out.push(link.name.value.clone()),
            LinkKind::Bond(b) => b
                .members
                .iter()
                .filter_map(|m| self.link(&m.value))
                .for_each(|m| self.leaves(m, out)),
            LinkKind::Bridge(b) => b
                .members
                .iter()
                .filter_map(|m| self.link(&m.value))
                .for_each(|m| self.leaves(m, out)),
            LinkKind::Vlan(_) => {}
        }
    }

    fn nic_index(&mut self, name: &str) -> Option<usize> {
        let link = self.link(name)?;
        let Some(mac) = &link.mac else {
            self.diags.push(
                Diagnostic::error(Code::Mac, Some(link.name.span), format!("`{name}` is used as a vSwitch uplink but has no MAC address"))
                    .with_help("ESXi names NICs differently from Linux and finds them by MAC: give the interface its `mac_address` (v1) or `match: {macaddress}` (v2)"),
            );
            return None;
        };
        let mac = mac.value.as_str().to_string();
        if let Some(i) = self.nics.iter().position(|n| n.mac == mac) {
            return Some(i);
        }
        self.nics.push(Nic {
            mac,
            link: name.to_string(),
        });
        Some(self.nics.len() - 1)
    }

    fn mtu_of(&self, link: &Link) -> u32 {
        match (&link.mtu, &link.kind) {
            (Some(m), _) => m.value,
            (None, LinkKind::Vlan(v)) => {
                self.link(&v.parent.value).map_or(1500, |p| self.mtu_of(p))
            }
            (None, _) => 1500,
        }
    }

    fn build(&mut self, options: &Options) -> Plan {
        let net = self.net;
        // Which roots need a vSwitch: bonds and bridges always; a NIC when something on it has a port group.
        let mut roots: Vec<&'a Link> = Vec::new();
        for link in &net.links {
            let root = self.root(link);
            let needed = match &root.kind {
                LinkKind::Bond(_) | LinkKind::Bridge(_) => true,
                _ => link.is_addressed() || matches!(link.kind, LinkKind::Vlan(_)),
            };
            if needed && !roots.iter().any(|r| r.name.value == root.name.value) {
                roots.push(root);
            }
        }
        roots.sort_by(|a, b| (a.kind.rank(), &a.name.value).cmp(&(b.kind.rank(), &b.name.value)));

        // vmks, management first.
        struct VmkDraft {
            link: String,
            portgroup: String,
            root: String,
            ipv4: Ipv4,
            ipv6: Option<Ipv6>,
            mac: Option<String>,
            mtu: u32,
        }
        let mut drafts: Vec<VmkDraft> = Vec::new();
        let mut portgroups: Vec<(String, String, u16)> = Vec::new(); // (name, root, vlan)
        for link in &net.links {
            let root = self.root(link).name.value.clone();
            let vlan = match &link.kind {
                LinkKind::Vlan(v) => v.id.value,
                _ => 0,
            };
            if !(link.is_addressed() || vlan != 0) {
                continue;
            }
            portgroups.push((link.name.value.clone(), root.clone(), vlan));
            if !link.is_addressed() {
                continue;
            }
            let mtu = self.mtu_of(link);
            let configs = ipv4_configs(link);
            let ipv6 = Ipv6 {
                dhcpv6: link.dhcp6,
                router_adv: link.accept_ra,
                addresses: link
                    .ipv6
                    .iter()
                    .map(|a| Ipv6Address {
                        address: a.value.addr.to_string(),
                        prefix: a.value.prefix,
                    })
                    .collect(),
            };
            let mac = link.mac.as_ref().map(|m| m.value.as_str().to_string());
            let mut configs = configs.into_iter();
            drafts.push(VmkDraft {
                link: link.name.value.clone(),
                portgroup: link.name.value.clone(),
                root: root.clone(),
                ipv4: configs.next().unwrap_or(Ipv4::None),
                ipv6: Some(ipv6),
                mac,
                mtu,
            });
            for (n, ipv4) in configs.enumerate() {
                let name = format!("{}:{}", link.name.value, n + 1);
                portgroups.push((name.clone(), root.clone(), vlan));
                drafts.push(VmkDraft {
                    link: link.name.value.clone(),
                    portgroup: name,
                    root: root.clone(),
                    ipv4,
                    ipv6: None,
                    mac: None,
                    mtu,
                });
            }
        }
        // A MAC belongs to one vmk only.
        let mut seen_macs: Vec<String> = Vec::new();
        for d in &mut drafts {
            if let Some(m) = &d.mac {
                if seen_macs.contains(m) {
                    d.mac = None;
                } else {
                    seen_macs.push(m.clone());
                }
            }
        }
        let management = self.management_index(
            &drafts
                .iter()
                .map(|d| (d.link.as_str(), &d.ipv4))
                .collect::<Vec<_>>(),
        );
        if let Some(i) = management {
            let d = drafts.remove(i);
            drafts.insert(0, d);
        }
        let management_root = drafts.first().map(|d| d.root.clone());
        if let Some(m) = &management_root {
            if let Some(pos) = roots.iter().position(|r| &r.name.value == m) {
                let r = roots.remove(pos);
                roots.insert(0, r);
            }
        }

        // vSwitches; each one's MTU is the largest of the links it carries.
        let mut root_mtu: BTreeMap<&str, u32> = BTreeMap::new();
        for l in &net.links {
            let mtu = self.mtu_of(l);
            let entry = root_mtu
                .entry(self.root(l).name.value.as_str())
                .or_insert(mtu);
            *entry = (*entry).max(mtu);
        }
        let mut vswitches = Vec::new();
        let mut vswitch_of: BTreeMap<String, String> = BTreeMap::new();
        for (i, root) in roots.iter().enumerate() {
            let name = format!("vSwitch{i}");
            vswitch_of.insert(root.name.value.clone(), name.clone());
            let mut leaves = Vec::new();
            self.leaves(root, &mut leaves);
            let uplinks: Vec<usize> = leaves.iter().filter_map(|l| self.nic_index(l)).collect();
            let mtu = root_mtu
                .get(root.name.value.as_str())
                .copied()
                .unwrap_or(1500);
            let teaming = self.teaming(root, &uplinks);
            vswitches.push(VSwitch {
                name,
                link: root.name.value.clone(),
                mtu,
                uplinks,
                teaming,
            });
        }

        let mut pgs: Vec<PortGroup> = portgroups
            .into_iter()
            .map(|(name, root, vlan)| PortGroup {
                name,
                vswitch: vswitch_of.get(&root).cloned().unwrap_or_default(),
                vlan,
            })
            .collect();
        pgs.sort_by(|a, b| (&a.vswitch, &a.name).cmp(&(&b.vswitch, &b.name)));
        if let (Some(vm), Some(first)) = (&options.vm_network, vswitches.first()) {
            pgs.insert(
                0,
                PortGroup {
                    name: vm.clone(),
                    vswitch: first.name.clone(),
                    vlan: 0,
                },
            );
        }
        self.check_portgroup_names(&pgs);

        let vmks: Vec<Vmk> = drafts
            .into_iter()
            .enumerate()
            .map(|(i, d)| Vmk {
                name: format!("vmk{i}"),
                portgroup: d.portgroup,
                link: d.link,
                mac: d.mac,
                mtu: d.mtu,
                ipv4: d.ipv4,
                ipv6: d.ipv6.unwrap_or(Ipv6 {
                    dhcpv6: false,
                    router_adv: false,
                    addresses: Vec::new(),
                }),
                management: i == 0,
            })
            .collect();

        let fallback = vmks.first().map(|vmk| {
            let vswitch = pgs
                .iter()
                .find(|pg| pg.name == vmk.portgroup)
                .map(|pg| pg.vswitch.clone())
                .unwrap_or_default();
            let uplink = vswitches
                .iter()
                .find(|vs| vs.name == vswitch)
                .and_then(|vs| vs.teaming.active.first().or(vs.uplinks.first()).copied());
            Fallback {
                vmk: vmk.name.clone(),
                portgroup: vmk.portgroup.clone(),
                vswitch,
                uplink,
                mac: vmk.mac.clone(),
            }
        });
        Plan {
            format_version: FORMAT_VERSION,
            nics: std::mem::take(&mut self.nics),
            vswitches,
            portgroups: pgs,
            vmks,
            routes: self.routes(),
            dns: Dns {
                servers: net.dns.servers.iter().map(IpAddr::to_string).collect(),
                search: net.dns.search.clone(),
            },
            fallback,
        }
    }
}

impl<'a> Planner<'a, '_> {
    /// The management vmk: the one whose subnet holds the IPv4 default gateway (on the gateway's link when
    /// the config names one), else the first vmk with an address of any kind.
    fn management_index(&self, vmks: &[(&str, &Ipv4)]) -> Option<usize> {
        if let Some(gw) = &self.net.gateway4 {
            if let IpAddr::V4(via) = gw.via.value {
                let holds = |ipv4: &Ipv4| match ipv4 {
                    Ipv4::Static {
                        address, prefix, ..
                    } => address.parse().is_ok_and(|addr| {
                        Ipv4Net {
                            addr,
                            prefix: *prefix,
                        }
                        .contains(via)
                    }),
                    _ => false,
                };
                let on_link = |link: &str| gw.link.as_deref().is_none_or(|l| l == link);
                if let Some(i) = vmks
                    .iter()
                    .position(|(link, ipv4)| on_link(link) && holds(ipv4))
                {
                    return Some(i);
                }
                if let Some(i) = vmks
                    .iter()
                    .position(|(link, ipv4)| on_link(link) && !matches!(ipv4, Ipv4::None))
                {
                    return Some(i);
                }
            }
        }
        if vmks.is_empty() { None } else { Some(0) }
    }

    fn teaming(&mut self, root: &'a Link, uplinks: &[usize]) -> Teaming {
        let all = uplinks.to_vec();
        let portid = |active: Vec<usize>| Teaming {
            load_balancing: "portid",
            active,
            standby: Vec::new(),
        };
        let bond = match &root.kind {
            LinkKind::Bond(b) => Some((root, b)),
            LinkKind::Bridge(br) => {
                let bonds: Vec<&'a Link> = br
                    .members
                    .iter()
                    .filter_map(|m| self.link(&m.value))
                    .filter(|l| matches!(l.kind, LinkKind::Bond(_)))
                    .collect();
                self.warn_bridge(root);
                match (bonds.as_slice(), br.members.len()) {
                    ([only], 1) => match &only.kind {
                        LinkKind::Bond(b) => Some((*only, b)),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((bond_link, bond)) = bond else {
            return portid(all);
        };
        let name = &bond_link.name.value;
        let mode = bond.mode.value;
        let span = Some(bond.mode.span);
        match mode {
            BondMode::BalanceRr => portid(all),
            BondMode::ActiveBackup => {
                let primary = self.primary(bond_link, bond);
                let (active, standby): (Vec<usize>, Vec<usize>) =
                    match primary.and_then(|p| self.nic_index(&p)) {
                        Some(p) => (vec![p], all.iter().copied().filter(|&u| u != p).collect()),
                        None => (
                            all.iter().take(1).copied().collect(),
                            all.iter().skip(1).copied().collect(),
                        ),
                    };
                Teaming {
                    load_balancing: "explicit",
                    active,
                    standby,
                }
            }
            BondMode::Lacp => {
                let mut ignored = Vec::new();
                if let Some(r) = &bond.lacp_rate {
                    ignored.push(format!("lacp-rate `{}`", r.value));
                }
                if let Some(h) = &bond.hash_policy {
                    ignored.push(format!("hash policy `{}`", h.value));
                }
                let extra = if ignored.is_empty() {
                    String::new()
                } else {
                    format!("; {} ignored", ignored.join(" and "))
                };
                self.diags.push(
                    Diagnostic::warning(Code::Approximation, span, format!("bond `{name}` (802.3ad) becomes IP-hash teaming without LACP{extra}"))
                        .with_help("a standard vSwitch cannot negotiate LACP: configure the switch ports as a static port-channel (mode on), or use a distributed switch"),
                );
                Teaming {
                    load_balancing: "iphash",
                    active: all,
                    standby: Vec::new(),
                }
            }
            BondMode::BalanceXor => {
                let policy = bond
                    .hash_policy
                    .as_ref()
                    .map_or("layer2", |h| h.value.as_str());
                let lb = if policy == "layer2" { "mac" } else { "iphash" };
                self.diags.push(
                    Diagnostic::warning(Code::Approximation, span, format!("bond `{name}` (balance-xor, {policy}) is approximated by `{lb}` teaming"))
                        .with_help("ESXi hashes on source MAC (`mac`) or on IP addresses (`iphash`, which needs a static port-channel on the switch)"),
                );
                Teaming {
                    load_balancing: lb,
                    active: all,
                    standby: Vec::new(),
                }
            }
            BondMode::BalanceTlb | BondMode::BalanceAlb => {
                self.diags.push(
                    Diagnostic::warning(Code::Approximation, span, format!("bond `{name}` ({}) is approximated by `portid` teaming", mode.as_str()))
                        .with_help("ESXi has no adaptive load balancing; originating-port teaming spreads VMs over all uplinks without switch configuration"),
                );
                portid(all)
            }
        }
    }

    /// The active-backup primary: `primary`, else the member owning the bond's MAC, else the first member.
    fn primary(&self, bond_link: &Link, bond: &crate::model::Bond) -> Option<String> {
        if let Some(p) = &bond.primary {
            return Some(p.value.clone());
        }
        if let Some(mac) = &bond_link.mac {
            let owner = bond
                .members
                .iter()
                .find(|m| self.link(&m.value).and_then(|l| l.mac.as_ref()) == Some(mac));
            if let Some(m) = owner {
                return Some(m.value.clone());
            }
        }
        bond.members.first().map(|m| m.value.clone())
    }

    fn warn_bridge(&mut self, bridge: &Link) {
        let LinkKind::Bridge(b) = &bridge.kind else {
            return;
        };
        if let Some(first) = b.ignored_params.first() {
            let names: Vec<&str> = b.ignored_params.iter().map(|p| p.value.as_str()).collect();
            self.diags.push(
                Diagnostic::warning(Code::Approximation, Some(first.span), format!("bridge `{}` parameters {} are ignored", bridge.name.value, names.join(", ")))
                    .with_help("a standard vSwitch does not run spanning tree; the bridge becomes a vSwitch with its members as uplinks"),
            );
        }
    }

    fn routes(&mut self) -> Vec<Route> {
        let net = self.net;
        let mut routes = Vec::new();
        for (gw, family) in [(&net.gateway4, "ipv4"), (&net.gateway6, "ipv6")] {
            if let Some(gw) = gw {
                routes.push(Route {
                    family,
                    network: "default".to_string(),
                    netmask: String::new(),
                    destination: "default".to_string(),
                    gateway: gw.via.value.to_string(),
                });
            }
        }
        for r in &net.routes {
            if let Some(m) = &r.metric {
                if m.value != 0 {
                    self.diags.push(
                        Diagnostic::warning(
                            Code::Route,
                            Some(m.span),
                            format!(
                                "metric {} of the route to {} is dropped",
                                m.value, r.to.value
                            ),
                        )
                        .with_help("ESXi static routes have no metric"),
                    );
                }
            }
            let (family, network, netmask) = match r.to.value {
                IpNet::V4(n) => ("ipv4", n.network().to_string(), n.netmask().to_string()),
                IpNet::V6(n) => ("ipv6", n.network().to_string(), n.prefix.to_string()),
            };
            routes.push(Route {
                family,
                network,
                netmask,
                destination: r.to.value.to_string(),
                gateway: r.via.value.to_string(),
            });
        }
        routes
    }

    fn check_portgroup_names(&mut self, pgs: &[PortGroup]) {
        for (i, pg) in pgs.iter().enumerate() {
            if pgs[..i].iter().any(|other| other.name == pg.name) {
                let span = self
                    .net
                    .links
                    .iter()
                    .find(|l| l.name.value == pg.name)
                    .map(|l| l.name.span);
                self.diags.push(
                    Diagnostic::error(Code::Name, span, format!("port group name `{}` is used twice", pg.name))
                        .with_help("interface names become port group names (`VM Network` and `<name>:<n>` aliases are taken): rename the interface"),
                );
            }
        }
    }
}
