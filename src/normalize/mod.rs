//! Input → model: every semantic check of a network configuration, and of a storage configuration
//! (`storage`). All diagnostics are collected; the caller fails once if any of them is an error.

mod prefix;
mod reporting;
mod storage;
mod v1;
mod v2;

pub use storage::{EXTENTS_MAX, NAME_MAX, storage};

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::diag::{Code, Diagnostic, Diagnostics, Located, Span};
use crate::input;
use crate::model::{Dns, Gateway, IpNet, Link, LinkKind, Mac, Network, Route};
use prefix::{Mask, Subject};

pub use reporting::reporting;

/// Normalizes a parsed network config. The model is returned even when errors were found, so that later
/// stages are never reached with it only by the caller's choice.
pub fn normalize(network: &input::Network, diags: &mut Diagnostics) -> Network {
    let section = match network {
        input::Network::V1(c) => c.span,
        input::Network::V2(c) => c.span,
    };
    let mut b = Builder {
        diags,
        section,
        pending: Vec::new(),
        global: Extras::default(),
        aliases: BTreeMap::new(),
    };
    match network {
        input::Network::V1(c) => b.v1(c),
        input::Network::V2(c) => b.v2(c),
    }
    b.finish()
}

/// A link with what its configuration says about host-wide settings, kept until links are in canonical order.
struct Pending {
    link: Link,
    extras: Extras,
}

#[derive(Default)]
struct Extras {
    gateways: Vec<(Located<IpAddr>, Option<String>)>,
    routes: Vec<Route>,
    servers: Vec<Located<IpAddr>>,
    search: Vec<Located<String>>,
}

struct Builder<'d> {
    diags: &'d mut Diagnostics,
    /// Where the network section starts: diagnostics about the whole config point here.
    section: Span,
    pending: Vec<Pending>,
    /// Host-wide entries that belong to no link (v1 `nameserver` and `route` entries).
    global: Extras,
    /// Every id a reference may use (v2 ids, v1 ids and names) → the link's name.
    aliases: BTreeMap<String, String>,
}

const NAME_HELP: &str = "interface names are used as ESXi port group names: printable characters, no control characters";

