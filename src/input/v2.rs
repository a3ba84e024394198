//! netplan version 2: maps of ethernets, bonds, bridges and vlans keyed by interface id.

use crate::diag::{Code, Diagnostic, Located, Span, clip};
use crate::input::decode::{Decoder, Fields};
use crate::input::yaml::{Kind, Node};

#[derive(Debug, Default)]
pub struct Config {
    /// Where the section starts (the `network:` key): whole-config diagnostics point here.
    pub span: Span,
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
    /// The interfaces a bridge's `path-cost` and `port-priority` are keyed by, with the parameter's name:
    /// nothing on ESXi, but netplan requires them to be defined.
    pub ports: Vec<(&'static str, Located<String>)>,
}

#[derive(Debug, Default)]
pub struct Route {
    pub span: Span,
    pub path: String,
    pub to: Option<Located<String>>,
    pub via: Option<Located<String>>,
    pub metric: Option<Located<i128>>,
    /// `type:` (unicast, blackhole, unreachable, prohibit, throw, ...).
    pub kind: Option<Located<String>>,
    pub scope: Option<Located<String>>,
    pub table: Option<Located<i128>>,
    pub from: Option<Located<String>>,
    pub on_link: Option<Located<bool>>,
    /// Keys that tune a route's traffic without choosing its path (`mtu`, windows), by name.
    pub tuning: Vec<Located<String>>,
}

/// Keys of every link that the translation reads.
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
];
/// Keys that change nothing an ESXi host could do differently: accepted without a word.
const QUIET_KEYS: &[&str] = &[
    "optional",
    "critical",
    "renderer",
    "wakeonlan",
    "wakeonwlan",
    "emit-lldp",
    "receive-checksum-offload",
    "transmit-checksum-offload",
    "tcp-segmentation-offload",
    "tcp6-segmentation-offload",
    "generic-segmentation-offload",
    "generic-receive-offload",
    "large-receive-offload",
    "link-local",
    "ipv6-privacy",
    "ipv6-address-generation",
    "ipv6-address-token",
    "dhcp-identifier",
    "optional-addresses",
    "ignore-carrier",
];
/// Keys with an effect ESXi cannot reproduce but that do not change where traffic goes: warnings.
const IGNORED_KEYS: &[&str] = &[
    "dhcp4-overrides",
    "dhcp6-overrides",
    "ra-overrides",
    "ipv6-mtu",
    "activation-mode",
    "hairpin",
    "port-mac-learning",
    "neigh-suppress",
];
/// Keys for features ESXi does not have, with the feature's name: errors.
const UNSUPPORTED_KEYS: &[(&str, &str)] = &[
    ("routing-policy", "policy routing (`routing-policy`)"),
    (
        "networkmanager",
        "NetworkManager passthrough (`networkmanager`)",
    ),
    ("openvswitch", "Open vSwitch (`openvswitch`)"),
    ("auth", "802.1X authentication (`auth`)"),
    (
        "virtual-function-count",
        "SR-IOV (`virtual-function-count`)",
    ),
    ("embedded-switch-mode", "SR-IOV (`embedded-switch-mode`)"),
    (
        "delay-virtual-functions-rebind",
        "SR-IOV (`delay-virtual-functions-rebind`)",
    ),
    ("infiniband-mode", "InfiniBand (`infiniband-mode`)"),
];
/// netplan device sections ESXi has no equivalent for.
const UNSUPPORTED_SECTIONS: &[(&str, &str)] = &[
    ("wifis", "Wi-Fi"),
    ("modems", "a modem"),
    ("tunnels", "a tunnel"),
    ("vrfs", "a VRF"),
    ("dummy-devices", "a dummy device"),
    ("virtual-ethernets", "a virtual Ethernet pair"),
    ("nm-devices", "a NetworkManager device"),
    ("openvswitch", "Open vSwitch"),
];
const ETHERNET_KEYS: &[&str] = &["match", "set-name"];
const BOND_KEYS: &[&str] = &["interfaces", "parameters"];
const BRIDGE_KEYS: &[&str] = &["interfaces", "parameters"];
const VLAN_KEYS: &[&str] = &["id", "link"];
/// Route keys that tune traffic on a route without choosing its path.
const TUNING_KEYS: &[&str] = &[
    "mtu",
    "congestion-window",
    "advertised-receive-window",
    "advertised-mss",
];
const ROUTE_KEYS: &[&str] = &[
    "to",
    "via",
    "metric",
    "on-link",
    "table",
    "scope",
    "type",
    "from",
    "mtu",
    "congestion-window",
    "advertised-receive-window",
    "advertised-mss",
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
    pub(crate) fn v2(&mut self, network: &Node, path: &str, span: Span) -> Config {
        let mut config = Config {
            span,
            ..Config::default()
        };
        let known: Vec<&str> = [
            "version",
            "renderer",
            "ethernets",
            "bonds",
            "bridges",
            "vlans",
        ]
        .into_iter()
        .chain(UNSUPPORTED_SECTIONS.iter().map(|(k, _)| *k))
        .collect();
        let Some(f) = self.map(network, path, &known) else {
            return config;
        };
        for (key, what) in UNSUPPORTED_SECTIONS {
            if let (Some(k), Some(v)) = (f.key(key), f.get(key))
                && !v.kind.is_empty()
            {
                self.diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        Some(k.span),
                        format!("`{key}`: {what} is not supported on ESXi"),
                    )
                    .with_help("ESXi networking is standard vSwitches over physical NICs: ethernets, bonds, bridges and VLANs"),
                );
            }
        }
        // netplan's renderer of a definition: its own `renderer:`, else the section's (given before it), else
        // the document's. It means nothing on ESXi, but netplan's NetworkManager renderer refuses some keys.
        let global = f
            .get("renderer")
            .and_then(|n| self.renderer(n, &f.child("renderer"), Section::Ethernets));
        for (key, section, out) in [
            ("ethernets", Section::Ethernets, &mut config.ethernets),
            ("bonds", Section::Bonds, &mut config.bonds),
            ("bridges", Section::Bridges, &mut config.bridges),
            ("vlans", Section::Vlans, &mut config.vlans),
        ] {
            let Some(node) = f.get(key) else { continue };
            let section_path = f.child(key);
            let mut renderer = global.clone();
            for (id, def) in self.named_map(node, &section_path) {
                // netplan allows a `renderer:` for the rest of the section among the device ids.
                if id.value == "renderer" && matches!(def.kind, Kind::Str(_)) {
                    let path = format!("{section_path}.renderer");
                    renderer = self.renderer(def, &path, section).or(renderer);
                    continue;
                }
                if !self.netplan_name(&id, true) {
                    continue;
                }
                let link_path = format!("{section_path}.{}", id.value);
                if let Some(link) = self.v2_link(id, def, &link_path, section, renderer.as_deref())
                {
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
        renderer: Option<&str>,
    ) -> Option<Link> {
        let extra = match section {
            Section::Ethernets => ETHERNET_KEYS,
            Section::Bonds => BOND_KEYS,
            Section::Bridges => BRIDGE_KEYS,
            Section::Vlans => VLAN_KEYS,
        };
        let sriov_link = matches!(section, Section::Ethernets)
            .then_some(("link", "SR-IOV (`link` to a physical function)"));
        let unsupported: Vec<(&str, &str)> =
            UNSUPPORTED_KEYS.iter().copied().chain(sriov_link).collect();
        let known: Vec<&str> = COMMON_KEYS
            .iter()
            .chain(extra)
            .chain(QUIET_KEYS)
            .chain(IGNORED_KEYS)
            .copied()
            .chain(unsupported.iter().map(|(k, _)| *k))
            .collect();
        let f = self.map(node, path, &known)?;
        for key in IGNORED_KEYS {
            if let (Some(k), Some(_)) = (f.key(key), f.get(key)) {
                self.diags.push(
                    Diagnostic::warning(
                        Code::Approximation,
                        Some(k.span),
                        format!("`{key}` of `{}` has no ESXi equivalent and is ignored", clip(&id.value)),
                    )
                    .with_help("ESXi configures a VMkernel NIC with one MTU, plain DHCP and router advertisements, and always brings it up"),
                );
            }
        }
        for (key, what) in &unsupported {
            if let (Some(k), Some(_)) = (f.key(key), f.get(key)) {
                self.diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        Some(k.span),
                        format!("`{}`: {what} is not supported on ESXi", clip(&id.value)),
                    )
                    .with_help("ESXi networking is standard vSwitches over physical NICs, with static routes by gateway"),
                );
            }
        }
        let mut l = Link {
            id,
            span: node.span,
            path: path.to_string(),
            ..Link::default()
        };
        let network_manager = f
            .get("renderer")
            .and_then(|n| self.renderer(n, &f.child("renderer"), section))
            .as_deref()
            .or(renderer)
            == Some("NetworkManager");
        if let Some(m) = f.get("match")
            && let Some(mf) = self.map(m, &f.child("match"), &["macaddress", "name", "driver"])
        {
            if network_manager
                && f.get("set-name").is_none()
                && let Some(driver) = mf.key("driver")
            {
                self.network_manager_refuses(
                    &l.id.value,
                    driver,
                    "matching by driver without `set-name`",
                );
            }
            l.match_mac = mf
                .get("macaddress")
                .and_then(|n| self.string(n, &mf.child("macaddress")));
            if let Some(name) = mf
                .get("name")
                .and_then(|n| self.string(n, &mf.child("name")))
            {
                self.netplan_name(&name, false);
            }
        }
        // netplan does not check a `set-name` as it checks ids; on ESXi it names a port group, which
        // `normalize` checks.
        l.set_name = f
            .get("set-name")
            .and_then(|n| self.string(n, &f.child("set-name")));
        self.netplan_values(&f);
        l.macaddress = f
            .get("macaddress")
            .and_then(|n| self.string(n, &f.child("macaddress")))
            .filter(|m| !self.special_mac(&l.id.value, m, network_manager));
        l.mtu = f.get("mtu").and_then(|n| self.int(n, &f.child("mtu")));
        if let Some(n) = f.get("addresses") {
            let p = f.child("addresses");
            for (i, a) in self.list(n, &p).iter().enumerate() {
                // An address may carry options: `- 10.0.0.5/24: {label: ...}`.
                let address = match &a.kind {
                    Kind::Map(entries) if entries.len() == 1 => {
                        if network_manager {
                            self.network_manager_refuses(
                                &l.id.value,
                                &entries[0].0,
                                "address options",
                            );
                        }
                        self.address_options(&entries[0].1, &format!("{p}[{i}]"));
                        self.string(&entries[0].0, &format!("{p}[{i}]"))
                    }
                    _ => self.string(a, &format!("{p}[{i}]")),
                };
                l.addresses.extend(address);
            }
        }
        l.dhcp4 = f
            .get("dhcp4")
            .and_then(|n| self.netplan_boolean(n, &f.child("dhcp4")));
        l.dhcp6 = f
            .get("dhcp6")
            .and_then(|n| self.netplan_boolean(n, &f.child("dhcp6")));
        l.accept_ra = f
            .get("accept-ra")
            .and_then(|n| self.netplan_boolean(n, &f.child("accept-ra")));
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
                    for key in TUNING_KEYS {
                        if let Some(n) = rf.get(key) {
                            self.unsigned(n, &rf.child(key));
                        }
                    }
                    let tuning = [
                        "mtu",
                        "congestion-window",
                        "advertised-receive-window",
                        "advertised-mss",
                    ]
                    .iter()
                    .filter(|k| rf.get(k).is_some())
                    .filter_map(|k| rf.key(k))
                    .filter_map(|k| match &k.kind {
                        Kind::Str(s) => Some(Located::new(s.clone(), k.span)),
                        _ => None,
                    })
                    .collect();
                    l.routes.push(Route {
                        span: r.span,
                        path: rp,
                        to: rf.get("to").and_then(|n| self.string(n, &rf.child("to"))),
                        via: rf.get("via").and_then(|n| self.string(n, &rf.child("via"))),
                        metric: rf
                            .get("metric")
                            .and_then(|n| self.unsigned(n, &rf.child("metric"))),
                        kind: rf
                            .get("type")
                            .and_then(|n| self.string(n, &rf.child("type"))),
                        scope: rf
                            .get("scope")
                            .and_then(|n| self.string(n, &rf.child("scope"))),
                        table: rf
                            .get("table")
                            .and_then(|n| self.unsigned(n, &rf.child("table"))),
                        from: rf
                            .get("from")
                            .and_then(|n| self.string(n, &rf.child("from"))),
                        on_link: rf
                            .get("on-link")
                            .and_then(|n| self.netplan_boolean(n, &rf.child("on-link"))),
                        tuning,
                    });
                }
            }
        }
        if let Some(n) = f.get("nameservers")
            && let Some(nf) = self.map(n, &f.child("nameservers"), &["addresses", "search"])
        {
            l.nameservers = nf
                .get("addresses")
                .map(|n| self.strings(n, &nf.child("addresses")))
                .unwrap_or_default();
            l.search = nf
                .get("search")
                .map(|n| self.strings(n, &nf.child("search")))
                .unwrap_or_default();
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
        if let (Some(n), Some(rate)) = (f.get("lacp-rate"), &p.lacp_rate)
            && rate.value != "slow"
            && rate.value != "fast"
        {
            self.bad_value(n, &f.child("lacp-rate"), "`slow` or `fast`");
        }
        p.stp = f
            .get("stp")
            .and_then(|n| self.netplan_boolean(n, &f.child("stp")));
        p.forward_delay = f
            .get("forward-delay")
            .and_then(|n| self.int(n, &f.child("forward-delay")));
        // Per-port values: a mapping of interface → unsigned number (port priority at most 63).
        for (key, max) in [("path-cost", i128::MAX), ("port-priority", 63)] {
            let Some(n) = f.get(key) else { continue };
            let kp = f.child(key);
            if let Some(ports) = self.open_map(n, &kp) {
                for (port, value) in ports.entries() {
                    if let Some(port) = self.string(port, &kp) {
                        p.ports.push((key, port));
                    }
                    if let Some(v) = self.unsigned(value, &kp)
                        && v.value > max
                    {
                        self.bad_value(value, &kp, &format!("at most {max}"));
                    }
                }
            }
        }
        if let Some(n) = f.get("arp-ip-targets") {
            let kp = f.child("arp-ip-targets");
            for target in self.strings(n, &kp) {
                if target.value.parse::<std::net::Ipv4Addr>().is_err() {
                    self.diags.push(
                        Diagnostic::error(
                            Code::Address,
                            Some(target.span),
                            format!("ARP target `{}` is not an IPv4 address", target.value),
                        )
                        .with_help("bond ARP monitoring takes IPv4 addresses"),
                    );
                }
            }
        }
        for (key, _) in f.entries() {
            if let Kind::Str(k) = &key.kind
                && ignored.contains(&k.as_str())
            {
                p.ignored.push(Located::new(k.clone(), key.span));
            }
        }
        p
    }
}

