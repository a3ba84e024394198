//! The simulated host's state, kept as JSON in one file between commands, and the profiles a test creates
//! hosts from: a fresh ESXi 7 or 8 install as its installer leaves it.

use serde::{Deserialize, Serialize};

use crate::storage::Storage;

/// Everything a simulated host remembers, plus the call log and pending faults.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sim {
    pub host: Host,
    pub calls: Vec<Call>,
    pub faults: Vec<Fault>,
}

/// One command run against the host.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Call {
    /// `esxcli`, `partedUtil`, `vmkfstools`, `vim-cmd`.
    pub tool: String,
    pub args: Vec<String>,
    /// The command's kind, e.g. `esxcli network vswitch standard add`, `partedUtil add`.
    pub kind: String,
    /// Whether the command is one that changes the host (whether or not it succeeded).
    pub mutating: bool,
    pub ok: bool,
}

/// A planned failure: the `nth` call (1-based, counting every call), or the first call whose command line
/// (the tool and its arguments without esxcli's formatter options) contains `matching`; with `repeat`, every
/// such call, as a host that keeps refusing.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Fault {
    pub nth: Option<usize>,
    pub matching: Option<String>,
    pub message: String,
    pub fired: bool,
    #[serde(default)]
    pub repeat: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Host {
    pub version: Version,
    pub hostname: Hostname,
    pub nics: Vec<Nic>,
    pub vswitches: Vec<VSwitch>,
    pub portgroups: Vec<PortGroup>,
    pub vmks: Vec<Vmk>,
    /// Routes added by hand; connected and DHCP routes are derived from the vmks.
    pub routes: Vec<Route>,
    pub dns: Dns,
    pub ntp: Ntp,
    pub firewall: Firewall,
    pub advanced: Vec<Advanced>,
    /// The DHCP server on the management network, which leases an address to DHCP vmks.
    pub dhcp: DhcpServer,
    pub storage: Storage,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Version {
    pub product: String,
    pub version: String,
    pub build: String,
    pub update: String,
    pub patch: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hostname {
    pub host: String,
    pub domain: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Nic {
    pub name: String,
    pub pci: String,
    pub driver: String,
    /// As the NIC reports it; a test may give it in upper case.
    pub mac: String,
    pub mtu: i64,
    pub link_up: bool,
    pub speed: i64,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VSwitch {
    pub name: String,
    pub mtu: i64,
    pub cdp: String,
    pub uplinks: Vec<String>,
    pub failover: Failover,
}

/// A vSwitch's teaming and failover policy, with load balancing as esxcli prints it
/// (`srcport`, `iphash`, `srcmac`, `explicit`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Failover {
    pub load_balancing: String,
    pub active: Vec<String>,
    pub standby: Vec<String>,
    pub failure_detection: String,
    pub notify_switches: bool,
    pub failback: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortGroup {
    pub name: String,
    pub vswitch: String,
    pub vlan: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vmk {
    pub name: String,
    pub portgroup: String,
    pub mac: String,
    pub mtu: i64,
    pub enabled: bool,
    pub ipv4: Ipv4,
    pub ipv6: Ipv6,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ipv4 {
    /// `dhcp`, `static` or `none`.
    pub kind: String,
    pub address: String,
    pub netmask: String,
    pub gateway: String,
    pub peer_dns: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ipv6 {
    pub enabled: bool,
    pub dhcpv6: bool,
    pub router_adv: bool,
    pub peer_dns: bool,
    pub gateway: String,
    /// Static addresses with their prefix length; the link-local address is derived from the MAC.
    pub addresses: Vec<(String, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// 4 or 6.
    pub family: u8,
    /// `default`, or the network address.
    pub network: String,
    pub prefix: i64,
    pub gateway: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Dns {
    pub servers: Vec<String>,
    pub search: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ntp {
    pub enabled: bool,
    pub servers: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Firewall {
    pub enabled: bool,
    pub default_action: String,
    pub rulesets: Vec<Ruleset>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ruleset {
    pub id: String,
    pub enabled: bool,
    /// Whether the ruleset applies to every remote address; otherwise to `allowed_ips` only.
    pub allowed_all: bool,
    /// Addresses and networks (`a.b.c.d/n`).
    pub allowed_ips: Vec<String>,
}

impl Firewall {
    /// Whether the host may open a TCP connection to `ip`:`port`: the firewall is off, or an enabled
    /// ruleset lets it out. Outbound TCP rules as ESXi's rulesets have them: httpClient 80 and 443,
    /// sshClient 22, and nfsClient every port, to the addresses in its list.
    pub fn allows_outbound_tcp(&self, ip: std::net::IpAddr, port: u16) -> bool {
        !self.enabled
            || self.rulesets.iter().any(|r| {
                let ports: &[u16] = match r.id.as_str() {
                    "httpClient" => &[80, 443],
                    "sshClient" => &[22],
                    "nfsClient" => &[port],
                    _ => &[],
                };
                r.enabled
                    && ports.contains(&port)
                    && (r.allowed_all || r.allowed_ips.iter().any(|a| covers(a, ip)))
            })
    }
}

/// Whether the address or network `allowed` (`a.b.c.d`, `a.b.c.d/n`, IPv6 alike) holds `ip`.
fn covers(allowed: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let (addr, prefix) = allowed.split_once('/').unwrap_or((allowed, ""));
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return false;
    };
    let bits = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    let ((a, width), (b, other)) = (bits(addr), bits(ip));
    if width != other {
        return false;
    }
    let prefix: u32 = prefix.parse().unwrap_or(width);
    let mask = u128::MAX.checked_shl(128 - prefix.min(width)).unwrap_or(0);
    a & mask == b & mask
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Advanced {
    pub path: String,
    /// `integer` or `string`.
    pub kind: String,
    pub int_value: i64,
    pub default_int: i64,
    pub string_value: String,
    pub default_string: String,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DhcpServer {
    pub network: String,
    pub netmask: String,
    pub gateway: String,
    pub dns: String,
}

/// What a fresh host is made from.
#[derive(Clone, Debug)]
pub struct Profile {
    /// 7 or 8.
    pub major: u8,
    /// The MACs of the physical NICs, vmnic0 first.
    pub macs: Vec<String>,
    pub storage: Storage,
}

impl Host {
    /// A host as the ESXi installer leaves it: `vSwitch0` with vmnic0 as uplink, `Management Network` with
    /// vmk0 on DHCP carrying vmnic0's MAC and tagged Management, and `VM Network`.
    pub fn fresh(profile: &Profile) -> Host {
        let (version, build, update) = match profile.major {
            7 => ("7.0.3", "Releasebuild-21930508", "3"),
            _ => ("8.0.3", "Releasebuild-24022510", "3"),
        };
        let nics: Vec<Nic> = profile
            .macs
            .iter()
            .enumerate()
            .map(|(i, mac)| Nic {
                name: format!("vmnic{i}"),
                pci: format!("0000:{:02x}:00.0", 3 + i),
                driver: "nvmxnet3".into(),
                mac: mac.clone(),
                mtu: 1500,
                link_up: true,
                speed: 10000,
                description: "VMware Inc. vmxnet3 Virtual Ethernet Controller".into(),
            })
            .collect();
        let uplinks: Vec<String> = nics.first().map(|n| n.name.clone()).into_iter().collect();
        let vmk0_mac = nics
            .first()
            .map_or_else(|| generated_mac(0), |n| n.mac.to_ascii_lowercase());
        Host {
            version: Version {
                product: "VMware ESXi".into(),
                version: version.into(),
                build: build.into(),
                update: update.into(),
                patch: "0".into(),
            },
            hostname: Hostname {
                host: "localhost".into(),
                domain: String::new(),
            },
            vswitches: vec![VSwitch {
                name: "vSwitch0".into(),
                mtu: 1500,
                cdp: "listen".into(),
                uplinks: uplinks.clone(),
                failover: Failover {
                    load_balancing: "srcport".into(),
                    active: uplinks,
                    standby: vec![],
                    failure_detection: "link".into(),
                    notify_switches: true,
                    failback: true,
                },
            }],
            portgroups: vec![
                PortGroup {
                    name: "Management Network".into(),
                    vswitch: "vSwitch0".into(),
                    vlan: 0,
                },
                PortGroup {
                    name: "VM Network".into(),
                    vswitch: "vSwitch0".into(),
                    vlan: 0,
                },
            ],
            vmks: vec![Vmk {
                name: "vmk0".into(),
                portgroup: "Management Network".into(),
                mac: vmk0_mac,
                mtu: 1500,
                enabled: true,
                ipv4: Ipv4 {
                    kind: "dhcp".into(),
                    address: String::new(),
                    netmask: String::new(),
                    gateway: String::new(),
                    peer_dns: true,
                },
                ipv6: Ipv6::fresh(),
                tags: vec!["Management".into()],
            }],
            nics,
            routes: vec![],
            // What the installer's DHCP lease wrote to the resolver.
            dns: Dns {
                servers: vec!["192.168.122.1".into()],
                search: vec![],
            },
            ntp: Ntp::default(),
            firewall: Firewall {
                enabled: true,
                default_action: "DROP".into(),
                rulesets: [
                    "sshServer",
                    "sshClient",
                    "httpClient",
                    "nfsClient",
                    "ntpClient",
                    "dhcp",
                    "dns",
                    "webAccess",
                ]
                .iter()
                .map(|id| Ruleset {
                    id: (*id).into(),
                    enabled: matches!(*id, "sshServer" | "dhcp" | "dns" | "webAccess"),
                    allowed_all: true,
                    allowed_ips: vec![],
                })
                .collect(),
            },
            advanced: default_advanced(),
            dhcp: DhcpServer {
                network: "192.168.122.0".into(),
                netmask: "255.255.255.0".into(),
                gateway: "192.168.122.1".into(),
                dns: "192.168.122.1".into(),
            },
            storage: profile.storage.clone(),
        }
    }
}

impl Ipv6 {
    /// A new vmk's IPv6 settings: IPv6 on, DHCPv6 and router advertisements off until set.
    pub fn fresh() -> Ipv6 {
        Ipv6 {
            enabled: true,
            dhcpv6: false,
            router_adv: false,
            peer_dns: false,
            gateway: String::new(),
            addresses: vec![],
        }
    }
}

/// The MAC ESXi gives a vmk created without `--mac-address`: VMware's 00:50:56 prefix.
pub fn generated_mac(seed: usize) -> String {
    format!(
        "00:50:56:6{}:{:02x}:{:02x}",
        (seed / 256) % 10,
        (seed * 37 + 11) % 256,
        seed % 256
    )
}

fn default_advanced() -> Vec<Advanced> {
    let int = |path: &str, value: i64, description: &str| Advanced {
        path: path.into(),
        kind: "integer".into(),
        int_value: value,
        default_int: value,
        string_value: String::new(),
        default_string: String::new(),
        description: description.into(),
    };
    let string = |path: &str, value: &str, description: &str| Advanced {
        path: path.into(),
        kind: "string".into(),
        int_value: 0,
        default_int: 0,
        string_value: value.into(),
        default_string: value.into(),
        description: description.into(),
    };
    vec![
        int(
            "/Net/FollowHardwareMac",
            0,
            "If set to 1, the management interface MAC address will update whenever the hardware MAC address changes.",
        ),
        int("/Net/TcpipDefLROEnabled", 1, "LRO enabled for TCP/IP"),
        int(
            "/UserVars/SuppressShellWarning",
            0,
            "Do not show warning for enabled local and remote shell access",
        ),
        int(
            "/UserVars/HostClientCEIPOptIn",
            0,
            "Whether or not to opt-in for CEIP",
        ),
        string(
            "/UserVars/ESXiShellTimeOut",
            "0",
            "Time before automatically disabling local and remote shell access (in seconds, 0 disables).",
        ),
        string("/Misc/HostName", "localhost", "Host name"),
    ]
}
