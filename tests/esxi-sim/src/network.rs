//! `esxcli network …`: NICs, standard vSwitches and their uplinks and teaming, port groups, VMkernel NICs
//! with IPv4 and IPv6, tags, routes and DNS, with the rules a real host enforces.
//!
//! Messages marked (verified) in the research notes are used word for word: "A portset with this name
//! already exists", "Uplink already exists: vmnic0", "No such uplink: vmnic2", "A portgroup with the name X
//! already exists", "A vmkernel nic for the connection point already exists", "Vmknic is already tagged with
//! X", "Sysinfo error: Not found". The others follow the same style and are the simulator's own wording.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::args::{Args, Kind, Opt};
use crate::host::{Failover, Host, Ipv4, Ipv6, PortGroup, Route, VSwitch, Vmk, generated_mac};
use crate::out::{Output, Record, Value};
use crate::tool::Command;

const MTU: Kind = Kind::Int {
    min: 1280,
    max: 9000,
};
const VLAN: Kind = Kind::Int { min: 0, max: 4095 };
const NOT_FOUND: &str = "Sysinfo error: Not found";
/// The VMkernel NIC tags esxcli accepts.
const TAGS: &[&str] = &[
    "Management",
    "VMotion",
    "faultToleranceLogging",
    "vSphereReplication",
    "vSphereReplicationNFC",
    "vSphereProvisioning",
    "VSAN",
    "VSANWitness",
    "vSphereBackupNFC",
    "PrecisionTimeProtocol",
    "NVMeTCP",
    "NVMeRDMA",
];

macro_rules! command {
    ($path:literal, $mutating:literal, [$($opt:expr),* $(,)?], $run:expr) => {
        Command { path: $path, opts: &const { [$($opt),*] }, mutating: $mutating, run: $run }
    };
}

