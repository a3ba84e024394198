//! The first-boot script's reader of esxcli's CSV (`query` and the table helpers of the prelude), fed what the
//! simulator prints as esxcli does: empty cells in any column, names with spaces, commas and quotes, lists
//! whose items hold commas, CRLF line ends. Every value must come back exactly, in its own column.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use esxi_sim::out::{Formatter, Output, Record, Value, render};

const PRELUDE: &str = include_str!("../../../src/render/templates/prelude.sh");

/// Runs `body` under busybox sh after the prelude, with `esxcli` printing `csv`; returns stdout.
fn shell(csv: &str, body: &str) -> String {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("esxi-csv-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // A glob that expanded would name this file.
    std::fs::write(dir.join("glob-canary"), "").expect("canary");
    let csv_file = dir.join("out.csv");
    std::fs::write(&csv_file, csv).expect("csv written");
    let script = format!("{PRELUDE}\nesxcli() {{ cat \"$CSV\"; }}\n{body}\n");
    let out = Command::new("busybox")
        .arg("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env("CSV", &csv_file)
        .env("MAAS_ESXI_LOG", dir.join("log"))
        .output()
        .expect("busybox runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn row(name: &str, gateway: &str, netmask: &str, source: &str, uplinks: &[&str]) -> Record {
    Record::new("RouteEntry")
        .field("Name", Value::str(name))
        .field("Gateway", Value::str(gateway))
        .field("Netmask", Value::str(netmask))
        .field("Source", Value::str(source))
        .field(
            "Uplinks",
            Value::List(uplinks.iter().map(|u| u.to_string()).collect()),
        )
}

fn table() -> String {
    render(
        &Output::Table(vec![
            row("a,b \"c\"", "", "", "MANUAL", &[]),
            row(" spaced ", "10.0.0.1", "", "", &["x,y", "q\"", "z"]),
            row("*", "", "255.0.0.0", "DHCP", &["vmnic0"]),
            row("$(touch pwned)", "", "", "", &[""]),
            row("it's", "::", "64", "RA", &["vmnic1", "vmnic2"]),
        ]),
        Formatter::Csv,
    )
}

/// Prints each row's fields in brackets, list items joined by `|`.
const PRINT_ROWS: &str = r#"
query T 'Name Netmask Gateway Uplinks[] Source' esxcli --formatter=csv network ip route ipv4 list
while IFS="$SEP" read -r name mask gw ups src; do
  printf '[%s]' "$name" "$mask" "$gw" "$(printf '%s' "$ups" | tr "$ISEP" '|')" "$src"
  echo
done <<EOF
$T
EOF
"#;

const EXPECTED_ROWS: &str = "\
[a,b \"c\"][][][][MANUAL]
[ spaced ][][10.0.0.1][x,y|q\"|z][]
[*][255.0.0.0][][vmnic0][DHCP]
[$(touch pwned)][][][][]
[it's][64][::][vmnic1|vmnic2][RA]
";

#[test]
fn empty_middle_columns_keep_every_field_in_its_column() {
    let csv = table();
    assert!(
        csv.contains("\n,\"a,b \"\"c\"\"\",,MANUAL,,\n"),
        "the simulator prints empty cells between commas: {csv}"
    );
    assert_eq!(shell(&csv, PRINT_ROWS), EXPECTED_ROWS);
}

#[test]
fn crlf_line_ends_read_the_same() {
    assert_eq!(
        shell(&table().replace('\n', "\r\n"), PRINT_ROWS),
        EXPECTED_ROWS
    );
}

#[test]
fn lookups_match_whole_values() {
    let out = shell(
        &table(),
        r#"
query T 'Name Netmask Gateway Uplinks[] Source' esxcli --formatter=csv network ip route ipv4 list
printf '<%s>\n' "$(get "$T" ' spaced ' 3)" "$(get "$T" '*' 2)" "$(get "$T" 'a,b "c"' 5)" "$(nth "$T" 5)"
has "$T" ' spaced ' && echo has-spaced
has "$T" 'spaced' || echo no-trimmed
has "$T" 'a,b' || echo no-split
up=$(get "$T" ' spaced ' 4)
inlist "$up" 'x,y' && echo item-with-comma
inlist "$up" 'x' || echo no-half-item
items "$up"
"#,
    );
    assert_eq!(
        out,
        "<10.0.0.1>\n<255.0.0.0>\n<MANUAL>\n<MANUAL>\nhas-spaced\nno-trimmed\nno-split\n\
         item-with-comma\nno-half-item\nx,y\nq\"\nz\n"
    );
}

#[test]
fn a_failed_query_empties_its_table_and_is_reported() {
    let out = shell(
        "",
        r#"
esxcli() { echo 'Error: Sysinfo error: Busy' >&2; return 1; }
T=stale
query T 'Name' esxcli --formatter=csv network ip route ipv4 list || echo failed
printf '<%s> %s\n' "$T" "$failures"
"#,
    );
    assert_eq!(out, "failed\n<> 1\n");
}
