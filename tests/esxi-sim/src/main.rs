//! `esxi-sim`: create a simulated ESXi host, run a script against it, show its state and call counts; and,
//! run under a tool's name, be that tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use esxi_sim::host::Profile;
use esxi_sim::storage::Storage;
use esxi_sim::{Fault, INIT_SCRIPTS, Sim, TOOLS, tool};

#[derive(Parser, Debug)]
#[command(
    name = "esxi-sim",
    about = "A simulated ESXi host command line (esxcli, partedUtil, vmkfstools, vim-cmd)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create a host as the ESXi installer leaves it.
    New {
        state: PathBuf,
        /// ESXi major version: 6 (6.7, without `esxcli system ntp`), 7 or 8.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(6..=8))]
        esxi: u8,
        /// A physical NIC's MAC address, vmnic0 first; repeat for more NICs.
        #[arg(long = "nic", required = true)]
        nics: Vec<String>,
        /// A disk, repeat for more: KIND,SIZE[,KEY=VALUE|FLAG]... with KIND sata, sas, nvme or virtual
        /// and SIZE such as 500G, 500GB or 976773168s.
        ///
        /// Keys: model= and serial= (required but for virtual), vendor=, rev=, wwn= (names the disk
        /// naa.<wwn>), eui= (nvme: names it t10.NVMe____<model><EUI's last 8 bytes reversed>), id= (the
        /// name outright), layout=none|gpt|msdos|esxi7|esxi67 (the table found on the disk; esxi7 and
        /// esxi67 are the installer's with their volumes mounted), image=SIZE (the table was written by
        /// an image that small: fixGpt needed), system=SIZE and bootbank=SIZE (esxi7 sizes),
        /// vmfs=LABEL (a mounted datastore on partition 1). Flags: boot, ssd, 512e. The storage module's
        /// documentation has the details. For example:
        ///
        /// 'nvme,976773168s,model=WD_BLACK SN770 500GB,serial=22123A800123,eui=e8238fa6bf530001001b448b4b7d387b,layout=esxi7,image=32G,boot'
        #[arg(long = "disk")]
        disks: Vec<String>,
    },
    /// Run a script under busybox sh with the simulated tools first in PATH; exits with the script's status.
    Run {
        state: PathBuf,
        script: PathBuf,
        /// The script's arguments, options such as `--dry-run` included.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the host state as JSON.
    State { state: PathBuf },
    /// Print call counts as JSON: all calls, mutating, reads, failures.
    Stats { state: PathBuf },
    /// Forget the call log, to count a later run on its own.
    ResetCalls { state: PathBuf },
    /// Make a later command fail.
    Fault {
        state: PathBuf,
        /// Fail the Nth call, counting from the first call the host ever saw.
        #[arg(
            long,
            conflicts_with = "matching",
            required_unless_present = "matching"
        )]
        nth: Option<usize>,
        /// Fail the first call whose command line contains this text.
        #[arg(long)]
        matching: Option<String>,
        #[arg(long, default_value = "Sysinfo error: Busy (injected fault)")]
        message: String,
        /// Fail every matching call, not only the first.
        #[arg(long, requires = "matching")]
        repeat: bool,
    },
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let invoked = argv.first().map(|a| {
        Path::new(a)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    if let Some(name) = invoked.as_ref().filter(|n| TOOLS.contains(&n.as_str())) {
        return as_tool(name, &argv[1..]);
    }
    if let Some(name) = invoked.filter(|n| INIT_SCRIPTS.contains(&n.as_str())) {
        // An init script finds its configuration next to itself: it gets its own path first.
        return as_tool(&name, &argv);
    }
    if let Some(name) = argv.get(1).filter(|n| TOOLS.contains(&n.as_str())) {
        return as_tool(name, &argv[2..]);
    }
    match cli(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("esxi-sim: error: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// Runs one simulated tool against `$ESXI_SIM_STATE`.
fn as_tool(name: &str, args: &[String]) -> ExitCode {
    let result = (|| -> anyhow::Result<tool::Outcome> {
        let path =
            PathBuf::from(std::env::var_os("ESXI_SIM_STATE").context("ESXI_SIM_STATE is not set")?);
        let mut sim = Sim::load(&path)?;
        let outcome = tool::run(&mut sim, name, args, &mut std::io::stdin().lock());
        sim.save(&path)?;
        Ok(outcome)
    })();
    match result {
        Ok(outcome) => {
            let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
            let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
            ExitCode::from(u8::try_from(outcome.status).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("esxi-sim ({name}): {e:#}");
            ExitCode::from(3)
        }
    }
}

fn cli(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Cmd::New {
            state,
            esxi,
            nics,
            disks,
        } => {
            let storage = Storage::from_specs(&disks).map_err(anyhow::Error::msg)?;
            Sim::new(&Profile {
                major: esxi,
                macs: nics,
                storage,
            })
            .save(&state)?;
            Ok(0)
        }
        Cmd::Run {
            state,
            script,
            args,
        } => run_script(&state, &script, &args),
        Cmd::State { state } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&Sim::load(&state)?.host)?
            );
            Ok(0)
        }
        Cmd::Stats { state } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&Sim::load(&state)?.stats())?
            );
            Ok(0)
        }
        Cmd::ResetCalls { state } => {
            let mut sim = Sim::load(&state)?;
            sim.calls.clear();
            sim.save(&state)?;
            Ok(0)
        }
        Cmd::Fault {
            state,
            nth,
            matching,
            message,
            repeat,
        } => {
            let mut sim = Sim::load(&state)?;
            sim.faults.push(Fault {
                nth,
                matching,
                message,
                fired: false,
                repeat,
            });
            sim.save(&state)?;
            Ok(0)
        }
    }
}

/// Runs a script under busybox sh with a directory of tool symlinks to this executable first in PATH.
fn run_script(state: &Path, script: &Path, args: &[String]) -> anyhow::Result<u8> {
    let state = std::path::absolute(state).context("resolving the state path")?;
    Sim::load(&state)?;
    let exe = std::env::current_exe().context("finding the esxi-sim executable")?;
    let bin = std::env::temp_dir().join(format!("esxi-sim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    for name in TOOLS {
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&exe, &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    let path = match std::env::var_os("PATH") {
        Some(p) => {
            std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(&p)))?
        }
        None => bin.clone().into_os_string(),
    };
    let status = std::process::Command::new("busybox")
        .arg("sh")
        .arg(script)
        .args(args)
        .env("PATH", path)
        .env("ESXI_SIM_STATE", &state)
        .status();
    let _ = std::fs::remove_dir_all(&bin);
    let status = match status {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("busybox is not installed (Debian package busybox)")
        }
        Err(e) => return Err(e).context("running busybox sh"),
    };
    Ok(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}
