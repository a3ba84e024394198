//! The `maas-esxi` command: argument parsing, file IO and exit status around the library's pure stages.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use maas_esxi::diag;
use maas_esxi::image::progress::Verbosity;
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
    /// When to colour diagnostics: `auto` colours on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
    /// Print only warnings and errors: no progress, no notes.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Also print the QEMU command line and each step of finalize.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether stderr gets colour: `auto` means a terminal, no NO_COLOR, and not TERM=dumb.
    fn on_stderr(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the first-boot script (or the plan as JSON) that makes an ESXi host match CONFIG.
    Translate {
        /// curtin config (YAML or JSON), `network:` document or netplan file; `-` or none reads stdin
        /// (none only when stdin is not a terminal).
        config: Option<PathBuf>,
        /// What to print: the first-boot script, or the plan as JSON.
        #[arg(long, value_enum, default_value_t = TranslateFormat::Sh)]
        format: TranslateFormat,
        #[command(flatten)]
        common: Common,
    },
    /// Check configs and print diagnostics only.
    Validate {
        /// curtin configs (YAML or JSON), `network:` documents or netplan files; `-` reads stdin.
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        /// How to print diagnostics: for people on stderr, or as JSON on stdout.
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
    /// Print the completion script for a shell (bash: save it as
    /// /usr/share/bash-completion/completions/maas-esxi).
    Completions { shell: clap_complete::Shell },
    /// Print the man page, or write one for each command into DIR.
    Man {
        /// Write maas-esxi.1 and a page for each subcommand (maas-esxi-image-build.1 …) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct Common {
    /// Treat warnings (approximations, unknown keys) as errors.
    #[arg(long)]
    strict: bool,
    /// Name of the port group for VMs on the management vSwitch.
    #[arg(
        long,
        default_value = "VM Network",
        conflicts_with = "no_vm_network",
        value_parser = port_group_name
    )]
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
    /// The first-boot script (POSIX sh).
    Sh,
    /// The plan, with its "format-version".
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ValidateFormat {
    /// Compiler-style reports on stderr, and a summary line.
    Text,
    /// One line per diagnostic on stderr, `file:line:col: level: message`, and a summary line.
    Short,
    /// Every diagnostic as JSON on stdout.
    Json,
}

/// A clap value parser for `--vm-network`: a name ESXi accepts for a port group.
fn port_group_name(text: &str) -> Result<String, String> {
    plan::check_port_group_name(text).map(|()| text.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cli.color.on_stderr();
    let verbosity = match (cli.quiet, cli.verbose) {
        // clap checks the conflict only when both flags stand at one level of subcommands.
        (true, true) => Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--quiet and --verbose cannot be used together",
            )
            .exit(),
        (true, false) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    };
    let result = match &cli.command {
        Command::Translate {
            config,
            format,
            common,
        } => translate(
            &config_or_stdin(config.as_deref()),
            *format,
            &common.options(),
            color,
        ),
        Command::Validate {
            configs,
            format,
            common,
        } => validate(configs, *format, &common.options(), color),
        Command::CurtinHook(args) => maas_esxi::hook::run(args),
        Command::Image { command } => maas_esxi::image::run(command, verbosity),
        Command::Completions { shell } => completions(*shell),
        Command::Man { dir } => man(dir.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_IO)
        }
    }
}

/// The config to translate: the one given, else stdin, which must then not be a terminal (it would wait
/// silently for a config to be typed); that is a usage error.
fn config_or_stdin(config: Option<&Path>) -> PathBuf {
    match config {
        Some(path) => path.to_path_buf(),
        None if std::io::stdin().is_terminal() => {
            let mut command = Cli::command();
            command.build();
            let mut translate = match command.find_subcommand_mut("translate") {
                Some(translate) => translate.clone(),
                None => command,
            };
            translate
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "no CONFIG was given and standard input is a terminal; give a config file, or `-` \
                     to type one (end it with Ctrl-D)",
                )
                .exit()
        }
        None => PathBuf::from("-"),
    }
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "maas-esxi", &mut stdout);
    stdout.flush().context("writing to stdout")?;
    Ok(0)
}

fn man(dir: Option<&Path>) -> anyhow::Result<u8> {
    let command = Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command, dir))
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut stdout)
                .and_then(|()| stdout.flush())
                .context("writing to stdout")?;
        }
    }
    Ok(0)
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

fn translate(
    path: &PathBuf,
    format: TranslateFormat,
    options: &Options,
    color: bool,
) -> anyhow::Result<u8> {
    let (name, bytes) = read_config(path)?;
    let (text, outcome) = maas_esxi::check_bytes(&bytes, options);
    let style = diag::Style {
        format: diag::Format::Human,
        color,
    };
    eprint!(
        "{}",
        diag::render_styled(&name, &text, &outcome.diagnostics.0, style)
    );
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

fn validate(
    paths: &[PathBuf],
    format: ValidateFormat,
    options: &Options,
    color: bool,
) -> anyhow::Result<u8> {
    let mut rejected = false;
    let mut io_failed = false;
    let mut reports = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
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
        let found = &outcome.diagnostics.0;
        let error_count = found.iter().filter(|d| d.is_error()).count();
        errors += error_count;
        warnings += found.len() - error_count;
        let style = |format| diag::Style { format, color };
        match format {
            ValidateFormat::Text => eprint!(
                "{}",
                diag::render_styled(&name, &text, found, style(diag::Format::Human))
            ),
            ValidateFormat::Short => eprint!(
                "{}",
                diag::render_styled(&name, &text, found, style(diag::Format::Short))
            ),
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
    } else {
        eprintln!("{}", diag::summary(paths.len(), errors, warnings, color));
    }
    Ok(if io_failed {
        EXIT_IO
    } else if rejected {
        EXIT_REJECTED
    } else {
        0
    })
}
