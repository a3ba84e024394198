//! The whole first boot of a deployed machine, on the simulated host. An ESXi 7.0 disk goes through `image
//! finalize` and the curtin hook (as the library runs them, with the MAAS config of the fixture pointing
//! at a fake MAAS on 127.0.0.1); the bundle is taken out of partition 6 into `$MAAS_ESXI_ROOT/altbootbank`,
//! where ESXi mounts it, and its script runs under busybox sh against a freshly installed simulated host
//! with the config's NIC and disks.
//!
//! The fake MAAS checks the OAuth header of every request, runs a clock three hours ahead and fails a
//! request now and then; at every request it also checks that the simulated firewall lets the host reach
//! it (and not vCenter) and that no process of this test has a secret on its command line. A success, a
//! failure injected into the network step, and a MAAS that cannot be reached are each checked to the end:
//! datastores, hostname, keys, user-data fetched once and last, the events in order, the bundle removed
//! or kept, the firewall as it was, no secret in any log. A dry run of the bundle's script asks MAAS
//! nothing, writes nothing and prints the network and storage changes the first boot then makes.
//! `firstboot/vendor.rs` does the same with MAAS's vendor-data and a fake vCenter.

mod support;

#[path = "../../shared/curtin.rs"]
mod curtin;
#[path = "../../shared/disk.rs"]
mod disk;
#[path = "../../shared/http.rs"]
mod http;
#[path = "../../shared/maas.rs"]
mod maas;
#[path = "../../shared/vcenter.rs"]
mod vcenter;
#[path = "firstboot/vendor.rs"]
mod vendor;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use disk::{Disk, Layout};
use esxi_sim::host::Firewall;
use esxi_sim::{Fault, Sim};
use maas::{Config, Failure, Request, Server, Token};
use support::storage::{Image, check_storage, disk_specs, host_with};

/// The MAC of the fixture's one NIC.
const MAC: &str = "52:54:00:15:42:07";
/// A key root already has, which MAAS also holds, and one only MAAS holds.
const ALICE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm9Q6cKc2Jx0pYz alice@laptop";
const BOB: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vF bob@workstation";
const ROOTS_OWN: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH3kq root@installer";
const USER_DATA: &str =
    "#!/bin/sh\necho \"user-data ran: $0\" > \"$MAAS_ESXI_ROOT/user-data-ran\"\n";
/// The FQDN MAAS gives the host.
const FQDN: &str = "esx01.maas";

/// The host's certificate (`/etc/vmware/ssl/rui.crt`), made once.
fn host_certificate() -> &'static vcenter::Tls {
    static TLS: OnceLock<vcenter::Tls> = OnceLock::new();
    TLS.get_or_init(|| vcenter::Tls::self_signed(FQDN))
}

/// The fixture's MAAS config as curtin writes `$CONFIG`, reporting to `endpoint`.
fn config(endpoint: &str) -> String {
    curtin::config_json(&support::root(), |c| {
        c["reporting"]["maas"]["endpoint"] = endpoint.into()
    })
}

/// A scratch directory with an ESXi 7.0 disk that `image finalize` has put `curtin/` on.
fn finalized() -> (tempfile::TempDir, Disk) {
    let dir = tempfile::Builder::new()
        .prefix("maas-esxi-firstboot-")
        .tempdir()
        .expect("temporary directory");
    let disk = Disk::build(&dir.path().join("disk.img"), Layout::ESXI_7);
    // The hook runs through the library here; the binary in the image only has to be there.
    let binary = dir.path().join("maas-esxi");
    std::fs::write(&binary, b"#!/bin/sh\n").expect("write");
    let mut options =
        maas_esxi::image::finalize::Options::new(&disk.path, dir.path().join("esxi.dd.gz"));
    options.binary = Some(binary);
    options.verbosity = maas_esxi::image::progress::Verbosity::Quiet;
    maas_esxi::image::finalize::finalize(&options).expect("finalize");
    (dir, disk)
}

/// One deployed machine at its first boot: `$MAAS_ESXI_ROOT` and the simulated host's state in it.
struct Machine {
    root: tempfile::TempDir,
    state: PathBuf,
}

