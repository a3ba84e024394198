//! esxcli's output formatters: the default human format (tables, blocks of `Title: value` lines), and the
//! machine formats `--formatter=csv`, `--formatter=xml` and `--formatter=keyvalue`.
//!
//! The shapes follow the real samples in the research notes: human tables right-align numbers and booleans,
//! CSV headers are the structure's field names without spaces, in alphabetical order, every line ending in a
//! comma, and a list is one quoted cell whose items each end in a comma.

use std::fmt::Write;

/// A field value, typed as esxcli types it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
    /// A number with its unit (`476940 MiB`): right-aligned like a number, a string in machine formats.
    Quantity(i64, &'static str),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    fn human(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::List(items) => items.join(", "),
            Value::Quantity(n, unit) => format!("{n} {unit}"),
        }
    }

    fn right_aligned(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Bool(_) | Value::Quantity(..))
    }
}

/// One structure of a command's result: a type name and its fields, each with its human title
/// (`MAC Address`) and its machine key (`MACAddress`).
#[derive(Clone, Debug)]
pub struct Record {
    pub type_name: &'static str,
    pub fields: Vec<(&'static str, Value)>,
}

impl Record {
    pub fn new(type_name: &'static str) -> Record {
        Record {
            type_name,
            fields: Vec::new(),
        }
    }

    /// Adds a field; the machine key is the title without spaces.
    pub fn field(mut self, title: &'static str, value: Value) -> Record {
        self.fields.push((title, value));
        self
    }

    pub fn get(&self, title: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(t, _)| *t == title)
            .map(|(_, v)| v)
    }
}

/// The machine key of a human title: `MAC Address` → `MACAddress`.
pub fn key(title: &str) -> String {
    title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// A command's result.
#[derive(Clone, Debug)]
pub enum Output {
    /// A command that changes the host and prints nothing.
    Empty,
    /// Rows printed as a table.
    Table(Vec<Record>),
    /// Structures printed as blocks headed by their first field (`vswitch standard list`).
    Blocks(Vec<Record>),
    /// Structures printed as blocks headed by their first field, which the block does not repeat
    /// (`storage core device list`); the machine formats keep the field.
    KeyedBlocks(Vec<Record>),
    /// One structure printed as indented `Title: value` lines (`system version get`).
    Single(Record),
    /// Plain text, printed as is in every format.
    Text(String),
}

/// `--formatter=…`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formatter {
    Human,
    Csv,
    Xml,
    KeyValue,
}

impl Formatter {
    pub fn parse(name: &str) -> Result<Formatter, String> {
        match name {
            "csv" => Ok(Formatter::Csv),
            "xml" => Ok(Formatter::Xml),
            "keyvalue" => Ok(Formatter::KeyValue),
            _ => Err(format!("Unable to find requested formatter: {name}")),
        }
    }
}

/// Renders a result in the requested format.
pub fn render(output: &Output, formatter: Formatter) -> String {
    match (output, formatter) {
        (Output::Empty, Formatter::Xml) => xml_document("   <boolean>true</boolean>\n"),
        (Output::Empty, _) => String::new(),
        (Output::Text(text), _) => text.clone(),
        (Output::Table(rows), Formatter::Human) => human_table(rows),
        (Output::Blocks(rows), Formatter::Human) => human_blocks(rows, false),
        (Output::KeyedBlocks(rows), Formatter::Human) => human_blocks(rows, true),
        (Output::Single(record), Formatter::Human) => human_fields(record, "   "),
        (
            Output::Table(rows) | Output::Blocks(rows) | Output::KeyedBlocks(rows),
            Formatter::Csv,
        ) => csv(rows),
        (Output::Single(record), Formatter::Csv) => csv(std::slice::from_ref(record)),
        (
            Output::Table(rows) | Output::Blocks(rows) | Output::KeyedBlocks(rows),
            Formatter::Xml,
        ) => {
            let mut body = String::from("   <list type=\"structure\">\n");
            for row in rows {
                xml_structure(&mut body, row, "      ");
            }
            body.push_str("   </list>\n");
            xml_document(&body)
        }
        (Output::Single(record), Formatter::Xml) => {
            let mut body = String::new();
            xml_structure(&mut body, record, "   ");
            xml_document(&body)
        }
        (
            Output::Table(rows) | Output::Blocks(rows) | Output::KeyedBlocks(rows),
            Formatter::KeyValue,
        ) => rows.iter().map(keyvalue).collect::<Vec<_>>().join("\n"),
        (Output::Single(record), Formatter::KeyValue) => keyvalue(record),
    }
}

fn human_table(rows: &[Record]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let titles: Vec<&str> = first.fields.iter().map(|(t, _)| *t).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.fields.iter().map(|(_, v)| v.human()).collect())
        .collect();
    let widths: Vec<usize> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([t.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let right: Vec<bool> = first
        .fields
        .iter()
        .map(|(_, v)| v.right_aligned())
        .collect();
    let line = |items: Vec<String>| -> String {
        let mut s = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = widths[i].saturating_sub(item.chars().count());
            if right[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(item);
            } else {
                s.push_str(item);
                if i + 1 < items.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if right[i] {
                    format!("{t:>w$}", w = widths[i])
                } else {
                    t.to_string()
                }
            })
            .collect(),
    );
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in cells {
        out.push_str(&line(row));
    }
    out
}

