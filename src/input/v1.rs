//! curtin network config version 1: a list of entries, each a bag of optional fields keyed by `type:`.

use crate::diag::{Located, Span};
use crate::input::decode::{Decoder, Fields, join};
use crate::input::yaml::{Kind, Node};

/// A whole `network: {version: 1, config: [...]}` section.
#[derive(Debug)]
pub struct Config {
    /// Where the section starts (the `network:` key): whole-config diagnostics point here.
    pub span: Span,
    pub entries: Vec<Entry>,
}

/// One `config:` entry. Which fields matter depends on `kind`; `normalize` decides.
#[derive(Debug, Default)]
pub struct Entry {
    pub span: Span,
    pub path: String,
    pub kind: Option<Located<String>>,
    pub id: Option<Located<String>>,
    pub name: Option<Located<String>>,
    pub mac_address: Option<Located<String>>,
    pub mtu: Option<Located<i128>>,
    pub subnets: Vec<Subnet>,
    pub bond_interfaces: Vec<Located<String>>,
    pub bridge_interfaces: Vec<Located<String>>,
    pub params: Params,
    pub vlan_link: Option<Located<String>>,
    pub vlan_id: Option<Located<i128>>,
    pub accept_ra: Option<Located<bool>>,
    /// `nameserver` entries.
    pub address: Vec<Located<String>>,
    pub search: Vec<Located<String>>,
    /// `route` entries.
    pub route: Option<Route>,
}

/// Bond and bridge parameters, in either spelling (`bond-mode` or `bond_mode`).
#[derive(Debug, Default)]
pub struct Params {
    pub bond_mode: Option<Located<String>>,
    pub bond_primary: Option<Located<String>>,
    pub bond_xmit_hash_policy: Option<Located<String>>,
    pub bond_lacp_rate: Option<Located<String>>,
    pub bridge_stp: Option<Located<bool>>,
    pub bridge_fd: Option<Located<i128>>,
    /// Other parameters ESXi has no equivalent for, by name.
    pub ignored: Vec<Located<String>>,
}

#[derive(Debug, Default)]
pub struct Subnet {
    pub span: Span,
    pub path: String,
    pub kind: Option<Located<String>>,
    pub address: Option<Located<String>>,
    pub netmask: Option<Located<String>>,
    /// A prefix length given apart from the address (cloud-init reads `prefix:`).
    pub prefix: Option<Located<i128>>,
    pub gateway: Option<Located<String>>,
    /// cloud-init applies an IPv4 subnet's MTU to the link.
    pub mtu: Option<Located<i128>>,
    pub dns_nameservers: Vec<Located<String>>,
    pub dns_search: Vec<Located<String>>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Default)]
pub struct Route {
    pub span: Span,
    pub path: String,
    pub destination: Option<Located<String>>,
    pub netmask: Option<Located<String>>,
    /// The destination's prefix length given apart, as cloud-init reads it.
    pub prefix: Option<Located<i128>>,
    pub gateway: Option<Located<String>>,
    pub metric: Option<Located<i128>>,
}

const ENTRY_KEYS: &[&str] = &[
    "type",
    "id",
    "name",
    "mac_address",
    "mtu",
    "subnets",
    "bond_interfaces",
    "bridge_interfaces",
    "params",
    "vlan_link",
    "vlan_id",
    "accept-ra",
    "accept_ra",
    "address",
    "search",
    "interface",
    "destination",
    "network",
    "netmask",
    "prefix",
    "gateway",
    "metric",
    "wakeonlan",
    "optional",
];
const SUBNET_KEYS: &[&str] = &[
    "type",
    "address",
    "ip_address",
    "netmask",
    "prefix",
    "gateway",
    "dns_nameservers",
    "dns_search",
    "routes",
    "control",
    "metric",
    "mtu",
];
const ROUTE_KEYS: &[&str] = &[
    "destination",
    "network",
    "netmask",
    "prefix",
    "gateway",
    "metric",
];
/// The parameters that change the plan, in MAAS's spelling.
const PARAMS_USED: &[&str] = &[
    "bond-mode",
    "bond-primary",
    "bond-xmit-hash-policy",
    "bond-lacp-rate",
    "bridge_stp",
    "bridge_fd",
];
const PARAM_KEYS_IGNORED: &[&str] = &[
    "miimon",
    "downdelay",
    "updelay",
    "num-grat-arp",
    "num_grat_arp",
    "num-unsol-na",
    "num_unsol_na",
    "ad-select",
    "ad_select",
    "arp-interval",
    "arp_interval",
    "arp-ip-target",
    "arp_ip_target",
    "fail-over-mac",
    "fail_over_mac",
    "all-slaves-active",
    "all_slaves_active",
    "min-links",
    "min_links",
    "primary-reselect",
    "primary_reselect",
    "use-carrier",
    "use_carrier",
    "arp-validate",
    "arp_validate",
];
const BRIDGE_PARAMS_IGNORED: &[&str] = &[
    "ageing",
    "bridgeprio",
    "gcint",
    "hello",
    "hw",
    "maxage",
    "maxwait",
    "pathcost",
    "portprio",
    "waitport",
];

