"""maas_yaml: reads the YAML that PyYAML's safe_dump writes, part of maas-esxi's first boot on ESXi.

MAAS serves a machine's vendor-data as YAML written by PyYAML's safe_dump, and ESXi's python3 has no YAML
parser. This reader takes exactly what safe_dump writes, with any of its options MAAS uses or used
(block or flow style, any width): block mappings and lists (lists under a key at the key's indentation
or deeper, compact lists and mappings in list entries, explicit `? ` keys), flow lists and mappings,
plain scalars (also folded over several lines), single-quoted and double-quoted scalars with their line
folding and escapes, comments, one document with an optional `---` and `...`. Plain scalars are read as
PyYAML's safe_load reads them: null, booleans (YAML 1.1: yes/no/on/off too) and integers (also octal
`0755`, hexadecimal, binary, base 60), else strings.

Everything else is refused with the line and column and what it was: anchors and aliases, tags, block
scalars (`|`, `>`), floating-point numbers, dates, merge keys, directives, a second document, a key
written twice, tabs in indentation, control characters.

    load(text) -> the document's value (dict, list, str, int, bool or None); raises YamlError

Standard library only, Python 3.5 and later.
"""

import re

__all__ = ["YamlError", "load"]


class YamlError(ValueError):
    """Text this reader does not take; the message names the line and column (from 1)."""

    def __init__(self, message, line, column):
        ValueError.__init__(self, "line %d, column %d: %s" % (line, column, message))
        self.line = line
        self.column = column


# What PyYAML's reader lets through: tab, line feed, carriage return and printable Unicode.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

