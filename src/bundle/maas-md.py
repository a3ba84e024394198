#!/usr/bin/env python3
"""maas-md: the ESXi first boot's client of MAAS's metadata service, part of maas-esxi.

It reads MAAS's status endpoint and the machine's OAuth token from a credentials file (JSON with
"endpoint", "consumer_key", "token_key" and "token_secret"), so that no secret is ever on a command line,
and signs every request with OAuth 1.0 PLAINTEXT as MAAS's own clients do.

  maas-md --credentials FILE get PATH [--output FILE]
      GET PATH (e.g. latest/meta-data/local-hostname) from the metadata service, whose address is the
      endpoint up to "status/". The body goes to stdout, or to FILE (mode 0600). 404: nothing, exit 0.
  maas-md --credentials FILE event TYPE NAME DESCRIPTION [RESULT]
      POST a status event to the endpoint: TYPE start, progress or finish, RESULT SUCCESS or FAIL.
  maas-md --credentials FILE address
      The addresses the metadata service resolves to, one a line.

Failed requests are tried again: MAAS_MD_ATTEMPTS attempts in all (8), waiting MAAS_MD_DELAY seconds (1)
before the second, twice as long before each next one, at most 32; MAAS_MD_TIMEOUT seconds per request
(15). A 401 or 403 whose Date header shows that the clocks differ is tried again at once with the
service's time. Exit status: 0 done, 1 the request failed, 2 a usage or credentials problem. Messages
never carry a secret.

Standard library only, Python 3.5 and later: the oldest python3 ESXi ships (6.7).
"""

import argparse
import binascii
import email.utils
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ORIGIN = "maas-esxi"
KEYS = ("endpoint", "consumer_key", "token_key", "token_secret")
# Clock differences smaller than this are not worth a correction.
SKEW_TOLERANCE = 10
MAX_DELAY = 32


class Failure(Exception):
    """A request that did not succeed; its message carries no secret."""


class UsageError(Exception):
    """Bad credentials file or settings."""


def say(message):
    sys.stderr.write("maas-md: %s\n" % message)
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


def quote(value):
    # RFC 5849 percent-encoding: everything but the unreserved characters (Python 3.5 quotes "~").
    return urllib.parse.quote(value, safe="~")


