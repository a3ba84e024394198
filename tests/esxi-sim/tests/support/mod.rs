//! What the end-to-end tests and the call-count reports share: fixtures translated by maas-esxi, fresh
//! simulated hosts carrying their NICs (and disks: `storage`), the day-2 pairs (`day2`), running a script
//! against a host, checking a host against the config, counting the changes a plan needs on a fresh host, and
//! running work on all cores.

#![allow(dead_code)]

pub mod day2;
pub mod storage;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use esxi_sim::host::{Host, Profile};
use esxi_sim::storage::Storage;
use esxi_sim::{Sim, Stats};
use maas_esxi::model::{BondMode, Link, LinkKind, Network};
use maas_esxi::plan::{Ipv4, Plan};
use maas_esxi::{Options, check, render};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One network fixture, translated.
pub struct Case {
    pub name: String,
    pub model: Network,
    pub plan: Plan,
    pub script: String,
    /// The disks of the host the fixture is meant for: those its storage section names, if it has one.
    pub disks: Vec<String>,
}

/// One fixture directory's files: name, text, plan and script, in file-name order.
pub fn translated(dir: &str) -> Vec<(String, String, Plan, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(dir))
        .unwrap_or_else(|e| panic!("fixtures/{dir}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8 name")
                .to_string();
            let source = std::fs::read_to_string(path).expect("readable fixture");
            let plan = check(&source, &Options::default())
                .plan
                .unwrap_or_else(|| panic!("{name} has no plan"));
            let script = render::script(&plan);
            (name, source, plan, script)
        })
        .collect()
}

/// Every valid network fixture, in file-name order.
pub fn cases() -> Vec<Case> {
    translated("network")
        .into_iter()
        .map(|(name, source, plan, script)| {
            let model =
                maas_esxi::model(&source).unwrap_or_else(|_| panic!("{name} does not normalize"));
            let disks = maas_esxi::storage_model(&source)
                .unwrap_or_else(|_| panic!("{name} does not normalize"))
                .map(|s| storage::disk_specs(&s, storage::Image::Small))
                .unwrap_or_default();
            Case {
                name,
                model,
                plan,
                script,
                disks,
            }
        })
        .collect()
}

/// The MACs of a config's physical NICs, in config order: the NIC inventory of the host it is meant for.
pub fn macs(model: &Network) -> Vec<String> {
    model
        .links
        .iter()
        .filter(|l| matches!(l.kind, LinkKind::Physical))
        .filter_map(|l| l.mac.as_ref().map(|m| m.value.as_str().to_string()))
        .collect()
}

/// A host as the ESXi 8 installer leaves it, with these NICs.
pub fn fresh(macs: &[String]) -> Sim {
    Sim::new(&Profile {
        major: 8,
        macs: macs.to_vec(),
        storage: Storage::default(),
    })
}

impl Case {
    /// A host as the ESXi 8 installer leaves it, with these NICs and the fixture's disks.
    pub fn fresh(&self, macs: &[String]) -> Sim {
        storage::host_with(macs, &self.disks)
    }

    /// The esxcli network calls that changed the host in a run (the storage part's are counted apart).
    pub fn network_changes(run: &Run) -> usize {
        run.sim
            .calls
            .iter()
            .filter(|c| c.mutating && c.kind.starts_with("esxcli network"))
            .count()
    }
}

/// What decides how the management vmk is built: fixtures of one shape fail in the same places.
pub fn shape(case: &Case) -> String {
    let Some(net) = &case.plan.network else {
        return String::new();
    };
    let Some(m) = &net.fallback else {
        return String::new();
    };
    let uplinks = net
        .vswitches
        .iter()
        .find(|v| v.name == m.vswitch)
        .map_or(0, |v| v.uplinks.len().min(2));
    let boot_first = m
        .uplink
        .is_some_and(|u| macs(&case.model).first() == Some(&net.nics[u].mac));
    let ipv4 = match m.ipv4 {
        Ipv4::None => "none",
        Ipv4::Dhcp => "dhcp",
        Ipv4::Static { .. } => "static",
    };
    format!(
        "uplinks={uplinks} vlan={} ipv4={ipv4} mac={} boot-first={boot_first} vmks={}",
        m.vlan != 0,
        m.mac.is_some(),
        net.vmks.len().min(2),
    )
}

/// One fixture of each shape, the first in file order.
pub fn representatives() -> Vec<Case> {
    let mut seen = Vec::new();
    cases()
        .into_iter()
        .filter(|c| {
            let s = shape(c);
            let new = !seen.contains(&s);
            seen.push(s);
            new
        })
        .collect()
}