pub fn commands() -> Vec<Command> {
    vec![
        command!("network nic list", false, [], nic_list),
        command!(
            "network vswitch standard add",
            true,
            [
                Opt::new('v', "vswitch-name", Kind::Str).required(),
                Opt::new('P', "ports", Kind::Int { min: 8, max: 4096 }),
            ],
            vswitch_add
        ),
        command!(
            "network vswitch standard remove",
            true,
            [Opt::new('v', "vswitch-name", Kind::Str).required()],
            vswitch_remove
        ),
        command!(
            "network vswitch standard set",
            true,
            [
                Opt::new('v', "vswitch-name", Kind::Str).required(),
                Opt::new('m', "mtu", MTU),
                Opt::new(
                    'c',
                    "cdp-status",
                    Kind::Choice(&["down", "listen", "advertise", "both"])
                ),
            ],
            vswitch_set
        ),
        command!(
            "network vswitch standard list",
            false,
            [Opt::new('v', "vswitch-name", Kind::Str)],
            vswitch_list
        ),
        command!(
            "network vswitch standard uplink add",
            true,
            [
                Opt::new('u', "uplink-name", Kind::Str).required(),
                Opt::new('v', "vswitch-name", Kind::Str).required(),
            ],
            uplink_add
        ),
        command!(
            "network vswitch standard uplink remove",
            true,
            [
                Opt::new('u', "uplink-name", Kind::Str).required(),
                Opt::new('v', "vswitch-name", Kind::Str).required(),
            ],
            uplink_remove
        ),
        command!(
            "network vswitch standard policy failover set",
            true,
            [
                Opt::new('v', "vswitch-name", Kind::Str).required(),
                Opt::new('a', "active-uplinks", Kind::Str),
                Opt::new('s', "standby-uplinks", Kind::Str),
                Opt::new(
                    'l',
                    "load-balancing",
                    Kind::Choice(&["portid", "iphash", "mac", "explicit"])
                ),
                Opt::new('f', "failure-detection", Kind::Choice(&["link", "beacon"])),
                Opt::new('n', "notify-switches", Kind::Bool),
                Opt::new('b', "failback", Kind::Bool),
            ],
            failover_set
        ),
        command!(
            "network vswitch standard policy failover get",
            false,
            [Opt::new('v', "vswitch-name", Kind::Str).required()],
            failover_get
        ),
        command!(
            "network vswitch standard portgroup add",
            true,
            [
                Opt::new('p', "portgroup-name", Kind::Str).required(),
                Opt::new('v', "vswitch-name", Kind::Str).required(),
            ],
            portgroup_add
        ),
        command!(
            "network vswitch standard portgroup remove",
            true,
            [
                Opt::new('p', "portgroup-name", Kind::Str).required(),
                Opt::new('v', "vswitch-name", Kind::Str).required(),
            ],
            portgroup_remove
        ),
        command!(
            "network vswitch standard portgroup set",
            true,
            [
                Opt::new('p', "portgroup-name", Kind::Str).required(),
                Opt::new('v', "vlan-id", VLAN),
            ],
            portgroup_set
        ),
        command!(
            "network vswitch standard portgroup list",
            false,
            [],
            portgroup_list
        ),
        command!(
            "network ip interface add",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str),
                Opt::new('p', "portgroup-name", Kind::Str),
                Opt::new('m', "mtu", MTU),
                Opt::new('M', "mac-address", Kind::Str),
                Opt::new('N', "netstack", Kind::Str),
                Opt::new('s', "dvs-name", Kind::Str),
                Opt::new('v', "dvport-id", Kind::Str),
            ],
            interface_add
        ),
        command!(
            "network ip interface remove",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str),
                Opt::new('p', "portgroup-name", Kind::Str),
                Opt::new('N', "netstack", Kind::Str),
                Opt::new('s', "dvs-name", Kind::Str),
                Opt::new('v', "dvport-id", Kind::Str),
            ],
            interface_remove
        ),
        command!(
            "network ip interface set",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('m', "mtu", MTU),
                Opt::new('e', "enabled", Kind::Bool),
            ],
            interface_set
        ),
        command!(
            "network ip interface list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            interface_list
        ),
        command!(
            "network ip interface ipv4 set",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('t', "type", Kind::Choice(&["dhcp", "static", "none"])).required(),
                Opt::new('I', "ipv4", Kind::Str),
                Opt::new('N', "netmask", Kind::Str),
                Opt::new('P', "peer-dns", Kind::Bool),
                Opt::new('g', "gateway", Kind::Str),
            ],
            ipv4_set
        ),
        command!(
            "network ip interface ipv4 get",
            false,
            [
                Opt::new('i', "interface-name", Kind::Str),
                Opt::new('N', "netstack", Kind::Str),
            ],
            ipv4_get
        ),
        command!(
            "network ip interface ipv4 address list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            ipv4_get
        ),
        command!(
            "network ip interface ipv6 set",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('e', "enable-ipv6", Kind::Bool),
                Opt::new('d', "enable-dhcpv6", Kind::Bool),
                Opt::new('r', "enable-router-adv", Kind::Bool),
                Opt::new('P', "peer-dns", Kind::Bool),
                Opt::new('g', "gateway", Kind::Str),
            ],
            ipv6_set
        ),
        command!(
            "network ip interface ipv6 get",
            false,
            [
                Opt::new('i', "interface-name", Kind::Str),
                Opt::new('N', "netstack", Kind::Str),
            ],
            ipv6_get
        ),
        command!(
            "network ip interface ipv6 address add",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('I', "ipv6", Kind::Str).required(),
            ],
            ipv6_address_add
        ),
        command!(
            "network ip interface ipv6 address remove",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('I', "ipv6", Kind::Str).required(),
            ],
            ipv6_address_remove
        ),
        command!(
            "network ip interface ipv6 address list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            ipv6_address_list
        ),
        command!(
            "network ip interface tag add",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('t', "tagname", Kind::Str).required(),
            ],
            tag_add
        ),
        command!(
            "network ip interface tag remove",
            true,
            [
                Opt::new('i', "interface-name", Kind::Str).required(),
                Opt::new('t', "tagname", Kind::Str).required(),
            ],
            tag_remove
        ),
        command!(
            "network ip interface tag get",
            false,
            [Opt::new('i', "interface-name", Kind::Str).required()],
            tag_get
        ),
        command!(
            "network ip route ipv4 add",
            true,
            [
                Opt::new('g', "gateway", Kind::Str).required(),
                Opt::new('n', "network", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            route4_add
        ),
        command!(
            "network ip route ipv4 remove",
            true,
            [
                Opt::new('g', "gateway", Kind::Str).required(),
                Opt::new('n', "network", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            route4_remove
        ),
        command!(
            "network ip route ipv4 list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            route4_list
        ),
        command!(
            "network ip route ipv6 add",
            true,
            [
                Opt::new('g', "gateway", Kind::Str).required(),
                Opt::new('n', "network", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            route6_add
        ),
        command!(
            "network ip route ipv6 remove",
            true,
            [
                Opt::new('g', "gateway", Kind::Str).required(),
                Opt::new('n', "network", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            route6_remove
        ),
        command!(
            "network ip route ipv6 list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            route6_list
        ),
        command!(
            "network ip dns server add",
            true,
            [
                Opt::new('s', "server", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            dns_server_add
        ),
        command!(
            "network ip dns server remove",
            true,
            [
                Opt::new('s', "server", Kind::Str),
                Opt::new('a', "all", Kind::Flag),
                Opt::new('N', "netstack", Kind::Str),
            ],
            dns_server_remove
        ),
        command!(
            "network ip dns server list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            dns_server_list
        ),
        command!(
            "network ip dns search add",
            true,
            [
                Opt::new('d', "domain", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            dns_search_add
        ),
        command!(
            "network ip dns search remove",
            true,
            [
                Opt::new('d', "domain", Kind::Str).required(),
                Opt::new('N', "netstack", Kind::Str),
            ],
            dns_search_remove
        ),
        command!(
            "network ip dns search list",
            false,
            [Opt::new('N', "netstack", Kind::Str)],
            dns_search_list
        ),
    ]
}

fn req<'a>(args: &'a Args, long: &str) -> &'a str {
    args.str(long).unwrap_or_default()
}

fn vswitch_mut<'a>(host: &'a mut Host, name: &str) -> Result<&'a mut VSwitch, String> {
    host.vswitches
        .iter_mut()
        .find(|v| v.name == name)
        .ok_or_else(|| NOT_FOUND.to_string())
}

fn vmk_index(host: &Host, name: &str) -> Result<usize, String> {
    host.vmks
        .iter()
        .position(|v| v.name == name)
        .ok_or_else(|| NOT_FOUND.to_string())
}

/// The vSwitch a port group is on.
fn vswitch_of<'a>(host: &'a Host, portgroup: &str) -> Option<&'a VSwitch> {
    let pg = host.portgroups.iter().find(|p| p.name == portgroup)?;
    host.vswitches.iter().find(|v| v.name == pg.vswitch)
}

fn nic_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        host.nics
            .iter()
            .map(|n| {
                Record::new("PhysicalNic")
                    .field("Name", Value::str(&n.name))
                    .field("PCI Device", Value::str(&n.pci))
                    .field("Driver", Value::str(&n.driver))
                    .field("Admin Status", Value::str("Up"))
                    .field(
                        "Link Status",
                        Value::str(if n.link_up { "Up" } else { "Down" }),
                    )
                    .field("Speed", Value::Int(if n.link_up { n.speed } else { 0 }))
                    .field(
                        "Duplex",
                        Value::str(if n.link_up { "Full" } else { "Half" }),
                    )
                    .field("MAC Address", Value::str(&n.mac))
                    .field("MTU", Value::Int(n.mtu))
                    .field("Description", Value::str(&n.description))
            })
            .collect(),
    ))
}

fn vswitch_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let name = req(args, "vswitch-name");
    if name.is_empty() || name.len() > 32 {
        return Err(format!(
            "Invalid vswitch name '{name}': a vswitch name is 1 to 32 characters"
        ));
    }
    if name.contains('/') {
        return Err(format!("Invalid vswitch name '{name}': '/' is not allowed"));
    }
    if host.vswitches.iter().any(|v| v.name == name) {
        return Err("A portset with this name already exists".into());
    }
    if host.vswitches.len() >= 127 {
        return Err("Unable to add vswitch: the host has the maximum of 127 vswitches".into());
    }
    host.vswitches.push(VSwitch {
        name: name.to_string(),
        mtu: 1500,
        cdp: "listen".into(),
        uplinks: vec![],
        failover: Failover {
            load_balancing: "srcport".into(),
            active: vec![],
            standby: vec![],
            failure_detection: "link".into(),
            notify_switches: true,
            failback: true,
        },
    });
    Ok(Output::Empty)
}

