//! Plan → text: the first-boot script (minijinja templates) and the JSON plan. Templates decide nothing;
//! every string they interpolate is single-quoted for POSIX sh by the environment's formatter.

use std::sync::LazyLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

use crate::plan::Plan;

/// The first-boot script's templates, by the names they include each other by; `firstboot.sh` is the top.
const TEMPLATES: &[(&str, &str)] = &[
    ("prelude.sh", include_str!("templates/prelude.sh")),
    ("maas.sh", include_str!("templates/maas.sh")),
    ("network.sh.j2", include_str!("templates/network.sh.j2")),
    ("storage.sh.j2", include_str!("templates/storage.sh.j2")),
    ("host.sh", include_str!("templates/host.sh")),
    ("vendor.sh", include_str!("templates/vendor.sh")),
    ("firstboot.sh", include_str!("templates/firstboot.sh.j2")),
];

/// Quotes `s` as one POSIX sh word: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A template environment for shell-like text: strict undefined, trimmed blocks, and a formatter that
/// single-quotes every string, prints booleans and numbers as they are, and refuses any other value.
pub(crate) fn shell_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_formatter(|out, _state, value| {
        let text = match value.kind() {
            ValueKind::String => shell_quote(value.as_str().unwrap_or_default()),
            ValueKind::Bool => if value.is_true() { "true" } else { "false" }.to_string(),
            ValueKind::Number => value.to_string(),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("internal error, this is a bug: a template printed a {other} value"),
                ));
            }
        };
        out.write_str(&text).map_err(Error::from)
    });
    env
}

/// The first-boot script's environment, built once: parsing the templates costs far more than rendering
/// a plan, and a process (the fuzzer above all) may render many.
static FIRSTBOOT_ENV: LazyLock<Environment<'static>> = LazyLock::new(environment);

fn environment() -> Environment<'static> {
    let mut env = shell_environment();
    // The templates are part of the binary; failing to load them is a bug caught by every test.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("the template {name} does not parse: {e:#}"));
    }
    env
}

/// The first-boot script that makes a host match the plan.
pub fn script(plan: &Plan) -> String {
    let template = FIRSTBOOT_ENV
        .get_template("firstboot.sh")
        .expect("the first-boot template is registered");
    template
        .render(Value::from(Serde(plan)))
        .unwrap_or_else(|e| {
            panic!("internal error, this is a bug: rendering the first-boot script failed: {e:#}")
        })
}

/// The plan as pretty-printed JSON, with `"format-version"`.
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan always serializes");
    text.push('\n');
    text
}
