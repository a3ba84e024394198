#!/usr/bin/env python3
"""maas-vendor: reads MAAS's vendor-data for the ESXi first boot, part of maas-esxi.

MAAS serves `latest/meta-data/vendor-data` as YAML with one key, `cloud-init`, whose value is a
`#cloud-config` document. On ESXi two of its keys mean something: `ntp` (servers and pools) and
`write_files` (among them `/altbootbank/maas/vcenter.yaml`, MAAS's vCenter settings). Every other key is
for Ubuntu and is listed as not applicable. firstboot.sh makes the host changes; this helper reads.

  maas-vendor plan FILE
      What the first boot does with the vendor-data in FILE, one record a line, its fields separated by
      U+001F:
        note TEXT          something for the log
        fail TEXT          a problem: the step fails, the rest of it still runs
        ntp NAME           an NTP server for ESXi, in order (MAAS's servers, then its pools)
        file INDEX PATH    write_files entry INDEX is to be written to PATH
      A file that already has the content and mode asked for is not listed again (a note says so).
  maas-vendor write FILE INDEX PATH
      Writes write_files entry INDEX of FILE, which must be for PATH: its content decoded (plain,
      base64, gzip, gzip+base64), appended or replacing the file (through a temporary file), with its
      permissions (default 0644; 0600 in the first-boot bundle, which holds secrets).

Every path is under $MAAS_ESXI_ROOT (default: none). Exit status: 0 done, 1 the write failed, 2 a usage
problem. Nothing a file holds is ever printed.

Standard library only, Python 3.5 and later: the oldest python3 ESXi ships (6.7).
"""

import base64
import binascii
import gzip
import ipaddress
import os
import re
import sys

import maas_yaml

SEP = "\x1f"
BUNDLE = "/altbootbank/maas/"
# The one file of the first-boot bundle vendor-data may write: MAAS's vCenter settings.
VCENTER_SETTINGS = BUNDLE + "vcenter.yaml"
DEFAULT_MODE = 0o644
BUNDLE_MODE = 0o600

# Where ESXi keeps files across reboots: datastores, the scratch and locker areas, the boot banks. Its
# root file system is in memory; of /etc it keeps only what its configuration backup saves.
KEPT = ("/vmfs/volumes/", "/scratch/", "/locker/", "/store/", "/productLocker/", "/bootbank/",
        "/altbootbank/")
# Files MAAS writes for Ubuntu that mean nothing on ESXi, and why.
LINUX_ONLY = (
    ("/etc/netplan/", "netplan configuration, which ESXi does not use"),
    ("/run/", "Ubuntu's /run, which ESXi does not have"),
    ("/lib/systemd/", "a systemd unit, and ESXi has no systemd"),
    ("/usr/lib/systemd/", "a systemd unit, and ESXi has no systemd"),
    ("/etc/systemd/", "systemd configuration, and ESXi has no systemd"),
    ("/etc/maas/", "MAAS's hardware sync for Ubuntu, whose machine token stays off the host"),
)
# write_files keys: read, or known and without meaning on ESXi.
FILE_KEYS = ("path", "content", "encoding", "permissions", "append", "owner", "defer", "source")
ENCODINGS = {
    "b64": "base64", "base64": "base64",
    "gz": "gzip", "gzip": "gzip",
    "gz+base64": "gzip+base64", "gzip+base64": "gzip+base64",
    "gz+b64": "gzip+base64", "gzip+b64": "gzip+base64",
    "text/plain": "plain",
}
TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")
HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class Problem(Exception):
    """What is wrong with the vendor-data or one of its entries; the message names it."""


def clean(text):
    """text fit for one field of a record: control characters written as escapes."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), text)


def describe(value):
    return clean(repr(value)) if not isinstance(value, str) else "'%s'" % clean(value)


def root():
    return os.environ.get("MAAS_ESXI_ROOT", "")


def cloud_config(path):
    """The #cloud-config mapping of the vendor-data file, and notes about the rest."""
    notes = []
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Problem("cannot read %s: %s" % (path, e.strerror))
    if not raw.strip():
        return {}, ["MAAS sent no vendor-data"]
    try:
        outer = maas_yaml.load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Problem("MAAS's vendor-data is not UTF-8 text")
    except maas_yaml.YamlError as e:
        raise Problem("MAAS's vendor-data, %s" % e)
    if outer is None:
        return {}, ["MAAS sent no vendor-data"]
    if not isinstance(outer, dict):
        raise Problem("MAAS's vendor-data is not a mapping with a cloud-init key")
    others = sorted(describe(k) for k in outer if k != "cloud-init")
    if others:
        notes.append("not applicable to ESXi, ignored: %s" % ", ".join(others))
    document = outer.get("cloud-init")
    if document is None:
        notes.append("no cloud-init part in MAAS's vendor-data")
        return {}, notes
    if not isinstance(document, str):
        raise Problem("the cloud-init part of MAAS's vendor-data is not text")
    if not document.startswith("#cloud-config"):
        first = document.split("\n", 1)[0][:40]
        raise Problem(
            "the cloud-init part of MAAS's vendor-data is not a #cloud-config document (it begins %s); "
            "nothing else is applied on ESXi" % describe(first)
        )
    try:
        config = maas_yaml.load(document)
    except maas_yaml.YamlError as e:
        raise Problem("the cloud-config in MAAS's vendor-data, %s" % e)
    if config is None:
        return {}, notes
    if not isinstance(config, dict):
        raise Problem("the cloud-config in MAAS's vendor-data is not a mapping")
    return config, notes