impl Machine {
    /// A root for a machine; the host's state will be `host.json` in it.
    fn new() -> Machine {
        let root = tempfile::Builder::new()
            .prefix("maas-esxi-root-")
            .tempdir()
            .expect("temporary directory");
        let state = root.path().join("host.json");
        Machine { root, state }
    }

    /// Deploys a copy of `disk` with the MAAS config for `endpoint`: the hook writes the bundle through a
    /// directory that stands for curtin's mount of partition 6, the directory goes back into the
    /// partition, and the partition is what ESXi mounts at /altbootbank. The host is `host`, root has an
    /// SSH key of its own and one MAAS also holds, the host has its certificate and the ntpd init script.
    fn deploy(&self, disk: &Disk, endpoint: &str, host: &Sim) {
        let disk = disk.copy_to(&self.path("disk.img"));
        let mount = self.path("curtin-target");
        disk.copy_out(6, &mount);
        let config = self.path("config.json");
        std::fs::write(&config, self::config(endpoint)).expect("write $CONFIG");
        let mut messages = Vec::new();
        let status = maas_esxi::hook::install(
            &maas_esxi::hook::Paths {
                config,
                mount_point: mount.clone(),
                disk: Some(disk.path.clone()),
                mount_table: PathBuf::from("/proc/self/mounts"),
                sysfs: PathBuf::from("/sys"),
            },
            &mut messages,
        )
        .expect("the hook runs");
        assert_eq!(status, 0, "{}", String::from_utf8_lossy(&messages));
        disk.copy_in(6, &mount);
        disk.copy_out(6, &self.path("altbootbank"));
        std::fs::remove_file(&disk.path).expect("remove the disk copy");

        let keys = self.path("etc/ssh/keys-root");
        std::fs::create_dir_all(&keys).expect("mkdir");
        std::fs::write(
            keys.join("authorized_keys"),
            format!("{ROOTS_OWN}\n{ALICE}\n"),
        )
        .expect("write");
        let ssl = self.path("etc/vmware/ssl");
        std::fs::create_dir_all(&ssl).expect("mkdir");
        std::fs::copy(&host_certificate().cert, ssl.join("rui.crt")).expect("copy");
        let init = self.path("etc/init.d");
        std::fs::create_dir_all(&init).expect("mkdir");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_esxi-sim"), init.join("ntpd"))
            .expect("symlink");
        host.save(&self.state).expect("save the host");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Runs the bundle's script as the kickstart's %firstboot does, against the simulated host.
    fn boot(&self, env: &[(&str, &str)]) -> Boot {
        let out = Command::new(env!("CARGO_BIN_EXE_esxi-sim"))
            .arg("run")
            .arg(&self.state)
            .arg(self.path("altbootbank/maas/firstboot.sh"))
            .env("MAAS_ESXI_ROOT", self.root.path())
            .env_remove("MAAS_ESXI_LOG")
            .env("MAAS_MD_DELAY", "0.01")
            .envs(env.iter().copied())
            .output()
            .expect("esxi-sim runs");
        Boot {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            log: std::fs::read_to_string(self.path("var/log/maas-esxi.log")).unwrap_or_default(),
            sim: Sim::load(&self.state).expect("the host state"),
        }
    }
}

struct Boot {
    status: i32,
    stdout: String,
    stderr: String,
    log: String,
    sim: Sim,
}

/// The fixture's storage model.
fn storage() -> maas_esxi::model::storage::Storage {
    maas_esxi::storage_model(&config("http://127.0.0.1:1/MAAS/metadata/status/x7kqfp"))
        .expect("the fixture normalizes")
        .expect("the fixture has storage")
}

/// A fresh host with the fixture's NIC and disks (its boot disk as MAAS's 32 GiB image leaves it).
fn host() -> Sim {
    host_with(&[MAC.to_string()], &disk_specs(&storage(), Image::Small))
}

/// Where the host reaches the fake vCenter: its address, and the port the firewall knows vCenter's HTTPS by
/// (the fake listens on another, which `MAAS_VCENTER_PORT` gives the helper).
const VCENTER: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 443);

