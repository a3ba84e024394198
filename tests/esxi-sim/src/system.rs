//! `esxcli system …` and `esxcli network firewall …`: hostname, version, NTP (from 7.0 Update 1), local
//! accounts and their permissions, advanced settings, firewall rulesets and their allowed addresses.

use crate::args::{Args, Kind, Opt};
use crate::host::{Account, Host, Permission, Ruleset, Version};
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
            path: "system account add",
            opts: &const {
                [
                    Opt::new('d', "description", Kind::Str),
                    Opt::new('i', "id", Kind::Str).required(),
                    Opt::new('p', "password", Kind::Str),
                    Opt::new('c', "password-confirmation", Kind::Str),
                ]
            },
            mutating: true,
            run: account_add,
        },
        Command {
            path: "system account list",
            opts: &const { [] },
            mutating: false,
            run: account_list,
        },
        Command {
            path: "system account remove",
            opts: &const { [Opt::new('i', "id", Kind::Str).required()] },
            mutating: true,
            run: account_remove,
        },
        Command {
            path: "system permission list",
            opts: &const { [] },
            mutating: false,
            run: permission_list,
        },
        Command {
            path: "system permission set",
            opts: &const {
                [
                    Opt::new('g', "group", Kind::Bool),
                    Opt::new('i', "id", Kind::Str).required(),
                    Opt::new(
                        'r',
                        "role",
                        Kind::Choice(&["Admin", "ReadOnly", "NoAccess"]),
                    )
                    .required(),
                ]
            },
            mutating: true,
            run: permission_set,
        },
        Command {
            path: "system permission unset",
            opts: &const {
                [
                    Opt::new('g', "group", Kind::Bool),
                    Opt::new('i', "id", Kind::Str).required(),
                ]
            },
            mutating: true,
            run: permission_unset,
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

/// Whether a host of this release has the command: `esxcli system ntp` came with ESXi 7.0 Update 1; older
/// releases configure NTP through /etc/ntp.conf (see `services`).
pub fn available(path: &str, version: &Version) -> bool {
    !path.starts_with("system ntp ") || version.at_least([7, 0, 1])
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
        // Enabling sets ntpd to start with the host and starts it; disabling stops it.
        host.ntp.enabled = e;
        host.ntp.running = e;
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

/// ESXi's default password policy (`Security.PasswordQualityControl`, passwdqc `min=disabled,disabled,
/// disabled,7,7`): at least 7 characters from at least three character classes, where an uppercase letter
/// at the start and a digit at the end do not count.
fn meets_policy(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let counted = |i: usize, c: char| {
        !(i == 0 && c.is_ascii_uppercase() || i + 1 == chars.len() && c.is_ascii_digit())
    };
    let mut classes = [false; 4];
    for (i, c) in chars.iter().enumerate() {
        if counted(i, *c) {
            let class = if c.is_ascii_lowercase() {
                0
            } else if c.is_ascii_uppercase() {
                1
            } else if c.is_ascii_digit() {
                2
            } else {
                3
            };
            classes[class] = true;
        }
    }
    chars.len() >= 7 && chars.len() <= 40 && classes.iter().filter(|c| **c).count() >= 3
}

fn account_add(host: &mut Host, args: &Args) -> Result<Output, String> {
    let id = args.str("id").unwrap_or_default();
    if id.is_empty()
        || id.starts_with('-')
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(format!("Invalid user name {id}"));
    }
    if host.accounts.iter().any(|a| a.id == id) {
        return Err(format!(
            "The specified key, name, or identifier '{id}' already exists."
        ));
    }
    let password = args.str("password").unwrap_or_default();
    if args.str("password-confirmation").unwrap_or_default() != password {
        return Err("Password and password confirmation do not match.".into());
    }
    if !password.is_empty() && !meets_policy(password) {
        return Err(
            "Failed to set the password: it does not meet the password policy requirements.".into(),
        );
    }
    host.accounts.push(Account {
        id: id.to_string(),
        description: args.str("description").unwrap_or_default().to_string(),
        password: password.to_string(),
    });
    Ok(Output::Empty)
}

fn account_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        host.accounts
            .iter()
            .map(|a| {
                Record::new("Account")
                    .field("User ID", Value::str(&a.id))
                    .field("Description", Value::str(&a.description))
            })
            .collect(),
    ))
}

fn account_remove(host: &mut Host, args: &Args) -> Result<Output, String> {
    let id = args.str("id").unwrap_or_default();
    if id == "root" {
        return Err("The root account cannot be removed.".into());
    }
    let before = host.accounts.len();
    host.accounts.retain(|a| a.id != id);
    if host.accounts.len() == before {
        return Err(format!("The user or group named '{id}' does not exist."));
    }
    host.permissions.retain(|p| p.group || p.principal != id);
    Ok(Output::Empty)
}

fn permission_list(host: &mut Host, _: &Args) -> Result<Output, String> {
    Ok(Output::Table(
        host.permissions
            .iter()
            .map(|p| {
                let description = match p.role.as_str() {
                    "Admin" => "Full access rights",
                    "ReadOnly" => "See details of objects, but not make changes",
                    _ => "Used for restricting granted access",
                };
                Record::new("Permission")
                    .field("Principal", Value::str(&p.principal))
                    .field("Is Group", Value::Bool(p.group))
                    .field("Role", Value::str(&p.role))
                    .field("Role Description", Value::str(description))
            })
            .collect(),
    ))
}

fn permission_set(host: &mut Host, args: &Args) -> Result<Output, String> {
    let id = args.str("id").unwrap_or_default();
    let group = args.bool("group").unwrap_or(false);
    if !group && !host.accounts.iter().any(|a| a.id == id) {
        return Err(format!("User or group named '{id}' not found"));
    }
    host.permissions
        .retain(|p| !(p.principal == id && p.group == group));
    host.permissions.push(Permission {
        principal: id.to_string(),
        group,
        role: args.str("role").unwrap_or_default().to_string(),
    });
    Ok(Output::Empty)
}

fn permission_unset(host: &mut Host, args: &Args) -> Result<Output, String> {
    let id = args.str("id").unwrap_or_default();
    let group = args.bool("group").unwrap_or(false);
    if id == "root" && !group {
        return Err("The root user's permission cannot be removed.".into());
    }
    let before = host.permissions.len();
    host.permissions
        .retain(|p| !(p.principal == id && p.group == group));
    if host.permissions.len() == before {
        return Err(format!("No permission is set for '{id}'"));
    }
    Ok(Output::Empty)
}