fn vswitch_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let name = req(args, "vswitch-name");
    vswitch_mut(host, name)?;
    if let Some(vmk) = host
        .vmks
        .iter()
        .find(|k| vswitch_of(host, &k.portgroup).is_some_and(|v| v.name == name))
    {
        return Err(format!(
            "Unable to remove vswitch {name}: port group '{}' is in use by {}",
            vmk.portgroup, vmk.name
        ));
    }
    host.portgroups.retain(|p| p.vswitch != name);
    host.vswitches.retain(|v| v.name != name);
    Ok(Output::Empty)
}

fn vswitch_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let name = req(args, "vswitch-name");
    if let Some(mtu) = args.int("mtu") {
        let vmks_over = host
            .vmks
            .iter()
            .find(|k| k.mtu > mtu && vswitch_of(host, &k.portgroup).is_some_and(|v| v.name == name))
            .map(|k| (k.name.clone(), k.mtu));
        if let Some((vmk, vmk_mtu)) = vmks_over {
            return Err(format!(
                "Unable to set MTU {mtu} on vswitch {name}: {vmk} has MTU {vmk_mtu}, above it"
            ));
        }
    }
    let vs = vswitch_mut(host, name)?;
    if let Some(mtu) = args.int("mtu") {
        vs.mtu = mtu;
    }
    if let Some(cdp) = args.str("cdp-status") {
        vs.cdp = cdp.to_string();
    }
    Ok(Output::Empty)
}

fn vswitch_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    let only = args.str("vswitch-name");
    if let Some(name) = only {
        vswitch_mut(host, name)?;
    }
    Ok(Output::Blocks(
        host.vswitches
            .iter()
            .filter(|v| only.is_none_or(|n| n == v.name))
            .map(|v| {
                let portgroups: Vec<String> = host
                    .portgroups
                    .iter()
                    .filter(|p| p.vswitch == v.name)
                    .map(|p| p.name.clone())
                    .collect();
                let vmks = host
                    .vmks
                    .iter()
                    .filter(|k| portgroups.contains(&k.portgroup))
                    .count() as i64;
                Record::new("VirtualSwitch")
                    .field("Name", Value::str(&v.name))
                    .field("Class", Value::str("cswitch"))
                    .field("Num Ports", Value::Int(6400))
                    .field("Used Ports", Value::Int(2 + v.uplinks.len() as i64 + vmks))
                    .field("Configured Ports", Value::Int(128))
                    .field("MTU", Value::Int(v.mtu))
                    .field("CDP Status", Value::str(&v.cdp))
                    .field(
                        "Beacon Enabled",
                        Value::Bool(v.failover.failure_detection == "beacon"),
                    )
                    .field("Beacon Interval", Value::Int(1))
                    .field("Beacon Threshold", Value::Int(3))
                    .field("Beacon Required By", Value::List(vec![]))
                    .field("Uplinks", Value::List(v.uplinks.clone()))
                    .field("Portgroups", Value::List(portgroups))
            })
            .collect(),
    ))
}

fn uplink_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let (uplink, name) = (req(args, "uplink-name"), req(args, "vswitch-name"));
    if !host.nics.iter().any(|n| n.name == uplink) {
        return Err(format!(
            "Invalid uplink name {uplink}: no such physical NIC"
        ));
    }
    if let Some(other) = host
        .vswitches
        .iter()
        .find(|v| v.name != name && v.uplinks.iter().any(|u| u == uplink))
    {
        return Err(format!(
            "Uplink {uplink} is already used by vswitch {}",
            other.name
        ));
    }
    let vs = vswitch_mut(host, name)?;
    if vs.uplinks.iter().any(|u| u == uplink) {
        return Err(format!("Uplink already exists: {uplink}"));
    }
    if vs.uplinks.len() >= 32 {
        return Err(format!(
            "Unable to add uplink {uplink}: vswitch {name} has the maximum of 32 uplinks"
        ));
    }
    vs.uplinks.push(uplink.to_string());
    vs.failover.active.push(uplink.to_string());
    Ok(Output::Empty)
}

fn uplink_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let (uplink, name) = (req(args, "uplink-name"), req(args, "vswitch-name"));
    let vs = vswitch_mut(host, name)?;
    if !vs.uplinks.iter().any(|u| u == uplink) {
        return Err(format!("No such uplink: {uplink}"));
    }
    vs.uplinks.retain(|u| u != uplink);
    vs.failover.active.retain(|u| u != uplink);
    vs.failover.standby.retain(|u| u != uplink);
    Ok(Output::Empty)
}

fn uplink_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn failover_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let name = req(args, "vswitch-name");
    let vs = vswitch_mut(host, name)?;
    let active = args.str("active-uplinks").map(uplink_list);
    let standby = args.str("standby-uplinks").map(uplink_list);
    for uplink in active.iter().chain(standby.iter()).flatten() {
        if !vs.uplinks.contains(uplink) {
            return Err(format!(
                "Uplink {uplink} is not an uplink of vswitch {name}"
            ));
        }
    }
    let mut policy = vs.failover.clone();
    if let Some(active) = active {
        policy.standby.retain(|u| !active.contains(u));
        policy.active = active;
    }
    if let Some(standby) = standby {
        policy.active.retain(|u| !standby.contains(u));
        policy.standby = standby;
    }
    if let Some(dup) = policy.active.iter().find(|u| policy.standby.contains(u)) {
        return Err(format!("Uplink {dup} cannot be both active and standby"));
    }
    for list in [&policy.active, &policy.standby] {
        if let Some(dup) = list
            .iter()
            .enumerate()
            .find(|(i, u)| list[..*i].contains(u))
        {
            return Err(format!("Uplink {} is listed twice", dup.1));
        }
    }
    if let Some(lb) = args.str("load-balancing") {
        policy.load_balancing = match lb {
            "portid" => "srcport",
            "mac" => "srcmac",
            other => other,
        }
        .to_string();
    }
    if let Some(fd) = args.str("failure-detection") {
        policy.failure_detection = fd.to_string();
    }
    if let Some(n) = args.bool("notify-switches") {
        policy.notify_switches = n;
    }
    if let Some(b) = args.bool("failback") {
        policy.failback = b;
    }
    if policy.load_balancing == "iphash" && !policy.standby.is_empty() {
        return Err(
            "Invalid teaming policy: IP hash load balancing cannot have standby uplinks".into(),
        );
    }
    if policy.load_balancing == "iphash" && policy.failure_detection == "beacon" {
        return Err(
            "Invalid teaming policy: IP hash load balancing cannot use beacon probing".into(),
        );
    }
    vs.failover = policy;
    Ok(Output::Empty)
}