/// The secrets no command line and no log may hold: MAAS's token, vCenter's password.
fn secrets() -> Vec<String> {
    let token = Token::fixture();
    let mut all: Vec<String> = token.secrets().iter().map(|s| s.to_string()).collect();
    all.push(vendor::VCENTER_PASSWORD.into());
    all
}

/// The fake MAAS's check at every request: the simulated firewall lets the host out to it and not to
/// vCenter, and no process this test started has a secret in its command line.
fn check(state: PathBuf) -> maas::Check {
    Box::new(move |request: &Request| {
        let mut problems = Vec::new();
        let port = request.port;
        match Sim::load(&state) {
            Ok(sim) => {
                let firewall = &sim.host.firewall;
                if !firewall.allows_outbound_tcp(IpAddr::V4(Ipv4Addr::LOCALHOST), port) {
                    problems.push(format!(
                        "the host's firewall does not let it reach port {port}"
                    ));
                }
                if firewall.allows_outbound_tcp(VCENTER.0, VCENTER.1) {
                    problems.push("the host's firewall lets it reach vCenter".into());
                }
            }
            Err(e) => problems.push(format!("reading the host: {e:#}")),
        }
        problems.extend(secrets_in_command_lines());
        problems
    })
}

/// A problem for every process this test started that has a secret in its command line.
fn secrets_in_command_lines() -> Vec<String> {
    descendants_cmdlines()
        .into_iter()
        .filter(|(_, cmdline)| secrets().iter().any(|s| cmdline.contains(s.as_str())))
        .map(|(pid, _)| format!("process {pid} has a secret in its command line"))
        .collect()
}

/// The command lines of every process descended from this one.
fn descendants_cmdlines() -> Vec<(u32, String)> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces and parentheses; the last `)` ends it.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut family = BTreeSet::from([std::process::id()]);
    loop {
        let before = family.len();
        for (pid, ppid) in &parents {
            if family.contains(ppid) {
                family.insert(*pid);
            }
        }
        if family.len() == before {
            break;
        }
    }
    family
        .into_iter()
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            Some((pid, String::from_utf8_lossy(&raw).replace('\0', " ")))
        })
        .collect()
}

/// The events as `type name result`, in order.
fn events(server: &Server) -> Vec<String> {
    server
        .events()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["event_type"].as_str().unwrap_or("?"),
                e["name"].as_str().unwrap_or("?"),
                e["result"].as_str().unwrap_or("-")
            )
            .trim_end_matches(" -")
            .to_string()
        })
        .collect()
}

/// No secret in anything the first boot left: its log, its messages, the host's calls and state.
fn no_secrets(boot: &Boot) {
    let calls = serde_json::to_string(&boot.sim).expect("serializable");
    for secret in secrets() {
        assert!(!boot.log.contains(&secret), "a secret in the log");
        assert!(!boot.stderr.contains(&secret), "a secret on stderr");
        assert!(!calls.contains(&secret), "a secret in a host command");
    }
}

/// The firewall as the installer left it; with `ntp`, also the ntpClient ruleset on for NTP.
fn firewall_as_installed(firewall: &Firewall, ntp: bool) {
    let mut fresh = host().host.firewall;
    for ruleset in &mut fresh.rulesets {
        if ruleset.id == "ntpClient" {
            ruleset.enabled = ntp;
        }
    }
    assert_eq!(
        serde_json::to_value(firewall).expect("serializable"),
        serde_json::to_value(&fresh).expect("serializable"),
        "the firewall was not restored"
    );
}

/// The fake MAAS for `machine`: it holds two keys, the hostname and a user-data script, runs its clock
/// three hours ahead (so every GET first gets a 401 with its `Date`) and fails the first request for the
/// keys with a 500.
fn server(machine: &Machine, configure: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config {
        public_keys: Some(format!("{ALICE}\n{BOB}\n")),
        hostname: Some(FQDN.into()),
        user_data: Some(USER_DATA.as_bytes().to_vec()),
        clock_offset: 3 * 3600,
        failures: vec![Failure {
            path: "public-keys",
            status: 500,
            count: 1,
        }],
        check: Some(check(machine.state.clone())),
        ..Config::default()
    };
    configure(&mut config);
    Server::start(config)
}