/// Runs `f` on every item on all cores.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let size = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(size)
            .map(|chunk| s.spawn(|| chunk.iter().map(&f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("no panic in a worker"))
            .collect()
    })
}

/// What a script run did.
pub struct Run {
    pub sim: Sim,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub log: String,
    /// Signs of shell expansion of what the host printed or the config named: files the script created in
    /// its working directory, arguments that name the files there.
    pub expansions: Vec<String>,
}

impl Run {
    pub fn stats(&self) -> Stats {
        self.sim.stats()
    }

    /// The command lines of the calls that change the host.
    pub fn changes(&self) -> Vec<String> {
        self.sim
            .calls
            .iter()
            .filter(|c| c.mutating)
            .map(|c| c.args.join(" "))
            .collect()
    }
}

/// The command lines, tool first, of the calls `sim` recorded that `keep` keeps.
pub fn command_lines(sim: &Sim, keep: impl Fn(&esxi_sim::host::Call) -> bool) -> Vec<String> {
    sim.calls
        .iter()
        .filter(|c| keep(c))
        .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
        .collect()
}

/// The file every script run finds in its working directory: a glob the script expanded would name it.
const CANARY: &str = "glob-canary";

/// Runs `script` under busybox sh against `sim` through the esxi-sim binary, in a directory of its own that
/// holds files, so that a glob expanded by mistake shows.
pub fn run(sim: &Sim, script: &str, label: &str) -> Run {
    run_with(sim, script, label, &[])
}

/// `run`, with arguments for the script.
pub fn run_with(sim: &Sim, script: &str, label: &str, args: &[&str]) -> Run {
    let dir = std::env::temp_dir().join(format!("esxi-e2e-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (state, file, log) = (
        dir.join("host.json"),
        dir.join("firstboot.sh"),
        dir.join("maas-esxi.log"),
    );
    sim.save(&state).expect("state saved");
    std::fs::write(&file, script).expect("script written");
    std::fs::write(dir.join(CANARY), "").expect("canary written");
    let out = Command::new(env!("CARGO_BIN_EXE_esxi-sim"))
        .arg("run")
        .arg(&state)
        .arg(&file)
        .arg("--")
        .args(args)
        .current_dir(&dir)
        .env("MAAS_ESXI_LOG", &log)
        .output()
        .expect("esxi-sim runs");
    let sim = Sim::load(&state).expect("state readable");
    let mut expansions: Vec<String> = std::fs::read_dir(&dir)
        .expect("temp dir readable")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| ![CANARY, "host.json", "firstboot.sh", "maas-esxi.log"].contains(&n.as_str()))
        .map(|n| format!("the script created the file {n:?}"))
        .collect();
    expansions.extend(
        sim.calls
            .iter()
            .filter(|c| c.args.iter().any(|a| a.contains(CANARY)))
            .map(|c| format!("a glob was expanded: {}", c.args.join(" "))),
    );
    let run = Run {
        sim,
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        log: std::fs::read_to_string(&log).unwrap_or_default(),
        expansions,
    };
    let _ = std::fs::remove_dir_all(&dir);
    run
}

/// The host's network as JSON, uplinks and adapters named by MAC so hosts with NICs in another order compare.
pub fn network_view(host: &Host, by_mac: bool) -> serde_json::Value {
    let nic = |name: &String| -> String {
        if by_mac {
            host.nics
                .iter()
                .find(|n| &n.name == name)
                .map_or(name.clone(), |n| n.mac.to_ascii_lowercase())
        } else {
            name.clone()
        }
    };
    let nics = |names: &[String]| names.iter().map(nic).collect::<Vec<_>>();
    // A vSwitch's uplinks are a set; their failover order is in `active` and `standby`.
    let uplinks = |names: &[String]| {
        let mut all = nics(names);
        if by_mac {
            all.sort();
        }
        all
    };
    serde_json::json!({
        "vswitches": host.vswitches.iter().map(|v| serde_json::json!({
            "name": v.name, "mtu": v.mtu, "uplinks": uplinks(&v.uplinks),
            "load-balancing": v.failover.load_balancing, "active": nics(&v.failover.active), "standby": nics(&v.failover.standby),
        })).collect::<Vec<_>>(),
        "portgroups": host.portgroups.iter().map(|p| serde_json::json!({"name": p.name, "vswitch": p.vswitch, "vlan": p.vlan})).collect::<Vec<_>>(),
        "vmks": host.vmks.iter().map(|k| serde_json::json!({
            "name": k.name, "portgroup": k.portgroup, "mac": k.mac, "mtu": k.mtu,
            "ipv4": match k.ipv4.kind.as_str() { "static" => format!("static {}/{}", k.ipv4.address, k.ipv4.netmask), other => other.to_string() },
            "ipv6": { "dhcpv6": k.ipv6.dhcpv6, "router-adv": k.ipv6.router_adv,
                      "addresses": k.ipv6.addresses.iter().map(|(a, p)| format!("{a}/{p}")).collect::<Vec<_>>() },
            "tags": k.tags,
        })).collect::<Vec<_>>(),
        "routes": host.routes.iter().map(|r| format!("ipv{} {}/{} via {}", r.family, r.network, r.prefix, r.gateway)).collect::<Vec<_>>(),
        "dns": { "servers": host.dns.servers, "search": host.dns.search },
    })
}

