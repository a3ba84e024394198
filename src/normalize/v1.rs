//! curtin network v1 → model.

use super::{Builder, Extras, Mask, Pending, RouteText, blank};
use crate::diag::{Code, Located};
use crate::input::v1::{Config, Entry, Params, Route, Subnet};
use crate::model::{Bond, BondMode, Bridge, LinkKind, Vlan};

const TYPES: &str = "physical, bond, vlan, bridge, nameserver, route";
const SUBNET_TYPES: &str = "static, static6, dhcp, dhcp4, dhcp6, manual, ipv6_slaac, ipv6_dhcpv6-stateless, ipv6_dhcpv6-stateful";

impl Builder<'_> {
    pub(super) fn v1(&mut self, config: &Config) {
        // Host-wide `nameserver` and `route` entries, kept aside until every link is known.
        let mut global = Extras::default();
        for e in &config.entries {
            let Some(kind) = &e.kind else {
                self.error(
                    Code::MissingKey,
                    e.span,
                    format!("`{}` has no `type`", e.path),
                    &format!("supported types: {TYPES}"),
                );
                continue;
            };
            match kind.value.as_str() {
                "physical" | "bond" | "bridge" | "vlan" => self.v1_link(e, kind),
                "nameserver" => self.dns(&e.address, &e.search, &mut global),
                "route" => {
                    if let Some(r) = &e.route {
                        self.v1_route(r, None, &mut global);
                    }
                }
                other => self.error(
                    Code::UnknownType,
                    kind.span,
                    format!("unsupported interface type `{other}`"),
                    &format!("supported types: {TYPES}"),
                ),
            }
        }
        self.global = global;
    }

    fn v1_link(&mut self, e: &Entry, kind: &Located<String>) {
        let Some(name) = e.name.clone().or_else(|| e.id.clone()) else {
            self.error(
                Code::MissingKey,
                e.span,
                format!("`{}` has neither `name` nor `id`", e.path),
                "every interface needs a `name` (MAAS sends `id` and `name`)",
            );
            return;
        };
        let ids: Vec<&Located<String>> = e.id.iter().filter(|id| id.value != name.value).collect();
        if !self.check_name(&name, &ids) {
            return;
        }
        let link_kind = match kind.value.as_str() {
            "physical" => LinkKind::Physical,
            "bond" => match self.v1_bond(e, &e.params) {
                Some(b) => LinkKind::Bond(b),
                None => return,
            },
            "bridge" => LinkKind::Bridge(Bridge {
                members: e.bridge_interfaces.clone(),
                ignored_params: bridge_params(&e.params),
            }),
            _ => {
                let Some(parent) = e.vlan_link.clone() else {
                    self.error(
                        Code::MissingKey,
                        e.span,
                        format!("VLAN `{}` has no `vlan_link`", name.value),
                        "name the parent interface in `vlan_link`",
                    );
                    return;
                };
                let Some(raw) = &e.vlan_id else {
                    self.error(
                        Code::MissingKey,
                        e.span,
                        format!("VLAN `{}` has no `vlan_id`", name.value),
                        "give the VLAN id (1-4094) in `vlan_id`",
                    );
                    return;
                };
                let Some(id) = self.vlan_id(raw) else { return };
                LinkKind::Vlan(Vlan { parent, id })
            }
        };
        let mut link = blank(name, link_kind);
        link.mac = e.mac_address.as_ref().and_then(|m| self.mac(m));
        link.mtu = e.mtu.as_ref().and_then(|m| self.mtu(m));
        link.accept_ra = e.accept_ra.as_ref().is_some_and(|a| a.value);
        let mut extras = Extras::default();
        for s in &e.subnets {
            self.v1_subnet(s, &mut link, &mut extras);
        }
        self.pending.push(Pending { link, extras });
    }

    fn v1_bond(&mut self, e: &Entry, p: &Params) -> Option<Bond> {
        let mode = match &p.bond_mode {
            None => Located::new(BondMode::BalanceRr, e.span),
            Some(m) => match BondMode::parse(&m.value) {
                Some(mode) => Located::new(mode, m.span),
                None => {
                    self.bad_mode(m);
                    return None;
                }
            },
        };
        Some(Bond {
            members: e.bond_interfaces.clone(),
            mode,
            primary: p.bond_primary.clone(),
            hash_policy: p.bond_xmit_hash_policy.clone(),
            lacp_rate: p.bond_lacp_rate.clone(),
        })
    }

    pub(super) fn bad_mode(&mut self, m: &Located<String>) {
        let why = if m.value == "broadcast" || m.value == "3" {
            "bond mode `broadcast` has no ESXi teaming equivalent".to_string()
        } else {
            format!("unknown bond mode `{}`", m.value)
        };
        self.error(
            Code::BondMode,
            m.span,
            why,
            &format!("supported modes: {}", BondMode::SUPPORTED),
        );
    }

    fn v1_subnet(&mut self, s: &Subnet, link: &mut crate::model::Link, extras: &mut Extras) {
        let Some(kind) = &s.kind else {
            self.error(
                Code::MissingKey,
                s.span,
                format!("`{}` has no `type`", s.path),
                &format!("supported subnet types: {SUBNET_TYPES}"),
            );
            return;
        };
        match kind.value.as_str() {
            "static" | "static6" => {
                match &s.address {
                    Some(a) => self.address(
                        a,
                        Mask::Apart {
                            netmask: s.netmask.as_ref(),
                            prefix: s.prefix.as_ref(),
                        },
                        link,
                    ),
                    None => self.error(
                        Code::MissingKey,
                        s.span,
                        format!("static subnet `{}` has no `address`", s.path),
                        "give the address with its prefix length, e.g. 10.0.0.5/24",
                    ),
                }
                if let Some(gw) = &s.gateway
                    && let Some(via) = self.ip(gw, "gateway")
                {
                    extras.gateways.push((via, Some(link.name.value.clone())));
                }
            }
            "dhcp" => {
                link.dhcp4 = true;
                link.dhcp6 = true;
            }
            "dhcp4" => link.dhcp4 = true,
            "dhcp6" | "ipv6_dhcpv6-stateful" => link.dhcp6 = true,
            "ipv6_slaac" | "ipv6_dhcpv6-stateless" => link.accept_ra = true,
            "manual" => {}
            other => {
                self.error(
                    Code::UnknownType,
                    kind.span,
                    format!("unsupported subnet type `{other}`"),
                    &format!("supported subnet types: {SUBNET_TYPES}"),
                );
                return;
            }
        }
        if let Some(mtu) = &s.mtu {
            self.subnet_mtu(s, kind, mtu, link);
        }
        self.dns(&s.dns_nameservers, &s.dns_search, extras);
        for r in &s.routes {
            self.v1_route(r, Some(&link.name.value), extras);
        }
    }

    /// A subnet's MTU: an IPv4 subnet's applies to the link, over the link's own, as cloud-init does; an
    /// IPv6 subnet's is an IPv6-only MTU, which a VMkernel NIC does not have.
    fn subnet_mtu(
        &mut self,
        s: &Subnet,
        kind: &Located<String>,
        raw: &Located<i128>,
        link: &mut crate::model::Link,
    ) {
        let ipv6 = kind.value.ends_with('6')
            || kind.value.starts_with("ipv6")
            || s.address.as_ref().is_some_and(|a| a.value.contains(':'));
        let Some(mtu) = self.mtu(raw) else { return };
        if ipv6 {
            if link.mtu.as_ref().is_none_or(|m| m.value != mtu.value) {
                self.warning(
                    Code::Mtu,
                    raw.span,
                    format!("the IPv6 MTU {} of `{}` is ignored", raw.value, link.name.value),
                    "a VMkernel NIC has one MTU for both address families: set the interface's `mtu`",
                );
            }
            return;
        }
        if let Some(own) = &link.mtu
            && own.value != mtu.value
        {
            self.warning(
                Code::Mtu,
                own.span,
                format!(
                    "the MTU {} of `{}` is overridden by its subnet's MTU {}",
                    own.value, link.name.value, mtu.value
                ),
                "cloud-init applies an IPv4 subnet's MTU to the interface: give one MTU",
            );
        }
        link.mtu = Some(mtu);
    }

    fn v1_route(&mut self, r: &Route, link: Option<&str>, extras: &mut Extras) {
        let text = RouteText {
            to: r.destination.as_ref(),
            mask: Mask::Apart {
                netmask: r.netmask.as_ref(),
                prefix: r.prefix.as_ref(),
            },
            via: r.gateway.as_ref(),
            metric: r.metric.as_ref(),
            span: r.span,
        };
        self.route(text, link, extras);
    }
}

fn bridge_params(p: &Params) -> Vec<Located<String>> {
    let mut ignored = Vec::new();
    // A standard vSwitch runs no spanning tree: STP off is what it does, and the forward delay only
    // matters with STP on.
    if let Some(stp) = p.bridge_stp.as_ref().filter(|stp| stp.value) {
        ignored.push(Located::new("stp".to_string(), stp.span));
        if let Some(fd) = &p.bridge_fd {
            ignored.push(Located::new("forward-delay".to_string(), fd.span));
        }
    }
    // Other names as netplan spells them, so a v1 config and its v2 twin agree.
    ignored.extend(p.ignored.iter().filter_map(|k| {
        let name = k
            .value
            .strip_prefix("bridge_")
            .or_else(|| k.value.strip_prefix("bridge-"))?;
        Some(Located::new(name.replace('_', "-"), k.span))
    }));
    ignored
}
