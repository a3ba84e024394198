//! The simulated esxcli network commands: real grammar, real output shapes, real rules.

use esxi_sim::host::Profile;
use esxi_sim::storage::Storage;
use esxi_sim::{Fault, Sim, tool};

fn host() -> Sim {
    Sim::new(&Profile {
        major: 8,
        macs: vec![
            "a4:bf:01:4e:37:14".into(),
            "A4:BF:01:4E:37:15".into(),
            "a4:bf:01:4e:37:16".into(),
        ],
        storage: Storage::default(),
    })
}

/// Runs one esxcli command line (split on spaces; `~` stands for a space inside an argument).
fn esxcli(sim: &mut Sim, line: &str) -> tool::Outcome {
    let argv: Vec<String> = line.split(' ').map(|a| a.replace('~', " ")).collect();
    tool::run(sim, "esxcli", &argv, &mut std::io::empty())
}

fn ok(sim: &mut Sim, line: &str) -> String {
    let out = esxcli(sim, line);
    assert_eq!(out.status, 0, "{line}: {}", out.stderr);
    out.stdout
}

fn err(sim: &mut Sim, line: &str) -> String {
    let before = serde_json::to_string(&sim.host).expect("serializable");
    let out = esxcli(sim, line);
    assert_eq!(out.status, 1, "{line} should fail");
    assert_eq!(
        serde_json::to_string(&sim.host).expect("serializable"),
        before,
        "{line} changed the host"
    );
    out.stderr
}

#[test]
fn a_fresh_install_looks_like_the_installer_left_it() {
    let mut sim = host();
    assert_eq!(
        ok(&mut sim, "network vswitch standard portgroup list"),
        "\
Name                Virtual Switch  Active Clients  VLAN ID
------------------  --------------  --------------  -------
Management Network  vSwitch0                     1        0
VM Network          vSwitch0                     0        0
"
    );
    let vmks = ok(&mut sim, "--formatter=csv network ip interface list");
    assert!(
        vmks.contains(",a4:bf:01:4e:37:14,"),
        "vmk0 carries vmnic0's MAC: {vmks}"
    );
    assert!(ok(&mut sim, "network ip interface ipv4 get").contains("DHCP"));
    assert_eq!(
        ok(&mut sim, "network ip interface tag get -i vmk0"),
        "   Tags: Management\n"
    );
    let nics = ok(&mut sim, "network nic list");
    assert!(
        nics.contains("A4:BF:01:4E:37:15"),
        "the NIC reports its MAC as given: {nics}"
    );
    assert!(ok(&mut sim, "system version get").contains("   Version: 8.0.3\n"));
}

#[test]
fn short_letters_mean_what_each_command_says() {
    let mut sim = host();
    ok(&mut sim, "network vswitch standard add -v vSwitch1");
    ok(
        &mut sim,
        "network vswitch standard portgroup add -p storage -v vSwitch1",
    );
    ok(
        &mut sim,
        "network vswitch standard portgroup set -p storage -v 42",
    );
    assert!(
        ok(
            &mut sim,
            "--formatter=csv network vswitch standard portgroup list"
        )
        .contains("0,storage,42,vSwitch1,")
    );
    ok(
        &mut sim,
        "network vswitch standard set --vswitch-name vSwitch1 --mtu=9000",
    );
    assert!(ok(&mut sim, "network vswitch standard list -v vSwitch1").contains("   MTU: 9000\n"));
}

#[test]
fn csv_and_xml_carry_the_same_fields() {
    let mut sim = host();
    let csv = ok(&mut sim, "--formatter=csv network vswitch standard list");
    assert!(
        csv.starts_with("BeaconEnabled,BeaconInterval,BeaconRequiredBy,"),
        "{csv}"
    );
    assert!(
        csv.contains("\"Management Network,VM Network,\",\"vmnic0,\","),
        "{csv}"
    );
    let xml = ok(
        &mut sim,
        "--formatter=xml network vswitch standard policy failover get -v vSwitch0",
    );
    assert!(
        xml.contains("<field name=\"LoadBalancing\">\n         <string>srcport</string>"),
        "{xml}"
    );
    assert!(
        ok(&mut sim, "--formatter=keyvalue system hostname get")
            .contains("HostnameInfo.HostName.string=localhost")
    );
    assert!(
        err(&mut sim, "--formatter=json network nic list")
            .contains("Unable to find requested formatter: json")
    );
}