impl Builder<'_> {
    fn error(&mut self, code: Code, span: Span, message: String, help: &str) {
        self.diags
            .push(Diagnostic::error(code, Some(span), message).with_help(help.to_string()));
    }

    fn warning(&mut self, code: Code, span: Span, message: String, help: &str) {
        self.diags
            .push(Diagnostic::warning(code, Some(span), message).with_help(help.to_string()));
    }

    /// Registers a new link name; duplicates are errors.
    fn check_name(&mut self, name: &Located<String>, ids: &[&Located<String>]) -> bool {
        if name.value.is_empty() || name.value.chars().any(char::is_control) {
            self.error(
                Code::Name,
                name.span,
                format!(
                    "interface name `{}` is not usable on ESXi",
                    name.value.escape_debug()
                ),
                NAME_HELP,
            );
            return false;
        }
        let mut ok = true;
        for id in std::iter::once(name).chain(ids.iter().copied()) {
            if let Some(existing) = self.aliases.get(&id.value)
                && (existing != &name.value || std::ptr::eq(id, name))
            {
                let first = self
                    .pending
                    .iter()
                    .find(|p| &p.link.name.value == existing)
                    .map(|p| p.link.name.span);
                let help = match first {
                    Some(s) => format!("`{}` is first defined at line {}", id.value, s.line),
                    None => "every interface needs its own id and name".to_string(),
                };
                self.error(
                    Code::DuplicateId,
                    id.span,
                    format!("duplicate interface id `{}`", id.value),
                    &help,
                );
                ok = false;
                continue;
            }
            self.aliases.insert(id.value.clone(), name.value.clone());
        }
        ok
    }

    fn mac(&mut self, raw: &Located<String>) -> Option<Located<Mac>> {
        match Mac::parse(raw.value.trim()) {
            Some(m) => Some(Located::new(m, raw.span)),
            None => {
                self.error(
                    Code::Mac,
                    raw.span,
                    format!("`{}` is not a MAC address", raw.value),
                    "write six hexadecimal octets separated by colons, e.g. 52:54:00:12:34:56 (quote it in YAML)",
                );
                None
            }
        }
    }

    fn mtu(&mut self, raw: &Located<i128>) -> Option<Located<u32>> {
        let v = raw.value;
        if v > 9000 {
            self.warning(
                Code::Mtu,
                raw.span,
                format!("MTU {v} is above ESXi's maximum; 9000 is used"),
                "ESXi vSwitches and VMkernel NICs support MTUs from 1280 to 9000",
            );
            return Some(Located::new(9000, raw.span));
        }
        if v < 1280 {
            self.error(
                Code::Mtu,
                raw.span,
                format!("MTU {v} is below ESXi's minimum of 1280"),
                "ESXi vSwitches and VMkernel NICs support MTUs from 1280 to 9000",
            );
            return None;
        }
        u32::try_from(v).ok().map(|m| Located::new(m, raw.span))
    }

    fn vlan_id(&mut self, raw: &Located<i128>) -> Option<Located<u16>> {
        match u16::try_from(raw.value) {
            Ok(id @ 1..=4094) => Some(Located::new(id, raw.span)),
            _ => {
                self.error(
                    Code::VlanId,
                    raw.span,
                    format!("VLAN id {} is out of range", raw.value),
                    "a VLAN port group takes an id from 1 to 4094 (0 is untagged, 4095 is the guest-tagging trunk)",
                );
                None
            }
        }
    }

    fn ip(&mut self, raw: &Located<String>, what: &str) -> Option<Located<IpAddr>> {
        match raw.value.trim().parse::<IpAddr>() {
            Ok(ip) => Some(Located::new(ip, raw.span)),
            Err(_) => {
                self.error(
                    Code::Address,
                    raw.span,
                    format!("{what} `{}` is not an IP address", raw.value),
                    "write an IPv4 (10.0.0.1) or IPv6 (2001:db8::1) address",
                );
                None
            }
        }
    }

    /// An address of the link, with its prefix length from wherever `mask` allows.
    fn address(&mut self, raw: &Located<String>, mask: Mask<'_>, link: &mut Link) {
        let Some(net) = self.network(raw, Subject::Address, mask) else {
            return;
        };
        let usable = match net {
            IpNet::V4(n) => {
                n.prefix != 0
                    && !n.addr.is_unspecified()
                    && !n.addr.is_multicast()
                    && !n.addr.is_broadcast()
            }
            IpNet::V6(n) => n.prefix != 0 && !n.addr.is_unspecified() && !n.addr.is_multicast(),
        };
        if !usable {
            self.error(
                Code::Address,
                raw.span,
                format!("`{}` cannot be an interface address", raw.value),
                "give the host's own unicast address and its prefix length",
            );
            return;
        }
        match net {
            IpNet::V4(n) => link.ipv4.push(Located::new(n, raw.span)),
            IpNet::V6(n) => link.ipv6.push(Located::new(n, raw.span)),
        }
    }

    /// A route; a default destination makes it a gateway instead.
    fn route(&mut self, r: RouteText<'_>, link: Option<&str>, extras: &mut Extras) {
        let RouteText {
            to,
            mask,
            via,
            metric,
            span,
        } = r;
        let (Some(to), Some(via)) = (to, via) else {
            self.error(
                Code::Route,
                span,
                "a route needs a destination and a gateway".to_string(),
                "write `destination:` (v1) or `to:` (v2) and `gateway:` (v1) or `via:` (v2)",
            );
            return;
        };
        let Some(via) = self.ip(via, "gateway") else {
            return;
        };
        let net = if to.value.trim() == "default" {
            match via.value {
                IpAddr::V4(_) => IpNet::V4(crate::model::Ipv4Net {
                    addr: std::net::Ipv4Addr::UNSPECIFIED,
                    prefix: 0,
                }),
                IpAddr::V6(_) => IpNet::V6(crate::model::Ipv6Net {
                    addr: std::net::Ipv6Addr::UNSPECIFIED,
                    prefix: 0,
                }),
            }
        } else {
            match self.network(to, Subject::Route, mask) {
                Some(n) => n,
                None => return,
            }
        };
        if net.is_ipv4() != via.value.is_ipv4() {
            self.error(
                Code::Route,
                via.span,
                format!(
                    "route to `{}` has a gateway of the other address family",
                    to.value
                ),
                "an IPv4 route needs an IPv4 gateway and an IPv6 route an IPv6 gateway",
            );
            return;
        }
        if net.is_default() {
            extras.gateways.push((via, link.map(str::to_string)));
            return;
        }
        let metric =
            metric.and_then(|m| u32::try_from(m.value).ok().map(|v| Located::new(v, m.span)));
        extras.routes.push(Route {
            to: Located::new(net, to.span),
            via,
            metric,
        });
    }

    fn dns(
        &mut self,
        servers: &[Located<String>],
        search: &[Located<String>],
        extras: &mut Extras,
    ) {
        for s in servers {
            if let Some(ip) = self.ip(s, "DNS server") {
                extras.servers.push(ip);
            }
        }
        for s in search {
            let domain = s.value.strip_suffix('.').unwrap_or(&s.value);
            match dns_name_problem(domain) {
                None => extras
                    .search
                    .push(Located::new(domain.to_string(), s.span)),
                Some(why) => self.error(
                    Code::SearchDomain,
                    s.span,
                    format!("search domain {:?} is not a DNS name: {why}", s.value),
                    "a search domain is a DNS name: labels of letters, digits and hyphens (1 to 63 characters, no hyphen first or last) joined by dots, 253 characters at most; list each domain as its own item",
                ),
            }
        }
    }

    /// Resolves a reference to another link through the ids and names registered so far.
    fn resolve(&self, reference: &Located<String>) -> Option<String> {
        self.aliases.get(&reference.value).cloned()
    }

    fn finish(mut self) -> Network {
        let mut pending = std::mem::take(&mut self.pending);
        for p in &mut pending {
            match &mut p.link.kind {
                LinkKind::Bond(b) => {
                    b.members = b
                        .members
                        .iter()
                        .map(|m| canonical(&self.aliases, m))
                        .collect();
                    b.primary = b.primary.as_ref().map(|m| canonical(&self.aliases, m));
                }
                LinkKind::Bridge(b) => {
                    b.members = b
                        .members
                        .iter()
                        .map(|m| canonical(&self.aliases, m))
                        .collect()
                }
                LinkKind::Vlan(v) => v.parent = canonical(&self.aliases, &v.parent),
                LinkKind::Physical => {}
            }
        }
        self.fold_bridges_over_vlans(&mut pending);
        self.check_references(&pending);
        self.check_macs(&pending);
        pending.sort_by(|a, b| {
            (a.link.kind.rank(), &a.link.name.value).cmp(&(b.link.kind.rank(), &b.link.name.value))
        });
        let mut net = Network::default();
        let mut all = Extras::default();
        // Each link's DNS entries, in canonical link order, until the management link is known.
        let mut link_dns = Vec::new();
        for p in pending {
            link_dns.push((p.link.name.value.clone(), p.extras.servers, p.extras.search));
            net.links.push(p.link);
            all.gateways.extend(p.extras.gateways);
            all.routes.extend(p.extras.routes);
        }
        let global = std::mem::take(&mut self.global);
        all.gateways.extend(global.gateways);
        all.routes.extend(global.routes);

        for (via, link) in all.gateways {
            let slot = if via.value.is_ipv4() {
                &mut net.gateway4
            } else {
                &mut net.gateway6
            };
            match slot {
                None => *slot = Some(Gateway { via, link }),
                Some(first) if first.via.value == via.value => {}
                Some(first) => {
                    let (family, line) = (
                        if via.value.is_ipv4() { "IPv4" } else { "IPv6" },
                        first.via.span.line,
                    );
                    self.warning(
                        Code::Gateway,
                        via.span,
                        format!("second {family} default gateway {} is ignored", via.value),
                        &format!("ESXi keeps one default route per address family; the gateway at line {line} is used"),
                    );
                }
            }
        }
        for r in all.routes {
            if !net.routes.iter().any(|x| x.to == r.to && x.via == r.via) {
                net.routes.push(r);
            }
        }
        net.dns = dns_in_order(&net, global.servers, global.search, link_dns);
        if !net.links.iter().any(Link::is_addressed) && !self.diags.has_errors() {
            let span = self.section;
            self.error(
                Code::Unreachable,
                span,
                "no interface has an address: the host would be unreachable after deployment".to_string(),
                "give at least one interface a static address or DHCP (MAAS: link a subnet in Auto, Static or DHCP mode)",
            );
        }
        net
    }

    /// Checks every reference between links: members and parents exist, have the right kind, and are shared by no two links.
    fn check_references(&mut self, pending: &[Pending]) {
        let kind_of = |name: &str| {
            pending
                .iter()
                .find(|p| p.link.name.value == name)
                .map(|p| &p.link)
        };
        let mut owner: BTreeMap<String, String> = BTreeMap::new();
        for p in pending {
            let link = &p.link;
            let (members, what): (&[Located<String>], &str) = match &link.kind {
                LinkKind::Bond(b) => (&b.members, "bond"),
                LinkKind::Bridge(b) => (&b.members, "bridge"),
                LinkKind::Vlan(v) => {
                    match self.resolve(&v.parent).and_then(|n| kind_of(&n)) {
                        None => self.error(Code::UnknownReference, v.parent.span, format!("VLAN `{}` refers to unknown interface `{}`", link.name.value, v.parent.value), "the parent (`vlan_link` in v1, `link` in v2) must name an interface defined in this config"),
                        Some(parent) if matches!(parent.kind, LinkKind::Vlan(_)) => self.error(Code::InvalidReference, v.parent.span, format!("VLAN `{}` sits on VLAN `{}`", link.name.value, parent.name.value), "on ESXi a VLAN is a port group on a vSwitch: its parent must be a physical interface, a bond or a bridge"),
                        Some(_) => {}
                    }
                    continue;
                }
                LinkKind::Physical => continue,
            };
            if members.is_empty() {
                self.warning(Code::MissingKey, link.name.span, format!("{what} `{}` has no member interfaces: its vSwitch has no uplinks", link.name.value), "what is on it reaches only this host; list its members under `bond_interfaces`/`bridge_interfaces` (v1) or `interfaces` (v2)");
            }
            for m in members {
                let Some(member) = self.resolve(m).and_then(|n| kind_of(&n)) else {
                    self.error(
                        Code::UnknownReference,
                        m.span,
                        format!(
                            "{what} `{}` refers to unknown interface `{}`",
                            link.name.value, m.value
                        ),
                        "members must be interfaces defined in this config",
                    );
                    continue;
                };
                let allowed = matches!(
                    (&link.kind, &member.kind),
                    (_, LinkKind::Physical) | (LinkKind::Bridge(_), LinkKind::Bond(_))
                );
                if !allowed {
                    let help = if what == "bond" {
                        "bond members must be physical interfaces"
                    } else if matches!(member.kind, LinkKind::Vlan(_)) {
                        "a bridge over a VLAN must have that VLAN as its only member (it becomes the VLAN's port group): a vSwitch cannot bridge a VLAN with other uplinks"
                    } else {
                        "bridge members must be physical interfaces or bonds: a vSwitch's uplinks are physical NICs"
                    };
                    self.error(
                        Code::InvalidReference,
                        m.span,
                        format!(
                            "{what} `{}` cannot contain `{}`",
                            link.name.value, member.name.value
                        ),
                        help,
                    );
                    continue;
                }
                if let Some(previous) = owner.get(&member.name.value) {
                    self.error(Code::SharedMember, m.span, format!("`{}` is already a member of `{previous}`", member.name.value), "an interface can be a member of one bond or bridge only: a NIC is the uplink of one vSwitch");
                    continue;
                }
                owner.insert(member.name.value.clone(), link.name.value.clone());
                // netplan and cloud-init accept addresses on a member; on ESXi the NIC is an uplink of the
                // vSwitch, so they go on a port group of that vSwitch, as a VLAN on a member does.
                if member.is_addressed() {
                    self.warning(Code::Approximation, m.span, format!("the addresses of `{}`, a member of `{}`, go on `{}`'s vSwitch", member.name.value, link.name.value, link.name.value), "on ESXi a member NIC is a vSwitch uplink and holds no address: its addresses get a VMkernel NIC on the port group of its name; put them on the bond or bridge to say so");
                }
            }
            if let LinkKind::Bond(b) = &link.kind
                && let Some(primary) = &b.primary
            {
                let resolved = self.resolve(primary);
                let is_member = b
                    .members
                    .iter()
                    .any(|m| self.resolve(m).is_some() && self.resolve(m) == resolved);
                if !is_member {
                    self.error(
                        Code::UnknownReference,
                        primary.span,
                        format!(
                            "bond primary `{}` is not a member of `{}`",
                            primary.value, link.name.value
                        ),
                        "the primary must be one of the bond's interfaces",
                    );
                }
            }
        }
        // A VLAN on a bond or bridge member is a port group on that bond's or bridge's vSwitch, carried by
        // all its uplinks.
        for p in pending {
            if let LinkKind::Vlan(v) = &p.link.kind
                && let Some(parent) = self.resolve(&v.parent)
                && let Some(o) = owner.get(&parent)
                && kind_of(o).is_some_and(|l| members_of(l).len() > 1)
            {
                self.warning(
                    Code::Approximation,
                    v.parent.span,
                    format!(
                        "VLAN `{}` on `{parent}`, a member of `{o}`, is carried by all of `{o}`'s uplinks",
                        p.link.name.value
                    ),
                    "on ESXi a VLAN is a port group of a vSwitch, and the vSwitch stands for the whole bond or bridge",
                );
            }
        }
    }

    /// Two NICs with one MAC would be one vmnic on ESXi, found by that MAC: the uplink of two vSwitches.
    fn check_macs(&mut self, pending: &[Pending]) {
        let mut first: BTreeMap<&str, &Link> = BTreeMap::new();
        for p in pending {
            let link = &p.link;
            let (LinkKind::Physical, Some(mac)) = (&link.kind, &link.mac) else {
                continue;
            };
            match first.get(mac.value.as_str()) {
                Some(other) => self.error(
                    Code::Mac,
                    mac.span,
                    format!(
                        "`{}` has the MAC address {} of `{}`",
                        link.name.value,
                        mac.value.as_str(),
                        other.name.value
                    ),
                    &format!("ESXi finds NICs by MAC, so both would be one NIC; `{}` is defined at line {}", other.name.value, other.name.span.line),
                ),
                None => {
                    first.insert(mac.value.as_str(), link);
                }
            }
        }
    }

    /// Makes a bridge whose one member is a VLAN that VLAN, under the bridge's name, with the bridge's
    /// addresses: on ESXi both are one port group with the VLAN's id. The VLAN link itself goes away.
    fn fold_bridges_over_vlans(&mut self, pending: &mut Vec<Pending>) {
        let referenced = |pending: &[Pending], name: &str, except: &str| {
            pending.iter().any(|p| {
                p.link.name.value != except
                    && match &p.link.kind {
                        LinkKind::Vlan(v) => v.parent.value == name,
                        other => members_of_kind(other).iter().any(|m| m.value == name),
                    }
            })
        };
        let mut i = 0;
        while i < pending.len() {
            let bridge = &pending[i].link;
            let LinkKind::Bridge(b) = &bridge.kind else {
                i += 1;
                continue;
            };
            let [member] = b.members.as_slice() else {
                i += 1;
                continue;
            };
            let Some(j) = pending.iter().position(|p| {
                p.link.name.value == member.value && matches!(p.link.kind, LinkKind::Vlan(_))
            }) else {
                i += 1;
                continue;
            };
            let vlan = &pending[j].link;
            if vlan.is_addressed() || referenced(pending, &member.value, &bridge.name.value) {
                i += 1;
                continue;
            }
            let LinkKind::Vlan(v) = vlan.kind.clone() else {
                i += 1;
                continue;
            };
            let mtu = pending[i].link.mtu.clone().or_else(|| vlan.mtu.clone());
            if !b.ignored_params.is_empty() {
                let names: Vec<&str> = b.ignored_params.iter().map(|p| p.value.as_str()).collect();
                self.warning(
                    Code::Approximation,
                    b.ignored_params[0].span,
                    format!(
                        "bridge `{}` parameters {} are ignored",
                        bridge.name.value,
                        names.join(", ")
                    ),
                    "a bridge over one VLAN becomes a port group with the VLAN's id; it runs no spanning tree",
                );
            }
            let link = &mut pending[i].link;
            link.kind = LinkKind::Vlan(v);
            link.mtu = mtu;
            pending.remove(j);
            if j < i {
                i -= 1;
            }
            i += 1;
        }
    }
}

