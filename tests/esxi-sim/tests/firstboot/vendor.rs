//! MAAS's vendor-data and vCenter at the first boot, deployed and booted as in `firstboot.rs`. The
//! vendor-data fixtures, byte for byte as MAAS writes them, go to simulated hosts of each generation: NTP
//! through `esxcli system ntp` (7.0 Update 1 and later) or through ntp.conf, the ntpd init script and
//! chkconfig (6.7, 7.0), and the ntpClient ruleset; files under the host's root with their modes, and a
//! second run that writes nothing again; Ubuntu's keys and files listed once as not applicable and the
//! machine token in Ubuntu's hardware-sync file in no log. The vCenter registration goes to the fake
//! vCenter (both API generations, by FQDN and by address), which checks at every request that the host's
//! firewall lets it through, and at the add that the temporary account exists with the Admin role and the
//! password vCenter was given; afterwards the account is gone and the firewall as it was. A wrong
//! datacenter, wrong credentials and an unreachable vCenter fail the vcenter step alone: the machine is
//! still deployed, and a run by hand once the cause is fixed registers it.

use std::path::Path;

use esxi_sim::host::{Account, Permission, Version};
use vcenter::{Generation, Tls};

use super::*;

/// vCenter's password in the fixture's vcenter.yaml.
pub const VCENTER_PASSWORD: &str = "V\"c3nter: p@ss #1 'x'";
const ADDRESS: &str = "10.20.0.15";
const ACCOUNT: &str = "maas-vcenter";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(support::root().join("fixtures/vendor-data").join(name)).expect("fixture")
}

/// A fresh host of an ESXi release (`6.7.0`, `7.0.0`, `8.0.3` …) with the fixture's NIC and disks.
fn host_of(release: &str) -> Sim {
    let mut sim = host();
    sim.host.version = Version::release(release);
    sim
}

/// vCenter's self-signed certificate, made once.
fn vcenter_tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| Tls::self_signed(vcenter::ADDRESS))
}

/// A machine deployed on `host`, its fake MAAS serving the vendor-data fixture `vendor`.
fn deployed(disk: &Disk, host: &Sim, vendor: &str) -> (Machine, Server) {
    let machine = Machine::new();
    let server = server(&machine, |c| c.vendor_data = Some(fixture(vendor)));
    machine.deploy(disk, &server.endpoint(), host);
    (machine, server)
}

/// The environment that points the vCenter helper at the fake vCenter's port, and tries twice.
fn vcenter_env(port: u16) -> [(&'static str, String); 3] {
    [
        ("MAAS_VCENTER_PORT", port.to_string()),
        ("MAAS_VCENTER_ATTEMPTS", "2".into()),
        ("MAAS_VCENTER_DELAY", "0.01".into()),
    ]
}

fn boot_with(machine: &Machine, env: &[(&'static str, String)]) -> Boot {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    machine.boot(&env)
}

/// The fake vCenter for `machine`: it can reach the host by `reachable` and knows its certificate; at
/// every request it checks that the host's firewall lets the host reach it and that no process has a
/// secret in its command line, and at an add that the account vCenter is given exists on the host, with
/// the Admin role and that password.
fn vcenter_for(
    machine: &Machine,
    generation: Generation,
    reachable: &[&str],
    configure: impl FnOnce(&mut vcenter::Config),
) -> vcenter::Server {
    let state = machine.state.clone();
    let mut config = vcenter::Config {
        generation,
        reachable: reachable.iter().map(|r| r.to_string()).collect(),
        thumbprint: host_certificate().thumbprint(),
        check: Some(Box::new(move |request: &Request| {
            let mut problems = secrets_in_command_lines();
            let sim = match Sim::load(&state) {
                Ok(sim) => sim,
                Err(e) => return vec![format!("reading the host: {e:#}")],
            };
            if !sim.host.firewall.allows_outbound_tcp(VCENTER.0, VCENTER.1) {
                problems.push("the host's firewall does not let it reach vCenter".into());
            }
            if request.method == "POST" && request.path.ends_with("/vcenter/host") {
                let body: serde_json::Value =
                    serde_json::from_slice(&request.body).unwrap_or_default();
                let spec = body.get("spec").unwrap_or(&body);
                let user = spec["user_name"].as_str().unwrap_or_default();
                let password = spec["password"].as_str().unwrap_or_default();
                if !sim
                    .host
                    .accounts
                    .iter()
                    .any(|a| a.id == user && a.password == password)
                {
                    problems.push(format!("the host has no account {user} with that password"));
                }
                if !sim
                    .host
                    .permissions
                    .iter()
                    .any(|p| p.principal == user && !p.group && p.role == "Admin")
                {
                    problems.push(format!("{user} does not have the Admin role"));
                }
            }
            problems
        })),
        ..vcenter::Config::default()
    };
    configure(&mut config);
    vcenter::Server::start(config, vcenter_tls())
}

/// The host's accounts and permissions as the installer left them: the temporary account is gone.
fn accounts_as_installed(sim: &Sim) {
    let fresh = host().host;
    let ids = |accounts: &[Account]| accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&sim.host.accounts), ids(&fresh.accounts));
    let principals = |p: &[Permission]| p.iter().map(|p| p.principal.clone()).collect::<Vec<_>>();
    assert_eq!(
        principals(&sim.host.permissions),
        principals(&fresh.permissions)
    );
}

/// The log shows the temporary account's password as *** only.
fn password_masked(log: &str) {
    let adds: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("+ esxcli system account add"))
        .collect();
    assert!(!adds.is_empty(), "the account was not added:\n{log}");
    for line in adds {
        assert!(
            line.contains(" --password=*** --password-confirmation=*** "),
            "{line}"
        );
    }
}