#[test]
fn the_host_refuses_what_a_real_one_refuses() {
    let mut sim = host();
    for (line, message) in [
        (
            "network vswitch standard add -v vSwitch0",
            "A portset with this name already exists",
        ),
        (
            "network vswitch standard add -v this-name-is-much-longer-than-32-chars",
            "1 to 32 characters",
        ),
        (
            "network vswitch standard uplink add -u vmnic0 -v vSwitch0",
            "Uplink already exists: vmnic0",
        ),
        (
            "network vswitch standard uplink remove -u vmnic2 -v vSwitch0",
            "No such uplink: vmnic2",
        ),
        (
            "network vswitch standard uplink add -u vmnic9 -v vSwitch0",
            "no such physical NIC",
        ),
        (
            "network vswitch standard portgroup add -p VM~Network -v vSwitch0",
            "A portgroup with the name VM Network already exists",
        ),
        (
            "network vswitch standard portgroup remove -p Management~Network -v vSwitch0",
            "in use by vmk0",
        ),
        (
            "network vswitch standard remove -v vSwitch0",
            "in use by vmk0",
        ),
        (
            "network vswitch standard portgroup set -p VM~Network --vlan-id=4096",
            "out of range",
        ),
        (
            "network vswitch standard portgroup set -p VM~Network --vlan-id=LT-3100",
            "Argument type mismatch. Expecting integer value. Got 'LT-3100'",
        ),
        (
            "network vswitch standard set -v vSwitch0 -m 9001",
            "out of range",
        ),
        (
            "network vswitch standard set -v vSwitch0 -m 1279",
            "out of range",
        ),
        (
            "network vswitch standard policy failover set -v vSwitch0 -a vmnic1",
            "not an uplink of vswitch vSwitch0",
        ),
        (
            "network vswitch standard policy failover set -v vSwitch0 -l roundrobin",
            "must be one of [portid, iphash, mac, explicit]",
        ),
        (
            "network ip interface add -i vmk1 -p Management~Network",
            "A vmkernel nic for the connection point already exists",
        ),
        (
            "network ip interface add -i vmk0 -p VM~Network",
            "Interface vmk0 already exists",
        ),
        (
            "network ip interface add -i vmk1 -p VM~Network -m 9000",
            "vswitch vSwitch0 has MTU 1500",
        ),
        (
            "network ip interface add -i vmk1 -p VM~Network -M a4:bf:01:4e:37:14",
            "already in use by vmk0",
        ),
        (
            "network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.5",
            "needs both --ipv4 and --netmask",
        ),
        (
            "network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.5 -N 255.0.255.0",
            "Invalid netmask",
        ),
        (
            "network ip interface ipv6 address add -i vmk0 -I fe80::1/64",
            "not a global unicast address",
        ),
        (
            "network ip interface tag add -i vmk0 -t Management",
            "Vmknic is already tagged with Management",
        ),
        (
            "network ip interface tag add -i vmk0 -t Backup",
            "Invalid tag name Backup",
        ),
        (
            "network ip interface remove -i vmk7",
            "Sysinfo error: Not found",
        ),
        (
            "network ip route ipv4 add -g 10.9.9.1 -n 10.1.0.0/16",
            "not reachable through any VMkernel NIC",
        ),
        (
            "network ip route ipv4 add -g 192.168.122.1 -n 10.1.0.1/16",
            "host bits are set",
        ),
        (
            "network ip dns server add -s 192.168.122.1",
            "already configured",
        ),
        (
            "network ip dns server remove",
            "Either --server or --all must be given",
        ),
        (
            "network vswitch standard list --bogus=1",
            "Invalid option --bogus",
        ),
        (
            "network vswitch standard add -v a -v b",
            "Duplicated option -v|--vswitch-name",
        ),
        (
            "network vswitch standard portgroup add -p x",
            "Missing required parameter -v|--vswitch-name",
        ),
        (
            "network vswitch frobnicate",
            "Unknown command or namespace network vswitch frobnicate",
        ),
        (
            "system hostname set --fqdn=esx1.maas --host=esx1",
            "--fqdn cannot be used with --host or --domain",
        ),
    ] {
        let stderr = err(&mut sim, line);
        assert!(
            stderr.starts_with("Error: ") && stderr.contains(message),
            "{line}: {stderr}"
        );
    }
}

#[test]
fn teaming_follows_the_uplinks() {
    let mut sim = host();
    ok(
        &mut sim,
        "network vswitch standard uplink add -u vmnic1 -v vSwitch0",
    );
    let policy = ok(
        &mut sim,
        "network vswitch standard policy failover get -v vSwitch0",
    );
    assert!(
        policy.contains("   Active Adapters: vmnic0, vmnic1\n"),
        "a new uplink is active: {policy}"
    );
    ok(
        &mut sim,
        "network vswitch standard policy failover set -v vSwitch0 -l explicit -a vmnic1 -s vmnic0",
    );
    let policy = ok(
        &mut sim,
        "network vswitch standard policy failover get -v vSwitch0",
    );
    assert!(
        policy.contains("   Load Balancing: explicit\n   "),
        "{policy}"
    );
    assert!(
        policy.contains("   Active Adapters: vmnic1\n   Standby Adapters: vmnic0\n"),
        "{policy}"
    );
    assert!(
        err(
            &mut sim,
            "network vswitch standard policy failover set -v vSwitch0 -l iphash"
        )
        .contains("cannot have standby uplinks")
    );
    ok(
        &mut sim,
        "network vswitch standard policy failover set -v vSwitch0 -l iphash -a vmnic0,vmnic1 --standby-uplinks=",
    );
    ok(
        &mut sim,
        "network vswitch standard uplink remove -u vmnic1 -v vSwitch0",
    );
    let policy = ok(
        &mut sim,
        "network vswitch standard policy failover get -v vSwitch0",
    );
    assert!(
        policy.contains("   Load Balancing: iphash\n")
            && policy.contains("   Active Adapters: vmnic0\n"),
        "{policy}"
    );
}

