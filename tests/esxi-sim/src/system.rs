//! `esxcli system …` and `esxcli network firewall …`: hostname, version, NTP, advanced settings, firewall
//! rulesets and their allowed addresses.

use crate::args::{Args, Kind, Opt};
use crate::host::{Host, Ruleset};
use crate::out::{Output, Record, Value};
use crate::tool::Command;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            path: "system hostname set",
            opts: &const {
                [
                    Opt::new('f', "fqdn", Kind::Str),
                    Opt::new('H', "host", Kind::Str),
                    Opt::new('d', "domain", Kind::Str),
                ]
            },
            mutating: true,
            run: hostname_set,
        },
        Command {
            path: "system hostname get",
            opts: &const { [] },
            mutating: false,
            run: hostname_get,
        },
        Command {
            path: "system version get",
            opts: &const { [] },
            mutating: false,
            run: version_get,
        },
        Command {
            path: "system ntp set",
            opts: &const {
                [
                    Opt::new('e', "enabled", Kind::Bool),
                    Opt::new('s', "server", Kind::Str).repeat(),
                    Opt::new('r', "reset", Kind::Flag),
                ]
            },
            mutating: true,
            run: ntp_set,
        },
        Command {
            path: "system ntp get",
            opts: &const { [] },
            mutating: false,
            run: ntp_get,
        },
        Command {
            path: "system settings advanced list",
            opts: &const {
                [
                    Opt::new('o', "option", Kind::Str),
                    Opt::new('d', "delta", Kind::Flag),
                    Opt::new('t', "tree", Kind::Str),
                ]
            },
            mutating: false,
            run: advanced_list,
        },
        Command {
            path: "system settings advanced set",
            opts: &const {
                [
                    Opt::new('o', "option", Kind::Str).required(),
                    Opt::new(
                        'i',
                        "int-value",
                        Kind::Int {
                            min: i64::MIN,
                            max: i64::MAX,
                        },
                    ),
                    Opt::new('s', "string-value", Kind::Str),
                    Opt::new('d', "default", Kind::Flag),
                ]
            },
            mutating: true,
            run: advanced_set,
        },
        Command {
            path: "network firewall get",
            opts: &const { [] },
            mutating: false,
            run: firewall_get,
        },
        Command {
            path: "network firewall set",
            opts: &const {
                [
                    Opt::new('e', "enabled", Kind::Bool),
                    Opt::new('d', "default-action", Kind::Bool),
                ]
            },
            mutating: true,
            run: firewall_set,
        },
        Command {
            path: "network firewall ruleset list",
            opts: &const { [Opt::new('r', "ruleset-id", Kind::Str)] },
            mutating: false,
            run: ruleset_list,
        },
        Command {
            path: "network firewall ruleset set",
            opts: &const {
                [
                    Opt::new('r', "ruleset-id", Kind::Str).required(),
                    Opt::new('e', "enabled", Kind::Bool),
                    Opt::new('a', "allowed-all", Kind::Bool),
                ]
            },
            mutating: true,
            run: ruleset_set,
        },
        Command {
            path: "network firewall ruleset allowedip list",
            opts: &const { [Opt::new('r', "ruleset-id", Kind::Str)] },
            mutating: false,
            run: allowedip_list,
        },
        Command {
            path: "network firewall ruleset allowedip add",
            opts: &const {
                [
                    Opt::new('r', "ruleset-id", Kind::Str).required(),
                    Opt::new('i', "ip-address", Kind::Str).required(),
                ]
            },
            mutating: true,
            run: allowedip_add,
        },
        Command {
            path: "network firewall ruleset allowedip remove",
            opts: &const {
                [
                    Opt::new('r', "ruleset-id", Kind::Str).required(),
                    Opt::new('i', "ip-address", Kind::Str).required(),
                ]
            },
            mutating: true,
            run: allowedip_remove,
        },
        Command {
            path: "network firewall refresh",
            opts: &const { [] },
            mutating: true,
            run: |_, _| Ok(Output::Empty),
        },
    ]
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