fn human_fields(record: &Record, indent: &str) -> String {
    let mut out = String::new();
    for (title, value) in &record.fields {
        let v = value.human();
        if v.is_empty() {
            let _ = writeln!(out, "{indent}{title}:");
        } else {
            let _ = writeln!(out, "{indent}{title}: {v}");
        }
    }
    out
}

/// Blocks headed by each structure's first field; `keyed` leaves that field out of the block.
fn human_blocks(rows: &[Record], keyed: bool) -> String {
    rows.iter()
        .map(|r| {
            let head = r.fields.first().map(|(_, v)| v.human()).unwrap_or_default();
            let body = Record {
                type_name: r.type_name,
                fields: r.fields[usize::from(keyed).min(r.fields.len())..].to_vec(),
            };
            format!("{head}\n{}", human_fields(&body, "   "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One CSV cell as esxcli's CSV formatter writes it: a value with a comma or a double quote is quoted
/// (quotes doubled), a line break is written as `\n`, an unset or empty value is an empty cell. A list is
/// one quoted cell holding each item followed by a comma, the items quoted one level deeper (quotes
/// doubled again), so the cell's content is itself a CSV line; an empty list is an empty cell.
fn csv_cell(value: &Value) -> String {
    match value {
        Value::List(items) if items.is_empty() => String::new(),
        Value::List(items) => {
            let inner: String = items.iter().map(|i| csv_quoted(i, 2) + ",").collect();
            format!("\"{inner}\"")
        }
        other => csv_quoted(&other.human(), 1),
    }
}

/// A primitive at a quoting depth: 1 in a row, 2 inside a list.
fn csv_quoted(value: &str, depth: usize) -> String {
    let text = value.replace('\n', "\\n");
    if !text.contains([',', '"']) {
        return text;
    }
    let quotes = "\"".repeat(depth);
    format!(
        "{quotes}{}{quotes}",
        text.replace('"', &"\"".repeat(2 * depth))
    )
}

fn sorted_fields(record: &Record) -> Vec<(String, &Value)> {
    let mut fields: Vec<(String, &Value)> =
        record.fields.iter().map(|(t, v)| (key(t), v)).collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
}

fn csv(rows: &[Record]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut out = String::new();
    for (k, _) in sorted_fields(first) {
        let _ = write!(out, "{k},");
    }
    out.push('\n');
    for row in rows {
        for (_, v) in sorted_fields(row) {
            let _ = write!(out, "{},", csv_cell(v));
        }
        out.push('\n');
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_value(out: &mut String, value: &Value, indent: &str) {
    match value {
        Value::Str(s) => {
            let _ = writeln!(out, "{indent}<string>{}</string>", xml_escape(s));
        }
        Value::Quantity(..) => {
            let _ = writeln!(out, "{indent}<string>{}</string>", value.human());
        }
        Value::Int(n) => {
            let _ = writeln!(out, "{indent}<integer>{n}</integer>");
        }
        Value::Bool(b) => {
            let _ = writeln!(out, "{indent}<boolean>{b}</boolean>");
        }
        Value::List(items) => {
            let _ = writeln!(out, "{indent}<list type=\"string\">");
            for item in items {
                let _ = writeln!(out, "{indent}   <string>{}</string>", xml_escape(item));
            }
            let _ = writeln!(out, "{indent}</list>");
        }
    }
}

fn xml_structure(out: &mut String, record: &Record, indent: &str) {
    let _ = writeln!(out, "{indent}<structure typeName=\"{}\">", record.type_name);
    for (title, value) in &record.fields {
        let _ = writeln!(out, "{indent}   <field name=\"{}\">", key(title));
        xml_value(out, value, &format!("{indent}      "));
        let _ = writeln!(out, "{indent}   </field>");
    }
    let _ = writeln!(out, "{indent}</structure>");
}

fn xml_document(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<output xmlns=\"http://www.vmware.com/Products/ESX/5.0/esxcli\">\n<root>\n{body}</root>\n</output>\n"
    )
}

fn keyvalue(record: &Record) -> String {
    let mut out = String::new();
    for (title, value) in &record.fields {
        let k = format!("{}.{}", record.type_name, key(title));
        match value {
            Value::Str(s) => {
                let _ = writeln!(out, "{k}.string={s}");
            }
            Value::Quantity(..) => {
                let _ = writeln!(out, "{k}.string={}", value.human());
            }
            Value::Int(n) => {
                let _ = writeln!(out, "{k}.integer={n}");
            }
            Value::Bool(b) => {
                let _ = writeln!(out, "{k}.boolean={b}");
            }
            Value::List(items) => {
                for item in items {
                    let _ = writeln!(out, "{k}.string[]={item}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nics() -> Vec<Record> {
        [
            ("vmnic0", "a4:bf:01:4e:37:14", "Up", 10000),
            ("vmnic1", "a4:bf:01:4e:37:15", "Down", 0),
        ]
        .into_iter()
        .map(|(n, m, l, s)| {
            Record::new("NicList")
                .field("Name", Value::str(n))
                .field("Link Status", Value::str(l))
                .field("Speed", Value::Int(s))
                .field("MAC Address", Value::str(m))
                .field("MTU", Value::Int(1500))
                .field(
                    "Description",
                    Value::str("Intel(R) Ethernet Controller X540-AT2"),
                )
        })
        .collect()
    }

    #[test]
    fn human_tables_look_like_esxcli() {
        assert_eq!(
            render(&Output::Table(nics()), Formatter::Human),
            "\
Name    Link Status  Speed  MAC Address         MTU  Description
------  -----------  -----  -----------------  ----  -------------------------------------
vmnic0  Up           10000  a4:bf:01:4e:37:14  1500  Intel(R) Ethernet Controller X540-AT2
vmnic1  Down             0  a4:bf:01:4e:37:15  1500  Intel(R) Ethernet Controller X540-AT2
"
        );
    }

    #[test]
    fn csv_sorts_keys_and_quotes_lists() {
        let rows = vec![
            Record::new("VirtualSwitch")
                .field("Name", Value::str("vSwitch0"))
                .field(
                    "Uplinks",
                    Value::List(vec!["vmnic0".into(), "vmnic1".into()]),
                )
                .field("MTU", Value::Int(1500)),
        ];
        assert_eq!(
            render(&Output::Table(rows), Formatter::Csv),
            "MTU,Name,Uplinks,\n1500,vSwitch0,\"vmnic0,vmnic1,\",\n"
        );
    }

    #[test]
    fn csv_quotes_like_esxcli() {
        let rows = vec![
            Record::new("PortGroup")
                .field("Name", Value::str("a,b \"c\""))
                .field("Gateway", Value::str(""))
                .field("Uplinks", Value::List(vec![]))
                .field("Note", Value::str("two\nlines")),
            Record::new("PortGroup")
                .field("Name", Value::str(" spaced "))
                .field("Gateway", Value::str("10.0.0.1"))
                .field(
                    "Uplinks",
                    Value::List(vec!["x,y".into(), "q\"".into(), "z".into()]),
                )
                .field("Note", Value::str("")),
        ];
        assert_eq!(
            render(&Output::Table(rows), Formatter::Csv),
            "Gateway,Name,Note,Uplinks,\n\
             ,\"a,b \"\"c\"\"\",two\\nlines,,\n\
             10.0.0.1, spaced ,,\"\"\"x,y\"\",\"\"q\"\"\"\"\"\",z,\",\n"
        );
    }

    #[test]
    fn blocks_and_single_structures() {
        let vs = Record::new("VirtualSwitch")
            .field("Name", Value::str("vSwitch0"))
            .field("Beacon Required By", Value::List(vec![]))
            .field(
                "Portgroups",
                Value::List(vec!["VM Network".into(), "eno1".into()]),
            );
        assert_eq!(
            render(
                &Output::Blocks(vec![vs.clone(), vs.clone()]),
                Formatter::Human
            ),
            "vSwitch0\n   Name: vSwitch0\n   Beacon Required By:\n   Portgroups: VM Network, eno1\n\nvSwitch0\n   Name: vSwitch0\n   Beacon Required By:\n   Portgroups: VM Network, eno1\n"
        );
        let xml = render(&Output::Single(vs), Formatter::Xml);
        assert!(xml.contains("<field name=\"BeaconRequiredBy\">\n         <list type=\"string\">\n         </list>"), "{xml}");
        assert!(xml.contains("<string>VM Network</string>"));
    }

    #[test]
    fn quantities_align_right_and_keyed_blocks_drop_their_head_field() {
        let rows: Vec<Record> = [("naa.5000c5008c8b0f7f", 1_907_729), ("eui.01", 476_940)]
            .into_iter()
            .map(|(d, mib)| {
                Record::new("DeviceCapacity")
                    .field("Device", Value::str(d))
                    .field("Size", Value::Quantity(mib, "MiB"))
            })
            .collect();
        assert_eq!(
            render(&Output::Table(rows.clone()), Formatter::Human),
            "\
Device                       Size
--------------------  -----------
naa.5000c5008c8b0f7f  1907729 MiB
eui.01                 476940 MiB
"
        );
        assert_eq!(
            render(&Output::KeyedBlocks(rows.clone()), Formatter::Human),
            "naa.5000c5008c8b0f7f\n   Size: 1907729 MiB\n\neui.01\n   Size: 476940 MiB\n"
        );
        assert_eq!(
            render(&Output::KeyedBlocks(rows), Formatter::Csv),
            "Device,Size,\nnaa.5000c5008c8b0f7f,1907729 MiB,\neui.01,476940 MiB,\n"
        );
    }
}