impl Decoder<'_> {
    /// netplan's rule for interface ids and names: printable ASCII letters, digits and punctuation; an id
    /// may not be a glob (a `match: {name}` may).
    fn netplan_name(&mut self, name: &Located<String>, id: bool) -> bool {
        let printable = !name.value.is_empty()
            && name
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
        let glob = id && name.value.contains(['*', '[', ']', '?']);
        if printable && !glob {
            return true;
        }
        let (message, help) = if glob {
            (
                format!("interface id `{}` is a glob", name.value.escape_debug()),
                "a definition's id names one interface; match several with `match: {name: ...}`",
            )
        } else {
            (
                format!("invalid interface name `{}`", name.value.escape_debug()),
                "netplan takes ASCII letters, digits and punctuation in interface names (no spaces)",
            )
        };
        self.diags
            .push(Diagnostic::error(Code::Name, Some(name.span), message).with_help(help));
        false
    }

    /// Whether a `macaddress:` is one of netplan's policies instead of an address: `permanent` and
    /// `random` for every renderer, `preserve` and `stable` for NetworkManager's. `permanent` and `preserve`
    /// keep the NIC's own MAC, which is what ESXi does; a VMkernel NIC takes the NIC's MAC whatever the
    /// policy, so the others are ignored with a warning.
    fn special_mac(&mut self, id: &str, mac: &Located<String>, network_manager: bool) -> bool {
        let value = mac.value.as_str();
        let everywhere = value == "permanent" || value == "random";
        let manager_only = value == "preserve" || value == "stable";
        if !everywhere && !manager_only {
            return false;
        }
        if manager_only && !network_manager {
            self.diags.push(
                Diagnostic::error(
                    Code::Mac,
                    Some(mac.span),
                    format!("`macaddress: {value}` of `{}` is a NetworkManager policy", clip(id)),
                )
                .with_help("netplan refuses it under `renderer: networkd`; give a MAC address, `permanent` or `random`"),
            );
        } else if value == "random" || value == "stable" {
            self.diags.push(
                Diagnostic::warning(
                    Code::Approximation,
                    Some(mac.span),
                    format!("`macaddress: {value}` of `{}` is ignored", clip(id)),
                )
                .with_help(
                    "a VMkernel NIC takes its NIC's own MAC, on which MAAS keys the DHCP lease",
                ),
            );
        }
        true
    }

    /// A `renderer:` value, refused as netplan refuses an unknown one (a VLAN may also name `sriov`).
    fn renderer(&mut self, node: &Node, path: &str, section: Section) -> Option<String> {
        match &node.kind {
            Kind::Str(s)
                if s == "networkd"
                    || s == "NetworkManager"
                    || (s == "sriov" && matches!(section, Section::Vlans)) =>
            {
                Some(s.clone())
            }
            _ => {
                self.bad_value(node, path, "`networkd` or `NetworkManager`");
                None
            }
        }
    }

    /// What netplan's NetworkManager renderer refuses of a definition, though ESXi would not care: a
    /// document `netplan generate` refuses is refused here too.
    fn network_manager_refuses(&mut self, id: &str, at: &Node, what: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::Unsupported,
                Some(at.span),
                format!("`{}`: netplan's NetworkManager renderer does not support {what}", clip(id)),
            )
            .with_help("netplan refuses this document; leave the definition to `renderer: networkd`, or drop what NetworkManager cannot do"),
        );
    }

    fn bad_value(&mut self, node: &Node, path: &str, expected: &str) {
        let found = match &node.kind {
            Kind::Str(s) => format!("`{s}`"),
            other => other.describe().to_string(),
        };
        self.diags.push(
            Diagnostic::error(
                Code::Type,
                Some(node.span),
                format!("`{path}` must be {expected}, not {found}"),
            )
            .with_help(format!("netplan accepts only {expected} here")),
        );
    }

    /// An address's options (`lifetime`, `label`): nothing on ESXi, but checked as netplan does.
    fn address_options(&mut self, node: &Node, path: &str) {
        if let Some(f) = self.map(node, path, &["lifetime", "label"])
            && let Some(n) = f.get("lifetime")
            && !matches!(&n.kind, Kind::Int(0))
            && !matches!(&n.kind, Kind::Str(s) if s == "0" || s.eq_ignore_ascii_case("forever"))
        {
            self.bad_value(n, &f.child("lifetime"), "`0` or `forever`");
        }
    }

    /// Values netplan checks on keys that change nothing on ESXi: refused as netplan refuses them.
    fn netplan_values(&mut self, f: &Fields<'_>) {
        if let Some(n) = f.get("dhcp-identifier")
            && !matches!(&n.kind, Kind::Str(s) if s == "mac" || s == "duid")
        {
            self.bad_value(n, &f.child("dhcp-identifier"), "`mac` or `duid`");
        }
        if let Some(n) = f.get("activation-mode")
            && !matches!(&n.kind, Kind::Str(s) if s == "manual" || s == "off")
        {
            self.bad_value(n, &f.child("activation-mode"), "`manual` or `off`");
        }
        if let Some(n) = f.get("link-local") {
            let path = f.child("link-local");
            for item in self.list(n, &path) {
                if !matches!(&item.kind, Kind::Str(s) if s.eq_ignore_ascii_case("ipv4") || s.eq_ignore_ascii_case("ipv6"))
                {
                    self.bad_value(item, &path, "`ipv4` or `ipv6`");
                }
            }
        }
    }
}
