//! Every string survives the template's shell quoting: run through a POSIX shell, it comes back byte for byte.

use std::process::Command;

use maas_esxi::plan::{
    Dns, Fallback, Ipv4, Ipv6, Network, Nic, Plan, PortGroup, Teaming, VSwitch, Vmk,
};
use maas_esxi::render::{script, shell_quote};
use proptest::prelude::*;

fn shell() -> &'static str {
    if Command::new("busybox")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
    {
        "busybox"
    } else {
        "sh"
    }
}

fn run_sh(program: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(shell());
    if shell() == "busybox" {
        cmd.arg("sh");
    }
    cmd.arg("-c").arg(program).envs(env.iter().copied());
    cmd.output().expect("the shell runs")
}

/// Strings a config could carry, weighted towards the ones that break naive quoting.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        proptest::collection::vec(
            prop_oneof![
                Just("'"),
                Just("\""),
                Just("$("),
                Just(")"),
                Just("`"),
                Just("\\"),
                Just("\n"),
                Just(" "),
                Just("*"),
                Just(";"),
                Just("$HOME"),
                Just("\t"),
                Just("é")
            ],
            0..12
        )
        .prop_map(|v| v.concat()),
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn quoted_strings_come_back_intact(s in nasty()) {
        let out = run_sh(&format!("printf '%s' {}", shell_quote(&s)), &[]);
        prop_assert!(out.status.success());
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout).into_owned(), s);
    }
}

fn plan_named(name: &str) -> Plan {
    Plan {
        format_version: maas_esxi::plan::FORMAT_VERSION,
        network: Some(Network {
            nics: vec![Nic {
                mac: "52:54:00:00:00:01".into(),
                link: name.into(),
            }],
            vswitches: vec![VSwitch {
                name: "vSwitch0".into(),
                link: name.into(),
                mtu: 1500,
                uplinks: vec![0],
                teaming: Teaming {
                    load_balancing: "portid",
                    active: vec![0],
                    standby: vec![],
                },
            }],
            portgroups: vec![PortGroup {
                name: name.into(),
                vswitch: "vSwitch0".into(),
                vlan: 0,
            }],
            vmks: vec![Vmk {
                name: "vmk0".into(),
                portgroup: name.into(),
                link: name.into(),
                mac: None,
                mtu: 1500,
                ipv4: Ipv4::Dhcp,
                ipv6: Ipv6 {
                    dhcpv6: false,
                    router_adv: false,
                    addresses: vec![],
                },
                management: true,
            }],
            routes: vec![],
            dns: Dns {
                servers: vec![],
                search: vec![name.into()],
            },
            fallback: Some(Fallback {
                vmk: "vmk0".into(),
                portgroup: name.into(),
                vswitch: "vSwitch0".into(),
                uplink: Some(0),
                mac: None,
                vlan: 0,
                vswitch_mtu: 1500,
                mtu: 1500,
                ipv4: Ipv4::Dhcp,
            }),
        }),
        storage: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A whole generated script, run by the shell against a recording `esxcli`, passes a port group name
    /// with quotes, `$()`, spaces or newlines to esxcli as exactly one argument, unchanged.
    #[test]
    fn names_reach_esxcli_intact(name in nasty().prop_filter("a name", |s| !s.is_empty())) {
        let dir = std::env::temp_dir().join(format!("maas-esxi-quoting-{}-{}", std::process::id(), name.len()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let esxcli = dir.join("esxcli");
        // Records each call's arguments NUL-separated; prints an empty CSV table.
        std::fs::write(&esxcli, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done >> \"$CALLS\"\nprintf '\\n' >> \"$CALLS\"\necho 'Name,'\n").expect("stub");
        std::fs::set_permissions(&esxcli, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let calls = dir.join("calls");
        let _ = std::fs::remove_file(&calls);
        let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        let out = run_sh(&script(&plan_named(&name)), &[("PATH", &path), ("CALLS", calls.to_str().expect("utf-8 path")), ("MAAS_ESXI_LOG", "/dev/null")]);
        let recorded = std::fs::read(&calls).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        let wanted = format!("--portgroup-name={name}");
        let args: Vec<String> = recorded.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).trim_start_matches('\n').to_string()).collect();
        prop_assert!(args.contains(&wanted), "no argument {:?} in {:?}\nstderr: {}", wanted, args, String::from_utf8_lossy(&out.stderr));
        let search = format!("--domain={name}");
        prop_assert!(args.contains(&search), "no argument {:?}", search);
    }
}