/// Where the management vmk stands: MAAS reaches the host through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Management {
    /// On its planned port group, with its VLAN, its boot NIC and its link's MAC, and its planned address.
    Planned,
    /// On the management link's VLAN and boot NIC with the link's MAC, on DHCP instead of its planned
    /// address or port group: MAAS's DHCP server, which keys on the MAC, still gives it its address.
    Dhcp,
    /// Anything else: MAAS cannot reach the host there.
    Lost,
}

/// Judges `host`'s management vmk, `vmk0`, against the config's model: on a port group with the management
/// link's VLAN, on a vSwitch with one of the link's NICs as an active uplink, with the link's MAC; then on
/// the planned port group (the link's, or its alias whose address holds the default gateway) with the
/// planned address, or on DHCP. The reason comes with `Lost`.
pub fn management(model: &Network, host: &Host) -> (Management, String) {
    let lost = |why: String| (Management::Lost, why);
    let Some(link) = model.management_link() else {
        return lost("the config has no management link".into());
    };
    let name = link.name.value.as_str();
    // The link's IPv4 configurations, one vmk each: DHCP first, then the static addresses.
    let mut configs: Vec<Option<(Ipv4Addr, u8)>> = Vec::new();
    if link.dhcp4 {
        configs.push(None);
    }
    configs.extend(
        link.ipv4
            .iter()
            .map(|a| Some((a.value.addr, a.value.prefix))),
    );
    let via = match model.gateway4.as_ref().map(|g| g.via.value) {
        Some(IpAddr::V4(v)) => Some(v),
        _ => None,
    };
    let index = configs
        .iter()
        .position(|c| match (c, via) {
            (Some((a, p)), Some(v)) => maas_esxi::model::Ipv4Net {
                addr: *a,
                prefix: *p,
            }
            .contains(v),
            _ => false,
        })
        .unwrap_or(0);
    let portgroup = if index == 0 {
        name.to_string()
    } else {
        format!("{name}:{index}")
    };
    let Some(vmk) = host.vmks.iter().find(|k| k.name == "vmk0") else {
        return lost("there is no vmk0".into());
    };
    let Some(pg) = host.portgroups.iter().find(|p| p.name == vmk.portgroup) else {
        return lost(format!("vmk0's port group {:?} is missing", vmk.portgroup));
    };
    let vlan = match &link.kind {
        LinkKind::Vlan(v) => i64::from(v.id.value),
        _ => 0,
    };
    if pg.vlan != vlan {
        return lost(format!("port group VLAN {} instead of {vlan}", pg.vlan));
    }
    let mut nics = Vec::new();
    let root = root_of(model, link);
    leaves_of(model, root, &mut nics);
    let active_nic = host
        .vswitches
        .iter()
        .find(|v| v.name == pg.vswitch)
        .is_some_and(|vs| {
            vs.failover.active.iter().any(|u| {
                vs.uplinks.contains(u)
                    && host
                        .nics
                        .iter()
                        .any(|n| &n.name == u && nics.contains(&n.mac.to_ascii_lowercase()))
            })
        });
    if !active_nic {
        return lost(format!(
            "vSwitch {} has none of {nics:?} as an active uplink",
            pg.vswitch
        ));
    }
    if index == 0
        && let Some(mac) = &link.mac
        && vmk.mac != mac.value.as_str()
    {
        return lost(format!(
            "vmk0 has MAC {}, not the link's {}",
            vmk.mac,
            mac.value.as_str()
        ));
    }
    let planned = vmk.portgroup == portgroup
        && match configs.get(index) {
            Some(None) => vmk.ipv4.kind == "dhcp",
            Some(Some((a, p))) => {
                vmk.ipv4.kind == "static"
                    && vmk.ipv4.address == a.to_string()
                    && vmk.ipv4.netmask
                        == Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(*p)).unwrap_or(0))
                            .to_string()
            }
            // No IPv4: its IPv6 configuration.
            None => {
                let have: BTreeSet<String> = vmk
                    .ipv6
                    .addresses
                    .iter()
                    .map(|(a, p)| format!("{a}/{p}"))
                    .collect();
                let want: BTreeSet<String> = link
                    .ipv6
                    .iter()
                    .map(|a| format!("{}/{}", a.value.addr, a.value.prefix))
                    .collect();
                vmk.ipv6.enabled
                    && have == want
                    && vmk.ipv6.dhcpv6 == link.dhcp6
                    && vmk.ipv6.router_adv == link.accept_ra
            }
        };
    if planned {
        (Management::Planned, String::new())
    } else if vmk.ipv4.kind == "dhcp" {
        (Management::Dhcp, String::new())
    } else {
        lost(format!(
            "vmk0 is on {:?} (planned {portgroup:?}) with IPv4 {:?} {}",
            vmk.portgroup, vmk.ipv4.kind, vmk.ipv4.address
        ))
    }
}

