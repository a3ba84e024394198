//! esxcli's option grammar: `--long=value`, `--long value`, `-x value` and `-xvalue`, checked against each
//! command's option table the way esxcli checks them (unknown, duplicated and missing options, value types,
//! ranges and choices), with esxcli's wording.

/// What an option takes.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Str,
    /// An integer esxcli calls `<long>`, within an inclusive range.
    Int {
        min: i64,
        max: i64,
    },
    /// `0/1/false/true/f/t/no/yes/n/y/off/on`, any case.
    Bool,
    /// An option without a value, such as `--all`.
    Flag,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// One option of one command.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub short: Option<char>,
    pub long: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The option may be given more than once (`system ntp set --server=a --server=b`).
    pub repeat: bool,
}

impl Opt {
    pub const fn new(short: char, long: &'static str, kind: Kind) -> Opt {
        Opt {
            short: Some(short),
            long,
            kind,
            required: false,
            repeat: false,
        }
    }

    /// An option that has no short letter.
    pub const fn long(long: &'static str, kind: Kind) -> Opt {
        Opt {
            short: None,
            long,
            kind,
            required: false,
            repeat: false,
        }
    }

    pub const fn required(mut self) -> Opt {
        self.required = true;
        self
    }

    pub const fn repeat(mut self) -> Opt {
        self.repeat = true;
        self
    }

    /// `-v|--vswitch-name`, as esxcli names an option in its messages.
    pub fn display(&self) -> String {
        match self.short {
            Some(c) => format!("-{c}|--{}", self.long),
            None => format!("--{}", self.long),
        }
    }
}

/// The options a command was given, by long name, in the order given.
#[derive(Clone, Debug, Default)]
pub struct Args {
    values: Vec<(&'static str, String)>,
}

impl Args {
    pub fn str(&self, long: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, long: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(l, _)| *l == long)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer option; its value was checked when parsing.
    pub fn int(&self, long: &str) -> Option<i64> {
        self.str(long).and_then(|v| v.parse().ok())
    }

    /// A boolean option; its value was checked when parsing.
    pub fn bool(&self, long: &str) -> Option<bool> {
        self.str(long).and_then(parse_bool)
    }

    pub fn flag(&self, long: &str) -> bool {
        self.str(long).is_some()
    }

    pub fn has(&self, long: &str) -> bool {
        self.str(long).is_some()
    }
}

/// esxcli's boolean spellings.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// Parses `argv` against `opts`. The error is the message esxcli prints, without its `Error: ` prefix.
pub fn parse(opts: &[Opt], argv: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    let mut i = 0;
    while i < argv.len() {
        let token = &argv[i];
        i += 1;
        let (opt, inline) = if let Some(rest) = token.strip_prefix("--") {
            let (name, value) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (rest, None),
            };
            let opt = opts
                .iter()
                .find(|o| o.long == name)
                .ok_or_else(|| format!("Invalid option --{name}"))?;
            (opt, value)
        } else if let Some(rest) = token.strip_prefix('-').filter(|r| !r.is_empty()) {
            let mut chars = rest.chars();
            let letter = chars.next().unwrap_or_default();
            let opt = opts
                .iter()
                .find(|o| o.short == Some(letter))
                .ok_or_else(|| format!("Invalid option -{letter}"))?;
            let tail: String = chars.collect();
            (opt, (!tail.is_empty()).then_some(tail))
        } else {
            return Err(format!("Invalid option {token}"));
        };
        let value = match (opt.kind, inline) {
            (Kind::Flag, None) => "true".to_string(),
            (Kind::Flag, Some(v)) => {
                parse_bool(&v).ok_or_else(|| type_mismatch(opt, "boolean", &v))?;
                v
            }
            (_, Some(v)) => v,
            (_, None) => {
                let v = argv
                    .get(i)
                    .ok_or_else(|| format!("Missing value for option {}", opt.display()))?;
                i += 1;
                v.clone()
            }
        };
        check_value(opt, &value)?;
        if !opt.repeat && args.has(opt.long) {
            return Err(format!("Duplicated option {}", opt.display()));
        }
        args.values.push((opt.long, value));
    }
    if let Some(missing) = opts.iter().find(|o| o.required && !args.has(o.long)) {
        return Err(format!("Missing required parameter {}", missing.display()));
    }
    Ok(args)
}

fn type_mismatch(opt: &Opt, expected: &str, got: &str) -> String {
    format!(
        "While processing '--{}'. Argument type mismatch. Expecting {expected} value. Got '{got}'",
        opt.long
    )
}

fn check_value(opt: &Opt, value: &str) -> Result<(), String> {
    match opt.kind {
        Kind::Str | Kind::Flag => Ok(()),
        Kind::Int { min, max } => {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| type_mismatch(opt, "integer", value))?;
            if n < min || n > max {
                return Err(format!(
                    "While processing '--{}'. Value {n} is out of range. This value is in the range ({min} - {max})",
                    opt.long
                ));
            }
            Ok(())
        }
        Kind::Bool => parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| type_mismatch(opt, "boolean", value)),
        Kind::Choice(words) => {
            if words.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "While processing '--{}'. '{value}' must be one of [{}]",
                    opt.long,
                    words.join(", ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt::new('p', "portgroup-name", Kind::Str).required(),
        Opt::new('v', "vlan-id", Kind::Int { min: 0, max: 4095 }),
        Opt::new('e', "enabled", Kind::Bool),
        Opt::new('a', "all", Kind::Flag),
    ];

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_spelling_of_an_option_is_accepted() {
        for form in [
            &["--portgroup-name=VM Network", "--vlan-id=10"][..],
            &["--portgroup-name", "VM Network", "--vlan-id", "10"],
            &["-p", "VM Network", "-v", "10"],
            &["-pVM Network", "-v10"],
        ] {
            let args = parse(OPTS, &argv(form)).expect("valid");
            assert_eq!(args.str("portgroup-name"), Some("VM Network"));
            assert_eq!(args.int("vlan-id"), Some(10));
        }
    }

    #[test]
    fn errors_are_worded_like_esxcli() {
        let err = |s: &[&str]| parse(OPTS, &argv(s)).expect_err("rejected");
        assert_eq!(
            err(&["-p", "a", "--vlan-id=LT-3100"]),
            "While processing '--vlan-id'. Argument type mismatch. Expecting integer value. Got 'LT-3100'"
        );
        assert_eq!(
            err(&["--vlan-id=1"]),
            "Missing required parameter -p|--portgroup-name"
        );
        assert_eq!(
            err(&["-p", "a", "-p", "b"]),
            "Duplicated option -p|--portgroup-name"
        );
        assert_eq!(err(&["-p", "a", "--mtu=9000"]), "Invalid option --mtu");
        assert_eq!(err(&["-p", "a", "-x", "1"]), "Invalid option -x");
        assert!(err(&["-p", "a", "-v", "4096"]).contains("out of range"));
        assert!(err(&["-p", "a", "-e", "maybe"]).contains("Expecting boolean"));
        assert_eq!(err(&["-p"]), "Missing value for option -p|--portgroup-name");
    }

    #[test]
    fn booleans_take_every_esxcli_spelling() {
        for (s, b) in [
            ("yes", true),
            ("ON", true),
            ("t", true),
            ("1", true),
            ("n", false),
            ("off", false),
            ("False", false),
        ] {
            assert_eq!(parse_bool(s), Some(b), "{s}");
        }
        assert!(
            parse(OPTS, &argv(&["-p", "x", "--all"]))
                .expect("flag")
                .flag("all")
        );
    }
}