fn failover_get(host: &mut Host, args: &Args) -> Result<Output, String> {
    let vs = vswitch_mut(host, req(args, "vswitch-name"))?;
    let p = &vs.failover;
    let unused: Vec<String> = vs
        .uplinks
        .iter()
        .filter(|u| !p.active.contains(u) && !p.standby.contains(u))
        .cloned()
        .collect();
    Ok(Output::Single(
        Record::new("TeamingPolicy")
            .field("Load Balancing", Value::str(&p.load_balancing))
            .field(
                "Network Failure Detection",
                Value::str(&p.failure_detection),
            )
            .field("Notify Switches", Value::Bool(p.notify_switches))
            .field("Failback", Value::Bool(p.failback))
            .field("Active Adapters", Value::List(p.active.clone()))
            .field("Standby Adapters", Value::List(p.standby.clone()))
            .field("Unused Adapters", Value::List(unused)),
    ))
}

fn portgroup_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let (name, vswitch) = (req(args, "portgroup-name"), req(args, "vswitch-name"));
    vswitch_mut(host, vswitch)?;
    if name.is_empty() {
        return Err("Invalid portgroup name: the name is empty".into());
    }
    if host.portgroups.iter().any(|p| p.name == name) {
        return Err(format!("A portgroup with the name {name} already exists"));
    }
    if host
        .portgroups
        .iter()
        .filter(|p| p.vswitch == vswitch)
        .count()
        >= 256
    {
        return Err(format!(
            "Unable to add portgroup {name}: vswitch {vswitch} has the maximum of 256 portgroups"
        ));
    }
    host.portgroups.push(PortGroup {
        name: name.to_string(),
        vswitch: vswitch.to_string(),
        vlan: 0,
    });
    Ok(Output::Empty)
}

fn portgroup_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let (name, vswitch) = (req(args, "portgroup-name"), req(args, "vswitch-name"));
    vswitch_mut(host, vswitch)?;
    if !host
        .portgroups
        .iter()
        .any(|p| p.name == name && p.vswitch == vswitch)
    {
        return Err(NOT_FOUND.into());
    }
    if let Some(vmk) = host.vmks.iter().find(|k| k.portgroup == name) {
        return Err(format!(
            "Unable to remove portgroup {name}: it is in use by {}",
            vmk.name
        ));
    }
    host.portgroups.retain(|p| p.name != name);
    Ok(Output::Empty)
}

fn portgroup_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let name = req(args, "portgroup-name");
    let pg = host
        .portgroups
        .iter_mut()
        .find(|p| p.name == name)
        .ok_or_else(|| NOT_FOUND.to_string())?;
    if let Some(vlan) = args.int("vlan-id") {
        pg.vlan = vlan;
    }
    Ok(Output::Empty)
}

fn portgroup_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        host.portgroups
            .iter()
            .map(|p| {
                Record::new("PortGroup")
                    .field("Name", Value::str(&p.name))
                    .field("Virtual Switch", Value::str(&p.vswitch))
                    .field(
                        "Active Clients",
                        Value::Int(
                            host.vmks.iter().filter(|k| k.portgroup == p.name).count() as i64
                        ),
                    )
                    .field("VLAN ID", Value::Int(p.vlan))
            })
            .collect(),
    ))
}

/// A MAC address in lower case, or why it is not one.
fn parse_mac(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("Invalid MAC address: {s}"))
    }
}

fn interface_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    if args.has("dvs-name") || args.has("dvport-id") {
        return Err("Unable to find the distributed virtual switch: this host has none".into());
    }
    if args
        .str("netstack")
        .is_some_and(|n| n != "defaultTcpipStack")
    {
        return Err(format!(
            "Netstack instance {} does not exist",
            req(args, "netstack")
        ));
    }
    let Some(pg) = args.str("portgroup-name") else {
        return Err("Either a portgroup name, or a DVS name and port id, must be given".into());
    };
    let name = match args.str("interface-name") {
        Some(n) => n.to_string(),
        None => (0..100)
            .map(|i| format!("vmk{i}"))
            .find(|n| !host.vmks.iter().any(|k| &k.name == n))
            .unwrap_or_default(),
    };
    let number = name.strip_prefix("vmk").and_then(|n| n.parse::<u32>().ok());
    if number.is_none_or(|n| n > 99)
        || name
            .strip_prefix("vmk")
            .is_some_and(|n| n.starts_with('0') && n.len() > 1)
    {
        return Err(format!(
            "Invalid interface name {name}: it must be vmkX where X is 0-99"
        ));
    }
    if host.vmks.iter().any(|k| k.name == name) {
        return Err(format!("Interface {name} already exists"));
    }
    let Some(vs) = vswitch_of(host, pg) else {
        return Err(format!("Invalid portgroup name {pg}: no such portgroup"));
    };
    if host.vmks.iter().any(|k| k.portgroup == pg) {
        return Err("A vmkernel nic for the connection point already exists".into());
    }
    let mtu = args.int("mtu").unwrap_or(1500);
    if mtu > vs.mtu {
        return Err(format!(
            "Unable to set MTU {mtu} on {name}: vswitch {} has MTU {}",
            vs.name, vs.mtu
        ));
    }
    // Without --mac-address the host makes up a MAC no other vmk has.
    let mac = match args.str("mac-address") {
        Some(m) => parse_mac(m)?,
        None => (host.vmks.len() + 1 + number.unwrap_or_default() as usize..)
            .map(generated_mac)
            .find(|m| !host.vmks.iter().any(|k| &k.mac == m))
            .unwrap_or_default(),
    };
    if let Some(other) = host.vmks.iter().find(|k| k.mac == mac) {
        return Err(format!(
            "MAC address {mac} is already in use by {}",
            other.name
        ));
    }
    host.vmks.push(Vmk {
        name,
        portgroup: pg.to_string(),
        mac,
        mtu,
        enabled: true,
        ipv4: Ipv4 {
            kind: "none".into(),
            address: String::new(),
            netmask: String::new(),
            gateway: String::new(),
            peer_dns: false,
        },
        ipv6: Ipv6::fresh(),
        tags: vec![],
    });
    Ok(Output::Empty)
}

