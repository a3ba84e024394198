//! netplan v2 → model.

use std::collections::BTreeSet;

use super::{Builder, Extras, Mask, Pending, RouteText, blank};
use crate::diag::{Code, Located, clip};
use crate::input::v2::{Config, Link as RawLink, Route as RawRoute};
use crate::model::{Bond, BondMode, Bridge, LinkKind, Vlan};

impl Builder<'_> {
    pub(super) fn v2(&mut self, config: &Config) {
        for raw in &config.ethernets {
            // The interface is called by its `set-name`; references use the id.
            let name = raw.set_name.clone().unwrap_or_else(|| raw.id.clone());
            self.v2_link(raw, name, LinkKind::Physical);
        }
        for raw in &config.bonds {
            let p = &raw.parameters;
            let mode = match &p.mode {
                None => Located::new(BondMode::BalanceRr, raw.id.span),
                Some(m) => match BondMode::parse(&m.value) {
                    Some(mode) => Located::new(mode, m.span),
                    None => {
                        self.bad_mode(m);
                        continue;
                    }
                },
            };
            let bond = Bond {
                members: raw.interfaces.clone(),
                mode,
                primary: p.primary.clone(),
                hash_policy: p.transmit_hash_policy.clone(),
                lacp_rate: p.lacp_rate.clone(),
            };
            self.v2_link(raw, raw.id.clone(), LinkKind::Bond(bond));
        }
        for raw in &config.bridges {
            let p = &raw.parameters;
            let mut ignored = Vec::new();
            // As for v1: STP off is what a standard vSwitch does; the delay only matters with STP on.
            if let Some(stp) = p.stp.as_ref().filter(|stp| stp.value) {
                ignored.push(Located::new("stp".to_string(), stp.span));
                if let Some(fd) = &p.forward_delay {
                    ignored.push(Located::new("forward-delay".to_string(), fd.span));
                }
            }
            ignored.extend(p.ignored.iter().cloned());
            self.v2_link(
                raw,
                raw.id.clone(),
                LinkKind::Bridge(Bridge {
                    members: raw.interfaces.clone(),
                    ignored_params: ignored,
                }),
            );
        }
        for raw in &config.vlans {
            let Some(parent) = raw.link.clone() else {
                self.error(
                    Code::MissingKey,
                    raw.id.span,
                    format!("VLAN `{}` has no `link`", raw.id.value),
                    "name the parent interface in `link`",
                );
                continue;
            };
            let Some(id) = &raw.vlan_id else {
                self.error(
                    Code::MissingKey,
                    raw.id.span,
                    format!("VLAN `{}` has no `id`", raw.id.value),
                    "give the VLAN id (1-4094) in `id`",
                );
                continue;
            };
            let Some(id) = self.vlan_id(id) else { continue };
            self.v2_link(raw, raw.id.clone(), LinkKind::Vlan(Vlan { parent, id }));
        }
        self.v2_bridge_ports(config);
    }

    /// A bridge's per-port parameters mean nothing on ESXi, but netplan refuses one keyed by an interface
    /// id the config does not define (a `set-name` or a kernel name does not count), and so does this.
    fn v2_bridge_ports(&mut self, config: &Config) {
        let ids: BTreeSet<&str> = [
            &config.ethernets,
            &config.bonds,
            &config.bridges,
            &config.vlans,
        ]
        .into_iter()
        .flatten()
        .map(|l| l.id.value.as_str())
        .collect();
        for bridge in &config.bridges {
            for (key, port) in &bridge.parameters.ports {
                if !ids.contains(port.value.as_str()) {
                    self.error(
                        Code::UnknownReference,
                        port.span,
                        format!(
                            "`{key}` of bridge `{}` names `{}`, which is not defined",
                            clip(&bridge.id.value),
                            clip(&port.value)
                        ),
                        "per-port bridge parameters are keyed by the id of an interface defined in this config",
                    );
                }
            }
        }
    }

    fn v2_link(&mut self, raw: &RawLink, name: Located<String>, kind: LinkKind) {
        let ids: Vec<&Located<String>> = std::iter::once(&raw.id)
            .filter(|id| id.value != name.value)
            .collect();
        if !self.check_name(&name, &ids) {
            return;
        }
        let mut link = blank(name, kind);
        // The NIC is found by `match: {macaddress}`; `macaddress` sets the MAC. Both must be MACs.
        let matched = raw.match_mac.as_ref().and_then(|m| self.mac(m));
        let set = raw.macaddress.as_ref().and_then(|m| self.mac(m));
        link.mac = matched.or(set);
        link.mtu = raw.mtu.as_ref().and_then(|m| self.mtu(m));
        link.dhcp4 = raw.dhcp4.as_ref().is_some_and(|b| b.value);
        link.dhcp6 = raw.dhcp6.as_ref().is_some_and(|b| b.value);
        link.accept_ra = raw.accept_ra.as_ref().is_some_and(|b| b.value);
        for a in &raw.addresses {
            self.address(a, Mask::Netplan, &mut link);
        }
        let mut extras = Extras::default();
        let link_name = link.name.value.clone();
        for (gw, family) in [(&raw.gateway4, true), (&raw.gateway6, false)] {
            let Some(gw) = gw else { continue };
            if let Some(via) = self.ip(gw, "gateway") {
                if via.value.is_ipv4() == family {
                    extras.gateways.push((via, Some(link_name.clone())));
                } else {
                    let key = if family { "gateway4" } else { "gateway6" };
                    self.error(
                        Code::Gateway,
                        gw.span,
                        format!("`{key}` {} is of the wrong address family", gw.value),
                        "gateway4 takes an IPv4 address, gateway6 an IPv6 address",
                    );
                }
            }
        }
        for r in &raw.routes {
            if !self.v2_route_kind(r) {
                continue;
            }
            let text = RouteText {
                to: r.to.as_ref(),
                mask: Mask::Netplan,
                via: r.via.as_ref(),
                metric: r.metric.as_ref(),
                span: r.span,
            };
            self.route(text, Some(&link_name), &mut extras);
        }
        self.dns(&raw.nameservers, &raw.search, &mut extras);
        self.pending.push(Pending { link, extras });
    }
}

