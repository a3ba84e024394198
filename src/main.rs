//! The `maas-esxi` command: argument parsing, file IO and exit status around the library's pure stages.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use maas_esxi::diag;
use maas_esxi::{Options, plan, render};

/// Exit statuses; README documents this table.
const EXIT_REJECTED: u8 = 1;
const EXIT_IO: u8 = 3;

/// The version of `validate --format json`'s shape (the plan has its own, `plan::FORMAT_VERSION`).
const DIAGNOSTICS_FORMAT_VERSION: u32 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "maas-esxi",
    version,
    about = "Deploy VMware ESXi properly with MAAS: translate MAAS network config into ESXi commands"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the first-boot script (or the plan as JSON) that makes an ESXi host match CONFIG.
    Translate {
        /// curtin config (YAML or JSON), `network:` document or netplan file; `-` reads stdin.
        #[arg(default_value = "-")]
        config: PathBuf,
        #[arg(long, value_enum, default_value_t = TranslateFormat::Sh)]
        format: TranslateFormat,
        #[command(flatten)]
        common: Common,
    },
    /// Check configs and print diagnostics only.
    Validate {
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
        format: ValidateFormat,
        #[command(flatten)]
        common: Common,
    },
    /// Run by curtin, from the image's `curtin/curtin-hooks`: check $CONFIG, write the first-boot bundle into
    /// the altbootbank mounted at $TARGET_MOUNT_POINT and remove curtin/.
    CurtinHook(maas_esxi::hook::Args),
    /// Build the MAAS image from an ESXi installer ISO, or finalize a raw disk.
    Image {
        #[command(subcommand)]
        command: maas_esxi::image::Command,
    },
}

#[derive(clap::Args, Debug)]
struct Common {
    /// Treat warnings (approximations, unknown keys) as errors.
    #[arg(long)]
    strict: bool,
    /// Name of the port group for VMs on the management vSwitch.
    #[arg(long, default_value = "VM Network", conflicts_with = "no_vm_network")]
    vm_network: String,
    /// Create no port group for VMs.
    #[arg(long)]
    no_vm_network: bool,
}

impl Common {
    fn options(&self) -> Options {
        Options {
            strict: self.strict,
            plan: plan::Options {
                vm_network: (!self.no_vm_network).then(|| self.vm_network.clone()),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TranslateFormat {
    Sh,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ValidateFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Translate {
            config,
            format,
            common,
        } => translate(config, *format, &common.options()),
        Command::Validate {
            configs,
            format,
            common,
        } => validate(configs, *format, &common.options()),
        Command::CurtinHook(args) => maas_esxi::hook::run(args),
        Command::Image { command } => maas_esxi::image::run(command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_IO)
        }
    }
}

/// Reads a config file (or stdin for `-`), returning its display name and text.
fn read_config(path: &PathBuf) -> anyhow::Result<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading the config from stdin")?;
        return Ok(("<stdin>".to_string(), bytes));
    }
    bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok((path.display().to_string(), bytes))
}

fn translate(path: &PathBuf, format: TranslateFormat, options: &Options) -> anyhow::Result<u8> {
    let (name, bytes) = read_config(path)?;
    let (text, outcome) = maas_esxi::check_bytes(&bytes, options);
    eprint!("{}", diag::render(&name, &text, &outcome.diagnostics.0));
    let Some(plan) = outcome.plan else {
        return Ok(EXIT_REJECTED);
    };
    let out = match format {
        TranslateFormat::Sh => render::script(&plan),
        TranslateFormat::Json => render::json(&plan),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")?;
    Ok(0)
}

fn validate(paths: &[PathBuf], format: ValidateFormat, options: &Options) -> anyhow::Result<u8> {
    let mut rejected = false;
    let mut io_failed = false;
    let mut reports = Vec::new();
    for path in paths {
        let (name, bytes) = match read_config(path) {
            Ok(read) => read,
            Err(e) => {
                eprintln!("error: {e:#}");
                io_failed = true;
                continue;
            }
        };
        let (text, outcome) = maas_esxi::check_bytes(&bytes, options);
        rejected |= outcome.diagnostics.has_errors();
        match format {
            ValidateFormat::Text => {
                eprint!("{}", diag::render(&name, &text, &outcome.diagnostics.0))
            }
            ValidateFormat::Json => reports
                .push(serde_json::json!({ "file": name, "diagnostics": outcome.diagnostics.0 })),
        }
    }
    if let ValidateFormat::Json = format {
        let doc =
            serde_json::json!({ "format-version": DIAGNOSTICS_FORMAT_VERSION, "files": reports });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).context("serializing diagnostics")?
        );
    }
    Ok(if io_failed {
        EXIT_IO
    } else if rejected {
        EXIT_REJECTED
    } else {
        0
    })
}