fn interface_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = match (args.str("interface-name"), args.str("portgroup-name")) {
        (Some(name), _) => vmk_index(host, name)?,
        (None, Some(pg)) => host
            .vmks
            .iter()
            .position(|k| k.portgroup == pg)
            .ok_or_else(|| NOT_FOUND.to_string())?,
        (None, None) => {
            return Err("Either an interface name or a portgroup name must be given".into());
        }
    };
    host.vmks.remove(index);
    // Manual routes whose next hop was only reachable through this vmk go with it.
    let remaining = host.clone();
    host.routes
        .retain(|r| route_interface(&remaining, r.family, &r.gateway).is_some());
    Ok(Output::Empty)
}

fn interface_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    if let Some(mtu) = args.int("mtu") {
        let vmk = &host.vmks[index];
        if let Some(vs) = vswitch_of(host, &vmk.portgroup).filter(|vs| mtu > vs.mtu) {
            return Err(format!(
                "Unable to set MTU {mtu} on {}: vswitch {} has MTU {}",
                vmk.name, vs.name, vs.mtu
            ));
        }
        host.vmks[index].mtu = mtu;
    }
    if let Some(enabled) = args.bool("enabled") {
        host.vmks[index].enabled = enabled;
    }
    Ok(Output::Empty)
}

fn interface_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Blocks(
        host.vmks
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let portset = vswitch_of(host, &k.portgroup)
                    .map(|v| v.name.clone())
                    .unwrap_or_default();
                Record::new("VmkernelNic")
                    .field("Name", Value::str(&k.name))
                    .field("MAC Address", Value::str(&k.mac))
                    .field("Enabled", Value::Bool(k.enabled))
                    .field("Portset", Value::str(portset))
                    .field("Portgroup", Value::str(&k.portgroup))
                    .field("Netstack Instance", Value::str("defaultTcpipStack"))
                    .field("VDS Name", Value::str("N/A"))
                    .field("VDS UUID", Value::str("N/A"))
                    .field("VDS Port", Value::str("N/A"))
                    .field("VDS Connection", Value::Int(-1))
                    .field("Opaque Network ID", Value::str("N/A"))
                    .field("Opaque Network Type", Value::str("N/A"))
                    .field("External ID", Value::str("N/A"))
                    .field("MTU", Value::Int(k.mtu))
                    .field("TSO MSS", Value::Int(65535))
                    .field("RXDispQueue Size", Value::Int(1))
                    .field("Port ID", Value::Int(33554443 + i as i64))
            })
            .collect(),
    ))
}

fn parse_v4(s: &str, what: &str) -> Result<Ipv4Addr, String> {
    s.parse().map_err(|_| format!("Invalid {what} {s}"))
}

fn prefix_of(mask: Ipv4Addr) -> Option<u32> {
    let bits = u32::from(mask);
    (bits.leading_ones() + bits.trailing_zeros() == 32 || bits == 0).then(|| bits.leading_ones())
}

fn mask_of(prefix: u32) -> Ipv4Addr {
    Ipv4Addr::from(if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    })
}

/// A DHCP vmk's lease: an address from the simulated DHCP server, fixed per vmk.
fn lease(host: &Host, vmk: &Vmk) -> (String, String, String) {
    let base = host
        .dhcp
        .network
        .parse::<Ipv4Addr>()
        .map(u32::from)
        .unwrap_or_default();
    let index = host
        .vmks
        .iter()
        .position(|k| k.name == vmk.name)
        .unwrap_or_default() as u32;
    (
        Ipv4Addr::from(base + 100 + index).to_string(),
        host.dhcp.netmask.clone(),
        host.dhcp.gateway.clone(),
    )
}

fn ipv4_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    let kind = req(args, "type");
    let mut ipv4 = host.vmks[index].ipv4.clone();
    match kind {
        "static" => {
            let (Some(ip), Some(mask)) = (args.str("ipv4"), args.str("netmask")) else {
                return Err("Static IPv4 configuration needs both --ipv4 and --netmask".into());
            };
            let addr = parse_v4(ip, "IPv4 address")?;
            let netmask = parse_v4(mask, "netmask")?;
            if prefix_of(netmask).is_none_or(|p| p == 0) {
                return Err(format!("Invalid netmask {mask}"));
            }
            if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
                return Err(format!("Invalid IPv4 address {ip}"));
            }
            if let Some(other) = host.vmks.iter().find(|k| {
                k.name != host.vmks[index].name && k.ipv4.kind == "static" && k.ipv4.address == ip
            }) {
                return Err(format!(
                    "IPv4 address {ip} is already in use by {}",
                    other.name
                ));
            }
            ipv4.kind = "static".into();
            ipv4.address = addr.to_string();
            ipv4.netmask = netmask.to_string();
        }
        _ => {
            if args.has("ipv4") || args.has("netmask") {
                return Err(format!(
                    "--ipv4 and --netmask are only valid with --type=static, not {kind}"
                ));
            }
            ipv4.kind = kind.into();
            ipv4.address.clear();
            ipv4.netmask.clear();
        }
    }
    if let Some(gw) = args.str("gateway") {
        ipv4.gateway = parse_v4(gw, "gateway")?.to_string();
    }
    if let Some(peer) = args.bool("peer-dns") {
        ipv4.peer_dns = peer;
    }
    host.vmks[index].ipv4 = ipv4;
    Ok(Output::Empty)
}