fn find_link<'a>(model: &'a Network, name: &str) -> Option<&'a Link> {
    model.links.iter().find(|l| l.name.value == name)
}

/// The bond or bridge a link is a member of.
fn owner_of<'a>(model: &'a Network, name: &str) -> Option<&'a Link> {
    model.links.iter().find(|l| match &l.kind {
        LinkKind::Bond(b) => b.members.iter().any(|m| m.value == name),
        LinkKind::Bridge(b) => b.members.iter().any(|m| m.value == name),
        _ => false,
    })
}

/// The link whose vSwitch carries `l`: up through VLAN parents and bond or bridge owners.
fn root_of<'a>(model: &'a Network, mut l: &'a Link) -> &'a Link {
    for _ in 0..=model.links.len() {
        let next = match &l.kind {
            LinkKind::Vlan(v) => find_link(model, &v.parent.value),
            _ => owner_of(model, &l.name.value),
        };
        match next {
            Some(n) => l = n,
            None => break,
        }
    }
    l
}

/// The MACs of the physical NICs under `l`, in member order.
fn leaves_of(model: &Network, l: &Link, out: &mut Vec<String>) {
    let members = match &l.kind {
        LinkKind::Physical => {
            out.extend(l.mac.as_ref().map(|m| m.value.as_str().to_string()));
            return;
        }
        LinkKind::Bond(b) => &b.members,
        LinkKind::Bridge(b) => &b.members,
        LinkKind::Vlan(_) => return,
    };
    for m in members {
        if let Some(ml) = model.links.iter().find(|x| x.name.value == m.value) {
            leaves_of(model, ml, out);
        }
    }
}