/// The members of a bond or bridge; nothing for other links.
fn members_of(link: &Link) -> &[Located<String>] {
    members_of_kind(&link.kind)
}

fn members_of_kind(kind: &LinkKind) -> &[Located<String>] {
    match kind {
        LinkKind::Bond(b) => &b.members,
        LinkKind::Bridge(b) => &b.members,
        _ => &[],
    }
}

/// A link's name with the DNS servers and search domains its configuration names.
type LinkDns = (String, Vec<Located<IpAddr>>, Vec<Located<String>>);

/// The host's DNS servers and search domains, de-duplicated, in the order an operator expects: the global
/// entries (MAAS's own DNS), then the management link's, then the other links' in canonical order. A
/// resolver that only an out-of-band subnet names never becomes the primary one.
fn dns_in_order(
    net: &Network,
    servers: Vec<Located<IpAddr>>,
    search: Vec<Located<String>>,
    mut links: Vec<LinkDns>,
) -> Dns {
    if let Some(management) = net.management_link()
        && let Some(i) = links
            .iter()
            .position(|(name, ..)| *name == management.name.value)
    {
        let first = links.remove(i);
        links.insert(0, first);
    }
    let mut dns = Dns::default();
    let groups =
        std::iter::once((servers, search)).chain(links.into_iter().map(|(_, s, d)| (s, d)));
    for (servers, search) in groups {
        for s in servers {
            if !dns.servers.contains(&s.value) {
                dns.servers.push(s.value);
            }
        }
        for d in search {
            if !dns.search.contains(&d.value) {
                dns.search.push(d.value);
            }
        }
    }
    dns
}