impl Builder<'_> {
    /// Judges what a netplan route asks beyond destination, gateway and metric: refuses what would change
    /// where traffic goes on ESXi, warns about what it only tunes. Returns whether the route is kept.
    fn v2_route_kind(&mut self, r: &RawRoute) -> bool {
        const ROUTES: &str =
            "ESXi routes are unicast routes through a gateway, in its one routing table";
        let mut keep = true;
        if let Some(t) = &r.kind
            && t.value != "unicast"
        {
            self.error(
                Code::Unsupported,
                t.span,
                format!("`{}` routes are not supported on ESXi", clip(&t.value)),
                ROUTES,
            );
            keep = false;
        }
        if let Some(scope) = &r.scope
            && scope.value != "global"
        {
            self.error(
                Code::Unsupported,
                scope.span,
                format!(
                    "routes with scope `{}` are not supported on ESXi",
                    clip(&scope.value)
                ),
                ROUTES,
            );
            keep = false;
        }
        if let Some(table) = &r.table
            && table.value != MAIN_TABLE
        {
            self.error(
                Code::Unsupported,
                table.span,
                format!("routing table {} is not supported on ESXi (policy routing)", table.value),
                "ESXi has one routing table per network stack; a route in another table only serves `routing-policy`, which ESXi does not have",
            );
            keep = false;
        }
        if let Some(from) = &r.from {
            self.warning(
                Code::Route,
                from.span,
                format!(
                    "the preferred source `{}` of a route is ignored",
                    clip(&from.value)
                ),
                "ESXi picks the source address of the VMkernel NIC that sends",
            );
        }
        if let Some(on_link) = &r.on_link
            && on_link.value
        {
            self.warning(
                Code::Route,
                on_link.span,
                "`on-link` is ignored".to_string(),
                "ESXi reaches a gateway only on the subnet of a VMkernel NIC",
            );
        }
        for key in &r.tuning {
            self.warning(
                Code::Route,
                key.span,
                format!("route `{}` is ignored", key.value),
                "ESXi static routes have a destination and a gateway only",
            );
        }
        keep
    }
}

/// netplan's (and Linux's) main routing table.
const MAIN_TABLE: i128 = 254;