class Client:
    def __init__(self, credentials):
        self.endpoint = credentials["endpoint"]
        self.consumer_key = credentials["consumer_key"]
        self.token_key = credentials["token_key"]
        self.token_secret = credentials["token_secret"]
        self.secrets = [credentials[k] for k in KEYS[1:] if credentials[k]]
        self.skew = 0
        self.attempts = max(1, setting("MAAS_MD_ATTEMPTS", 8, int))
        self.delay = setting("MAAS_MD_DELAY", 1.0, float)
        self.timeout = setting("MAAS_MD_TIMEOUT", 15.0, float)
        # MAAS is reached directly, as its own clients do (wget --no-proxy).
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def redact(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def metadata_url(self, path):
        base = self.endpoint[: self.endpoint.find("status/")]
        return base + path.lstrip("/")

    def authorization(self):
        params = [
            ("oauth_version", "1.0"),
            ("oauth_signature_method", "PLAINTEXT"),
            ("oauth_consumer_key", self.consumer_key),
            ("oauth_token", self.token_key),
            # PLAINTEXT: the encoded consumer secret (MAAS's is empty), "&", the encoded token secret.
            ("oauth_signature", "&" + quote(self.token_secret)),
            ("oauth_nonce", binascii.hexlify(os.urandom(16)).decode("ascii")),
            ("oauth_timestamp", str(int(time.time() + self.skew))),
        ]
        return "OAuth " + ", ".join('%s="%s"' % (k, quote(v)) for k, v in params)

    def skew_from(self, date):
        """The service's clock minus ours, from an HTTP Date header; None without a usable one."""
        parsed = email.utils.parsedate_tz(date) if date else None
        if parsed is None:
            return None
        return email.utils.mktime_tz(parsed) - time.time()

    def request(self, method, url, body=None):
        """The body of a successful response; b"" for a 404 to a GET."""
        delay = self.delay
        what = "%s %s" % (method, url)
        problem = "no attempt"
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(url, data=body, method=method)
            request.add_header("Authorization", self.authorization())
            if body is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with self.opener.open(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as e:
                if e.code == 404 and method == "GET":
                    return b""
                problem = "HTTP %d %s" % (e.code, e.reason)
                if e.code in (401, 403):
                    skew = self.skew_from(e.headers.get("Date"))
                    if skew is not None and abs(skew - self.skew) > SKEW_TOLERANCE:
                        self.skew = skew
                        say(
                            "%s: %s; the service's clock is %+d s from ours, trying again with its time"
                            % (what, problem, round(skew))
                        )
                        continue
                elif e.code < 500 and e.code not in (408, 429):
                    raise Failure(self.redact("%s: %s" % (what, problem)))
            except (urllib.error.URLError, OSError) as e:
                problem = str(getattr(e, "reason", e))
            if attempt < self.attempts:
                say(self.redact("%s: %s; trying again in %g s" % (what, problem, delay)))
                time.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
        raise Failure(
            self.redact("%s: %s (%d attempts)" % (what, problem, self.attempts))
        )


def load_credentials(path):
    try:
        with open(path, "r") as f:
            credentials = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError("cannot read the credentials file %s (%s)" % (path, type(e).__name__))
    if not isinstance(credentials, dict) or not all(
        isinstance(credentials.get(k), str) for k in KEYS
    ):
        raise UsageError(
            "the credentials file %s does not hold the strings %s" % (path, ", ".join(KEYS))
        )
    if "status/" not in credentials["endpoint"]:
        raise UsageError("the endpoint in %s is not MAAS's status URL" % path)
    return credentials


def write_private(path, data):
    """Writes data to path through a temporary file, readable by the owner only."""
    temporary = path + ".part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.rename(temporary, path)


def get(client, args):
    body = client.request("GET", client.metadata_url(args.path))
    if args.output:
        write_private(args.output, body)
    else:
        out = sys.stdout.buffer
        out.write(body)
        out.flush()


def event(client, args):
    message = {
        "event_type": args.type,
        "origin": ORIGIN,
        "name": args.name,
        "description": args.description,
        "timestamp": time.time() + client.skew,
    }
    if args.result:
        message["result"] = args.result
    # MAAS takes ASCII only: json escapes everything else.
    body = json.dumps(message, sort_keys=True).encode("ascii")
    client.request("POST", client.endpoint, body)


def address(client, args):
    url = urllib.parse.urlsplit(client.endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.hostname, port, 0, socket.SOCK_STREAM)
    except OSError as e:
        raise Failure("cannot resolve %s: %s" % (url.hostname, e))
    for addr in sorted(set(info[4][0] for info in infos)):
        print(addr)


def main(argv):
    parser = argparse.ArgumentParser(
        prog="maas-md", description="Talk to MAAS's metadata service for maas-esxi."
    )
    parser.add_argument("--credentials", required=True, help="the credentials file")
    commands = parser.add_subparsers(dest="command")
    p = commands.add_parser("get", help="GET a path of the metadata service")
    p.add_argument("path")
    p.add_argument("--output", help="write the body to this file instead of stdout")
    p.set_defaults(run=get)
    p = commands.add_parser("event", help="POST a status event")
    p.add_argument("type", choices=["start", "progress", "finish"])
    p.add_argument("name")
    p.add_argument("description")
    p.add_argument("result", nargs="?", default="", choices=["", "SUCCESS", "FAIL"])
    p.set_defaults(run=event)
    p = commands.add_parser("address", help="print the metadata service's addresses")
    p.set_defaults(run=address)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.error("a command is required: get, event or address")
    try:
        client = Client(load_credentials(args.credentials))
        args.run(client, args)
    except UsageError as e:
        say("error: %s" % e)
        return 2
    except Failure as e:
        say("error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
