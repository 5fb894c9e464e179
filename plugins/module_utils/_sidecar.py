# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openclaw-ai-quant WS sidecar as its clients see it (fol2/openclaw-crypto-ai-quant at 9603e63): where its unix
socket is, its JSON-lines RPC, and what proves that a (re)started sidecar streams market data again.

Sources (see tests/lab/apps/openclaw-ai-quant/FIDELITY.md):
- exchange/sidecar.py and ws_sidecar/src/main.rs: the socket is AI_QUANT_WS_SIDECAR_SOCK, else
  $XDG_RUNTIME_DIR/openclaw-ai-quant-ws.sock, else /tmp/openclaw-ai-quant-ws.sock; one JSON object per line,
  ``{"id", "method", "params"}`` in, ``{"id", "ok", "result"}`` or ``{"id", "ok": false, "error"}`` out; ``health``
  gives ``connected`` and ``mids_age_s``, ``ws_stats`` the connect attempts and disconnects.
- ws_sidecar/src/main.rs: ``ws connected: attempt=N status=101 ...`` on stderr when the WebSocket is up; candles are
  upserted into candles_<interval>.db on every trade, the forming bar included, with ``updated_at`` in RFC 3339 UTC
  to the second (``2026-11-29T19:38:08Z``).
- ws_sidecar/src/main.rs ``ws_loop``: a lost connection logs ``ws read error: ...``, ``ws close: ...`` or ``ws send
  error: ...`` (a client's ``restart``: ``ws restart requested by client``), a failed connect ``ws connect failed:
  ...``, and every new try ``ws connect: attempt=N`` with N counting from 1 for the process. The words "disconnect"
  and "reconnect" appear in no line.
- The paths are read as the sidecar reads them (``env::var``): a variable that is set counts even when empty, and a
  relative path is relative to the sidecar's working directory.
"""

import calendar
import json
import os
import re
import socket
import stat
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile as sf

SOCKET_NAME = "openclaw-ai-quant-ws.sock"
ENV_SOCK = "AI_QUANT_WS_SIDECAR_SOCK"
ENV_SYMBOLS = "AI_QUANT_SIDECAR_SYMBOLS"
ENV_CANDLES_DIR = "AI_QUANT_CANDLES_DB_DIR"
# The sidecar's own lines (ws_sidecar/src/main.rs): its WebSocket is up; the connection was lost (or a connect
# failed); a new connection is tried after the first. DISCONNECT matches the last two: the runbook's grep for
# "disconnect|reconnect" on the lines the sidecar really writes.
CONNECTED = r"\bws connected: attempt=\d+"
DISCONNECTED = r"\bws (?:read error|close|send error|connect failed):|\bws restart requested by client\b"
RECONNECT = r"\bws connect: attempt=(?:[2-9]|[1-9]\d+)\b"
DISCONNECT = r"(?:%s)|(?:%s)" % (DISCONNECTED, RECONNECT)
MINUTE_MS = 60000
MAX_LINE = 1 << 20


class SidecarError(Exception):
    pass


def socket_path(environ: Mapping[str, str], cwd: str = "/") -> str:
    """The socket the sidecar with this environment (and working directory) listens on, as an absolute path."""
    explicit = environ.get(ENV_SOCK)
    if explicit:  # an empty value makes the real sidecar bind "" and fail (the stand-in refuses to start): no socket
        return os.path.normpath(os.path.join(cwd, explicit))
    runtime = (environ.get("XDG_RUNTIME_DIR") or "").strip().rstrip("/")
    return os.path.join(runtime or "/tmp", SOCKET_NAME)


def env_symbols(environ: Mapping[str, str]) -> List[str]:
    """AI_QUANT_SIDECAR_SYMBOLS as the sidecar reads it: comma-separated, upper-cased, blanks dropped."""
    return [s.strip().upper() for s in (environ.get(ENV_SYMBOLS) or "").split(",") if s.strip()]


def candles_dir(environ: Mapping[str, str], cwd: str) -> str:
    """AI_QUANT_CANDLES_DB_DIR, else candles_dbs beside the trading/market DB the sidecar would derive it from."""
    if ENV_CANDLES_DIR in environ:  # set, even empty ("": the working directory itself)
        return os.path.normpath(os.path.join(cwd, environ[ENV_CANDLES_DIR]))
    # env::var(MARKET).or_else(env::var(DB)): the first one that is set, even empty, else market_data.db
    market = next((environ[n] for n in ("AI_QUANT_MARKET_DB_PATH", "AI_QUANT_DB_PATH") if n in environ), "market_data.db")
    parent = os.path.dirname(market)  # Path::parent: "" for a bare file name (and for ""), so candles_dbs in the cwd
    return os.path.normpath(os.path.join(cwd, parent, "candles_dbs"))


def open_socket(path: str, owner_uid: Optional[int], timeout: float) -> socket.socket:
    """A connected socket to ``path``, reached without following a symlink another user made, and refused unless it
    is a socket of ``owner_uid`` (or root): root never talks to whatever a user planted at the path."""
    try:
        dir_fd = sf.open_dir(os.path.dirname(path) or "/")
    except (sf.UnsafePathError, OSError) as e:
        raise SidecarError("cannot reach the sidecar's socket directory %s: %s" % (os.path.dirname(path), e)) from None
    try:
        try:
            fd = os.open(os.path.basename(path), os.O_PATH | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
        except FileNotFoundError:
            raise SidecarError("no socket at %s: the sidecar is not listening" % path) from None
        except OSError as e:
            raise SidecarError("cannot open %s: %s" % (path, e)) from None
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISSOCK(st.st_mode):
            raise SidecarError("%s is %s, not the sidecar's socket" % (path, sf.kind(st.st_mode)))
        if owner_uid is not None and st.st_uid not in (owner_uid, 0):
            raise SidecarError("%s belongs to %s, not to the sidecar's user: refused" % (path, sf.owner_name(st.st_uid)))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect("/proc/self/fd/%d" % fd)  # the inode just checked, not whatever the path names by now
        except OSError as e:
            sock.close()
            raise SidecarError("cannot connect to %s: %s" % (path, e)) from None
        return sock
    finally:
        os.close(fd)


class Client:
    """The bot's own client protocol (exchange/sidecar.py): one connection, requests with increasing ids."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.next_id = 1

    def call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        rid = self.next_id
        self.next_id += 1
        line = json.dumps({"id": rid, "method": method, "params": params or {}}, separators=(",", ":")) + "\n"
        try:
            self.sock.sendall(line.encode("utf-8"))
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise SidecarError("the sidecar closed the connection during %s" % method)
                self.buf += chunk
                if len(self.buf) > MAX_LINE:
                    raise SidecarError("the sidecar's answer to %s is longer than %d bytes" % (method, MAX_LINE))
        except OSError as e:
            raise SidecarError("%s: %s" % (method, e)) from None
        raw, _sep, self.buf = self.buf.partition(b"\n")
        try:
            reply = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            raise SidecarError("the sidecar's answer to %s is not JSON: %r" % (method, raw[:200])) from None
        if not isinstance(reply, dict) or reply.get("id") != rid:
            raise SidecarError("the sidecar answered %r to request %d (%s)" % (raw[:200], rid, method))
        if not reply.get("ok"):
            raise SidecarError("the sidecar refused %s: %s" % (method, reply.get("error")))
        return reply.get("result")

    def close(self) -> None:
        self.sock.close()


def status(path: str, owner_uid: Optional[int], symbols: Iterable[str], interval: str = "1m", timeout: float = 2.0) -> Dict[str, Any]:
    """``health`` (for ``symbols`` x ``interval``) and ``ws_stats`` from the socket, timed."""
    started = time.monotonic()
    client = Client(open_socket(path, owner_uid, timeout))
    try:
        health = client.call("health", {"symbols": list(symbols), "interval": interval})
        stats = client.call("ws_stats")
    finally:
        client.close()
    if not isinstance(health, dict):
        raise SidecarError("the sidecar's health is %r, not an object" % (health,))
    return dict(health=health, ws_stats=stats if isinstance(stats, dict) else {}, rtt_ms=round((time.monotonic() - started) * 1000, 1))


def health_problem(health: Mapping[str, Any], max_mids_age: float) -> Optional[str]:
    """Why a health answer is not a streaming sidecar, or None."""
    if health.get("connected") is not True:
        return "the sidecar says connected=%s" % json.dumps(health.get("connected"))
    age = health.get("mids_age_s")
    if not isinstance(age, (int, float)) or isinstance(age, bool):
        return "the sidecar has no mids yet (mids_age_s=null)"
    if age > max_mids_age:
        return "the sidecar's mids are %.1f s old (at most %.1f)" % (age, max_mids_age)
    return None


def rfc3339_epoch(value: Any) -> Optional[float]:
    """``2026-11-29T19:38:08Z`` (the sidecar's updated_at) -> seconds since the epoch; None for anything else."""
    if not isinstance(value, str):
        return None
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|\+00:00)?$", value.strip())
    if not m:
        return None
    return float(calendar.timegm(tuple(int(x) for x in m.groups()) + (0, 0, 0)))