/// Everything in which `host` differs from what the config asks for (DESIGN.md §4), worked out from the
/// config's model, not from the plan the script was made from.
pub fn check_host(model: &Network, host: &Host) -> Vec<String> {
    let mut problems = Vec::new();
    let link = |name: &str| find_link(model, name);
    let mac_of = |vmnic: &String| {
        host.nics.iter().find(|n| &n.name == vmnic).map_or_else(
            || format!("unknown {vmnic}"),
            |n| n.mac.to_ascii_lowercase(),
        )
    };
    let pg_of = |name: &str| host.portgroups.iter().find(|p| p.name == name);
    let vs_of = |name: &str| host.vswitches.iter().find(|v| v.name == name);

    for l in &model.links {
        let name = l.name.value.as_str();
        let r = root_of(model, l);
        let mut want_uplinks = Vec::new();
        leaves_of(model, r, &mut want_uplinks);
        let needs_pg = l.is_addressed() || matches!(l.kind, LinkKind::Vlan(_));
        let Some(pg) = pg_of(name) else {
            if needs_pg {
                problems.push(format!("{name}: no port group"));
            }
            continue;
        };
        let vlan = match &l.kind {
            LinkKind::Vlan(v) => i64::from(v.id.value),
            _ => 0,
        };
        if pg.vlan != vlan {
            problems.push(format!(
                "{name}: port group VLAN {} instead of {vlan}",
                pg.vlan
            ));
        }
        let Some(vs) = vs_of(&pg.vswitch) else {
            problems.push(format!(
                "{name}: port group on a missing vSwitch {}",
                pg.vswitch
            ));
            continue;
        };
        let got: BTreeSet<String> = vs.uplinks.iter().map(mac_of).collect();
        let want: BTreeSet<String> = want_uplinks.iter().cloned().collect();
        if got != want {
            problems.push(format!(
                "{name}: vSwitch {} uplinks {got:?} instead of {want:?}",
                vs.name
            ));
        }
        check_teaming(model, r, vs, &mac_of, &want_uplinks, &mut problems);
        let want_mtu = |l: &Link| i64::from(l.mtu.as_ref().map_or(1500, |m| m.value).min(9000));
        let link_mtu = match (&l.mtu, &l.kind) {
            (None, LinkKind::Vlan(v)) => link(&v.parent.value).map_or(1500, want_mtu),
            _ => want_mtu(l),
        };
        if vs.mtu < link_mtu {
            problems.push(format!(
                "{name}: vSwitch {} MTU {} below the link's {link_mtu}",
                vs.name, vs.mtu
            ));
        }
        if !l.is_addressed() {
            if let Some(k) = host.vmks.iter().find(|k| k.portgroup == name) {
                problems.push(format!(
                    "{name}: has {} though the link has no address",
                    k.name
                ));
            }
            continue;
        }
        // IPv4: DHCP first on the main vmk, then the static addresses; extra ones on `<link>:<n>`.
        let mut v4: Vec<Option<(Ipv4Addr, u8)>> = Vec::new();
        if l.dhcp4 {
            v4.push(None);
        }
        v4.extend(l.ipv4.iter().map(|a| Some((a.value.addr, a.value.prefix))));
        if v4.is_empty() {
            v4.push(Some((Ipv4Addr::UNSPECIFIED, 0)));
        }
        for (i, want) in v4.iter().enumerate() {
            let pg_name = if i == 0 {
                name.to_string()
            } else {
                format!("{name}:{i}")
            };
            let Some(k) = host.vmks.iter().find(|k| k.portgroup == pg_name) else {
                problems.push(format!("{pg_name}: no vmk"));
                continue;
            };
            if k.mtu != link_mtu {
                problems.push(format!("{}: MTU {} instead of {link_mtu}", k.name, k.mtu));
            }
            if i > 0 && pg_of(&pg_name).is_none_or(|p| p.vswitch != vs.name || p.vlan != vlan) {
                problems.push(format!("{pg_name}: alias port group not beside {name}"));
            }
            let got = match k.ipv4.kind.as_str() {
                "dhcp" => "dhcp".to_string(),
                "static" => format!("{}/{}", k.ipv4.address, k.ipv4.netmask),
                other => other.to_string(),
            };
            let expected = match want {
                None => "dhcp".to_string(),
                Some((a, _)) if a.is_unspecified() => "none".to_string(),
                Some((a, p)) => format!(
                    "{a}/{}",
                    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(*p)).unwrap_or(0))
                ),
            };
            if got != expected {
                problems.push(format!("{}: IPv4 {got} instead of {expected}", k.name));
            }
            if i == 0 {
                if let Some(mac) = &l.mac
                    && k.mac != mac.value.as_str()
                    && !host
                        .vmks
                        .iter()
                        .any(|o| o.name != k.name && o.mac == mac.value.as_str())
                {
                    problems.push(format!(
                        "{}: MAC {} instead of the link's {}",
                        k.name,
                        k.mac,
                        mac.value.as_str()
                    ));
                }
                let got6: BTreeSet<(Ipv6Addr, i64)> = k
                    .ipv6
                    .addresses
                    .iter()
                    .filter_map(|(a, p)| a.parse().ok().map(|a| (a, *p)))
                    .collect();
                let want6: BTreeSet<(Ipv6Addr, i64)> = l
                    .ipv6
                    .iter()
                    .map(|a| (a.value.addr, i64::from(a.value.prefix)))
                    .collect();
                if got6 != want6 {
                    problems.push(format!(
                        "{}: IPv6 addresses {got6:?} instead of {want6:?}",
                        k.name
                    ));
                }
                if k.ipv6.dhcpv6 != l.dhcp6 || k.ipv6.router_adv != l.accept_ra {
                    problems.push(format!(
                        "{}: DHCPv6 {} / router advertisements {} instead of {} / {}",
                        k.name, k.ipv6.dhcpv6, k.ipv6.router_adv, l.dhcp6, l.accept_ra
                    ));
                }
            }
        }
    }

    // Management: exactly one vmk, vmk0, on the gateway's subnet when there is an IPv4 gateway.
    let tagged: Vec<&str> = host
        .vmks
        .iter()
        .filter(|k| k.tags.iter().any(|t| t == "Management"))
        .map(|k| k.name.as_str())
        .collect();
    if tagged != ["vmk0"] {
        problems.push(format!(
            "Management tag on {tagged:?} instead of vmk0 alone"
        ));
    }
    if let (Some(gw), Some(vmk0)) = (&model.gateway4, host.vmks.iter().find(|k| k.name == "vmk0"))
        && let IpAddr::V4(via) = gw.via.value
    {
        let on_subnet = match (
            vmk0.ipv4.address.parse::<Ipv4Addr>(),
            vmk0.ipv4.netmask.parse::<Ipv4Addr>(),
        ) {
            (Ok(a), Ok(m)) => u32::from(a) & u32::from(m) == u32::from(via) & u32::from(m),
            _ => false,
        };
        let link_of_vmk0 = vmk0.portgroup.split(':').next().unwrap_or_default();
        if !on_subnet && gw.link.as_deref() != Some(link_of_vmk0) {
            problems.push(format!(
                "vmk0 ({}) is not where the IPv4 gateway {via} is",
                vmk0.portgroup
            ));
        }
    }
    if let Some(vmk0) = host.vmks.iter().find(|k| k.name == "vmk0") {
        let mgmt_vs = pg_of(&vmk0.portgroup).map(|p| p.vswitch.clone());
        match pg_of("VM Network") {
            Some(p) if Some(&p.vswitch) == mgmt_vs.as_ref() && p.vlan == 0 => {}
            other => problems.push(format!(
                "VM Network is {other:?}, not an untagged port group beside vmk0"
            )),
        }
        if host.vmks.iter().any(|k| k.portgroup == "VM Network") {
            problems.push("a vmk sits on VM Network".into());
        }
    }
    if pg_of("Management Network").is_some() && link("Management Network").is_none() {
        problems.push("the installer's Management Network port group is still there".into());
    }

    // Routes: one default per family where the config has a gateway, and the static routes; nothing else.
    let mut want_routes: BTreeSet<String> = BTreeSet::new();
    for gw in [&model.gateway4, &model.gateway6].into_iter().flatten() {
        let family = if gw.via.value.is_ipv4() { 4 } else { 6 };
        want_routes.insert(format!("ipv{family} default/0 via {}", gw.via.value));
    }
    for r in &model.routes {
        let (family, net, prefix) = match r.to.value {
            maas_esxi::model::IpNet::V4(n) => (4, n.network().to_string(), n.prefix),
            maas_esxi::model::IpNet::V6(n) => (6, n.network().to_string(), n.prefix),
        };
        if prefix == 0 {
            continue;
        }
        want_routes.insert(format!("ipv{family} {net}/{prefix} via {}", r.via.value));
    }
    let got_routes: BTreeSet<String> = host
        .routes
        .iter()
        .map(|r| {
            format!(
                "ipv{} {}/{} via {}",
                r.family, r.network, r.prefix, r.gateway
            )
        })
        .collect();
    if got_routes != want_routes {
        problems.push(format!("routes {got_routes:?} instead of {want_routes:?}"));
    }

    let want_dns: Vec<String> = model.dns.servers.iter().map(IpAddr::to_string).collect();
    if host.dns.servers != want_dns && !(want_dns.is_empty()) {
        problems.push(format!(
            "DNS servers {:?} instead of {want_dns:?}",
            host.dns.servers
        ));
    }
    if host.dns.search != model.dns.search && !model.dns.search.is_empty() {
        problems.push(format!(
            "DNS search {:?} instead of {:?}",
            host.dns.search, model.dns.search
        ));
    }
    problems
}