def ntp_servers(ntp):
    """The NTP servers ESXi gets: MAAS's servers, then its pools; notes; problems."""
    notes, problems = [], []
    if not isinstance(ntp, dict):
        return [], notes, ["ntp is not a mapping"]
    for key in sorted((k for k in ntp if k not in ("servers", "pools", "enabled")), key=describe):
        notes.append("ntp: %s is not applicable to ESXi, ignored" % describe(key))
    enabled = ntp.get("enabled", True)
    if enabled is False:
        notes.append("ntp: turned off in vendor-data, ESXi's NTP is left as it is")
        return [], notes, problems
    names = []
    for kind in ("servers", "pools"):
        listed = ntp.get(kind) or []
        if not isinstance(listed, list):
            problems.append("ntp: %s is not a list" % kind)
            continue
        for name in listed:
            if not isinstance(name, str) or not (is_address(name) or is_host_name(name)):
                problems.append("ntp: %s in %s is not an address or a host name" % (describe(name), kind))
                continue
            if kind == "pools":
                notes.append(
                    "ntp: pool %s becomes a server: ESXi's NTP client takes servers only, and ntpd "
                    "uses one address of the name" % name
                )
            if name not in names:
                names.append(name)
    if not names and not problems:
        notes.append("ntp: no servers or pools, ESXi's NTP is left as it is")
    return names, notes, problems


def is_address(name):
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_host_name(name):
    name = name[:-1] if name.endswith(".") else name
    return 0 < len(name) <= 253 and all(HOST_LABEL.match(label) for label in name.split("."))


class File:
    """One write_files entry, read and checked."""

    def __init__(self, index, entry):
        self.index = index
        self.notes = []
        if not isinstance(entry, dict):
            raise Problem("write_files entry %d is not a mapping" % index)
        path = entry.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise Problem("write_files entry %d has no absolute path" % index)
        if re.search(r"[\x00-\x1f\x7f]", path):
            raise Problem("write_files entry %d: the path %s has control characters" % (index, describe(path)))
        self.path = os.path.normpath(path)
        if self.path.startswith("//"):
            self.path = self.path[1:]
        for key in sorted((k for k in entry if k not in FILE_KEYS), key=describe):
            self.notes.append("%s: %s is not applicable to ESXi, ignored" % (self.path, describe(key)))
        self.linux_only = next((why for prefix, why in LINUX_ONLY if self.path.startswith(prefix)), None)
        if self.linux_only:
            return
        if self.path.startswith(BUNDLE) and self.path != VCENTER_SETTINGS:
            raise Problem("%s: not written, the first-boot bundle's files are its own" % self.path)
        if entry.get("source") is not None:
            raise Problem("%s: content from a URL (source) is not supported" % self.path)
        self.data = self.decode(entry.get("content"), entry.get("encoding"))
        self.mode = self.permissions(entry.get("permissions"))
        if self.path.startswith(BUNDLE):
            self.mode = BUNDLE_MODE
        self.append = truth(entry.get("append"), "%s: append" % self.path)
        owner = entry.get("owner")
        if owner is not None and str(owner) not in ("root", "root:root", "0", "0:0"):
            self.notes.append("%s: owner %s is not applied, files on ESXi are root's" % (self.path, describe(owner)))

    def decode(self, content, encoding):
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise Problem("%s: the content is not text" % self.path)
        kind = ENCODINGS.get(str(encoding).lower().strip() if encoding is not None else "text/plain")
        if kind is None:
            self.notes.append("%s: unknown encoding %s, taken as plain text (as cloud-init does)" % (self.path, describe(encoding)))
            kind = "plain"
        data = content.encode("utf-8")
        try:
            if kind in ("base64", "gzip+base64"):
                data = base64.b64decode(data)
            if kind in ("gzip", "gzip+base64"):
                data = gzip.decompress(data)
        except (binascii.Error, ValueError, OSError, EOFError) as e:
            raise Problem("%s: the content is not %s (%s)" % (self.path, kind, e))
        return data

    def permissions(self, value):
        if value is None:
            return DEFAULT_MODE
        try:
            mode = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value), 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            self.notes.append("%s: permissions %s are not an octal mode, 0644 instead (as cloud-init does)" % (self.path, describe(value)))
            return DEFAULT_MODE
        return mode

    def target(self):
        return root() + self.path

    def done(self):
        """Whether the host's file already is as this entry makes it."""
        try:
            with open(self.target(), "rb") as f:
                current = f.read()
            mode = os.stat(self.target()).st_mode & 0o7777
        except OSError:
            return False
        if self.append:
            return current.endswith(self.data) and bool(self.data)
        return current == self.data and mode == self.mode

    def where(self):
        """What to say about the file's life: nothing when ESXi keeps it across reboots."""
        if self.path.startswith(BUNDLE):
            return "for this first boot only (mode 0600): the bundle is removed after it"
        if self.path.startswith(KEPT):
            return None
        if self.path.startswith("/etc/"):
            try:
                if os.stat(self.target()).st_mode & 0o1000:
                    # The sticky bit marks what ESXi's configuration backup saves.
                    return None
            except OSError:
                pass
        return "not kept across reboots: ESXi's root file system is in memory"


