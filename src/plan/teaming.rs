//! Teaming: how a bond's mode becomes a vSwitch's load balancing and failover order, and what is lost on
//! the way (warnings).

use crate::diag::{Code, Diagnostic};
use crate::model::{self, BondMode, Link, LinkKind};
use crate::plan::links::Planner;
use crate::plan::network::Teaming;

impl<'a> Planner<'a, '_> {
    /// The teaming of the vSwitch for `root`, whose uplinks are `uplinks` (indexes into `nics`).
    pub(super) fn teaming(&mut self, root: &'a Link, uplinks: &[usize]) -> Teaming {
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
    fn primary(&self, bond_link: &Link, bond: &model::Bond) -> Option<String> {
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
}