fn check_teaming(
    model: &Network,
    root: &Link,
    vs: &esxi_sim::host::VSwitch,
    mac_of: &dyn Fn(&String) -> String,
    leaves: &[String],
    problems: &mut Vec<String>,
) {
    let bond = match &root.kind {
        LinkKind::Bond(b) => Some((root, b)),
        LinkKind::Bridge(br) if br.members.len() == 1 => model
            .links
            .iter()
            .find(|l| l.name.value == br.members[0].value)
            .and_then(|l| match &l.kind {
                LinkKind::Bond(b) => Some((l, b)),
                _ => None,
            }),
        _ => None,
    };
    let active: Vec<String> = vs.failover.active.iter().map(mac_of).collect();
    let standby: Vec<String> = vs.failover.standby.iter().map(mac_of).collect();
    let all: BTreeSet<&String> = leaves.iter().collect();
    let (lb, want_active, want_standby): (&str, Vec<String>, Vec<String>) = match bond {
        Some((bond_link, b)) if b.mode.value == BondMode::ActiveBackup => {
            let primary_mac = b
                .primary
                .as_ref()
                .and_then(|p| model.links.iter().find(|l| l.name.value == p.value))
                .and_then(|l| l.mac.as_ref().map(|m| m.value.as_str().to_string()))
                .or_else(|| {
                    bond_link
                        .mac
                        .as_ref()
                        .map(|m| m.value.as_str().to_string())
                        .filter(|m| leaves.contains(m))
                })
                .or_else(|| leaves.first().cloned())
                .unwrap_or_default();
            let others = leaves
                .iter()
                .filter(|m| **m != primary_mac)
                .cloned()
                .collect();
            ("explicit", vec![primary_mac], others)
        }
        Some((_, b)) => {
            let lb = match b.mode.value {
                BondMode::Lacp => "iphash",
                BondMode::BalanceXor => match b.hash_policy.as_ref().map(|h| h.value.as_str()) {
                    None | Some("layer2") => "srcmac",
                    Some(_) => "iphash",
                },
                _ => "srcport",
            };
            (lb, leaves.to_vec(), vec![])
        }
        None => ("srcport", leaves.to_vec(), vec![]),
    };
    if vs.failover.load_balancing != lb {
        problems.push(format!(
            "{}: load balancing {} instead of {lb}",
            vs.name, vs.failover.load_balancing
        ));
    }
    let order_matters = lb == "explicit";
    let same = |got: &[String], want: &[String]| {
        if order_matters {
            got == want
        } else {
            got.iter().collect::<BTreeSet<_>>() == want.iter().collect::<BTreeSet<_>>()
        }
    };
    if !same(&active, &want_active) || !same(&standby, &want_standby) {
        problems.push(format!(
            "{}: active {active:?} standby {standby:?} instead of {want_active:?} / {want_standby:?} (uplinks {all:?})",
            vs.name
        ));
    }
}