fn hostname_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    if let Some(fqdn) = args.str("fqdn") {
        if args.has("host") || args.has("domain") {
            return Err("--fqdn cannot be used with --host or --domain".into());
        }
        if !fqdn.split('.').all(valid_label) {
            return Err(format!("Invalid fully qualified domain name {fqdn}"));
        }
        let (name, domain) = fqdn.split_once('.').unwrap_or((fqdn, ""));
        host.hostname.host = name.to_string();
        host.hostname.domain = domain.to_string();
        return Ok(Output::Empty);
    }
    if args.str("host").is_none() && args.str("domain").is_none() {
        return Err("One of --fqdn, --host or --domain must be given".into());
    }
    if let Some(name) = args.str("host") {
        if !valid_label(name) {
            return Err(format!("Invalid host name {name}"));
        }
        host.hostname.host = name.to_string();
    }
    if let Some(domain) = args.str("domain") {
        if !domain.is_empty() && !domain.split('.').all(valid_label) {
            return Err(format!("Invalid domain name {domain}"));
        }
        host.hostname.domain = domain.to_string();
    }
    Ok(Output::Empty)
}

fn hostname_get(host: &mut Host, _: &Args) -> Result<Output, String> {
    let h = &host.hostname;
    let fqdn = if h.domain.is_empty() {
        h.host.clone()
    } else {
        format!("{}.{}", h.host, h.domain)
    };
    Ok(Output::Single(
        Record::new("HostnameInfo")
            .field("Domain Name", Value::str(&h.domain))
            .field("Fully Qualified Domain Name", Value::str(fqdn))
            .field("Host Name", Value::str(&h.host)),
    ))
}

fn version_get(host: &mut Host, _: &Args) -> Result<Output, String> {
    let v = &host.version;
    Ok(Output::Single(
        Record::new("VersionGet")
            .field("Product", Value::str(&v.product))
            .field("Version", Value::str(&v.version))
            .field("Build", Value::str(&v.build))
            .field("Update", Value::str(&v.update))
            .field("Patch", Value::str(&v.patch)),
    ))
}

fn ntp_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    if args.flag("reset") {
        host.ntp.servers.clear();
        host.ntp.enabled = false;
    }
    let servers = args.all("server");
    if !servers.is_empty() {
        host.ntp.servers = servers.into_iter().map(String::from).collect();
    }
    if let Some(e) = args.bool("enabled") {
        if e && host.ntp.servers.is_empty() {
            return Err("Unable to enable NTP: no server is configured".into());
        }
        host.ntp.enabled = e;
    }
    Ok(Output::Empty)
}

fn ntp_get(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Single(
        Record::new("NTPConfig")
            .field("Enabled", Value::Bool(host.ntp.enabled))
            .field("Servers", Value::List(host.ntp.servers.clone())),
    ))
}

fn advanced_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    let option = args.str("option");
    if let Some(path) = option
        && !host.advanced.iter().any(|a| a.path == path)
    {
        return Err(format!(
            "Unable to find option {}",
            path.trim_start_matches('/')
        ));
    }
    let tree = args.str("tree");
    let delta = args.flag("delta");
    Ok(Output::Blocks(
        host.advanced
            .iter()
            .filter(|a| option.is_none_or(|o| o == a.path))
            .filter(|a| tree.is_none_or(|t| a.path.starts_with(t)))
            .filter(|a| {
                !delta || a.int_value != a.default_int || a.string_value != a.default_string
            })
            .map(|a| {
                Record::new("SettingsAdvancedOption")
                    .field("Path", Value::str(&a.path))
                    .field("Type", Value::str(&a.kind))
                    .field("Int Value", Value::Int(a.int_value))
                    .field("Default Int Value", Value::Int(a.default_int))
                    .field("Min Value", Value::Int(0))
                    .field(
                        "Max Value",
                        Value::Int(if a.kind == "integer" { 1 } else { 0 }),
                    )
                    .field("String Value", Value::str(&a.string_value))
                    .field("Default String Value", Value::str(&a.default_string))
                    .field(
                        "Valid Characters",
                        Value::str(if a.kind == "string" { "*" } else { "" }),
                    )
                    .field("Description", Value::str(&a.description))
            })
            .collect(),
    ))
}