FORMING_SQL = "SELECT t, updated_at FROM candles WHERE symbol = ? AND interval = ? ORDER BY t DESC LIMIT 1"


def forming_bar_problems(rows: Mapping[str, Optional[tuple]], now_ms: int, since: Optional[float], interval_ms: int = MINUTE_MS) -> List[str]:
    """Why the forming bars are not fresh: ``rows`` maps each symbol to its newest (t, updated_at) or None. Fresh is
    the bar open at ``now_ms`` (the previous one in the first 2 s of a bar), written at or after ``since`` (seconds,
    compared at the second, as updated_at is written) when given."""
    problems = []
    current = now_ms - now_ms % interval_ms
    for symbol in sorted(rows):
        row = rows[symbol]
        if not row:
            problems.append("%s has no candle" % symbol)
            continue
        t, updated = row[0], rfc3339_epoch(row[1])
        if not isinstance(t, int) or t < current - (interval_ms if now_ms - current < 2000 else 0):
            behind = (current - t) // interval_ms if isinstance(t, int) else None
            problems.append("%s's newest bar is %s bar(s) behind" % (symbol, behind))
        elif since is not None and (updated is None or updated < int(since)):
            problems.append("%s's forming bar was last written %s, before the start" % (symbol, row[1]))
    return problems