/// The number of changes that take a fresh host to the plan: what a minimal script must do, counted from the
/// host's state and the plan alone.
pub fn required_changes(host: &Host, plan: &Plan) -> usize {
    let Some(plan) = &plan.network else {
        return 0;
    };
    let vmnic = |i: usize| {
        let mac = &plan.nics[i].mac;
        host.nics
            .iter()
            .find(|n| n.mac.eq_ignore_ascii_case(mac))
            .map(|n| n.name.clone())
    };
    let mut n = 0;
    let kept = |name: &str| {
        let want = plan.vmks.iter().find(|v| v.name == name);
        let have = host.vmks.iter().find(|k| k.name == name);
        match (want, have) {
            (Some(w), Some(h)) => {
                w.portgroup == h.portgroup
                    && w.mac
                        .as_ref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(&h.mac))
            }
            _ => false,
        }
    };
    let wanted_vs: BTreeSet<&str> = plan.vswitches.iter().map(|v| v.name.as_str()).collect();
    // Clean-up.
    n += host.vmks.iter().filter(|k| !kept(&k.name)).count();
    n += host
        .portgroups
        .iter()
        .filter(|p| wanted_vs.contains(p.vswitch.as_str()))
        .filter(|p| {
            !plan
                .portgroups
                .iter()
                .any(|w| w.name == p.name && w.vswitch == p.vswitch)
        })
        .count();
    n += host
        .vswitches
        .iter()
        .filter(|v| !wanted_vs.contains(v.name.as_str()))
        .count();
    for vs in &plan.vswitches {
        let want_up: Vec<String> = vs.uplinks.iter().filter_map(|&i| vmnic(i)).collect();
        let mut active = match host.vswitches.iter().find(|v| v.name == vs.name) {
            Some(have) => {
                n += usize::from(have.mtu != i64::from(vs.mtu));
                let stale: Vec<&String> = have
                    .uplinks
                    .iter()
                    .filter(|u| !want_up.contains(u))
                    .collect();
                n += stale.len();
                n += want_up.iter().filter(|u| !have.uplinks.contains(u)).count();
                let mut active: Vec<String> = have
                    .failover
                    .active
                    .iter()
                    .filter(|u| want_up.contains(u))
                    .cloned()
                    .collect();
                active.extend(
                    want_up
                        .iter()
                        .filter(|u| !have.uplinks.contains(u))
                        .cloned(),
                );
                active
            }
            None => {
                n += 1 + usize::from(vs.mtu != 1500) + want_up.len();
                want_up.clone()
            }
        };
        let want_active: Vec<String> = vs.teaming.active.iter().filter_map(|&i| vmnic(i)).collect();
        let want_standby: Vec<String> = vs
            .teaming
            .standby
            .iter()
            .filter_map(|&i| vmnic(i))
            .collect();
        if !want_active.is_empty() {
            active.retain(|u| !want_standby.contains(u));
            let lb_default = vs.teaming.load_balancing == "portid";
            if !lb_default || active != want_active || !want_standby.is_empty() {
                n += 1;
            }
        }
    }
    for pg in &plan.portgroups {
        match host
            .portgroups
            .iter()
            .find(|p| p.name == pg.name && p.vswitch == pg.vswitch)
        {
            Some(have) => n += usize::from(have.vlan != i64::from(pg.vlan)),
            None => n += 1 + usize::from(pg.vlan != 0),
        }
    }
    for vmk in &plan.vmks {
        let have = host
            .vmks
            .iter()
            .find(|k| k.name == vmk.name)
            .filter(|_| kept(&vmk.name));
        let (kind, addr, mask, d6, ra, addrs, tags) = match have {
            Some(h) => {
                n += usize::from(h.mtu != i64::from(vmk.mtu));
                (
                    h.ipv4.kind.clone(),
                    h.ipv4.address.clone(),
                    h.ipv4.netmask.clone(),
                    h.ipv6.dhcpv6,
                    h.ipv6.router_adv,
                    h.ipv6.addresses.clone(),
                    h.tags.clone(),
                )
            }
            None => {
                n += 1;
                (
                    "none".into(),
                    String::new(),
                    String::new(),
                    false,
                    false,
                    vec![],
                    vec![],
                )
            }
        };
        n += usize::from(match &vmk.ipv4 {
            Ipv4::None => kind != "none",
            Ipv4::Dhcp => kind != "dhcp",
            Ipv4::Static {
                address, netmask, ..
            } => kind != "static" || &addr != address || &mask != netmask,
        });
        n += usize::from(d6 != vmk.ipv6.dhcpv6 || ra != vmk.ipv6.router_adv);
        let want6: Vec<String> = vmk
            .ipv6
            .addresses
            .iter()
            .map(|a| format!("{}/{}", a.address, a.prefix))
            .collect();
        let have6: Vec<String> = addrs.iter().map(|(a, p)| format!("{a}/{p}")).collect();
        n += want6.iter().filter(|a| !have6.contains(a)).count()
            + have6.iter().filter(|a| !want6.contains(a)).count();
        let tagged = tags.iter().any(|t| t == "Management");
        n += usize::from(tagged != vmk.management);
    }
    n += plan.routes.len();
    if !plan.dns.servers.is_empty() {
        n += host
            .dns
            .servers
            .iter()
            .filter(|s| !plan.dns.servers.contains(s))
            .count();
        n += plan
            .dns
            .servers
            .iter()
            .filter(|s| !host.dns.servers.contains(s))
            .count();
    }
    if !plan.dns.search.is_empty() {
        n += host
            .dns
            .search
            .iter()
            .filter(|s| !plan.dns.search.contains(s))
            .count();
        n += plan
            .dns
            .search
            .iter()
            .filter(|s| !host.dns.search.contains(s))
            .count();
    }
    n
}

