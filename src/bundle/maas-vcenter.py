#!/usr/bin/env python3
"""maas-vcenter: adds the ESXi host to vCenter for its first boot, part of maas-esxi.

MAAS's vCenter settings (vendor-data's /altbootbank/maas/vcenter.yaml: vcenter_server, vcenter_username,
vcenter_password, vcenter_datacenter) say where; the host's own temporary account, whose password comes
on standard input, is what vCenter connects to the host with. vCenter's password is read from the
settings file only: never an argument, never in a message.

  maas-vcenter --settings FILE settings
      What the settings say, for the log. Exit status 3 (and what is missing) when they lack the server,
      the user name or the password: there is nothing to register with.
  maas-vcenter --settings FILE addresses
      The addresses vCenter's name resolves to, one a line.
  maas-vcenter password
      A random password for the temporary account, as ESXi's password policy wants it.
  maas-vcenter --settings FILE register --user USER --hostname NAME... --certificate FILE
      Adds the host to the datacenter's host folder, as the first NAME vCenter can add it by (its FQDN,
      then its addresses), with vCenter checking the host's certificate (FILE) by its SHA-1 thumbprint.
      USER's password is the first line of standard input. A host vCenter already has, connected, is
      left as it is.

It speaks the vSphere Automation REST API: /api (vCenter 7.0 Update 2 and later), else /rest (6.5 to
7.0). vCenter's certificate is checked against the host's CA store (/etc/vmware/ssl/castore.pem) and
Python's; when that fails (a self-signed or VMCA certificate the host does not know), the log says so and
the connection goes on without the check.

MAAS_VCENTER_PORT (443) is vCenter's port; connections that fail are tried MAAS_VCENTER_ATTEMPTS times
(4), waiting MAAS_VCENTER_DELAY seconds (2), then twice as long each time; MAAS_VCENTER_TIMEOUT seconds
per request (30). Host paths are under $MAAS_ESXI_ROOT. Exit status: 0 done, 1 failed, 2 a usage or
settings problem, 3 (settings) incomplete.

Standard library only, Python 3.5 and later: the oldest python3 ESXi ships (6.7).
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import socket
import ssl
import string
import sys
import time
import urllib.parse

import maas_yaml

KEYS = ("vcenter_server", "vcenter_username", "vcenter_password", "vcenter_datacenter")
REQUIRED = KEYS[:3]
CASTORE = "/etc/vmware/ssl/castore.pem"
MAX_DELAY = 32


class Failure(Exception):
    """The registration failed; the message says why and carries no secret."""


class UsageError(Exception):
    """Bad arguments, settings or environment."""


class Incomplete(Exception):
    """The settings lack something registration needs."""


def say(message):
    sys.stderr.write("maas-vcenter: %s\n" % message)
    sys.stderr.flush()


def setting(name, default, cast):
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        result = cast(value)
    except ValueError:
        raise UsageError("%s=%s is not a number" % (name, value))
    if result < 0:
        raise UsageError("%s=%s is negative" % (name, value))
    return result


def load_settings(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        settings = maas_yaml.load(text)
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError("cannot read %s (%s)" % (path, type(e).__name__))
    except maas_yaml.YamlError as e:
        raise UsageError("%s: %s" % (path, e))
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise UsageError("%s is not a mapping of vCenter settings" % path)
    for key in sorted(k for k in settings if k not in KEYS):
        say("%s: %r is not a vCenter setting, ignored" % (path, key))
    for key in KEYS:
        value = settings.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError("%s: %s is not text" % (path, key))
    return dict((k, (settings.get(k) or "").strip() if k != "vcenter_password" else settings.get(k) or "")
                for k in KEYS)


def complete(settings):
    missing = [k for k in REQUIRED if not settings[k]]
    if missing:
        raise Incomplete("the vCenter settings from MAAS have no %s" % " and no ".join(missing))


def thumbprint(path):
    """The SHA-1 thumbprint of the PEM certificate in path, as vCenter writes it: AA:BB:…"""
    try:
        with open(path, "r") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
    except (OSError, ValueError) as e:
        raise Failure("cannot read the host's certificate %s (%s)" % (path, e))
    digest = hashlib.sha1(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def password():
    """20 characters: lowercase at both ends, and at least three each of lowercase and uppercase letters,
    digits and punctuation in between, shuffled."""
    rng = random.SystemRandom()
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_.+@")
    middle = [rng.choice(c) for c in classes for _ in range(3)]
    middle += [rng.choice("".join(classes)) for _ in range(18 - len(middle))]
    rng.shuffle(middle)
    return rng.choice(string.ascii_lowercase) + "".join(middle) + rng.choice(string.ascii_lowercase)


class Generation:
    """One generation of the vSphere Automation REST API: its paths, how it wraps bodies and results,
    and how it names list filters."""

    def __init__(self, name, session, base, wrapped, filter_prefix):
        self.name = name
        self.session = session
        self.base = base
        self.wrapped = wrapped
        self.filter_prefix = filter_prefix

    def query(self, path, params):
        query = urllib.parse.urlencode([(self.filter_prefix + k, v) for k, v in params])
        return self.base + path + ("?" + query if query else "")

    def result(self, doc):
        if self.wrapped:
            return doc.get("value") if isinstance(doc, dict) else None
        return doc


API = Generation("/api", "/api/session", "/api", False, "")
REST = Generation("/rest", "/rest/com/vmware/cis/session", "/rest", True, "filter.")


class VCenter:
    def __init__(self, settings, secrets):
        self.server = settings["vcenter_server"]
        self.user = settings["vcenter_username"]
        self.password = settings["vcenter_password"]
        self.secrets = [s for s in secrets + [self.password] if s]
        self.port = setting("MAAS_VCENTER_PORT", 443, int)
        self.attempts = max(1, setting("MAAS_VCENTER_ATTEMPTS", 4, int))
        self.delay = setting("MAAS_VCENTER_DELAY", 2.0, float)
        self.timeout = setting("MAAS_VCENTER_TIMEOUT", 30.0, float)
        self.context = None
        self.generation = None
        self.token = None

    def redact(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def tls(self):
        """A TLS context that checks vCenter's certificate, or, when the check fails, one that does not."""
        context = ssl.create_default_context()
        castore = os.environ.get("MAAS_ESXI_ROOT", "") + CASTORE
        if os.path.isfile(castore):
            try:
                context.load_verify_locations(castore)
            except (ssl.SSLError, OSError) as e:
                say("cannot use the host's CA store %s: %s" % (castore, e))
        try:
            self.connect(context).close()
            say("vCenter's certificate is verified")
            return context
        except ssl.CertificateError as e:
            problem = getattr(e, "verify_message", None) or str(e)
        except ssl.SSLError as e:
            if getattr(e, "reason", None) != "CERTIFICATE_VERIFY_FAILED":
                raise Failure("TLS with vCenter %s failed: %s" % (self.server, e))
            problem = getattr(e, "verify_message", None) or str(e)
        say(
            "vCenter's certificate was NOT verified (%s): neither the host's CA store nor Python's "
            "knows who signed it; the connection goes on without the check" % problem
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def connect(self, context):
        """An open connection to vCenter; connections that fail are tried again."""
        delay = self.delay
        for attempt in range(1, self.attempts + 1):
            connection = http.client.HTTPSConnection(
                self.server, self.port, timeout=self.timeout, context=context
            )
            try:
                connection.connect()
                return connection
            except (ssl.SSLError, ssl.CertificateError):
                connection.close()
                raise
            except OSError as e:
                connection.close()
                problem = str(e)
            if attempt < self.attempts:
                say("cannot reach vCenter %s:%d: %s; trying again in %g s" % (self.server, self.port, problem, delay))
                time.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
        raise Failure(
            "cannot reach vCenter %s:%d: %s (%d attempts)" % (self.server, self.port, problem, self.attempts)
        )

    def call(self, method, path, body=None, basic=False):
        """The HTTP status and the JSON document of vCenter's answer (None when there is none)."""
        headers = {"Accept": "application/json"}
        if basic:
            pair = ("%s:%s" % (self.user, self.password)).encode("utf-8")
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        elif self.token:
            headers["vmware-api-session-id"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            connection = self.connect(self.context)
        except ssl.SSLError as e:
            raise Failure("TLS with vCenter %s failed: %s" % (self.server, e))
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as e:
            raise Failure(self.redact("%s %s on vCenter %s: %s" % (method, path, self.server, e)))
        finally:
            connection.close()
        try:
            doc = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except ValueError:
            doc = None
        return response.status, doc

    def problem(self, status, doc):
        """vCenter's error, as its two API generations write it: the type and the messages."""
        kind, messages = None, []
        if isinstance(doc, dict):
            detail = doc.get("value") if isinstance(doc.get("value"), dict) else doc
            kind = detail.get("error_type") or doc.get("error_type") or doc.get("type")
            if isinstance(kind, str):
                kind = kind.rsplit(".", 1)[-1].upper()
            for message in detail.get("messages") or []:
                if isinstance(message, dict) and message.get("default_message"):
                    messages.append(str(message["default_message"]))
        text = "HTTP %d" % status
        if kind:
            text += " %s" % kind
        if messages:
            text += ": %s" % " ".join(messages)
        return kind, self.redact(text)

    def login(self):
        for generation in (API, REST):
            self.generation = generation
            status, doc = self.call("POST", generation.session, basic=True)
            if status == 404:
                continue
            if status == 401:
                raise Failure("vCenter %s refused the user name or password of %s" % (self.server, self.user))
            token = generation.result(doc)
            if status not in (200, 201) or not isinstance(token, str):
                raise Failure("logging in to vCenter %s: %s" % (self.server, self.problem(status, doc)[1]))
            self.token = token
            self.secrets.append(token)
            say("logged in to vCenter %s as %s (API %s)" % (self.server, self.user, generation.name))
            return
        raise Failure("vCenter %s has neither the /api nor the /rest session service" % self.server)

    def logout(self):
        try:
            self.call("DELETE", self.generation.session)
        except Failure:
            pass

    def get_list(self, path, params, what):
        status, doc = self.call("GET", self.generation.query(path, params))
        items = self.generation.result(doc)
        if status != 200 or not isinstance(items, list):
            raise Failure("listing %s on vCenter %s: %s" % (what, self.server, self.problem(status, doc)[1]))
        return [i for i in items if isinstance(i, dict)]

    def datacenter(self, name):
        every = self.get_list("/vcenter/datacenter", [], "datacenters")
        names = ", ".join(sorted(str(d.get("name")) for d in every)) or "none"
        if not name:
            if len(every) != 1:
                raise Failure(
                    "MAAS names no vCenter datacenter and vCenter %s has more or fewer than one (%s)"
                    % (self.server, names)
                )
            say("MAAS names no datacenter: using vCenter's only one, %s" % every[0].get("name"))
            return every[0]
        found = self.get_list("/vcenter/datacenter", [("names", name)], "datacenters")
        if not found:
            raise Failure("vCenter %s has no datacenter %s (it has: %s)" % (self.server, name, names))
        return found[0]

    def host_folder(self, datacenter):
        folders = self.get_list(
            "/vcenter/folder", [("type", "HOST"), ("datacenters", datacenter["datacenter"])], "host folders"
        )
        # The datacenter's own host folder is named "host"; other host folders are inside it.
        chosen = [f for f in folders if f.get("name") == "host"] or (folders if len(folders) == 1 else [])
        if not chosen:
            raise Failure("cannot tell the host folder of datacenter %s on vCenter %s" % (datacenter.get("name"), self.server))
        return chosen[0]["folder"]

    def known(self, names):
        """The first of names vCenter already has a host by, as its entry."""
        for name in names:
            found = self.get_list("/vcenter/host", [("names", name)], "hosts")
            if found:
                return found[0]
        return None

    def add(self, names, user, account_password, folder, print_):
        tried = []
        for name in names:
            spec = {
                "hostname": name,
                "user_name": user,
                "password": account_password,
                "folder": folder,
                "thumbprint_verification": "THUMBPRINT",
                "thumbprint": print_,
                "force_add": False,
            }
            body = {"spec": spec} if self.generation.wrapped else spec
            status, doc = self.call("POST", self.generation.base + "/vcenter/host", body)
            host = self.generation.result(doc)
            if status in (200, 201) and isinstance(host, str):
                return name, host
            kind, problem = self.problem(status, doc)
            if status in (401, 403) or kind in ("UNAUTHENTICATED", "UNAUTHORIZED", "ALREADY_EXISTS"):
                raise Failure("vCenter %s did not add the host as %s: %s" % (self.server, name, problem))
            say("vCenter %s could not add the host as %s: %s" % (self.server, name, problem))
            tried.append(name)
        raise Failure("vCenter %s could add the host by none of %s" % (self.server, ", ".join(tried)))

    def register(self, names, user, account_password, certificate, datacenter_name):
        print_ = thumbprint(certificate)
        self.context = self.tls()
        self.login()
        try:
            datacenter = self.datacenter(datacenter_name)
            folder = self.host_folder(datacenter)
            existing = self.known(names)
            if existing is not None:
                state = existing.get("connection_state")
                if state != "CONNECTED":
                    raise Failure(
                        "vCenter %s already has this host as %s (%s), %s: remove it there and run the first "
                        "boot again" % (self.server, existing.get("name"), existing.get("host"), state)
                    )
                say("vCenter %s already has this host as %s (%s), connected" % (self.server, existing.get("name"), existing.get("host")))
                return
            name, host = self.add(names, user, account_password, folder, print_)
            say(
                "added to vCenter %s as %s (%s), datacenter %s, host certificate thumbprint %s"
                % (self.server, name, host, datacenter.get("name"), print_)
            )
        finally:
            self.logout()


def resolve(server, port):
    try:
        infos = socket.getaddrinfo(server, port, 0, socket.SOCK_STREAM)
    except OSError as e:
        raise Failure("cannot resolve vCenter %s: %s" % (server, e))
    return sorted(set(info[4][0] for info in infos))


def main(argv):
    parser = argparse.ArgumentParser(prog="maas-vcenter", description="Add the ESXi host to vCenter for maas-esxi.")
    parser.add_argument("--settings", help="MAAS's vCenter settings (vcenter.yaml)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("settings", help="say what the settings are")
    commands.add_parser("addresses", help="print vCenter's addresses")
    commands.add_parser("password", help="print a password for the temporary account")
    p = commands.add_parser("register", help="add the host to vCenter")
    p.add_argument("--user", required=True, help="the host's temporary account")
    p.add_argument("--hostname", action="append", required=True, help="a name vCenter may add the host by")
    p.add_argument("--certificate", required=True, help="the host's certificate (PEM)")
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("a command is required: settings, addresses, password or register")
    try:
        if args.command == "password":
            print(password())
            return 0
        if not args.settings:
            raise UsageError("--settings is required")
        settings = load_settings(args.settings)
        complete(settings)
        if args.command == "settings":
            print("vCenter %s, user %s, datacenter %s" % (
                settings["vcenter_server"], settings["vcenter_username"],
                settings["vcenter_datacenter"] or "(none named: vCenter's only one)"))
            return 0
        if args.command == "addresses":
            for address in resolve(settings["vcenter_server"], setting("MAAS_VCENTER_PORT", 443, int)):
                print(address)
            return 0
        account_password = sys.stdin.readline().rstrip("\n")
        if not account_password:
            raise UsageError("no password for %s on standard input" % args.user)
        vcenter = VCenter(settings, [account_password])
        try:
            vcenter.register(args.hostname, args.user, account_password, args.certificate,
                             settings["vcenter_datacenter"])
        except Failure as e:
            raise Failure(vcenter.redact(str(e)))
    except Incomplete as e:
        print(e)
        return 3
    except UsageError as e:
        say("error: %s" % e)
        return 2
    except Failure as e:
        say("error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