# YAML 1.1's implicit types, as PyYAML's resolver recognizes plain scalars.
_BOOL = {
    "yes": True, "Yes": True, "YES": True, "on": True, "On": True, "ON": True,
    "true": True, "True": True, "TRUE": True,
    "no": False, "No": False, "NO": False, "off": False, "Off": False, "OFF": False,
    "false": False, "False": False, "FALSE": False,
}
_NULL = ("~", "null", "Null", "NULL")
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_TIMESTAMP = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
    (?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
    (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)

# Double-quoted escapes: one character, or a code point in 2, 4 or 8 hexadecimal digits.
_ESCAPES = {
    "0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n", "v": "\x0b",
    "f": "\x0c", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}

# Characters that cannot start a plain scalar, and what each would have been.
_REFUSED_STARTS = {
    "&": "an anchor (&): anchors and aliases are not supported",
    "*": "an alias (*): anchors and aliases are not supported",
    "!": "a tag (!): tags are not supported",
    "|": "a block scalar (|): block scalars are not supported",
    ">": "a block scalar (>): block scalars are not supported",
    "%": "a directive (%): directives are not supported",
    "@": "'@', which YAML reserves",
    "`": "'`', which YAML reserves",
}

_SPACE = " \t"
_FLOW_ENDS = ",[]{}"


def load(text):
    """The value of the one YAML document in text (a str); raises YamlError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = _NON_PRINTABLE.search(text)
    if bad:
        _Parser(text).fail("the control character U+%04X is not allowed" % ord(bad.group()), bad.start())
    for ch in "\x85\u2028\u2029":
        at = text.find(ch)
        if at >= 0:
            _Parser(text).fail("the line break U+%04X is not supported" % ord(ch), at)
    return _Parser(text).document()


def resolve(plain):
    """The value of a plain scalar, as PyYAML's safe_load gives it."""
    if plain == "" or plain in _NULL:
        return None
    if plain in _BOOL:
        return _BOOL[plain]
    if _FLOAT.match(plain):
        raise ValueError("a floating-point number (%s) is not supported" % plain)
    if _INT.match(plain):
        return _integer(plain)
    if plain == "<<":
        raise ValueError("a merge key (<<) is not supported")
    if _TIMESTAMP.match(plain):
        raise ValueError("a date or time (%s) is not supported" % plain)
    if plain == "=":
        raise ValueError("a value key (=) is not supported")
    return plain


def _integer(plain):
    digits = plain.replace("_", "")
    sign = 1
    if digits[0] in "+-":
        if digits[0] == "-":
            sign = -1
        digits = digits[1:]
    if digits == "0":
        return 0
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits[0] == "0":
        return sign * int(digits, 8)
    if ":" in digits:
        value = 0
        for part in digits.split(":"):
            value = value * 60 + int(part)
        return sign * value
    return sign * int(digits)


class _Parser:
    """A recursive-descent reader over the whole text; `i` is the position of the next character.

    Block-level methods start and end at the start of a line (or the end of the text); `parent` is the
    column of the collection a node belongs to, -1 for the document.
    """

    def __init__(self, text):
        self.text = text
        self.n = len(text)
        self.i = 0

    # Positions and characters.

    def peek(self, k=0):
        at = self.i + k
        return self.text[at] if at < self.n else ""

    def column(self, at=None):
        at = self.i if at is None else at
        return at - self.text.rfind("\n", 0, at) - 1

    def rewind(self):
        """Back to the start of the current line."""
        self.i = self.text.rfind("\n", 0, self.i) + 1

    def fail(self, message, at=None):
        at = self.i if at is None else at
        raise YamlError(message, self.text.count("\n", 0, at) + 1, self.column(at) + 1)

    def blank_after(self, k):
        """Whether the character k ahead is a space, a tab, a line break or the end of the text."""
        return self.peek(k) in ("", " ", "\t", "\n")

    def comment_here(self):
        """A `#` that starts a comment: at the start of a line or after white space."""
        return self.peek() == "#" and (self.i == 0 or self.text[self.i - 1] in " \t\n")

    def skip_blanks(self):
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_comment(self):
        end = self.text.find("\n", self.i)
        self.i = self.n if end < 0 else end

    def end_of_line(self):
        """Skips white space and a comment, and the line break; anything else there is an error."""
        self.skip_blanks()
        if self.comment_here():
            self.skip_comment()
        if self.peek() == "\n":
            self.i += 1
        elif self.i < self.n:
            self.fail("unexpected %r after the value" % self.peek())

    def next_content(self):
        """From the start of a line, moves to the first character of the next line that holds more than
        white space and a comment, and returns its column; -1 at the end of the text."""
        while True:
            start = self.i
            while self.peek() == " ":
                self.i += 1
            if self.peek() == "\t":
                self.skip_blanks()
                if self.peek() not in ("", "\n") and not self.comment_here():
                    self.fail("a tab in the indentation")
            if self.i >= self.n:
                return -1
            if self.peek() == "\n" or self.comment_here():
                self.end_of_line()
                continue
            return self.i - start

    def marker(self):
        """A document marker (`---` or `...`) at the start of a line."""
        return (
            self.column() == 0
            and self.text.startswith(("---", "..."), self.i)
            and self.blank_after(3)
        )

    def sequence_entry(self):
        return self.peek() == "-" and self.blank_after(1)

    def explicit_key(self):
        return self.peek() == "?" and self.blank_after(1)

    def colon(self):
        """A `:` that ends a mapping key in block context."""
        return self.peek() == ":" and self.blank_after(1)

    # The document.

    def document(self):
        column = self.next_content()
        if column < 0:
            return None
        if self.peek() == "%":
            self.fail("a directive (%) is not supported")
        value = None
        if self.marker() and self.peek() == "-":
            self.i += 3
            self.skip_blanks()
            if self.peek() in ("", "\n") or self.comment_here():
                self.end_of_line()
                value = self.block_node(-1)
            else:
                start = self.i
                value, is_key = self.scalar_or_key(-1)
                if is_key:
                    self.fail("a mapping cannot start on the line of '---'", start)
                self.end_of_line()
        elif not self.marker():
            self.rewind()
            value = self.block_node(-1)
        if self.next_content() >= 0 and self.marker() and self.peek() == ".":
            self.i += 3
            self.end_of_line()
            self.next_content()
        if self.i < self.n:
            if self.marker():
                self.fail("a second YAML document is not supported")
            self.fail("unexpected text after the document (is it indented right?)")
        return value

    # Block nodes.

    def block_node(self, parent, indentless=False):
        """The node on the lines below its key or list dash, indented deeper than `parent`; a list may
        also sit at its key's own column (`indentless`). None when there is no such line."""
        column = self.next_content()
        if column < 0:
            return None
        if not self.marker() and (
            column > parent or (indentless and column == parent and self.sequence_entry())
        ):
            return self.node_at(column, parent)
        self.rewind()
        return None

    def node_at(self, column, parent):
        """The block node whose first character is here, at `column`."""
        if self.sequence_entry():
            return self.block_sequence(column)
        if self.explicit_key():
            return self.block_mapping(column)
        start = self.i
        value, is_key = self.scalar_or_key(parent)
        if is_key:
            return self.block_mapping(column, (value, start))
        self.end_of_line()
        return value

    def after_indicator(self, parent, compact, indentless=False):
        """The node after a list dash, a `?` or a `:` of the collection at `parent`: on the same line or
        on the lines below. After a dash or a `?` (`compact`), a list or a mapping may start on the same
        line."""
        self.skip_blanks()
        if self.peek() in ("", "\n") or self.comment_here():
            self.end_of_line()
            return self.block_node(parent, indentless)
        if compact:
            return self.node_at(self.column(), parent)
        start = self.i
        value, is_key = self.scalar_or_key(parent)
        if is_key:
            self.fail("a mapping cannot start on the line of its key", start)
        self.end_of_line()
        return value

    def block_sequence(self, column):
        items = []
        while True:
            self.i += 1
            items.append(self.after_indicator(column, compact=True))
            if not self.continues(column):
                return items
            if not self.sequence_entry():
                # The next key of a mapping this list is the value of, at the same column.
                self.rewind()
                return items

    def block_mapping(self, column, first=None):
        mapping = {}
        while True:
            at = self.i
            if first is not None:
                key, at = first
                first = None
                value = self.after_colon(column)
            elif self.explicit_key():
                self.i += 1
                key = self.after_indicator(column, compact=True)
                value = None
                found = self.next_content()
                if found == column and self.colon():
                    self.i += 1
                    value = self.after_indicator(column, compact=True)
                elif found >= 0:
                    self.rewind()
            else:
                if self.sequence_entry():
                    self.fail("a list entry where a mapping key was expected")
                key, is_key = self.scalar_or_key(column)
                if not is_key:
                    self.fail("a value without a key: expected 'key: value'", at)
                value = self.after_colon(column)
            self.add(mapping, key, value, at)
            if not self.continues(column):
                return mapping

    def after_colon(self, column):
        self.i += 1
        return self.after_indicator(column, compact=False, indentless=True)

    def continues(self, column):
        """Moves to the next line with content; whether it holds the next entry of the collection at
        `column`. When it does not, the position is left at the start of that line."""
        found = self.next_content()
        if found == column and not self.marker():
            return True
        if found > column:
            self.fail("this line is indented more than the entries before it")
        if found >= 0:
            self.rewind()
        return False

    def add(self, mapping, key, value, at):
        try:
            hash(key)
        except TypeError:
            self.fail("a list or a mapping as a mapping key is not supported", at)
        if key in mapping:
            self.fail("the key %r is written twice" % (key,), at)
        mapping[key] = value

    # Scalars and flow collections.

    def scalar_or_key(self, parent):
        """A scalar or a flow collection, and whether a `:` follows it, which makes it a mapping key. A
        plain scalar that is not a key goes on over the lines indented deeper than `parent`."""
        start = self.i
        if self.peek() in ("'", '"', "[", "{"):
            value = self.flow_node()
            self.skip_blanks()
            if self.colon():
                if self.text.find("\n", start, self.i) >= 0:
                    self.fail("a mapping key must be on one line", start)
                return value, True
            return value, False
        self.refuse_start(flow=False)
        text = self.plain_line(flow=False)
        if self.colon():
            return self.resolve(text, start), True
        return self.resolve(self.plain_lines(text, parent), start), False

    def resolve(self, text, at):
        try:
            return resolve(text)
        except ValueError as e:
            self.fail(str(e), at)

    def refuse_start(self, flow):
        ch = self.peek()
        if ch == "":
            self.fail("a value was expected before the end of the text")
        if ch in _REFUSED_STARTS:
            self.fail(_REFUSED_STARTS[ch])
        if ch == "#":
            self.fail("a comment where a value was expected")
        if ch in _FLOW_ENDS or (ch in "-?:" and self.blank_after(1)) or (flow and ch in "?:"):
            self.fail("unexpected %r" % ch)

    def plain_line(self, flow):
        """The rest of a plain scalar on this line, without trailing white space: up to `: `, ` #` or
        the line break; in a flow collection also up to `,[]{}` and a `:` before those or a blank."""
        start = self.i
        while True:
            ch = self.peek()
            if ch in ("", "\n"):
                break
            if ch == ":" and (self.blank_after(1) or (flow and self.peek(1) in _FLOW_ENDS)):
                break
            if flow and ch in _FLOW_ENDS:
                break
            if ch == "#" and self.text[self.i - 1] in (" ", "\t"):
                break
            self.i += 1
        text = self.text[start:self.i].rstrip(" \t")
        self.i = start + len(text)
        return text

    def fold_breaks(self, block, parent):
        """After a plain scalar's text: when it goes on after one or more line breaks, moves to where it
        goes on and returns the number of breaks; else stays and returns 0. In block context the next
        text must be indented deeper than `parent`; in a flow collection it must not end the node."""
        save = self.i
        self.skip_blanks()
        breaks = 0
        while self.peek() == "\n":
            self.i += 1
            breaks += 1
            if block:
                while self.peek() == " ":
                    self.i += 1
                if self.peek() == "\t":
                    self.fail("a tab in the indentation")
            else:
                if self.marker():
                    self.fail("a document marker inside a flow collection")
                self.skip_blanks()
        ch = self.peek()
        ends = (
            breaks == 0
            or ch == ""
            or self.comment_here()
            or self.marker()
            or (block and self.column() <= parent)
            or (not block and (ch in _FLOW_ENDS or ch == ":"))
        )
        if ends:
            self.i = save
            return 0
        return breaks

    def plain_lines(self, text, parent):
        """Folds the lines that go on a block plain scalar into it: one line break becomes a space, n+1
        line breaks n newlines."""
        while True:
            breaks = self.fold_breaks(True, parent)
            if not breaks:
                return text
            text += " " if breaks == 1 else "\n" * (breaks - 1)
            text += self.plain_line(flow=False)
            if self.colon():
                self.fail("a ': ' inside a plain value that goes on over several lines")

    def flow_node(self):
        """A node of a flow collection; also a quoted scalar or a flow collection in block context."""
        ch = self.peek()
        if ch == "'":
            return self.quoted(double=False)
        if ch == '"':
            return self.quoted(double=True)
        if ch == "[":
            return self.flow_sequence()
        if ch == "{":
            return self.flow_mapping()
        self.refuse_start(flow=True)
        start = self.i
        text = self.plain_line(flow=True)
        while True:
            breaks = self.fold_breaks(False, None)
            if not breaks:
                break
            text += " " if breaks == 1 else "\n" * (breaks - 1)
            text += self.plain_line(flow=True)
        return self.resolve(text, start)

    def skip_flow_space(self):
        """Skips white space, line breaks and comments between the nodes of a flow collection."""
        while True:
            ch = self.peek()
            if ch in (" ", "\t"):
                self.i += 1
            elif ch == "\n":
                self.i += 1
                if self.marker():
                    self.fail("a document marker inside a flow collection")
            elif self.comment_here():
                self.skip_comment()
            else:
                return

    def flow_sequence(self):
        start = self.i
        self.i += 1
        items = []
        while True:
            self.skip_flow_space()
            if self.peek() == "]":
                self.i += 1
                return items
            if self.peek() == "":
                self.fail("a flow list that is not closed", start)
            items.append(self.flow_node())
            self.skip_flow_space()
            if self.peek() == ":":
                self.fail("a mapping entry inside a flow list is not supported")
            if self.peek() == ",":
                self.i += 1
            elif self.peek() == "":
                self.fail("a flow list that is not closed", start)
            elif self.peek() != "]":
                self.fail("expected ',' or ']' in a flow list")

    def flow_mapping(self):
        start = self.i
        self.i += 1
        mapping = {}
        while True:
            self.skip_flow_space()
            if self.peek() == "}":
                self.i += 1
                return mapping
            if self.peek() == "":
                self.fail("a flow mapping that is not closed", start)
            if self.explicit_key():
                self.i += 1
                self.skip_flow_space()
            at = self.i
            key = self.flow_node()
            self.skip_flow_space()
            value = None
            if self.peek() == ":":
                self.i += 1
                self.skip_flow_space()
                if self.peek() not in (",", "}"):
                    value = self.flow_node()
                    self.skip_flow_space()
            self.add(mapping, key, value, at)
            if self.peek() == ",":
                self.i += 1
            elif self.peek() == "":
                self.fail("a flow mapping that is not closed", start)
            elif self.peek() != "}":
                self.fail("expected ',' or '}' in a flow mapping")

    def quoted(self, double):
        """A single- or double-quoted scalar, with YAML's line folding: white space around a line break
        goes, one line break becomes a space, each further one a newline."""
        start = self.i
        quote = self.peek()
        self.i += 1
        chunks = []
        while True:
            ch = self.peek()
            if ch == "":
                self.fail("a quoted scalar that is not closed", start)
            if ch == quote:
                if not double and self.peek(1) == "'":
                    chunks.append("'")
                    self.i += 2
                    continue
                self.i += 1
                return "".join(chunks)
            if ch in (" ", "\t", "\n"):
                run = self.i
                self.skip_blanks()
                if self.peek() != "\n":
                    chunks.append(self.text[run:self.i])
                    continue
                self.i += 1
                breaks = self.quoted_breaks(start)
                chunks.append("\n" * breaks if breaks else " ")
                continue
            if double and ch == "\\":
                chunks.append(self.escape(start))
                continue
            chunks.append(ch)
            self.i += 1

    def quoted_breaks(self, start):
        """After a line break in a quoted scalar: skips the indentation of the lines that follow and
        counts those that are empty."""
        breaks = 0
        while True:
            if self.marker():
                self.fail("a document marker inside a quoted scalar", start)
            self.skip_blanks()
            if self.peek() != "\n":
                return breaks
            self.i += 1
            breaks += 1

    def escape(self, start):
        at = self.i
        self.i += 1
        ch = self.peek()
        if ch in _ESCAPES:
            self.i += 1
            return _ESCAPES[ch]
        if ch in _HEX_ESCAPES:
            width = _HEX_ESCAPES[ch]
            digits = self.text[self.i + 1:self.i + 1 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                self.fail("the escape \\%s needs %d hexadecimal digits" % (ch, width), at)
            code = int(digits, 16)
            if code > 0x10FFFF:
                self.fail("the escape \\%s%s is not a Unicode code point" % (ch, digits), at)
            self.i += 1 + width
            return chr(code)
        if ch == "\n":
            # An escaped line break: the lines join without a space; empty lines after it still count.
            self.i += 1
            return "\n" * self.quoted_breaks(start)
        self.fail("unknown escape \\%s" % (ch or "at the end of the text"), at)