/// Why `name` is not a DNS name as MAAS validates domain names: labels of 1 to 63 ASCII letters, digits
/// and hyphens, neither starting nor ending with a hyphen, joined by dots, 253 characters at most.
fn dns_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_string());
    }
    if name.len() > 253 {
        return Some(format!("it is {} characters long", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Some(format!("{c:?} is not allowed"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("it has an empty label".to_string());
        }
        if label.len() > 63 {
            return Some(format!("label `{label}` is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` starts or ends with a hyphen"));
        }
    }
    None
}

/// A new link of the given kind with nothing configured yet.
fn blank(name: Located<String>, kind: LinkKind) -> Link {
    Link {
        name,
        kind,
        mac: None,
        mtu: None,
        ipv4: Vec::new(),
        ipv6: Vec::new(),
        dhcp4: false,
        dhcp6: false,
        accept_ra: false,
    }
}

/// Looks up a name given in the config for a link that references another (resolving ids to names).
fn canonical(aliases: &BTreeMap<String, String>, r: &Located<String>) -> Located<String> {
    Located::new(
        aliases
            .get(&r.value)
            .cloned()
            .unwrap_or_else(|| r.value.clone()),
        r.span,
    )
}

/// A route as written, in either format.
struct RouteText<'a> {
    to: Option<&'a Located<String>>,
    /// Where the destination's prefix length may also be given.
    mask: Mask<'a>,
    via: Option<&'a Located<String>>,
    metric: Option<&'a Located<i128>>,
    span: Span,
}

#[cfg(test)]
mod tests {
    use super::dns_name_problem;

    #[test]
    fn search_domains_are_dns_names() {
        let ok = [
            "maas",
            "dc1.example.com",
            "a-b.c0",
            &"a".repeat(63),
            &["a"; 127].join("."),
        ];
        for name in ok {
            assert_eq!(dns_name_problem(name), None, "{name}");
        }
        let bad = [
            "",
            "two words",
            "a,b",
            "*.maas",
            "$(reboot)",
            "it's",
            "\"q\"",
            "a..b",
            ".maas",
            "-a.maas",
            "a-.maas",
            "tab\there",
            "é.maas",
            &"a".repeat(64),
            &["a"; 128].join("."),
        ];
        for name in bad {
            assert!(dns_name_problem(name).is_some(), "{name:?} was accepted");
        }
    }
}
