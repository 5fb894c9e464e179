# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many HTTP health endpoints checked at once on the host, with bearer tokens read on the host, never returned.

One thread per endpoint and round (standard library only: http.client, threading); the caller's thread waits for
each endpoint only until its deadline, so an endpoint that drips its answer cannot hold the run. A token is read from
an env file (NAME=value lines, as systemd's EnvironmentFile) through _safefile, which walks the path without following
a symlink another user could have made; the file must be a regular file owned by root or by us and readable by its
owner only. Every token read is kept in a Secrets object: scrub() replaces it in anything before it leaves the module
(results, messages, errors of any kind), and the module also gives it to Ansible's no_log_values.

No AnsibleModule here: the module http_health and the unit tests call these functions."""

import http.client
import json
import os
import re
import socket
import ssl
import stat
import threading
import time
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._trader import parse_env_file

MASK = "********"
MAX_ENDPOINTS = 100
MAX_ENV_FILE = 1024 * 1024
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)$")
PATH = re.compile(r"^/[\x21-\x7e]*$")  # printable ASCII, no space: nothing that can split the request line
TIMEOUT = v.Range(0, 3600, "seconds", above=True)
WAIT_TIMEOUT = v.Range(0, 86400, "seconds")
POLL = v.Range(0.05, 60, "seconds")
MAX_BODY = v.Range(1, 16 * 1024 * 1024, "bytes", integer=True)
PORT = v.Range(1, 65535, integer=True)
STATUS = v.Range(100, 599, integer=True)
USER_AGENT = "quantops.runbooks.http_health"


class HealthInputError(ValueError):
    """An endpoint the module cannot check as given; the message names it and what to give instead."""


class TokenError(Exception):
    """A token that could not be read safely; the message names the file and the variable, never a value."""


class Secrets:
    """Every token read during a run, and scrub() to take them out of anything on its way out."""

    def __init__(self) -> None:
        self.values = set()  # type: set
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        with self._lock:
            self.values.add(value)

    def scrub(self, obj: Any) -> Any:
        with self._lock:
            values = sorted(self.values, key=len, reverse=True)
        return _scrub(obj, values)


def _scrub(obj, values):
    if isinstance(obj, str):
        for secret in values:
            if secret and secret in obj:
                obj = obj.replace(secret, MASK)
        return obj
    if isinstance(obj, bytes):
        return _scrub(obj.decode("utf-8", "replace"), values)
    if isinstance(obj, dict):
        return dict((_scrub(k, values), _scrub(x, values)) for k, x in obj.items())
    if isinstance(obj, (list, tuple)):
        return [_scrub(x, values) for x in obj]
    return obj


class Target:
    """One endpoint, validated: where to send GET, what answers count as healthy, how long to wait for one."""

    # PLR0913: one endpoint's fields, keyword-only past the address
    def __init__(self, name, scheme, host, port, path, *, status=(200,), timeout=5.0, parse_json=False,  # noqa: PLR0913
                 token=None, validate_certs=True):
        self.name, self.scheme, self.host, self.port, self.path = name, scheme, host, port, path
        self.status, self.timeout, self.parse_json, self.token = list(status), timeout, parse_json, token
        self.validate_certs = validate_certs

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host or self.host.startswith("[") else "[%s]" % self.host
        return "%s://%s:%d%s" % (self.scheme, host, self.port, self.path)


def _where(i: int, item: Dict[str, Any]) -> str:
    name = item.get("name")
    return "endpoints[%d]%s" % (i, " (%s)" % name if isinstance(name, str) and name.strip() else "")


def _from_url(where: str, url: str) -> Tuple[str, str, int, str]:
    v.text(where + ".url", url, v.Text(max_length=2048))
    if any(c.isspace() for c in url):
        raise HealthInputError("%s.url %r holds a space: give the URL without spaces (percent-encode them)" % (where, url[:100]))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise HealthInputError("%s.url %r: the scheme must be http or https, not %r" % (where, url[:100], parts.scheme))
    if "@" in parts.netloc:
        raise HealthInputError("%s.url has credentials in it (user:password@): give a token by reference (token.env_file and "
                               "token.var) instead" % where)
    if not parts.hostname:
        raise HealthInputError("%s.url %r has no host" % (where, url[:100]))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise HealthInputError("%s.url %r: its port must be a whole number from 1 to 65535" % (where, url[:100])) from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def _token_ref(where: str, token: Optional[Dict[str, Any]]) -> Optional[Tuple[str, str]]:
    """(env_file, var) of an endpoint's token reference, checked; None without one."""
    if token is None:
        return None
    env_file, var = token.get("env_file"), token.get("var")
    v.path(where + ".token.env_file", env_file, v.Path(absolute=True, dotdot=False))
    v.text(where + ".token.var", var, v.Text(max_length=255))
    if not ENV_NAME.match(var):
        raise HealthInputError("%s.token.var %r is not a variable name (letters, digits, _; not starting with a digit)" % (where, var[:100]))
    return env_file, var


def target(i: int, item: Dict[str, Any], default_timeout: float) -> Target:
    """A Target from one element of the endpoints option; HealthInputError (or v.InvalidInput) naming what is wrong."""
    where = _where(i, item)
    url = item.get("url")
    address = [k for k in ("host", "port", "path") if item.get(k) is not None]
    if url is not None and address:
        raise HealthInputError("%s gives both url and %s: give either url or host, port and path" % (where, ", ".join(address)))
    if url is not None:
        scheme, host, port, path = _from_url(where, url)
    else:
        if item.get("port") is None:
            raise HealthInputError("%s has neither url nor port: give url, or port (with host and path)" % where)
        scheme = item.get("scheme") or "http"
        host = item.get("host") or "127.0.0.1"
        port = v.number(where + ".port", item["port"], PORT)
        path = item.get("path") or "/health"
        v.text(where + ".host", host, v.Text(max_length=255))
        if not HOST.match(host):
            raise HealthInputError("%s.host %r is not a host name or an IP address" % (where, host[:100]))
    if not PATH.match(path) or len(path) > 2048:
        raise HealthInputError("%s: the path %r must start with / and hold printable characters only, no spaces (at most 2048)"
                               % (where, path[:100]))
    status = [200] if item.get("status") is None else item["status"]
    v.items(where + ".status", status, v.Items(min_items=1, max_items=50))
    status = [v.number("%s.status[%d]" % (where, n), s, STATUS) for n, s in enumerate(status)]
    timeout = item.get("timeout")
    timeout = default_timeout if timeout is None else v.number(where + ".timeout", timeout, TIMEOUT)
    token = _token_ref(where, item.get("token"))
    name = item.get("name")
    if name is not None:
        v.text(where + ".name", name, v.Text(max_length=200))
    t = Target(name or "", scheme, host, port, path, status=status, timeout=timeout, parse_json=bool(item.get("json")),
               token=token, validate_certs=item.get("validate_certs", True) is not False)
    t.name = t.name or t.url
    return t


def targets(items: List[Dict[str, Any]], default_timeout: float) -> List[Target]:
    v.items("endpoints", items, v.Items(min_items=1, max_items=MAX_ENDPOINTS))
    out = [target(i, item or {}, default_timeout) for i, item in enumerate(items)]
    seen = set()
    for t in out:
        if t.name in seen:
            raise HealthInputError("two endpoints are named %r: give each its own name" % t.name)
        seen.add(t.name)
    return out


def read_token(env_file: str, var: str, secrets: Secrets) -> str:
    """The value of ``var`` in ``env_file``, read on the host as root safely: a path walked without following a user's
    symlink, a regular file owned by root or by us, with no permission for its group or others."""
    try:
        data, odd, st = _safefile.read_path(env_file, limit=MAX_ENV_FILE + 1)
    except _safefile.UnsafePathError as e:
        raise TokenError("token env file %s: %s" % (env_file, e)) from None
    except FileNotFoundError:
        raise TokenError("token env file %s: a directory on its path does not exist" % env_file) from None
    except OSError as e:
        raise TokenError("token env file %s cannot be read: %s" % (env_file, e.strerror or e)) from None
    if data is None:
        raise TokenError("token env file %s does not exist: deploy the service's env file first" % env_file)
    if odd:
        raise TokenError("token env file %s is %s, not a regular file: refusing to read a token through it" % (env_file, odd))
    if st.st_uid not in (0, os.geteuid()):
        raise TokenError("token env file %s is owned by %s, not root: another user could have written it; refusing it"
                         % (env_file, _safefile.owner_name(st.st_uid)))
    if st.st_mode & 0o077:
        raise TokenError("token env file %s has mode %04o, open to its group or others: a file with a token must be 0600 "
                         "(chmod 0600 it, or redeploy)" % (env_file, stat.S_IMODE(st.st_mode)))
    if len(data) > MAX_ENV_FILE:
        raise TokenError("token env file %s is larger than %d bytes: not an env file" % (env_file, MAX_ENV_FILE))
    value = parse_env_file(data.decode("utf-8", "replace")).get(var)
    if value:
        secrets.add(value)  # from here on, scrubbed from everything the module returns
    if value is None:
        raise TokenError("token env file %s has no variable %s" % (env_file, var))
    if not value or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise TokenError("token %s in %s is empty or holds a space or control character: it cannot be sent as a bearer token"
                         % (var, env_file))
    return value


def _connection(t: Target, timeout: float):
    if t.scheme == "https":
        context = ssl.create_default_context()
        if not t.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(t.host, t.port, timeout=timeout, context=context)
    return http.client.HTTPConnection(t.host, t.port, timeout=timeout)


def _error_text(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "no answer within the deadline"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (nothing listens on the port)"
    if isinstance(e, socket.gaierror):
        return "the host name does not resolve (%s)" % (e.strerror or e)
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower() if e.strerror else type(e).__name__
    return "%s: %s" % (type(e).__name__, " ".join(str(e).split())[:300])


def _read_body(conn, resp, want: int, deadline: float) -> bytes:
    """Up to ``want`` bytes of the body, each read limited to what is left of the deadline."""
    body = b""
    while len(body) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        if conn.sock is not None:
            conn.sock.settimeout(left)
        chunk = resp.read1(min(65536, want - len(body)))
        if not chunk:
            break
        body += chunk
    return body


def _parse(body: bytes, max_body: int) -> Tuple[Any, Optional[str]]:
    """(parsed JSON, None) or (None, why not)."""
    if len(body) > max_body:
        return None, "the body is larger than %d bytes (max_body): not parsed" % max_body
    try:
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as e:
        return None, "the body is not JSON (%s)" % " ".join(str(e).split())[:200]


def check_once(t: Target, token: Optional[str], max_body: int, holder: Dict[str, Any]) -> Dict[str, Any]:
    """One GET of ``t`` (at most ``t.timeout`` seconds, enforced per read): status, latency, parsed JSON, error.
    ``holder['conn']`` is the connection while it is open, so a caller past the deadline can close it."""
    started = time.monotonic()
    deadline = started + t.timeout
    out = dict(status=None, latency_s=None, json=None, error=None)  # type: Dict[str, Any]
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json" if t.parse_json else "*/*", "Connection": "close"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn = None
    try:
        conn = _connection(t, t.timeout)
        holder["conn"] = conn
        conn.request("GET", t.path, headers=headers)
        resp = conn.getresponse()
        out["status"] = resp.status
        out["latency_s"] = round(time.monotonic() - started, 4)
        if t.parse_json:
            out["json"], out["error"] = _parse(_read_body(conn, resp, max_body + 1, deadline), max_body)
    except Exception as e:  # noqa: BLE001 - any failure of one endpoint is that endpoint's error, never the run's
        out["error"] = _error_text(e)
        if out["latency_s"] is None:
            out["latency_s"] = round(time.monotonic() - started, 4)
    finally:
        if conn is not None:
            conn.close()
    return out


def _verdict(t: Target, out: Dict[str, Any]) -> bool:
    return out["error"] is None and out["status"] in t.status


def _explain(t: Target, out: Dict[str, Any]) -> Optional[str]:
    if out["error"] is None and out["status"] not in t.status:
        return "status %s, expected %s" % (out["status"], " or ".join(str(s) for s in t.status))
    return out["error"]


def check_round(items: List[Tuple[Target, Optional[str]]], max_body: int, secrets: Secrets) -> List[Dict[str, Any]]:
    """Every (target, token) at once, one daemon thread each; each waited for only until its own deadline."""
    holders = [dict() for dummy in items]  # type: List[Dict[str, Any]]
    results = [None] * len(items)  # type: List[Any]

    def work(n, t, token):
        try:
            results[n] = check_once(t, token, max_body, holders[n])
        except BaseException as e:  # noqa: B036 - a thread must never die with a traceback holding a header
            results[n] = dict(status=None, latency_s=None, json=None, error=_error_text(e))

    threads = []
    started = time.monotonic()
    for n, (t, token) in enumerate(items):
        th = threading.Thread(target=work, args=(n, t, token), name="http_health-%d" % n, daemon=True)
        th.start()
        threads.append(th)
    for n, th in enumerate(threads):
        t = items[n][0]
        th.join(max(0.0, started + t.timeout + 0.5 - time.monotonic()))
        if th.is_alive() or results[n] is None:
            conn = holders[n].get("conn")
            if conn is not None and conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            results[n] = dict(status=None, latency_s=round(t.timeout, 4), json=None, error="no answer within the deadline")
    return [secrets.scrub(r) for r in results]


# PLR0913: the module's options, keyword-only
def run(items: List[Target], *, secrets: Secrets, wait: bool = False, wait_timeout: float = 60.0, poll: float = 1.0,  # noqa: PLR0913
        max_body: int = 65536, clock=time.monotonic, sleep=time.sleep) -> Dict[str, Any]:
    """Check every target (again and again with ``wait``, the unhealthy ones only, until all are healthy or
    ``wait_timeout`` has passed). Returns the module's result, scrubbed of every token read."""
    started = clock()
    tokens = {}  # type: Dict[int, Optional[str]]
    rows = {}  # type: Dict[int, Dict[str, Any]]
    for n, t in enumerate(items):
        rows[n] = dict(name=t.name, url=t.url, healthy=False, status=None, latency_s=None, json=None, error=None, attempts=0,
                       ready_s=None)
        tokens[n] = None
        if t.token is not None:
            try:
                tokens[n] = read_token(t.token[0], t.token[1], secrets)
            except TokenError as e:
                rows[n]["error"] = str(e)
                tokens[n] = TokenError
    todo = [n for n in rows if tokens[n] is not TokenError]
    while True:
        outs = check_round([(items[n], tokens[n]) for n in todo], max_body, secrets)
        for n, out in zip(todo, outs):
            row = rows[n]
            row.update(out)
            row["attempts"] += 1
            row["healthy"] = _verdict(items[n], out)
            row["error"] = _explain(items[n], out)
            if row["healthy"]:
                row["ready_s"] = round(clock() - started, 3)
        todo = [n for n in todo if not rows[n]["healthy"]]
        left = started + wait_timeout - clock()
        if not wait or not todo or left <= 0:
            break
        sleep(min(poll, left))
    endpoints = [rows[n] for n in sorted(rows)]
    bad = [r for r in endpoints if not r["healthy"]]
    msg = ("all %d endpoints healthy" % len(endpoints) if not bad else
           "%d of %d endpoints unhealthy%s: %s" % (len(bad), len(endpoints), " after waiting %gs" % wait_timeout if wait else "",
                                                   "; ".join("%s: %s" % (r["name"], r["error"]) for r in bad)))
    return secrets.scrub(dict(changed=False, healthy=not bad, unhealthy=[r["name"] for r in bad], endpoints=endpoints,
                              elapsed=round(clock() - started, 3), msg=msg))