fn ipv4_get(host: &mut Host, args: &Args) -> Result<Output, String> {
    let only = args.str("interface-name");
    if let Some(name) = only {
        vmk_index(host, name)?;
    }
    Ok(Output::Table(
        host.vmks
            .iter()
            .filter(|k| only.is_none_or(|n| n == k.name))
            .map(|k| {
                let (address, netmask, gateway, kind) = match k.ipv4.kind.as_str() {
                    "dhcp" => {
                        let (a, m, g) = lease(host, k);
                        (a, m, g, "DHCP")
                    }
                    "static" => (
                        k.ipv4.address.clone(),
                        k.ipv4.netmask.clone(),
                        k.ipv4.gateway.clone(),
                        "STATIC",
                    ),
                    _ => ("0.0.0.0".into(), "0.0.0.0".into(), String::new(), "NONE"),
                };
                let broadcast = match (address.parse::<Ipv4Addr>(), netmask.parse::<Ipv4Addr>()) {
                    (Ok(a), Ok(m)) if kind != "NONE" => {
                        Ipv4Addr::from(u32::from(a) | !u32::from(m)).to_string()
                    }
                    _ => "0.0.0.0".into(),
                };
                Record::new("IPv4Interface")
                    .field("Name", Value::str(&k.name))
                    .field("IPv4 Address", Value::str(address))
                    .field("IPv4 Netmask", Value::str(netmask))
                    .field("IPv4 Broadcast", Value::str(broadcast))
                    .field("Address Type", Value::str(kind))
                    .field(
                        "Gateway",
                        Value::str(if gateway.is_empty() {
                            "0.0.0.0".to_string()
                        } else {
                            gateway
                        }),
                    )
                    .field(
                        "DHCP DNS",
                        Value::Bool(k.ipv4.kind == "dhcp" && k.ipv4.peer_dns),
                    )
            })
            .collect(),
    ))
}

fn ipv6_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    let v6 = &mut host.vmks[index].ipv6;
    if let Some(e) = args.bool("enable-ipv6") {
        v6.enabled = e;
    }
    if let Some(d) = args.bool("enable-dhcpv6") {
        v6.dhcpv6 = d;
    }
    if let Some(r) = args.bool("enable-router-adv") {
        v6.router_adv = r;
    }
    if let Some(p) = args.bool("peer-dns") {
        v6.peer_dns = p;
    }
    if let Some(gw) = args.str("gateway") {
        let addr: Ipv6Addr = gw
            .parse()
            .map_err(|_| format!("Invalid IPv6 gateway {gw}"))?;
        v6.gateway = addr.to_string();
    }
    if !v6.enabled && (v6.dhcpv6 || v6.router_adv || !v6.addresses.is_empty()) {
        return Err("IPv6 is disabled on this interface: remove its addresses and turn off DHCPv6 and router advertisements first".into());
    }
    Ok(Output::Empty)
}

fn ipv6_get(host: &mut Host, args: &Args) -> Result<Output, String> {
    let only = args.str("interface-name");
    if let Some(name) = only {
        vmk_index(host, name)?;
    }
    Ok(Output::Table(
        host.vmks
            .iter()
            .filter(|k| only.is_none_or(|n| n == k.name))
            .map(|k| {
                Record::new("IPv6Interface")
                    .field("Name", Value::str(&k.name))
                    .field("IPv6 Enabled", Value::Bool(k.ipv6.enabled))
                    .field("DHCPv6 Enabled", Value::Bool(k.ipv6.dhcpv6))
                    .field("Router Adv Enabled", Value::Bool(k.ipv6.router_adv))
                    .field("DHCP DNS", Value::Bool(k.ipv6.peer_dns))
                    .field(
                        "Gateway",
                        Value::str(if k.ipv6.gateway.is_empty() {
                            "::"
                        } else {
                            &k.ipv6.gateway
                        }),
                    )
            })
            .collect(),
    ))
}

/// `addr[/prefix]`, the prefix defaulting to 64.
fn parse_v6_cidr(s: &str) -> Result<(Ipv6Addr, i64), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (
            a,
            p.parse::<i64>()
                .ok()
                .filter(|p| (1..=128).contains(p))
                .ok_or_else(|| format!("Invalid IPv6 prefix length in {s}"))?,
        ),
        None => (s, 64),
    };
    let addr: Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("Invalid IPv6 address {s}: X:X:X::/X format expected"))?;
    Ok((addr, prefix))
}

fn ipv6_address_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    let (addr, prefix) = parse_v6_cidr(req(args, "ipv6"))?;
    if addr.is_unspecified()
        || addr.is_multicast()
        || addr.is_loopback()
        || addr.is_unicast_link_local()
    {
        return Err(format!(
            "Invalid IPv6 address {addr}: not a global unicast address"
        ));
    }
    if !host.vmks[index].ipv6.enabled {
        return Err("IPv6 is disabled on this interface".into());
    }
    if host
        .vmks
        .iter()
        .flat_map(|k| &k.ipv6.addresses)
        .any(|(a, _)| a.parse::<Ipv6Addr>().is_ok_and(|a| a == addr))
    {
        return Err(format!("Address already exists: {addr}"));
    }
    host.vmks[index]
        .ipv6
        .addresses
        .push((addr.to_string(), prefix));
    Ok(Output::Empty)
}

fn ipv6_address_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    let (addr, _) = parse_v6_cidr(req(args, "ipv6"))?;
    let addresses = &mut host.vmks[index].ipv6.addresses;
    let before = addresses.len();
    addresses.retain(|(a, _)| a.parse::<Ipv6Addr>().is_ok_and(|a| a != addr));
    if addresses.len() == before {
        return Err(format!("Address not found: {addr}"));
    }
    Ok(Output::Empty)
}

/// The EUI-64 interface identifier of a MAC, as SLAAC and link-local addresses use it.
fn eui64(mac: &str) -> [u16; 4] {
    let b: Vec<u8> = mac
        .split(':')
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect();
    if b.len() != 6 {
        return [0, 0, 0, 1];
    }
    [
        u16::from_be_bytes([b[0] ^ 2, b[1]]),
        u16::from_be_bytes([b[2], 0xff]),
        u16::from_be_bytes([0xfe, b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
    ]
}

/// Every IPv6 address of a vmk with its prefix and type: link-local, static, and those the simulated
/// network's router (2001:db8:ffff::/64) and DHCPv6 server hand out.
fn ipv6_addresses(host: &Host, vmk: &Vmk) -> Vec<(String, i64, &'static str)> {
    if !vmk.ipv6.enabled {
        return vec![];
    }
    let id = eui64(&vmk.mac);
    let mut all = vec![(
        Ipv6Addr::new(0xfe80, 0, 0, 0, id[0], id[1], id[2], id[3]).to_string(),
        64,
        "STATIC",
    )];
    all.extend(
        vmk.ipv6
            .addresses
            .iter()
            .map(|(a, p)| (a.clone(), *p, "STATIC")),
    );
    if vmk.ipv6.router_adv {
        all.push((
            Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, id[0], id[1], id[2], id[3]).to_string(),
            64,
            "AUTOCONF",
        ));
    }
    if vmk.ipv6.dhcpv6 {
        let n = host
            .vmks
            .iter()
            .position(|k| k.name == vmk.name)
            .unwrap_or_default() as u16;
        all.push((
            Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 1, 0x100 + n).to_string(),
            128,
            "DHCP",
        ));
    }
    all
}