impl Decoder<'_> {
    pub(crate) fn v1(&mut self, network: &Node, path: &str, span: Span) -> Config {
        let mut c = Config {
            span,
            entries: Vec::new(),
        };
        let Some(fields) = self.map(network, path, &["version", "config"]) else {
            return c;
        };
        let Some(config) = fields.get("config") else {
            self.missing(
                &fields,
                "config",
                "version 1 lists interfaces, routes and nameservers under `config:`",
            );
            return c;
        };
        let config_path = fields.child("config");
        for (i, node) in self.list(config, &config_path).iter().enumerate() {
            if let Some(entry) = self.v1_entry(node, &format!("{config_path}[{i}]")) {
                c.entries.push(entry);
            }
        }
        c
    }

    fn v1_entry(&mut self, node: &Node, path: &str) -> Option<Entry> {
        let f = self.map(node, path, ENTRY_KEYS)?;
        let mut e = Entry {
            span: node.span,
            path: path.to_string(),
            ..Entry::default()
        };
        e.kind = f.get("type").and_then(|n| self.string(n, &f.child("type")));
        e.id = f.get("id").and_then(|n| self.string(n, &f.child("id")));
        e.name = f.get("name").and_then(|n| self.string(n, &f.child("name")));
        e.mac_address = f
            .get("mac_address")
            .and_then(|n| self.string(n, &f.child("mac_address")));
        e.mtu = f.get("mtu").and_then(|n| self.int(n, &f.child("mtu")));
        if let Some(n) = f.get("subnets") {
            let p = f.child("subnets");
            for (i, s) in self.list(n, &p).iter().enumerate() {
                if let Some(subnet) = self.v1_subnet(s, &format!("{p}[{i}]")) {
                    e.subnets.push(subnet);
                }
            }
        }
        e.bond_interfaces = f
            .get("bond_interfaces")
            .map(|n| self.strings(n, &f.child("bond_interfaces")))
            .unwrap_or_default();
        e.bridge_interfaces = f
            .get("bridge_interfaces")
            .map(|n| self.strings(n, &f.child("bridge_interfaces")))
            .unwrap_or_default();
        if let Some(n) = f.get("params") {
            e.params = self.v1_params(n, &f.child("params"));
        }
        e.vlan_link = f
            .get("vlan_link")
            .and_then(|n| self.string(n, &f.child("vlan_link")));
        e.vlan_id = f
            .get("vlan_id")
            .and_then(|n| self.int(n, &f.child("vlan_id")));
        e.accept_ra = f
            .get_any(&["accept-ra", "accept_ra"])
            .and_then(|(k, n)| self.boolean(n, &f.child(k)));
        e.address = f
            .get("address")
            .map(|n| self.words(n, &f.child("address")))
            .unwrap_or_default();
        e.search = f
            .get("search")
            .map(|n| self.words(n, &f.child("search")))
            .unwrap_or_default();
        if e.kind.as_ref().is_some_and(|k| k.value == "route") {
            e.route = Some(self.v1_route_fields(&f, node.span));
        }
        Some(e)
    }

    fn v1_subnet(&mut self, node: &Node, path: &str) -> Option<Subnet> {
        let f = self.map(node, path, SUBNET_KEYS)?;
        let mut s = Subnet {
            span: node.span,
            path: path.to_string(),
            ..Subnet::default()
        };
        s.kind = f.get("type").and_then(|n| self.string(n, &f.child("type")));
        // cloud-init also reads a subnet's address from `ip_address`.
        s.address = f
            .get_any(&["address", "ip_address"])
            .and_then(|(k, n)| self.string(n, &f.child(k)));
        s.netmask = f
            .get("netmask")
            .and_then(|n| self.string(n, &f.child("netmask")));
        s.prefix = f
            .get("prefix")
            .and_then(|n| self.int(n, &f.child("prefix")));
        s.gateway = f
            .get("gateway")
            .and_then(|n| self.string(n, &f.child("gateway")));
        s.mtu = f.get("mtu").and_then(|n| self.int(n, &f.child("mtu")));
        s.dns_nameservers = f
            .get("dns_nameservers")
            .map(|n| self.words(n, &f.child("dns_nameservers")))
            .unwrap_or_default();
        s.dns_search = f
            .get("dns_search")
            .map(|n| self.words(n, &f.child("dns_search")))
            .unwrap_or_default();
        if let Some(n) = f.get("routes") {
            let p = f.child("routes");
            for (i, r) in self.list(n, &p).iter().enumerate() {
                let rp = format!("{p}[{i}]");
                if let Some(rf) = self.map(r, &rp, ROUTE_KEYS) {
                    s.routes.push(self.v1_route_fields(&rf, r.span));
                }
            }
        }
        Some(s)
    }

    fn v1_route_fields(&mut self, f: &Fields<'_>, span: Span) -> Route {
        Route {
            span,
            path: f.path.clone(),
            destination: f
                .get_any(&["destination", "network"])
                .and_then(|(k, n)| self.string(n, &f.child(k))),
            netmask: f
                .get("netmask")
                .and_then(|n| self.string(n, &f.child("netmask"))),
            prefix: f
                .get("prefix")
                .and_then(|n| self.int(n, &f.child("prefix"))),
            gateway: f
                .get("gateway")
                .and_then(|n| self.string(n, &f.child("gateway"))),
            metric: f
                .get("metric")
                .and_then(|n| self.int(n, &f.child("metric"))),
        }
    }

    fn v1_params(&mut self, node: &Node, path: &str) -> Params {
        let mut p = Params::default();
        // Keys are judged one by one below: both spellings and many ignored names are valid.
        let Some(f) = self.open_map(node, path).map(|f| f.entries()) else {
            return p;
        };
        for (key, value) in f {
            let Some(k) = self.string(key, path) else {
                continue;
            };
            if matches!(value.kind, Kind::Null) {
                continue;
            }
            let normalized = k.value.replace('_', "-");
            let kp = join(path, &k.value);
            match normalized.as_str() {
                "bond-mode" => p.bond_mode = self.string(value, &kp),
                "bond-primary" => p.bond_primary = self.string(value, &kp),
                "bond-xmit-hash-policy" => p.bond_xmit_hash_policy = self.string(value, &kp),
                "bond-lacp-rate" => p.bond_lacp_rate = self.string(value, &kp),
                "bridge-stp" => p.bridge_stp = self.boolean(value, &kp),
                "bridge-fd" => p.bridge_fd = self.int(value, &kp),
                other => {
                    let known_bond = other
                        .strip_prefix("bond-")
                        .is_some_and(|b| PARAM_KEYS_IGNORED.contains(&b));
                    let known_bridge = other
                        .strip_prefix("bridge-")
                        .is_some_and(|b| BRIDGE_PARAMS_IGNORED.contains(&b));
                    if known_bond || known_bridge {
                        p.ignored.push(k);
                    } else {
                        let known: Vec<String> = PARAMS_USED
                            .iter()
                            .map(|p| p.to_string())
                            .chain(PARAM_KEYS_IGNORED.iter().map(|p| format!("bond-{p}")))
                            .chain(BRIDGE_PARAMS_IGNORED.iter().map(|p| format!("bridge_{p}")))
                            .collect();
                        let known: Vec<&str> = known.iter().map(String::as_str).collect();
                        self.unknown_key(k.span, &k.value, path, &known);
                    }
                }
            }
        }
        p
    }
}