def read_forming(conn: Any, symbols: Iterable[str], interval: str = "1m") -> Dict[str, Optional[tuple]]:
    """{symbol: (t, updated_at) of its newest bar, or None}: one index seek per symbol on the (symbol, interval, t) key."""
    return dict((s, conn.execute(FORMING_SQL, (s, interval)).fetchone()) for s in symbols)


def tick_ages(rows: Mapping[str, Optional[tuple]], now: float) -> Dict[str, Dict[str, Any]]:
    """{symbol: {t, updated_at, age_s}}: when the sidecar last wrote each symbol's newest bar (a trade, its last
    tick), in seconds before ``now``; age_s is null when there is no bar or updated_at cannot be read. updated_at has
    whole seconds, so an age is up to a second too high."""
    out = {}
    for symbol in sorted(rows):
        row = rows[symbol]
        updated = rfc3339_epoch(row[1]) if row else None
        out[symbol] = dict(t=row[0] if row else None, updated_at=row[1] if row else None,
                           age_s=round(max(0.0, now - updated), 3) if updated is not None else None)
    return out


def stale_ticks(ticks: Mapping[str, Mapping[str, Any]], max_age: float) -> List[str]:
    """Why symbols' last ticks are too old, one line per symbol (a symbol without a bar is forming_bar_problems')."""
    return ["%s's last tick was written %.0f s ago (at most %.0f)" % (s, t["age_s"], max_age)
            for s, t in sorted(ticks.items()) if t.get("age_s") is not None and t["age_s"] > max_age]


def count_events(messages: Iterable[str]) -> Dict[str, int]:
    """{disconnects, reconnects} among the sidecar's journal lines (see DISCONNECTED and RECONNECT)."""
    lost, again = re.compile(DISCONNECTED), re.compile(RECONNECT)
    counts = dict(disconnects=0, reconnects=0)
    for text in messages:
        if lost.search(text):
            counts["disconnects"] += 1
        elif again.search(text):
            counts["reconnects"] += 1
    return counts