fn ipv6_address_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        host.vmks
            .iter()
            .flat_map(|k| {
                ipv6_addresses(host, k)
                    .into_iter()
                    .map(|(addr, prefix, kind)| {
                        Record::new("IPv6Address")
                            .field("Interface", Value::str(&k.name))
                            .field("Address", Value::str(addr))
                            .field("Netmask", Value::Int(prefix))
                            .field("Type", Value::str(kind))
                            .field("Status", Value::str("PREFERRED"))
                    })
            })
            .collect(),
    ))
}

fn tag_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    let tag = req(args, "tagname");
    if !TAGS.contains(&tag) {
        return Err(format!(
            "Invalid tag name {tag}: it must be one of [{}]",
            TAGS.join(", ")
        ));
    }
    let tags = &mut host.vmks[index].tags;
    if tags.iter().any(|t| t == tag) {
        return Err(format!("Vmknic is already tagged with {tag}"));
    }
    tags.push(tag.to_string());
    Ok(Output::Empty)
}

fn tag_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    let tag = req(args, "tagname");
    let tags = &mut host.vmks[index].tags;
    if !tags.iter().any(|t| t == tag) {
        return Err(format!("Vmknic is not tagged with {tag}"));
    }
    tags.retain(|t| t != tag);
    Ok(Output::Empty)
}

fn tag_get(host: &mut Host, args: &Args) -> Result<Output, String> {
    let index = vmk_index(host, req(args, "interface-name"))?;
    Ok(Output::Single(
        Record::new("InterfaceTags").field("Tags", Value::List(host.vmks[index].tags.clone())),
    ))
}

/// The vmk through which a gateway is reachable: the first whose subnet holds it.
fn route_interface(host: &Host, family: u8, gateway: &str) -> Option<String> {
    host.vmks.iter().find_map(|k| {
        let reaches = if family == 4 {
            let Ok(gw) = gateway.parse::<Ipv4Addr>() else {
                return None;
            };
            let (addr, mask) = match k.ipv4.kind.as_str() {
                "static" => (k.ipv4.address.clone(), k.ipv4.netmask.clone()),
                "dhcp" => {
                    let (a, m, _) = lease(host, k);
                    (a, m)
                }
                _ => return None,
            };
            let (Ok(a), Ok(m)) = (addr.parse::<Ipv4Addr>(), mask.parse::<Ipv4Addr>()) else {
                return None;
            };
            u32::from(a) & u32::from(m) == u32::from(gw) & u32::from(m)
        } else {
            let Ok(gw) = gateway.parse::<Ipv6Addr>() else {
                return None;
            };
            ipv6_addresses(host, k).iter().any(|(a, p, _)| {
                a.parse::<Ipv6Addr>().is_ok_and(|a| {
                    let p = *p as u32;
                    let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                    u128::from(a) & mask == u128::from(gw) & mask
                })
            })
        };
        reaches.then(|| k.name.clone())
    })
}

/// `default`, or `network/prefix` with the host bits clear.
fn parse_route_network(family: u8, s: &str) -> Result<(String, i64), String> {
    if s == "default" {
        return Ok(("default".into(), 0));
    }
    let invalid = || format!("Invalid network {s}: expected default or network/prefix");
    let (net, prefix) = s.split_once('/').ok_or_else(invalid)?;
    let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
    if family == 4 {
        let addr: Ipv4Addr = net.parse().map_err(|_| invalid())?;
        if prefix > 32 {
            return Err(invalid());
        }
        if prefix == 0 {
            return Ok(("default".into(), 0));
        }
        if u32::from(addr) & !u32::from(mask_of(prefix)) != 0 {
            return Err(format!("Invalid network {s}: host bits are set"));
        }
        Ok((addr.to_string(), i64::from(prefix)))
    } else {
        let addr: Ipv6Addr = net.parse().map_err(|_| invalid())?;
        if prefix > 128 {
            return Err(invalid());
        }
        if prefix == 0 {
            return Ok(("default".into(), 0));
        }
        if u128::from(addr) & !(u128::MAX << (128 - prefix)) != 0 {
            return Err(format!("Invalid network {s}: host bits are set"));
        }
        Ok((addr.to_string(), i64::from(prefix)))
    }
}

fn parse_gateway(family: u8, s: &str) -> Result<String, String> {
    let parsed = if family == 4 {
        s.parse::<Ipv4Addr>().map(|a| a.to_string()).ok()
    } else {
        s.parse::<Ipv6Addr>().map(|a| a.to_string()).ok()
    };
    parsed.ok_or_else(|| format!("Invalid gateway {s}"))
}

fn route_add(host: &mut Host, args: &Args, family: u8) -> Result<Output, String> {
    let (network, prefix) = parse_route_network(family, req(args, "network"))?;
    let gateway = parse_gateway(family, req(args, "gateway"))?;
    if host
        .routes
        .iter()
        .any(|r| r.family == family && r.network == network && r.prefix == prefix)
    {
        return Err(if network == "default" {
            "Unable to add route: a default route already exists".into()
        } else {
            format!("Unable to add route {network}/{prefix}: the route already exists")
        });
    }
    if route_interface(host, family, &gateway).is_none() {
        return Err(format!(
            "Unable to add route: gateway {gateway} is not reachable through any VMkernel NIC"
        ));
    }
    host.routes.push(Route {
        family,
        network,
        prefix,
        gateway,
    });
    Ok(Output::Empty)
}