const KEYS: &str = "/MAAS/metadata/latest/meta-data/public-keys";
const HOSTNAME: &str = "/MAAS/metadata/latest/meta-data/local-hostname";
const VENDOR_DATA: &str = "/MAAS/metadata/latest/meta-data/vendor-data";
const USER_DATA_PATH: &str = "/MAAS/metadata/latest/user-data";

#[test]
fn a_first_boot_configures_the_host_tells_maas_and_cleans_up() {
    let (_dir, disk) = finalized();
    let machine = Machine::new();
    let server = server(&machine, |_| {});
    let before = host();
    machine.deploy(&disk, &server.endpoint(), &before);
    let boot = machine.boot(&[]);
    assert_eq!(boot.status, 0, "{}\n{}", boot.stderr, boot.log);
    let problems = server.problems();
    assert!(problems.is_empty(), "{problems:#?}");

    // The storage and the network, as the config asks.
    let storage = check_storage(&storage(), &before.host, &boot.sim.host);
    assert!(storage.is_empty(), "{storage:#?}");
    let vmk0 = &boot.sim.host.vmks[0];
    assert_eq!(
        (vmk0.name.as_str(), vmk0.ipv4.address.as_str()),
        ("vmk0", "10.20.0.15")
    );
    // The hostname, and the keys: root's own and alice's kept, bob's added, none twice.
    let hostname = &boot.sim.host.hostname;
    assert_eq!(
        (hostname.host.as_str(), hostname.domain.as_str()),
        ("esx01", "maas")
    );
    assert_eq!(
        std::fs::read_to_string(machine.path("etc/ssh/keys-root/authorized_keys")).expect("keys"),
        format!("{ROOTS_OWN}\n{ALICE}\n{BOB}\n")
    );
    // user-data: fetched once, after every other GET; saved; run.
    let gets = server.gets();
    assert_eq!(gets, [KEYS, HOSTNAME, VENDOR_DATA, USER_DATA_PATH]);
    assert_eq!(
        std::fs::read_to_string(machine.path("var/lib/maas-esxi/user-data")).expect("saved"),
        USER_DATA
    );
    assert_eq!(
        std::fs::read_to_string(machine.path("user-data-ran")).expect("user-data ran"),
        format!(
            "user-data ran: {}\n",
            machine.path("var/lib/maas-esxi/user-data").display()
        )
    );
    // Every request but the 500 and the clock's 401s was signed right and answered.
    let statuses: BTreeSet<u16> = server.requests().iter().map(|r| r.status).collect();
    // 404: MAAS has no vendor-data for this machine.
    assert_eq!(statuses, BTreeSet::from([200, 204, 401, 404, 500]));
    assert_eq!(
        events(&server),
        [
            "start maas-esxi",
            "start maas-esxi/network",
            "finish maas-esxi/network SUCCESS",
            "start maas-esxi/storage",
            "finish maas-esxi/storage SUCCESS",
            "start maas-esxi/ssh-keys",
            "finish maas-esxi/ssh-keys SUCCESS",
            "start maas-esxi/hostname",
            "finish maas-esxi/hostname SUCCESS",
            "start maas-esxi/vendor-data",
            "finish maas-esxi/vendor-data SUCCESS",
            "start maas-esxi/vcenter",
            "finish maas-esxi/vcenter SUCCESS",
            "start maas-esxi/user-data",
            "finish maas-esxi/user-data SUCCESS",
            "finish maas-esxi SUCCESS",
        ]
    );
    // The bundle and the credentials are gone, the firewall is as it was.
    assert!(
        !machine.path("altbootbank/maas").exists(),
        "the bundle is left"
    );
    assert!(machine.path("altbootbank/boot.cfg").exists());
    firewall_as_installed(&boot.sim.host.firewall, false);
    no_secrets(&boot);
}

