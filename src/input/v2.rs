//! netplan version 2: maps of ethernets, bonds, bridges and vlans keyed by interface id.

use crate::diag::{Located, Span};
use crate::input::decode::{Decoder, Fields};
use crate::input::yaml::{Kind, Node};

#[derive(Debug, Default)]
pub struct Config {
    pub ethernets: Vec<Link>,
    pub bonds: Vec<Link>,
    pub bridges: Vec<Link>,
    pub vlans: Vec<Link>,
}

/// One interface definition; which fields matter depends on the section it came from.
#[derive(Debug, Default)]
pub struct Link {
    pub id: Located<String>,
    pub span: Span,
    pub path: String,
    pub match_mac: Option<Located<String>>,
    pub set_name: Option<Located<String>>,
    pub macaddress: Option<Located<String>>,
    pub mtu: Option<Located<i128>>,
    pub addresses: Vec<Located<String>>,
    pub dhcp4: Option<Located<bool>>,
    pub dhcp6: Option<Located<bool>>,
    pub accept_ra: Option<Located<bool>>,
    pub gateway4: Option<Located<String>>,
    pub gateway6: Option<Located<String>>,
    pub routes: Vec<Route>,
    pub nameservers: Vec<Located<String>>,
    pub search: Vec<Located<String>>,
    pub interfaces: Vec<Located<String>>,
    pub parameters: Parameters,
    pub vlan_id: Option<Located<i128>>,
    pub link: Option<Located<String>>,
}

#[derive(Debug, Default)]
pub struct Parameters {
    pub mode: Option<Located<String>>,
    pub primary: Option<Located<String>>,
    pub transmit_hash_policy: Option<Located<String>>,
    pub lacp_rate: Option<Located<String>>,
    pub stp: Option<Located<bool>>,
    pub forward_delay: Option<Located<i128>>,
    /// Parameters ESXi has no equivalent for.
    pub ignored: Vec<Located<String>>,
}

#[derive(Debug, Default)]
pub struct Route {
    pub span: Span,
    pub path: String,
    pub to: Option<Located<String>>,
    pub via: Option<Located<String>>,
    pub metric: Option<Located<i128>>,
}

const COMMON_KEYS: &[&str] = &[
    "addresses",
    "dhcp4",
    "dhcp6",
    "accept-ra",
    "gateway4",
    "gateway6",
    "routes",
    "nameservers",
    "mtu",
    "macaddress",
    "optional",
    "critical",
    "renderer",
    "link-local",
    "dhcp4-overrides",
    "dhcp6-overrides",
    "ipv6-privacy",
    "routing-policy",
    "ignore-carrier",
    "activation-mode",
    "ipv6-mtu",
    "ipv6-address-generation",
    "wakeonlan",
];
const ETHERNET_KEYS: &[&str] = &["match", "set-name"];
const BOND_KEYS: &[&str] = &["interfaces", "parameters"];
const BRIDGE_KEYS: &[&str] = &["interfaces", "parameters"];
const VLAN_KEYS: &[&str] = &["id", "link"];
const ROUTE_KEYS: &[&str] = &[
    "to", "via", "metric", "on-link", "table", "scope", "type", "from", "mtu",
];
const BOND_PARAMETERS_IGNORED: &[&str] = &[
    "mii-monitor-interval",
    "up-delay",
    "down-delay",
    "gratuitous-arp",
    "gratuitious-arp",
    "ad-select",
    "all-members-active",
    "all-slaves-active",
    "arp-interval",
    "arp-ip-targets",
    "arp-validate",
    "arp-all-targets",
    "fail-over-mac-policy",
    "learn-packet-interval",
    "min-links",
    "packets-per-member",
    "packets-per-slave",
    "primary-reselect-policy",
    "resend-igmp",
];
const BRIDGE_PARAMETERS_IGNORED: &[&str] = &[
    "ageing-time",
    "aging-time",
    "priority",
    "port-priority",
    "hello-time",
    "max-age",
    "path-cost",
];

#[derive(Clone, Copy)]
enum Section {
    Ethernets,
    Bonds,
    Bridges,
    Vlans,
}