def truth(value, what):
    if value is None or value is False or value is True:
        return bool(value)
    if str(value).lower() in TRUE:
        return True
    if str(value).lower() in FALSE:
        return False
    raise Problem("%s: %s is neither true nor false" % (what, describe(value)))


def entries(config):
    """The write_files entries, each a File or the Problem it has."""
    listed = config.get("write_files")
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise Problem("write_files is not a list")
    out = []
    for index, entry in enumerate(listed):
        try:
            out.append(File(index, entry))
        except Problem as e:
            out.append(e)
    return out


def plan(path):
    records = []
    try:
        config, notes = cloud_config(path)
        records.extend(("note", n) for n in notes)
        others = sorted(describe(k) for k in config if k not in ("ntp", "write_files"))
        if others:
            records.append(("note", "not applicable to ESXi, ignored: %s" % ", ".join(others)))
        if "ntp" in config:
            names, notes, problems = ntp_servers(config["ntp"])
            records.extend(("note", n) for n in notes)
            records.extend(("fail", p) for p in problems)
            records.extend(("ntp", n) for n in names)
        for entry in entries(config):
            if isinstance(entry, Problem):
                records.append(("fail", str(entry)))
                continue
            records.extend(("note", n) for n in entry.notes)
            if entry.linux_only:
                records.append(("note", "%s: not written, %s" % (entry.path, entry.linux_only)))
            elif entry.done():
                records.append(("note", "%s: already as vendor-data has it" % entry.path))
            else:
                where = entry.where()
                if where:
                    records.append(("note", "%s: %s" % (entry.path, where)))
                records.append(("file", str(entry.index), entry.path))
    except Problem as e:
        records.append(("fail", str(e)))
    out = sys.stdout
    for record in records:
        out.write(SEP.join(clean(field) for field in record) + "\n")
    out.flush()
    return 0


def write(path, index, expected):
    try:
        config, _ = cloud_config(path)
        found = entries(config)
        entry = found[int(index)] if index.isdigit() and int(index) < len(found) else None
    except Problem as e:
        entry = e
    if isinstance(entry, Problem):
        say("error: %s" % entry)
        return 1
    if entry is None or entry.path != expected or entry.linux_only:
        say("error: write_files entry %s is not one to write to %s" % (index, expected))
        return 2
    target = entry.target()
    try:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        if entry.append:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab") as f:
                f.write(entry.data)
            os.chmod(target, entry.mode)
        else:
            temporary = target + ".maas-esxi"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(entry.data)
            os.chmod(temporary, entry.mode)
            os.rename(temporary, target)
    except OSError as e:
        say("error: %s: %s" % (entry.path, e.strerror or e))
        return 1
    say("%s %s: %d bytes, mode %04o" % ("appended to" if entry.append else "wrote", entry.path, len(entry.data), entry.mode))
    return 0


def say(message):
    sys.stderr.write("maas-vendor: %s\n" % message)
    sys.stderr.flush()


def main(argv):
    if len(argv) == 2 and argv[0] == "plan":
        return plan(argv[1])
    if len(argv) == 4 and argv[0] == "write":
        return write(argv[1], argv[2], argv[3])
    say("usage: maas-vendor plan FILE | maas-vendor write FILE INDEX PATH")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