#[test]
fn addresses_routes_and_dns() {
    let mut sim = host();
    ok(
        &mut sim,
        "network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.5 -N 255.255.255.0",
    );
    ok(
        &mut sim,
        "network ip interface ipv6 address add -i vmk0 -I 2001:db8::5/64",
    );
    ok(
        &mut sim,
        "network ip route ipv4 add --gateway=10.0.0.1 --network=default",
    );
    ok(
        &mut sim,
        "network ip route ipv6 add --gateway=2001:db8::1 --network=default",
    );
    assert!(
        err(
            &mut sim,
            "network ip route ipv4 add --gateway=10.0.0.2 --network=default"
        )
        .contains("a default route already exists")
    );
    let routes = ok(&mut sim, "network ip route ipv4 list");
    assert!(
        routes.contains("default   0.0.0.0        10.0.0.1  vmk0       MANUAL\n"),
        "{routes}"
    );
    assert!(
        routes.contains("10.0.0.0  255.255.255.0  0.0.0.0   vmk0       MANUAL\n"),
        "{routes}"
    );
    let addrs = ok(
        &mut sim,
        "--formatter=csv network ip interface ipv6 address list",
    );
    assert!(
        addrs.contains("2001:db8::5,vmk0,64,PREFERRED,STATIC,"),
        "{addrs}"
    );
    assert!(
        addrs.contains("fe80::a6bf:1ff:fe4e:3714,vmk0,64,PREFERRED,STATIC,"),
        "the link-local address: {addrs}"
    );
    ok(&mut sim, "network ip dns server remove --all");
    ok(&mut sim, "network ip dns server add -s 10.0.0.2");
    ok(&mut sim, "network ip dns search add -d maas");
    assert_eq!(
        ok(&mut sim, "network ip dns server list"),
        "   DNSServers: 10.0.0.2\n"
    );
    assert_eq!(
        ok(&mut sim, "network ip dns search list"),
        "   DNSSearch Domains: maas\n"
    );
    ok(&mut sim, "network ip interface remove -i vmk0");
    assert!(
        !ok(&mut sim, "network ip route ipv4 list").contains("default"),
        "the route left with its vmk"
    );
}

#[test]
fn faults_fire_once_and_change_nothing() {
    let mut sim = host();
    sim.faults.push(Fault {
        matching: Some("esxcli network vswitch standard add".into()),
        message: "Sysinfo error: Busy".into(),
        ..Fault::default()
    });
    sim.faults.push(Fault {
        nth: Some(3),
        message: "third call".into(),
        ..Fault::default()
    });
    assert!(
        err(
            &mut sim,
            "--formatter=csv network vswitch standard add -v vSwitch1"
        )
        .contains("Sysinfo error: Busy")
    );
    ok(&mut sim, "network vswitch standard add -v vSwitch1");
    assert!(err(&mut sim, "network nic list").contains("third call"));
    ok(&mut sim, "network nic list");
    let stats = sim.stats();
    assert_eq!(
        (stats.calls, stats.mutating, stats.reads, stats.failures),
        (4, 2, 2, 2)
    );
    assert_eq!(sim.calls[0].kind, "esxcli network vswitch standard add");
}

#[test]
fn a_repeated_fault_keeps_failing() {
    let mut sim = host();
    sim.faults.push(Fault {
        matching: Some("--type=static".into()),
        message: "Sysinfo error: Busy".into(),
        repeat: true,
        ..Fault::default()
    });
    for _ in 0..3 {
        err(
            &mut sim,
            "network ip interface ipv4 set -i vmk0 --type=static -I 10.0.0.5 -N 255.255.255.0",
        );
    }
    ok(
        &mut sim,
        "network ip interface ipv4 set -i vmk0 --type=dhcp",
    );
    assert_eq!(sim.stats().failures, 3);
}

#[test]
fn csv_lists_and_quoted_names_come_out_as_esxcli_prints_them() {
    let mut sim = host();
    ok(
        &mut sim,
        "network vswitch standard portgroup add -p a,b~\"c\" -v vSwitch0",
    );
    let csv = ok(
        &mut sim,
        "--formatter=csv network vswitch standard portgroup list",
    );
    assert!(csv.contains("\n0,\"a,b \"\"c\"\"\",0,vSwitch0,\n"), "{csv}");
    let csv = ok(&mut sim, "--formatter=csv network vswitch standard list");
    assert!(
        csv.contains(",\"Management Network,VM Network,\"\"a,b \"\"\"\"c\"\"\"\"\"\",\","),
        "a list item with a comma is quoted one level deeper: {csv}"
    );
}