/// Runs `f` on every item on all cores, and joins what it returns.
pub fn par_flat_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Vec<R> + Sync) -> Vec<R> {
    par_map(items, f).into_iter().flatten().collect()
}

/// Fails the test with every problem listed, if there is any.
pub fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A failure to inject: the `nth` call, or the first call (every call, with `repeat`) that contains
/// `matching`.
pub fn injected(nth: Option<usize>, matching: Option<&str>, repeat: bool) -> esxi_sim::Fault {
    esxi_sim::Fault {
        nth,
        matching: matching.map(str::to_string),
        message: "Sysinfo error: Busy (injected fault)".into(),
        repeat,
        ..esxi_sim::Fault::default()
    }
}

/// How a run with an injected failure went: the kind of the command that failed first, where the
/// management vmk ended, and the problems: a fault that did not fire, a failure not reported (the script
/// must exit 1 and name it), a lost management vmk.
pub fn judge_failure(model: &Network, faulty: &Run) -> (String, Management, Vec<String>) {
    let kind = faulty
        .sim
        .calls
        .iter()
        .find(|c| !c.ok)
        .map(|c| c.kind.clone());
    let mut problems = Vec::new();
    if kind.is_none() {
        problems.push("the fault did not fire".to_string());
    }
    if faulty.status == 0 {
        problems.push("the script exited 0".to_string());
    }
    if !faulty.stderr.contains("FAILED:") || !faulty.stderr.contains("injected fault") {
        problems.push(format!("the failure is not reported:\n{}", faulty.stderr));
    }
    let (state, why) = management(model, &faulty.sim.host);
    if state == Management::Lost {
        problems.push(format!("the management vmk is lost: {why}"));
    }
    (
        kind.unwrap_or_else(|| "(no fault fired)".to_string()),
        state,
        problems,
    )
}