fn problems_none(server: &Server, vcenter: Option<&vcenter::Server>) {
    let mut problems = server.problems();
    if let Some(vcenter) = vcenter {
        problems.extend(vcenter.problems());
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn count(log: &str, text: &str) -> usize {
    log.matches(text).count()
}

#[test]
fn vendor_data_sets_ntp_and_lists_once_what_is_for_ubuntu() {
    let (_dir, disk) = finalized();
    let (machine, server) = deployed(&disk, &host(), "ntp-servers-pools-ubuntu-keys.yaml");
    let boot = machine.boot(&[]);
    assert_eq!(boot.status, 0, "{}\n{}", boot.stderr, boot.log);
    problems_none(&server, None);
    let ntp = &boot.sim.host.ntp;
    assert_eq!(
        (ntp.enabled, ntp.running, ntp.servers.as_slice()),
        (
            true,
            true,
            [
                "10.20.0.2",
                "fd42:20::2",
                "0.ubuntu.pool.ntp.org",
                "ntp.maas"
            ]
            .map(String::from)
            .as_slice()
        )
    );
    assert_eq!(
        count(
            &boot.log,
            "vendor-data: not applicable to ESXi, ignored: 'packages', 'runcmd', 'snap', 'system_info'"
        ),
        1,
        "{}",
        boot.log
    );
    assert_eq!(count(&boot.log, "becomes a server"), 2);
    assert!(boot.log.contains("+ esxcli system ntp set --server=10.20.0.2 --server=fd42:20::2 --server=0.ubuntu.pool.ntp.org --server=ntp.maas --enabled=true"));
    assert!(
        boot.log
            .contains("vcenter: MAAS sent no vCenter settings, the host is not registered")
    );
    // Ubuntu's hardware sync: its units and its copy of the machine token are not written.
    assert!(!machine.path("lib/systemd").exists());
    assert!(!machine.path("etc/maas").exists());
    let events = events(&server);
    assert!(
        events.contains(&"finish maas-esxi/vendor-data SUCCESS".to_string())
            && events.contains(&"finish maas-esxi/vcenter SUCCESS".to_string()),
        "{events:#?}"
    );
    assert!(!machine.path("altbootbank/maas").exists());
    firewall_as_installed(&boot.sim.host.firewall, true);
    no_secrets(&boot);
}

#[test]
fn an_older_esxi_gets_ntp_conf_and_the_files_their_modes_and_a_rerun_writes_nothing() {
    let (_dir, disk) = finalized();
    let (machine, server) = deployed(&disk, &host_of("7.0.0"), "write-files.yaml");
    // ESXi's own ntp.conf, sticky so that its configuration backup keeps it, with a server of its own.
    let conf = machine.path("etc/ntp.conf");
    std::fs::write(
        &conf,
        "restrict default kod nomodify notrap nopeer\nrestrict 127.0.0.1\nserver 0.vmware.pool.ntp.org\ndriftfile /etc/ntp.drift\n",
    )
    .expect("write");
    set_mode(&conf, 0o1644);
    let local = machine.path("etc/rc.local.d/local.sh");
    std::fs::create_dir_all(local.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&local, "#!/bin/sh\n").expect("write");
    set_mode(&local, 0o1755);
    let bundle = machine.path("bundle-copy");
    disk::run_output(
        Command::new("cp")
            .arg("-a")
            .arg(machine.path("altbootbank/maas"))
            .arg(&bundle),
    );

    let boot = machine.boot(&[]);
    assert_eq!(boot.status, 0, "{}\n{}", boot.stderr, boot.log);
    problems_none(&server, None);
    assert!(
        boot.log
            .contains("ntp: ESXi 7.0.0 has no esxcli system ntp: servers go into /etc/ntp.conf")
    );
    assert_eq!(
        std::fs::read_to_string(&conf).expect("ntp.conf"),
        "restrict default kod nomodify notrap nopeer\nrestrict 127.0.0.1\ndriftfile /etc/ntp.drift\nserver ntp.example.com\n"
    );
    assert_eq!(mode(&conf), 0o1644, "ntp.conf lost its mode or sticky bit");
    let ntp = &boot.sim.host.ntp;
    assert_eq!(
        (ntp.enabled, ntp.running, ntp.servers.as_slice()),
        (true, true, ["ntp.example.com".to_string()].as_slice())
    );
    firewall_as_installed(&boot.sim.host.firewall, true);

    assert_eq!(
        std::fs::read_to_string(machine.path("etc/motd")).expect("motd"),
        "Deployed by MAAS: été ☃\n"
    );
    for (path, want) in [
        ("etc/motd", 0o644),
        ("scratch/maas/blob.bin", 0o600),
        ("vmfs/volumes/datastore1/maas/local.sh", 0o755),
        ("etc/rc.local.d/local.sh", 0o644),
    ] {
        assert_eq!(mode(&machine.path(path)), want, "{path}");
    }
    assert_eq!(
        std::fs::read_to_string(&local).expect("local.sh"),
        "#!/bin/sh\n# added by vendor-data\n"
    );
    assert!(!machine.path("etc/netplan").exists());
    assert!(boot.log.contains(
        "vendor-data: /etc/motd: not kept across reboots: ESXi's root file system is in memory"
    ));

    // The same bundle run again by hand: NTP and the files are as vendor-data has them.
    disk::run_output(
        Command::new("cp")
            .arg("-a")
            .arg(&bundle)
            .arg(machine.path("altbootbank/maas")),
    );
    let again = machine.boot(&[]);
    assert_eq!(again.status, 0, "{}", again.stderr);
    let second = &again.log[boot.log.len()..];
    assert!(
        second.contains("ntp: ntpd already runs with these servers"),
        "{second}"
    );
    assert_eq!(
        count(second, ": already as vendor-data has it"),
        4,
        "{second}"
    );
    assert!(!second.contains("maas-vendor write"), "{second}");
    assert_eq!(
        std::fs::read_to_string(&local).expect("local.sh"),
        "#!/bin/sh\n# added by vendor-data\n"
    );
    no_secrets(&again);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn the_host_joins_vcenter_by_its_fqdn_through_a_temporary_account() {
    let (_dir, disk) = finalized();
    let (machine, server) = deployed(&disk, &host(), "vcenter.yaml");
    let vcenter = vcenter_for(&machine, Generation::Api, &[FQDN, ADDRESS], |_| {});
    let boot = boot_with(&machine, &vcenter_env(vcenter.port()));
    assert_eq!(boot.status, 0, "{}\n{}", boot.stderr, boot.log);
    problems_none(&server, Some(&vcenter));
    let added = vcenter.added();
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0]["hostname"], FQDN);
    assert_eq!(added[0]["user_name"], ACCOUNT);
    assert_eq!(added[0]["thumbprint"], host_certificate().thumbprint());
    assert!(vcenter.sessions_closed());
    assert!(
        vcenter.calls().iter().all(|c| c.contains(" /api/")),
        "{:#?}",
        vcenter.calls()
    );
    assert!(boot.log.contains("vCenter's certificate was NOT verified"));
    assert!(
        boot.log
            .contains("added to vCenter 127.0.0.2 as esx01.maas (host-41), datacenter DC-West")
    );
    accounts_as_installed(&boot.sim);
    password_masked(&boot.log);
    let account_password = added[0]["password"].as_str().expect("a password");
    assert!(!boot.log.contains(account_password) && !boot.stderr.contains(account_password));
    let events = events(&server);
    assert!(
        events.contains(&"finish maas-esxi/vcenter SUCCESS".to_string()),
        "{events:#?}"
    );
    assert_eq!(
        server.gets().last().map(String::as_str),
        Some(USER_DATA_PATH)
    );
    assert!(!machine.path("altbootbank/maas").exists());
    firewall_as_installed(&boot.sim.host.firewall, true);
    no_secrets(&boot);
}

#[test]
fn an_older_host_joins_an_older_vcenter_by_its_address() {
    let (_dir, disk) = finalized();
    let (machine, server) = deployed(&disk, &host_of("6.7.0"), "vcenter.yaml");
    let vcenter = vcenter_for(&machine, Generation::Rest, &[ADDRESS], |_| {});
    let boot = boot_with(&machine, &vcenter_env(vcenter.port()));
    assert_eq!(boot.status, 0, "{}\n{}", boot.stderr, boot.log);
    problems_none(&server, Some(&vcenter));
    let added = vcenter.added();
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0]["hostname"], ADDRESS);
    let calls = vcenter.calls();
    assert_eq!(
        calls[..2],
        ["POST /api/session", "POST /rest/com/vmware/cis/session"]
    );
    assert!(boot.log.contains(
        "could not add the host as esx01.maas: HTTP 400 ERROR: Cannot contact the specified host"
    ));
    // NTP on 6.7: ntp.conf, chkconfig and the init script.
    assert_eq!(boot.sim.host.ntp.servers, ["10.20.0.2"]);
    assert!(boot.sim.host.ntp.enabled && boot.sim.host.ntp.running);
    accounts_as_installed(&boot.sim);
    password_masked(&boot.log);
    firewall_as_installed(&boot.sim.host.firewall, true);
    no_secrets(&boot);
}