fn advanced_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let path = args.str("option").unwrap_or_default();
    let option = host
        .advanced
        .iter_mut()
        .find(|a| a.path == path)
        .ok_or_else(|| format!("Unable to find option {}", path.trim_start_matches('/')))?;
    let given = [
        args.has("int-value"),
        args.has("string-value"),
        args.flag("default"),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err("Exactly one of --int-value, --string-value or --default must be given".into());
    }
    if args.flag("default") {
        option.int_value = option.default_int;
        option.string_value = option.default_string.clone();
    } else if let Some(i) = args.int("int-value") {
        if option.kind != "integer" {
            return Err(format!("Option {path} takes a string value"));
        }
        if !(0..=1).contains(&i) {
            return Err(format!(
                "Invalid value {i} for option {path}: the range is 0 - 1"
            ));
        }
        option.int_value = i;
    } else if let Some(s) = args.str("string-value") {
        if option.kind != "string" {
            return Err(format!("Option {path} takes an integer value"));
        }
        option.string_value = s.to_string();
    }
    Ok(Output::Empty)
}

fn firewall_get(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Single(
        Record::new("Firewall")
            .field("Default Action", Value::str(&host.firewall.default_action))
            .field("Enabled", Value::Bool(host.firewall.enabled))
            .field("Loaded", Value::Bool(true)),
    ))
}

fn firewall_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    if let Some(e) = args.bool("enabled") {
        host.firewall.enabled = e;
    }
    if let Some(pass) = args.bool("default-action") {
        host.firewall.default_action = if pass { "PASS" } else { "DROP" }.into();
    }
    Ok(Output::Empty)
}

/// The rulesets a list command shows: all, or the one `--ruleset-id` names.
fn listed<'h>(host: &'h Host, args: &Args) -> Result<Vec<&'h Ruleset>, String> {
    let only = args.str("ruleset-id");
    if let Some(id) = only
        && !host.firewall.rulesets.iter().any(|r| r.id == id)
    {
        return Err(format!("Invalid ruleset id {id}"));
    }
    Ok(host
        .firewall
        .rulesets
        .iter()
        .filter(|r| only.is_none_or(|id| id == r.id))
        .collect())
}

fn ruleset_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        listed(host, args)?
            .into_iter()
            .map(|r| {
                Record::new("Ruleset")
                    .field("Name", Value::str(&r.id))
                    .field("Enabled", Value::Bool(r.enabled))
            })
            .collect(),
    ))
}

fn ruleset_mut<'h>(host: &'h mut Host, args: &Args) -> Result<&'h mut Ruleset, String> {
    let id = args.str("ruleset-id").unwrap_or_default();
    host.firewall
        .rulesets
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(|| format!("Invalid ruleset id {id}"))
}

fn ruleset_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let ruleset = ruleset_mut(host, args)?;
    if let Some(e) = args.bool("enabled") {
        ruleset.enabled = e;
    }
    if let Some(all) = args.bool("allowed-all") {
        ruleset.allowed_all = all;
    }
    Ok(Output::Empty)
}

fn allowedip_list(host: &mut Host, args: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        listed(host, args)?
            .into_iter()
            .map(|r| {
                let allowed = if r.allowed_all {
                    vec!["All".to_string()]
                } else {
                    r.allowed_ips.clone()
                };
                Record::new("RulesetAllowedIP")
                    .field("Ruleset", Value::str(&r.id))
                    .field("Allowed IP Addresses", Value::List(allowed))
            })
            .collect(),
    ))
}

fn allowedip_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let ip = args.str("ip-address").unwrap_or_default().to_string();
    if ip
        .split('/')
        .next()
        .is_none_or(|a| a.parse::<std::net::IpAddr>().is_err())
    {
        return Err(format!("Invalid IP address {ip}"));
    }
    let ruleset = ruleset_mut(host, args)?;
    if ruleset.allowed_all {
        return Err(format!(
            "Ruleset {} allows all IP addresses: set --allowed-all=false before adding one",
            ruleset.id
        ));
    }
    if ruleset.allowed_ips.contains(&ip) {
        return Err("Ip address already exist.".into());
    }
    ruleset.allowed_ips.push(ip);
    Ok(Output::Empty)
}

fn allowedip_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let ip = args.str("ip-address").unwrap_or_default();
    let ruleset = ruleset_mut(host, args)?;
    let before = ruleset.allowed_ips.len();
    ruleset.allowed_ips.retain(|a| a != ip);
    if ruleset.allowed_ips.len() == before {
        return Err(format!("Ip address {ip} is not in the allowed list"));
    }
    Ok(Output::Empty)
}
