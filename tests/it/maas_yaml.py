"""Checks maas_yaml (the bundle's YAML reader) against PyYAML, run by tests/it/maas_yaml.rs:

    python3 maas_yaml.py DIR SEED COUNT FIXTURES

DIR holds maas_yaml.py. COUNT random documents (from SEED) of nested mappings, lists, strings made to
be hard for YAML (indicators, keywords, numbers that are not, line breaks, tabs, quotes, non-ASCII,
control characters, long words for folding), integers, booleans and nulls go through PyYAML's
safe_dump with the options MAAS uses (block style) and others (flow leaves, widths, indents, explicit
markers, Unicode): the reader must give what PyYAML's safe_load gives. They also go through MAAS's
vendor-data wrapping (a #cloud-config document as a string in a YAML mapping), read in two steps. Each
vendor-data fixture in FIXTURES must be exactly what MAAS's dump calls write for its data. Text outside
what safe_dump writes must be refused, with its line and column. Prints one line per part; exits 1 at
the first difference.
"""

import os
import random
import sys

import yaml

sys.path.insert(0, sys.argv[1])
import maas_yaml  # noqa: E402

WORDS = [
    "yes", "No", "on", "OFF", "y", "null", "~", "Null", "true", "0x1F", "0o17", "0755", "1_000", "1:20",
    "1.5", ".inf", "-.5", "1e3", "2001-12-14", "2001-12-14 21:59:43.10 -5", "<<", "=", "-", "--", "---",
    "...", "- x", "? y", ": z", "a: b", "#c", "a #c", "{", "}", "[", "]", ",", "&a", "*a", "!t", "|", ">",
    "%", "@", "`", "'", '"', "\\", "\\n", "é", "☃", "\U0001F600", "\ufeff", "\x85", "\u2028", "\x00", "\x07", "\x1b", "\x7f",
    "\t", "\r", "\n", "\r\n", " ", "  ", "", "0", "-0", "+1", "-1", "01", "0b101", "+", "key:", "-1:2",
    "::", "a:b", "http://x:8/y?z=1#f", "10.0.0.1", "fd00::1", "ntp.ubuntu.com", "0600", "x" * 90, "word",
]
# Every C0 and C1 control character, each of which PyYAML writes as its own escape or \xNN.
WORDS += [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)] + ["\ufffe", "\uffff"]
LINE_BREAKS = "\x85\u2028\u2029"


def text(r):
    parts = []
    for _ in range(r.randint(0, 6)):
        if r.random() < 0.7:
            parts.append(r.choice(WORDS))
        else:
            parts.append("".join(r.choice("ab :#-'\"\n\t\\ ") for _ in range(r.randint(1, 8))))
    return r.choice(["", " ", "\n"]).join(parts)


def value(r, depth):
    k = r.random()
    if depth > 3 or k < 0.5:
        c = r.random()
        if c < 0.6:
            return text(r)
        if c < 0.75:
            return r.choice([0, 1, -7, 493, 10 ** 20, -(2 ** 70)])
        if c < 0.9:
            return r.choice([True, False])
        return None
    if k < 0.75:
        return [value(r, depth + 1) for _ in range(r.randint(0, 4))]
    d = {}
    for _ in range(r.randint(0, 4)):
        key = text(r) if r.random() < 0.8 else r.choice([1, True, None, -3])
        d[key] = value(r, depth + 1)
    return d


