//! The network half of the plan: the ESXi objects the first-boot script makes the host match.

use serde::Serialize;

/// vSwitches, port groups, VMkernel NICs, routes and DNS, in the order the script applies them.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Network {
    /// Physical NICs the plan uses, found on the host by MAC at run time.
    pub nics: Vec<Nic>,
    pub vswitches: Vec<VSwitch>,
    pub portgroups: Vec<PortGroup>,
    /// VMkernel NICs; the management one is first and is `vmk0`.
    pub vmks: Vec<Vmk>,
    pub routes: Vec<Route>,
    pub dns: Dns,
    /// The management vmk's path to MAAS, which the script checks last and rebuilds when a command failed.
    pub fallback: Option<Fallback>,
}

/// The management vmk in its simplest working form: on its vSwitch with the boot NIC (the first active
/// uplink), on its port group with its VLAN, with its MAC, and its planned IPv4 configuration, else DHCP.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Fallback {
    pub vmk: String,
    pub portgroup: String,
    pub vswitch: String,
    /// Index into `nics`.
    pub uplink: Option<usize>,
    pub mac: Option<String>,
    /// The port group's VLAN id; 0 means untagged.
    pub vlan: u16,
    pub vswitch_mtu: u32,
    pub mtu: u32,
    pub ipv4: Ipv4,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Nic {
    pub mac: String,
    pub link: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VSwitch {
    pub name: String,
    /// The link (NIC, bond or bridge) this vSwitch stands for.
    pub link: String,
    pub mtu: u32,
    /// Indexes into `nics`, in failover order.
    pub uplinks: Vec<usize>,
    pub teaming: Teaming,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Teaming {
    /// `portid`, `iphash`, `mac` or `explicit`.
    pub load_balancing: &'static str,
    pub active: Vec<usize>,
    pub standby: Vec<usize>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PortGroup {
    pub name: String,
    pub vswitch: String,
    /// 0 means untagged.
    pub vlan: u16,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Vmk {
    pub name: String,
    pub portgroup: String,
    pub link: String,
    pub mac: Option<String>,
    pub mtu: u32,
    pub ipv4: Ipv4,
    pub ipv6: Ipv6,
    /// Tagged `Management`.
    pub management: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Ipv4 {
    None,
    Dhcp,
    Static {
        address: String,
        netmask: String,
        prefix: u8,
    },
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Ipv6 {
    pub dhcpv6: bool,
    pub router_adv: bool,
    /// `address/prefix`, in canonical text form.
    pub addresses: Vec<Ipv6Address>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Ipv6Address {
    pub address: String,
    pub prefix: u8,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Route {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// `default`, or the network address.
    pub network: String,
    /// Dotted netmask (IPv4) or prefix length (IPv6), as esxcli lists it; empty for `default`.
    pub netmask: String,
    /// `network/prefix` or `default`, as esxcli takes it.
    pub destination: String,
    pub gateway: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Dns {
    pub servers: Vec<String>,
    pub search: Vec<String>,
}