fn route_remove(host: &mut Host, args: &Args, family: u8) -> Result<Output, String> {
    let (network, prefix) = parse_route_network(family, req(args, "network"))?;
    let gateway = parse_gateway(family, req(args, "gateway"))?;
    let wanted = Route {
        family,
        network,
        prefix,
        gateway,
    };
    let before = host.routes.len();
    host.routes.retain(|r| *r != wanted);
    if host.routes.len() == before {
        return Err(NOT_FOUND.into());
    }
    Ok(Output::Empty)
}

fn route4_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    route_add(host, args, 4)
}
fn route4_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    route_remove(host, args, 4)
}
fn route6_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    route_add(host, args, 6)
}
fn route6_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    route_remove(host, args, 6)
}

fn route4_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    let row =
        |network: String, netmask: String, gateway: String, interface: String, source: &str| {
            Record::new("RouteEntry")
                .field("Network", Value::str(network))
                .field("Netmask", Value::str(netmask))
                .field("Gateway", Value::str(gateway))
                .field("Interface", Value::str(interface))
                .field("Source", Value::str(source))
        };
    let mut rows = Vec::new();
    let manual_default = host
        .routes
        .iter()
        .find(|r| r.family == 4 && r.network == "default");
    if let Some(r) = manual_default {
        rows.push(row(
            "default".into(),
            "0.0.0.0".into(),
            r.gateway.clone(),
            route_interface(host, 4, &r.gateway).unwrap_or_default(),
            "MANUAL",
        ));
    } else if let Some(k) = host.vmks.iter().find(|k| k.ipv4.kind == "dhcp") {
        let (_, _, gw) = lease(host, k);
        rows.push(row(
            "default".into(),
            "0.0.0.0".into(),
            gw,
            k.name.clone(),
            "DHCP",
        ));
    }
    for k in &host.vmks {
        let (addr, mask, source) = match k.ipv4.kind.as_str() {
            "static" => (k.ipv4.address.clone(), k.ipv4.netmask.clone(), "MANUAL"),
            "dhcp" => {
                let (a, m, _) = lease(host, k);
                (a, m, "DHCP")
            }
            _ => continue,
        };
        let (Ok(a), Ok(m)) = (addr.parse::<Ipv4Addr>(), mask.parse::<Ipv4Addr>()) else {
            continue;
        };
        let net = Ipv4Addr::from(u32::from(a) & u32::from(m)).to_string();
        if !rows
            .iter()
            .any(|r: &Record| r.get("Network") == Some(&Value::str(&net)))
        {
            rows.push(row(net, mask, "0.0.0.0".into(), k.name.clone(), source));
        }
    }
    for r in host
        .routes
        .iter()
        .filter(|r| r.family == 4 && r.network != "default")
    {
        let mask = mask_of(r.prefix as u32).to_string();
        rows.push(row(
            r.network.clone(),
            mask,
            r.gateway.clone(),
            route_interface(host, 4, &r.gateway).unwrap_or_default(),
            "MANUAL",
        ));
    }
    Ok(Output::Table(rows))
}

fn route6_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    let row = |network: String, prefix: i64, gateway: String, interface: String, source: &str| {
        Record::new("RouteEntry")
            .field("Network", Value::str(network))
            .field("Netmask", Value::Int(prefix))
            .field("Gateway", Value::str(gateway))
            .field("Interface", Value::str(interface))
            .field("Source", Value::str(source))
    };
    let mut rows = Vec::new();
    for r in host.routes.iter().filter(|r| r.family == 6) {
        rows.push(row(
            r.network.clone(),
            r.prefix,
            r.gateway.clone(),
            route_interface(host, 6, &r.gateway).unwrap_or_default(),
            "MANUAL",
        ));
    }
    for k in &host.vmks {
        for (addr, prefix, kind) in ipv6_addresses(host, k) {
            let Ok(a) = addr.parse::<Ipv6Addr>() else {
                continue;
            };
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix as u32)
            };
            let net = Ipv6Addr::from(u128::from(a) & mask).to_string();
            let source = if kind == "STATIC" { "MANUAL" } else { "RA" };
            if !rows.iter().any(|r: &Record| {
                r.get("Network") == Some(&Value::str(&net))
                    && r.get("Interface") == Some(&Value::str(&k.name))
            }) {
                rows.push(row(net, prefix, "::".into(), k.name.clone(), source));
            }
        }
    }
    Ok(Output::Table(rows))
}

fn parse_ip(s: &str) -> Result<String, String> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        return Ok(a.to_string());
    }
    s.parse::<Ipv6Addr>()
        .map(|a| a.to_string())
        .map_err(|_| format!("Invalid IP address {s}"))
}

fn dns_server_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let server = parse_ip(req(args, "server"))?;
    if host.dns.servers.contains(&server) {
        return Err(format!(
            "Unable to add DNS server {server}: it is already configured"
        ));
    }
    host.dns.servers.push(server);
    Ok(Output::Empty)
}

fn dns_server_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    match (args.str("server"), args.flag("all")) {
        (Some(_), true) => Err("--server and --all cannot be used together".into()),
        (None, true) => {
            host.dns.servers.clear();
            Ok(Output::Empty)
        }
        (Some(s), false) => {
            let server = parse_ip(s)?;
            if !host.dns.servers.contains(&server) {
                return Err(format!(
                    "Unable to remove DNS server {server}: it is not configured"
                ));
            }
            host.dns.servers.retain(|x| *x != server);
            Ok(Output::Empty)
        }
        (None, false) => Err("Either --server or --all must be given".into()),
    }
}

fn dns_server_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Single(Record::new("DnsServers").field(
        "DNSServers",
        Value::List(host.dns.servers.clone()),
    )))
}

fn dns_search_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let domain = req(args, "domain");
    if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(format!("Invalid search domain '{domain}'"));
    }
    if host.dns.search.iter().any(|d| d == domain) {
        return Err(format!(
            "Unable to add search domain {domain}: it is already configured"
        ));
    }
    host.dns.search.push(domain.to_string());
    Ok(Output::Empty)
}

fn dns_search_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let domain = req(args, "domain");
    if !host.dns.search.iter().any(|d| d == domain) {
        return Err(format!(
            "Unable to remove search domain {domain}: it is not configured"
        ));
    }
    host.dns.search.retain(|d| d != domain);
    Ok(Output::Empty)
}

fn dns_search_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Single(Record::new("DnsSearchDomains").field(
        "DNSSearch Domains",
        Value::List(host.dns.search.clone()),
    )))
}