/// What is wrong with vCenter in a failure case, and what the log must say.
type Wrong = (&'static str, fn(&mut vcenter::Config), &'static str);

/// A wrong datacenter, wrong credentials and a vCenter that cannot be reached, each on its own machine,
/// in parallel: the vcenter step fails alone.
#[test]
fn a_failed_registration_fails_the_vcenter_step_alone_and_a_rerun_registers() {
    let (_dir, disk) = finalized();
    let cases: [Wrong; 3] = [
        (
            "wrong datacenter",
            |c| c.datacenters = vec!["DC-East".into(), "DC-North".into()],
            "vCenter 127.0.0.2 has no datacenter DC-West (it has: DC-East, DC-North)",
        ),
        (
            "wrong credentials",
            |c| c.password = "the password vCenter has now".into(),
            "vCenter 127.0.0.2 refused the user name or password of administrator@vsphere.local",
        ),
        ("unreachable", |_| {}, "cannot reach vCenter 127.0.0.2:"),
    ];
    std::thread::scope(|scope| {
        for (name, configure, message) in cases {
            let disk = &disk;
            scope.spawn(move || {
                let (machine, server) = deployed(disk, &host(), "vcenter.yaml");
                let vcenter = vcenter_for(&machine, Generation::Api, &[FQDN], configure);
                let port = vcenter.port();
                if name == "unreachable" {
                    drop(vcenter);
                }
                let boot = boot_with(&machine, &vcenter_env(port));
                assert_eq!(boot.status, 1, "{name}: {}", boot.stderr);
                assert!(boot.log.contains(message), "{name}:\n{}", boot.log);
                problems_none(&server, None);
                let events = events(&server);
                assert!(
                    events.contains(&"finish maas-esxi/vcenter FAIL".to_string()),
                    "{name}: {events:#?}"
                );
                // Not fatal: user-data is fetched, the machine is deployed.
                assert_eq!(
                    server.gets().last().map(String::as_str),
                    Some(USER_DATA_PATH),
                    "{name}"
                );
                assert_eq!(
                    events.last().map(String::as_str),
                    Some("finish maas-esxi FAIL"),
                    "{name}"
                );
                accounts_as_installed(&boot.sim);
                firewall_as_installed(&boot.sim.host.firewall, true);
                assert!(machine.path("altbootbank/maas/credentials").exists());
                for gone in ["vcenter.yaml", "vendor-data"] {
                    assert!(
                        !machine.path("altbootbank/maas").join(gone).exists(),
                        "{name}: {gone} is left"
                    );
                }
                no_secrets(&boot);

                if name == "wrong credentials" {
                    // vCenter's password in MAAS is right again; the bundle is run by hand.
                    let vcenter = vcenter_for(&machine, Generation::Api, &[FQDN], |_| {});
                    let again = boot_with(&machine, &vcenter_env(vcenter.port()));
                    assert_eq!(again.status, 0, "{}", again.stderr);
                    problems_none(&server, Some(&vcenter));
                    assert_eq!(vcenter.added().len(), 1);
                    accounts_as_installed(&again.sim);
                    assert!(!machine.path("altbootbank/maas").exists());
                    no_secrets(&again);
                }
            });
        }
    });
}