def same(got, want):
    """Equal values of equal types all the way down (True is not 1 here)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return set(got) == set(want) and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return got == want


def fail(what, text_, detail):
    print("DIFFERENCE (%s)\n--- text\n%r\n--- %s" % (what, text_, detail))
    sys.exit(1)


def random_documents(seed, count):
    r = random.Random(seed)
    read = refused = 0
    for _ in range(count):
        doc = value(r, 0)
        options = dict(
            default_flow_style=r.choice([False, False, None]),
            width=r.choice([80, 80, 20, 40, 120]),
            allow_unicode=r.choice([False, True]),
            explicit_start=r.random() < 0.2,
            explicit_end=r.random() < 0.1,
            indent=r.choice([2, 2, 3, 4]),
        )
        dumped = yaml.safe_dump(doc, **options)
        want = yaml.safe_load(dumped)
        try:
            got = maas_yaml.load(dumped)
        except maas_yaml.YamlError as e:
            # Unicode line breaks are written raw only with allow_unicode, which MAAS does not use.
            if any(c in dumped for c in LINE_BREAKS) and "line break U+" in str(e):
                refused += 1
                continue
            fail("refused %s" % options, dumped, e)
        if not same(got, want):
            fail("read %s" % options, dumped, "got  %r\nwant %r" % (got, want))
        read += 1
        if isinstance(doc, dict):
            # MAAS's vendor-data: the document as a #cloud-config string in a mapping, dumped as UTF-8.
            outer = yaml.safe_dump(
                {"cloud-init": "#cloud-config\n" + yaml.safe_dump(doc)},
                encoding="utf-8", default_flow_style=False,
            ).decode("utf-8")
            inner = maas_yaml.load(outer)["cloud-init"]
            if not same(maas_yaml.load(inner), yaml.safe_load(inner)):
                fail("vendor-data", outer, "the inner document differs")
    print("random documents: %d read as PyYAML reads them, %d with raw Unicode line breaks refused"
          % (read, refused))
    if read < count * 0.9:
        fail("too few", "", "only %d of %d documents were compared" % (read, count))


def fixtures(directory):
    names = sorted(os.listdir(directory))
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            raw = f.read()
        outer = maas_yaml.load(raw.decode("utf-8"))
        inner = outer["cloud-init"]
        data = maas_yaml.load(inner)
        if not same(data, yaml.safe_load(inner)):
            fail(name, inner, "read otherwise than PyYAML reads it")
        if not inner.startswith("#cloud-config\n"):
            fail(name, inner, "not a #cloud-config document")
        again = yaml.safe_dump(
            {"cloud-init": "#cloud-config\n%s" % yaml.safe_dump(data)},
            encoding="utf-8", default_flow_style=False,
        )
        if again != raw:
            fail(name, raw, "not what MAAS writes for its data:\n%r" % again)
        for entry in data.get("write_files") or []:
            if entry["path"].endswith(".yaml") or entry["path"].endswith(".yml"):
                if not same(maas_yaml.load(entry["content"]), yaml.safe_load(entry["content"])):
                    fail(name, entry["content"], "a YAML file in it reads otherwise")
    print("fixtures: %d as MAAS writes them" % len(names))


# Text outside what safe_dump writes, and what the reader says: (text, line, column, words).
REFUSED = [
    ("a: &x 1\nb: *x\n", 1, 4, "anchor (&)"),
    ("a: [1]\nb: *x\n", 2, 4, "alias (*)"),
    ("a: !!binary aGk=\n", 1, 4, "tag (!)"),
    ("a: |\n  text\n", 1, 4, "block scalar (|)"),
    ("a: >\n  text\n", 1, 4, "block scalar (>)"),
    ("a: 1.5\n", 1, 4, "floating-point number (1.5)"),
    ("when: 2001-12-14\n", 1, 7, "date or time (2001-12-14)"),
    ("<<: {a: 1}\n", 1, 1, "merge key"),
    ("%YAML 1.1\n---\na: 1\n", 1, 1, "directive"),
    ("a: 1\n---\nb: 2\n", 2, 1, "second YAML document"),
    ("a: 1\na: 2\n", 2, 1, "the key 'a' is written twice"),
    ("a:\n\t- 1\n", 2, 2, "tab in the indentation"),
    ("a: \x01\n", 1, 4, "control character U+0001"),
    ("a: 'open\n", 1, 4, "quoted scalar that is not closed"),
    ('a: "\\q"\n', 1, 5, "unknown escape \\q"),
    ("a: [1, 2\n", 1, 4, "flow list that is not closed"),
    ("a: 1\n  b: 2\n", 2, 4, "': ' inside a plain value"),
    ("a:\n  - 1\n - 2\n", 3, 2, "indented more"),
    ("- a\nb: 1\n", 2, 1, "unexpected text after the document"),
    ("a: b: c\n", 1, 4, "mapping cannot start on the line of its key"),
    ("? [1]\n: x\n", 1, 1, "a list or a mapping as a mapping key"),
    ("a: 1 # fine\nb: 'x' y\n", 2, 8, "unexpected 'y' after the value"),
]


def refused():
    for source, line, column, words in REFUSED:
        try:
            maas_yaml.load(source)
        except maas_yaml.YamlError as e:
            message = str(e)
            if (e.line, e.column) != (line, column) or words not in message:
                fail("refusal", source, "%s (want line %d, column %d, %r)" % (message, line, column, words))
            continue
        fail("refusal", source, "read, not refused")
    # What PyYAML writes for a value that appears twice: an anchor and an alias, refused.
    shared = [1, 2]
    try:
        maas_yaml.load(yaml.safe_dump({"a": shared, "b": shared}))
        fail("refusal", "", "an anchor PyYAML wrote was read")
    except maas_yaml.YamlError as e:
        if "anchor" not in str(e):
            fail("refusal", "", str(e))
    print("refused: %d kinds of text outside safe_dump's, each with its place" % (len(REFUSED) + 1))


if __name__ == "__main__":
    directory, seed, count, fixture_dir = sys.argv[1:5]
    refused()
    fixtures(fixture_dir)
    random_documents(int(seed), int(count))