#[test]
fn a_failed_network_step_fails_the_deployment_and_keeps_the_bundle() {
    let (_dir, disk) = finalized();
    let machine = Machine::new();
    let server = server(&machine, |_| {});
    let mut faulty = host();
    faulty.faults.push(Fault {
        matching: Some("ipv4 set".into()),
        message: "Sysinfo error: Busy (injected fault)".into(),
        ..Fault::default()
    });
    machine.deploy(&disk, &server.endpoint(), &faulty);
    let boot = machine.boot(&[]);
    assert_eq!(boot.status, 1, "{}", boot.stderr);
    assert!(boot.stderr.contains("injected fault"), "{}", boot.stderr);
    let problems = server.problems();
    assert!(problems.is_empty(), "{problems:#?}");

    let events = events(&server);
    assert_eq!(
        events[..4],
        [
            "start maas-esxi",
            "start maas-esxi/network",
            "finish maas-esxi/network FAIL",
            "finish maas-esxi FAIL",
        ]
    );
    let failed = &server.events()[3];
    let log = machine.path("var/log/maas-esxi.log");
    assert_eq!(
        failed["description"],
        format!(
            "ESXi first boot failed at step network, see {} on the host",
            log.display()
        )
    );
    // The keys and the hostname are still set (they let an operator in), but user-data is not fetched:
    // the machine must not be marked Deployed.
    assert_eq!(server.gets(), [KEYS, HOSTNAME, VENDOR_DATA]);
    assert!(
        !events.iter().any(|e| e.contains("user-data")),
        "{events:?}"
    );
    assert!(
        boot.stderr
            .contains("step user-data: skipped, step network failed")
    );
    assert!(
        machine.path("altbootbank/maas/credentials").exists(),
        "the bundle was removed"
    );
    assert!(machine.path("altbootbank/maas/firstboot.sh").exists());
    firewall_as_installed(&boot.sim.host.firewall, false);
    no_secrets(&boot);
}

#[test]
fn an_unreachable_maas_fails_the_first_boot_without_marking_it_deployed() {
    let (_dir, disk) = finalized();
    let machine = Machine::new();
    let endpoint = Server::start(Config::default()).endpoint();
    // The server is gone: nothing listens at the endpoint.
    machine.deploy(&disk, &endpoint, &host());
    let boot = machine.boot(&[("MAAS_MD_ATTEMPTS", "2")]);
    assert_eq!(boot.status, 1, "{}", boot.stderr);
    assert!(
        boot.stderr
            .contains("could not report 'start maas-esxi/network' to MAAS"),
        "{}",
        boot.stderr
    );
    assert!(
        boot.stderr
            .contains("FAILED: could not fetch the SSH keys from MAAS")
    );
    assert!(
        boot.stderr
            .contains("step user-data: skipped, step ssh-keys failed")
    );
    assert!(
        boot.log.contains("Connection refused (2 attempts)"),
        "{}",
        boot.log
    );
    assert!(machine.path("altbootbank/maas/credentials").exists());
    firewall_as_installed(&boot.sim.host.firewall, false);
    no_secrets(&boot);
}

