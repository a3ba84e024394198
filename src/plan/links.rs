//! The model's link graph as the plan sees it: which link's vSwitch carries a link, the physical NICs under
//! a bond or bridge, MTUs; and the order in which the network plan is built.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{self, Link, LinkKind};
use crate::plan::Options;
use crate::plan::network::{Network, Nic, VSwitch};

pub(super) struct Planner<'a, 'd> {
    pub net: &'a model::Network,
    pub diags: &'d mut Diagnostics,
    /// The physical NICs used so far, in first-use order; the plan refers to them by index.
    pub nics: Vec<Nic>,
    by_name: BTreeMap<&'a str, &'a Link>,
    /// The bond or bridge each member link belongs to.
    owner_of: BTreeMap<&'a str, &'a Link>,
}

impl<'a, 'd> Planner<'a, 'd> {
    pub fn new(net: &'a model::Network, diags: &'d mut Diagnostics) -> Planner<'a, 'd> {
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
        Planner {
            net,
            diags,
            nics: Vec::new(),
            by_name,
            owner_of,
        }
    }

    /// The whole network plan: vSwitches for the roots, vmks (management first), port groups, routes, DNS.
    pub fn network(mut self, options: &Options) -> Network {
        let mut roots = self.roots();
        let (drafts, portgroups) = self.vmk_drafts();
        if let Some(first) = drafts.first()
            && let Some(pos) = roots.iter().position(|r| r.name.value == first.root)
        {
            let r = roots.remove(pos);
            roots.insert(0, r);
        }
        let vswitches = self.vswitches(&roots);
        let portgroups = self.portgroups(portgroups, &vswitches, options);
        let vmks = self.vmks(drafts);
        let fallback = self.fallback(&vmks, &portgroups, &vswitches);
        let routes = self.routes();
        let dns = self.dns();
        Network {
            nics: std::mem::take(&mut self.nics),
            vswitches,
            portgroups,
            vmks,
            routes,
            dns,
            fallback,
        }
    }

    pub fn link(&self, name: &str) -> Option<&'a Link> {
        self.by_name.get(name).copied()
    }

    /// The bond or bridge a link is a member of.
    fn owner(&self, name: &str) -> Option<&'a Link> {
        self.owner_of.get(name).copied()
    }

    /// The link whose vSwitch carries `link`: its outermost bond or bridge, or the VLAN parent's.
    pub fn root(&self, link: &'a Link) -> &'a Link {
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
            LinkKind::Bond(model::Bond { members, .. })
            | LinkKind::Bridge(model::Bridge { members, .. }) => members
                .iter()
                .filter_map(|m| self.link(&m.value))
                .for_each(|m| self.leaves(m, out)),
            LinkKind::Vlan(_) => {}
        }
    }

    /// The index in `nics` of the physical NIC `name`, added on first use; an error if it has no MAC.
    pub fn nic_index(&mut self, name: &str) -> Option<usize> {
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

    pub fn mtu_of(&self, link: &Link) -> u32 {
        match (&link.mtu, &link.kind) {
            (Some(m), _) => m.value,
            (None, LinkKind::Vlan(v)) => {
                self.link(&v.parent.value).map_or(1500, |p| self.mtu_of(p))
            }
            (None, _) => 1500,
        }
    }

    /// The links that need a vSwitch, in canonical order: bonds and bridges always; a NIC when something on
    /// it has a port group.
    fn roots(&self) -> Vec<&'a Link> {
        let mut roots: Vec<&'a Link> = Vec::new();
        for link in &self.net.links {
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
        roots
    }

    /// One vSwitch per root, management first; each one's MTU is the largest of the links it carries.
    fn vswitches(&mut self, roots: &[&'a Link]) -> Vec<VSwitch> {
        let mut root_mtu: BTreeMap<&str, u32> = BTreeMap::new();
        for l in &self.net.links {
            let mtu = self.mtu_of(l);
            let entry = root_mtu
                .entry(self.root(l).name.value.as_str())
                .or_insert(mtu);
            *entry = (*entry).max(mtu);
        }
        let mut vswitches = Vec::new();
        for (i, root) in roots.iter().enumerate() {
            let mut leaves = Vec::new();
            self.leaves(root, &mut leaves);
            let uplinks: Vec<usize> = leaves.iter().filter_map(|l| self.nic_index(l)).collect();
            let teaming = self.teaming(root, &uplinks);
            vswitches.push(VSwitch {
                name: format!("vSwitch{i}"),
                link: root.name.value.clone(),
                mtu: root_mtu
                    .get(root.name.value.as_str())
                    .copied()
                    .unwrap_or(1500),
                uplinks,
                teaming,
            });
        }
        vswitches
    }
}
