//! Port groups and VMkernel NICs: one vmk per addressed link (first IPv4 configuration and all IPv6), one
//! more per further IPv4 address on port group `<link>:<n>`; the management vmk first; and the fallback
//! the script rebuilds when no vmk ends up with an address.

use std::net::IpAddr;

use crate::diag::{Code, Diagnostic};
use crate::model::{Ipv4Net, Link, LinkKind};
use crate::plan::Options;
use crate::plan::links::Planner;
use crate::plan::network::{Fallback, Ipv4, Ipv6, Ipv6Address, PortGroup, VSwitch, Vmk};

/// A vmk before its name is known: names follow the final order, management first.
pub(super) struct VmkDraft {
    link: String,
    portgroup: String,
    /// The root link whose vSwitch carries the vmk.
    pub root: String,
    ipv4: Ipv4,
    ipv6: Option<Ipv6>,
    mac: Option<String>,
    mtu: u32,
}

/// A port group before its vSwitch is named: (name, root link, VLAN id).
pub(super) type PortGroupDraft = (String, String, u16);

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

impl Planner<'_, '_> {
    /// The vmks, management first, and the port groups of the links.
    pub(super) fn vmk_drafts(&self) -> (Vec<VmkDraft>, Vec<PortGroupDraft>) {
        let mut drafts: Vec<VmkDraft> = Vec::new();
        let mut portgroups: Vec<PortGroupDraft> = Vec::new();
        for link in &self.net.links {
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
            let mut configs = ipv4_configs(link).into_iter();
            drafts.push(VmkDraft {
                link: link.name.value.clone(),
                portgroup: link.name.value.clone(),
                root: root.clone(),
                ipv4: configs.next().unwrap_or(Ipv4::None),
                ipv6: Some(ipv6),
                mac: link.mac.as_ref().map(|m| m.value.as_str().to_string()),
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
        (drafts, portgroups)
    }

    /// The port groups on their vSwitches, sorted, with the VM port group first on the management vSwitch.
    pub(super) fn portgroups(
        &mut self,
        drafts: Vec<PortGroupDraft>,
        vswitches: &[VSwitch],
        options: &Options,
    ) -> Vec<PortGroup> {
        let mut pgs: Vec<PortGroup> = drafts
            .into_iter()
            .map(|(name, root, vlan)| PortGroup {
                name,
                vswitch: vswitches
                    .iter()
                    .find(|v| v.link == root)
                    .map(|v| v.name.clone())
                    .unwrap_or_default(),
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
        pgs
    }

    /// The vmks named in order: `vmk0` is the management one.
    pub(super) fn vmks(&self, drafts: Vec<VmkDraft>) -> Vec<Vmk> {
        drafts
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
            .collect()
    }

    /// The management vmk's path to MAAS: its vSwitch with the first active uplink, its port group and
    /// VLAN, its MAC and its planned IPv4 configuration.
    pub(super) fn fallback(
        &self,
        vmks: &[Vmk],
        portgroups: &[PortGroup],
        vswitches: &[VSwitch],
    ) -> Option<Fallback> {
        let vmk = vmks.first()?;
        let pg = portgroups.iter().find(|pg| pg.name == vmk.portgroup);
        let vswitch = pg.map(|pg| pg.vswitch.clone()).unwrap_or_default();
        let vs = vswitches.iter().find(|vs| vs.name == vswitch);
        Some(Fallback {
            vmk: vmk.name.clone(),
            portgroup: vmk.portgroup.clone(),
            uplink: vs.and_then(|vs| vs.teaming.active.first().or(vs.uplinks.first()).copied()),
            vswitch_mtu: vs.map_or(1500, |vs| vs.mtu),
            vswitch,
            mac: vmk.mac.clone(),
            vlan: pg.map_or(0, |pg| pg.vlan),
            mtu: vmk.mtu,
            ipv4: vmk.ipv4.clone(),
        })
    }

    /// The management vmk: on the management link, the one whose subnet holds the IPv4 default gateway,
    /// else its first with IPv4, else its first.
    fn management_index(&self, vmks: &[(&str, &Ipv4)]) -> Option<usize> {
        let link = self.net.management_link()?;
        let ours: Vec<usize> = (0..vmks.len())
            .filter(|&i| vmks[i].0 == link.name.value)
            .collect();
        let via = match self.net.gateway4.as_ref().map(|g| g.via.value) {
            Some(IpAddr::V4(via)) => Some(via),
            _ => None,
        };
        let holds = |ipv4: &Ipv4| match (ipv4, via) {
            (
                Ipv4::Static {
                    address, prefix, ..
                },
                Some(via),
            ) => address.parse().is_ok_and(|addr| {
                Ipv4Net {
                    addr,
                    prefix: *prefix,
                }
                .contains(via)
            }),
            _ => false,
        };
        ours.iter()
            .find(|&&i| holds(vmks[i].1))
            .or_else(|| ours.iter().find(|&&i| !matches!(vmks[i].1, Ipv4::None)))
            .or(ours.first())
            .copied()
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