#[test]
fn a_dry_run_of_the_bundle_asks_maas_nothing_and_prints_what_the_first_boot_changes() {
    let (_dir, disk) = finalized();
    let machine = Machine::new();
    let server = server(&machine, |_| {});
    let before = host();
    machine.deploy(&disk, &server.endpoint(), &before);
    let dry = machine.boot(&[("MAAS_ESXI_DRY_RUN", "1")]);
    assert_eq!(dry.status, 0, "{}", dry.stderr);
    assert!(server.requests().is_empty(), "the dry run asked MAAS");
    assert!(
        dry.sim.calls.iter().all(|c| !c.mutating),
        "the dry run changed the host"
    );
    assert_eq!(
        serde_json::to_value(&dry.sim.host).expect("serializable"),
        serde_json::to_value(&before.host).expect("serializable")
    );
    for step in [
        "ssh-keys",
        "hostname",
        "vendor-data",
        "vcenter",
        "user-data",
    ] {
        let skipped = format!("step {step}: skipped in a dry run");
        assert!(dry.stderr.contains(&skipped), "{}", dry.stderr);
    }
    // Nothing written: no log, no user-data, the keys and the bundle as they were.
    assert!(!machine.path("var/log/maas-esxi.log").exists());
    assert!(!machine.path("var/lib/maas-esxi").exists());
    assert_eq!(
        std::fs::read_to_string(machine.path("etc/ssh/keys-root/authorized_keys")).expect("keys"),
        format!("{ROOTS_OWN}\n{ALICE}\n")
    );
    for file in [
        "firstboot.sh",
        "maas-md",
        "maas-vendor",
        "maas-vcenter",
        "maas_yaml.py",
        "credentials",
    ] {
        assert!(
            machine.path("altbootbank/maas").join(file).exists(),
            "{file}"
        );
    }
    no_secrets(&dry);

    // The first boot then makes the printed changes, besides the firewall's and the hostname's.
    let mut fresh = Sim::load(&machine.state).expect("the host state");
    fresh.calls.clear();
    fresh.save(&machine.state).expect("save the host");
    let boot = machine.boot(&[]);
    assert_eq!(boot.status, 0, "{}", boot.stderr);
    assert_eq!(boot.stdout, "", "a real run prints nothing on stdout");
    let made = support::command_lines(&boot.sim, |c| {
        c.mutating
            && !c.kind.starts_with("esxcli network firewall")
            && c.kind != "esxcli system hostname set"
    });
    let pasted = support::run(&before, &dry.stdout, "bundle-dry-run");
    let printed = support::command_lines(&pasted.sim, |_| true);
    assert!(!made.is_empty());
    assert_eq!(printed, made, "printed:\n{}", dry.stdout);
}

/// The simulated firewall, which the checks above rely on, lets out only what a ruleset allows.
#[test]
fn the_simulated_firewall_lets_out_what_its_rulesets_allow() {
    let mut sim = host();
    let maas = IpAddr::V4(Ipv4Addr::new(10, 20, 0, 2));
    let esxcli = |sim: &mut Sim, line: &str| {
        let argv: Vec<String> = line.split(' ').map(String::from).collect();
        esxi_sim::tool::run(sim, "esxcli", &argv, &mut std::io::empty())
    };
    assert!(!sim.host.firewall.allows_outbound_tcp(maas, 5248));
    assert!(!sim.host.firewall.allows_outbound_tcp(maas, 80));
    assert_eq!(
        esxcli(
            &mut sim,
            "network firewall ruleset set --ruleset-id=httpClient --enabled=true"
        )
        .status,
        0
    );
    assert!(sim.host.firewall.allows_outbound_tcp(maas, 80));
    assert!(
        !sim.host.firewall.allows_outbound_tcp(maas, 5248),
        "httpClient is 80 and 443 only"
    );
    let refused = esxcli(
        &mut sim,
        "network firewall ruleset allowedip add --ruleset-id=nfsClient --ip-address=10.20.0.2",
    );
    assert_eq!(refused.status, 1, "an address needs allowed-all off first");
    for line in [
        "network firewall ruleset set --ruleset-id=nfsClient --allowed-all=false",
        "network firewall ruleset allowedip add --ruleset-id=nfsClient --ip-address=10.20.0.0/24",
        "network firewall ruleset set --ruleset-id=nfsClient --enabled=true",
    ] {
        assert_eq!(esxcli(&mut sim, line).status, 0, "{line}");
    }
    assert!(sim.host.firewall.allows_outbound_tcp(maas, 5248));
    assert!(
        !sim.host
            .firewall
            .allows_outbound_tcp(IpAddr::V4(Ipv4Addr::new(10, 20, 1, 2)), 5248)
    );
    let listed = esxcli(
        &mut sim,
        "--formatter=csv network firewall ruleset allowedip list --ruleset-id=nfsClient",
    );
    assert_eq!(
        listed.stdout,
        "AllowedIPAddresses,Ruleset,\n\"10.20.0.0/24,\",nfsClient,\n"
    );
    assert_eq!(
        esxcli(&mut sim, "network firewall set --enabled=false").status,
        0
    );
    assert!(
        sim.host
            .firewall
            .allows_outbound_tcp(IpAddr::V4(Ipv4Addr::new(10, 20, 1, 2)), 1)
    );
}