impl Decoder<'_> {
    pub(crate) fn v2(&mut self, network: &Node, path: &str) -> Config {
        let mut config = Config::default();
        let Some(f) = self.map(
            network,
            path,
            &[
                "version",
                "renderer",
                "ethernets",
                "bonds",
                "bridges",
                "vlans",
            ],
        ) else {
            return config;
        };
        for (key, section, out) in [
            ("ethernets", Section::Ethernets, &mut config.ethernets),
            ("bonds", Section::Bonds, &mut config.bonds),
            ("bridges", Section::Bridges, &mut config.bridges),
            ("vlans", Section::Vlans, &mut config.vlans),
        ] {
            let Some(node) = f.get(key) else { continue };
            let section_path = f.child(key);
            for (id, def) in self.named_map(node, &section_path) {
                let link_path = format!("{section_path}.{}", id.value);
                if let Some(link) = self.v2_link(id, def, &link_path, section) {
                    out.push(link);
                }
            }
        }
        config
    }

    fn v2_link(
        &mut self,
        id: Located<String>,
        node: &Node,
        path: &str,
        section: Section,
    ) -> Option<Link> {
        let extra = match section {
            Section::Ethernets => ETHERNET_KEYS,
            Section::Bonds => BOND_KEYS,
            Section::Bridges => BRIDGE_KEYS,
            Section::Vlans => VLAN_KEYS,
        };
        let known: Vec<&str> = COMMON_KEYS.iter().chain(extra).copied().collect();
        let f = self.map(node, path, &known)?;
        let mut l = Link {
            id,
            span: node.span,
            path: path.to_string(),
            ..Link::default()
        };
        if let Some(m) = f.get("match") {
            if let Some(mf) = self.map(m, &f.child("match"), &["macaddress", "name", "driver"]) {
                l.match_mac = mf
                    .get("macaddress")
                    .and_then(|n| self.string(n, &mf.child("macaddress")));
            }
        }
        l.set_name = f
            .get("set-name")
            .and_then(|n| self.string(n, &f.child("set-name")));
        l.macaddress = f
            .get("macaddress")
            .and_then(|n| self.string(n, &f.child("macaddress")));
        l.mtu = f.get("mtu").and_then(|n| self.int(n, &f.child("mtu")));
        if let Some(n) = f.get("addresses") {
            let p = f.child("addresses");
            for (i, a) in self.list(n, &p).iter().enumerate() {
                // An address may carry options: `- 10.0.0.5/24: {label: ...}`.
                let address = match &a.kind {
                    Kind::Map(entries) if entries.len() == 1 => {
                        self.string(&entries[0].0, &format!("{p}[{i}]"))
                    }
                    _ => self.string(a, &format!("{p}[{i}]")),
                };
                l.addresses.extend(address);
            }
        }
        l.dhcp4 = f
            .get("dhcp4")
            .and_then(|n| self.boolean(n, &f.child("dhcp4")));
        l.dhcp6 = f
            .get("dhcp6")
            .and_then(|n| self.boolean(n, &f.child("dhcp6")));
        l.accept_ra = f
            .get("accept-ra")
            .and_then(|n| self.boolean(n, &f.child("accept-ra")));
        l.gateway4 = f
            .get("gateway4")
            .and_then(|n| self.string(n, &f.child("gateway4")));
        l.gateway6 = f
            .get("gateway6")
            .and_then(|n| self.string(n, &f.child("gateway6")));
        if let Some(n) = f.get("routes") {
            let p = f.child("routes");
            for (i, r) in self.list(n, &p).iter().enumerate() {
                let rp = format!("{p}[{i}]");
                if let Some(rf) = self.map(r, &rp, ROUTE_KEYS) {
                    l.routes.push(Route {
                        span: r.span,
                        path: rp,
                        to: rf.get("to").and_then(|n| self.string(n, &rf.child("to"))),
                        via: rf.get("via").and_then(|n| self.string(n, &rf.child("via"))),
                        metric: rf
                            .get("metric")
                            .and_then(|n| self.int(n, &rf.child("metric"))),
                    });
                }
            }
        }
        if let Some(n) = f.get("nameservers") {
            if let Some(nf) = self.map(n, &f.child("nameservers"), &["addresses", "search"]) {
                l.nameservers = nf
                    .get("addresses")
                    .map(|n| self.strings(n, &nf.child("addresses")))
                    .unwrap_or_default();
                l.search = nf
                    .get("search")
                    .map(|n| self.strings(n, &nf.child("search")))
                    .unwrap_or_default();
            }
        }
        l.interfaces = f
            .get("interfaces")
            .map(|n| self.strings(n, &f.child("interfaces")))
            .unwrap_or_default();
        if let Some(n) = f.get("parameters") {
            l.parameters = self.v2_parameters(&f, n, section);
        }
        l.vlan_id = f.get("id").and_then(|n| self.int(n, &f.child("id")));
        l.link = f.get("link").and_then(|n| self.string(n, &f.child("link")));
        Some(l)
    }

    fn v2_parameters(&mut self, parent: &Fields<'_>, node: &Node, section: Section) -> Parameters {
        let path = parent.child("parameters");
        let mut p = Parameters::default();
        let (known, ignored): (&[&str], &[&str]) = match section {
            Section::Bridges => (&["stp", "forward-delay"], BRIDGE_PARAMETERS_IGNORED),
            _ => (
                &["mode", "primary", "transmit-hash-policy", "lacp-rate"],
                BOND_PARAMETERS_IGNORED,
            ),
        };
        let all: Vec<&str> = known.iter().chain(ignored).copied().collect();
        let Some(f) = self.map(node, &path, &all) else {
            return p;
        };
        p.mode = f.get("mode").and_then(|n| self.string(n, &f.child("mode")));
        p.primary = f
            .get("primary")
            .and_then(|n| self.string(n, &f.child("primary")));
        p.transmit_hash_policy = f
            .get("transmit-hash-policy")
            .and_then(|n| self.string(n, &f.child("transmit-hash-policy")));
        p.lacp_rate = f
            .get("lacp-rate")
            .and_then(|n| self.string(n, &f.child("lacp-rate")));
        p.stp = f.get("stp").and_then(|n| self.boolean(n, &f.child("stp")));
        p.forward_delay = f
            .get("forward-delay")
            .and_then(|n| self.int(n, &f.child("forward-delay")));
        for (key, _) in f.entries() {
            if let Kind::Str(k) = &key.kind {
                if ignored.contains(&k.as_str()) {
                    p.ignored.push(Located::new(k.clone(), key.span));
                }
            }
        }
        p
    }
}
