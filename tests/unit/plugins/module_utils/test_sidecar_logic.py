"""The WS sidecar as its clients see it (module_utils._sidecar): where its socket and candles are, the JSON-lines
protocol against a real unix socket server in a thread, the refusals of a planted symlink, a regular file and a
socket of another user, and the freshness judgement of the health answer and of the forming bars."""

import json
import os
import re
import socket
import sqlite3
import threading

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _sidecar

NOBODY = 65534


class Server(object):
    """A sidecar's socket speaking the bot's protocol: one JSON object per line, many requests per connection."""

    def __init__(self, path, answers=None, raw=None):
        self.path, self.answers, self.raw, self.requests = path, answers or {}, raw, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                for line in stream:
                    req = json.loads(line)
                    self.requests.append(req)
                    if self.raw is not None:
                        stream.write(self.raw)
                    elif req["method"] in self.answers:
                        stream.write((json.dumps(dict(id=req["id"], ok=True, result=self.answers[req["method"]])) + "\n").encode())
                    else:
                        stream.write((json.dumps(dict(id=req["id"], ok=False, error="unknown method: %s" % req["method"])) + "\n").encode())
                    stream.flush()

    def close(self):
        self.sock.close()


HEALTH = dict(connected=True, ws_connect_attempt=1, ws_disconnect_count=0, mids_age_s=0.4, candle_age_s=0.9, bbo_age_s=0.5)
STATS = dict(connected=True, ws_connect_attempt=1, ws_disconnect_count=0, clients=1)


@pytest.fixture
def sock_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    return d


# ---- where ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("environ, cwd, path", [
    ({"AI_QUANT_WS_SIDECAR_SOCK": "/srv/ws.sock", "XDG_RUNTIME_DIR": "/run/user/1000"}, "/", "/srv/ws.sock"),
    ({"AI_QUANT_WS_SIDECAR_SOCK": "run/ws.sock"}, "/home/trader/app", "/home/trader/app/run/ws.sock"),
    ({"XDG_RUNTIME_DIR": "/run/user/1000/"}, "/", "/run/user/1000/openclaw-ai-quant-ws.sock"),
    ({"XDG_RUNTIME_DIR": "  "}, "/", "/tmp/openclaw-ai-quant-ws.sock"),
    ({"AI_QUANT_WS_SIDECAR_SOCK": "", "XDG_RUNTIME_DIR": "/run/user/7"}, "/", "/run/user/7/openclaw-ai-quant-ws.sock"),
    ({}, "/", "/tmp/openclaw-ai-quant-ws.sock"),
])
def test_socket_path(environ, cwd, path):
    assert _sidecar.socket_path(environ, cwd) == path


@pytest.mark.parametrize("environ, path", [
    ({"AI_QUANT_CANDLES_DB_DIR": "/data/candles"}, "/data/candles"),
    ({"AI_QUANT_CANDLES_DB_DIR": "candles"}, "/app/candles"),
    ({"AI_QUANT_CANDLES_DB_DIR": ""}, "/app"),  # set but empty: the working directory (env::var, no fallback)
    ({"AI_QUANT_MARKET_DB_PATH": "/m/market.db", "AI_QUANT_DB_PATH": "/t/trading.db"}, "/m/candles_dbs"),
    ({"AI_QUANT_DB_PATH": "/t/trading.db"}, "/t/candles_dbs"),
    ({"AI_QUANT_MARKET_DB_PATH": "", "AI_QUANT_DB_PATH": "/t/trading.db"}, "/app/candles_dbs"),  # "" is set: its parent is none
    ({"AI_QUANT_DB_PATH": "db/trading.db"}, "/app/db/candles_dbs"),
    ({}, "/app/candles_dbs"),  # market_data.db in the cwd
])
def test_candles_dir(environ, path):
    assert _sidecar.candles_dir(environ, "/app") == path


def test_env_symbols():
    assert _sidecar.env_symbols({"AI_QUANT_SIDECAR_SYMBOLS": " btc, ETH,,sol ,"}) == ["BTC", "ETH", "SOL"]
    assert _sidecar.env_symbols({}) == []


# ---- the protocol over a real socket -------------------------------------------------------------------------------

def test_status_over_a_real_socket(sock_dir):
    path = str(sock_dir / "ws.sock")
    server = Server(path, dict(health=HEALTH, ws_stats=STATS))
    try:
        st = _sidecar.status(path, os.geteuid(), ["BTC", "ETH"], "1m", timeout=2)
    finally:
        server.close()
    assert st["health"] == HEALTH and st["ws_stats"] == STATS and st["rtt_ms"] >= 0
    # one connection, increasing ids, the bot's request shape
    assert server.requests == [dict(id=1, method="health", params=dict(symbols=["BTC", "ETH"], interval="1m")),
                               dict(id=2, method="ws_stats", params={})]


def test_a_refused_method_is_an_error(sock_dir):
    path = str(sock_dir / "ws.sock")
    server = Server(path, dict(health=HEALTH))
    try:
        with pytest.raises(_sidecar.SidecarError, match="refused ws_stats: unknown method: ws_stats"):
            _sidecar.status(path, None, [], timeout=2)
    finally:
        server.close()


@pytest.mark.parametrize("raw, words", [
    (b'{"id": 0, "ok": false, "error": "bad json: x"}\n', "answered"),
    (b"not json\n", "not JSON"),
])
def test_wrong_answers_are_errors(sock_dir, raw, words):
    path = str(sock_dir / "ws.sock")
    server = Server(path, raw=raw)
    try:
        with pytest.raises(_sidecar.SidecarError, match=words):
            _sidecar.status(path, None, [], timeout=2)
    finally:
        server.close()


def test_silence_times_out(sock_dir):
    path = str(sock_dir / "ws.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    try:
        with pytest.raises(_sidecar.SidecarError, match="health: timed out"):
            _sidecar.status(path, None, [], timeout=0.2)
    finally:
        server.close()


def test_no_socket_and_a_dead_socket(sock_dir):
    with pytest.raises(_sidecar.SidecarError, match="no socket at .*not listening"):
        _sidecar.open_socket(str(sock_dir / "ws.sock"), None, 1)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock_dir / "ws.sock"))
    dead.close()  # the file stays, nobody listens: what a crashed sidecar leaves
    with pytest.raises(_sidecar.SidecarError, match="cannot connect to .*refused"):
        _sidecar.open_socket(str(sock_dir / "ws.sock"), None, 1)


# ---- what root refuses to talk to ----------------------------------------------------------------------------------

def test_a_planted_symlink_is_not_followed(sock_dir, tmp_path):
    real = str(tmp_path / "real.sock")
    server = Server(real, dict(health=HEALTH, ws_stats=STATS))
    try:
        os.symlink(real, str(sock_dir / "ws.sock"))
        with pytest.raises(_sidecar.SidecarError, match="is a symbolic link, not the sidecar's socket"):
            _sidecar.status(str(sock_dir / "ws.sock"), None, [], timeout=1)
        assert server.requests == []
    finally:
        server.close()


def test_a_regular_file_is_refused(sock_dir):
    (sock_dir / "ws.sock").write_text("{}\n")
    with pytest.raises(_sidecar.SidecarError, match="is a regular file, not the sidecar's socket"):
        _sidecar.open_socket(str(sock_dir / "ws.sock"), None, 1)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a socket to another user")
def test_a_socket_of_another_user_is_refused(sock_dir):
    path = str(sock_dir / "ws.sock")
    server = Server(path, dict(health=HEALTH, ws_stats=STATS))
    try:
        os.chown(path, NOBODY, NOBODY)
        with pytest.raises(_sidecar.SidecarError, match="belongs to nobody .*not to the sidecar's user: refused"):
            _sidecar.status(path, 1000, [], timeout=1)
        assert server.requests == []
        assert _sidecar.status(path, NOBODY, [], timeout=1)["health"] == HEALTH  # its own user's: accepted
    finally:
        server.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a link to another user")
def test_a_directory_symlink_of_another_user_is_not_followed(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    server = Server(str(real / "ws.sock"), dict(health=HEALTH, ws_stats=STATS))
    link = tmp_path / "link"
    os.symlink(str(real), str(link))
    os.lchown(str(link), NOBODY, NOBODY)
    try:
        with pytest.raises(_sidecar.SidecarError, match="cannot reach the sidecar's socket directory"):
            _sidecar.status(str(link / "ws.sock"), None, [], timeout=1)
        assert server.requests == []
    finally:
        server.close()


# ---- freshness -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("health, problem", [
    (HEALTH, None),
    (dict(HEALTH, connected=False), "connected=false"),
    (dict(HEALTH, connected=None), "connected=null"),
    ({}, "connected=null"),
    (dict(HEALTH, mids_age_s=None), "no mids yet"),
    (dict(HEALTH, mids_age_s=True), "no mids yet"),
    (dict(HEALTH, mids_age_s=10.5), "mids are 10.5 s old (at most 10.0)"),
    (dict(HEALTH, mids_age_s=10.0), None),
])
def test_health_problem(health, problem):
    got = _sidecar.health_problem(health, 10.0)
    assert (got is None) if problem is None else (problem in got)


NOW_MS = 1795981390500  # 19:43:10.500, 10.5 s into the bar of 19:43:00
BAR = 1795981380000


@pytest.mark.parametrize("rows, now_ms, since, words", [
    ({"BTC": (BAR, "2026-11-29T19:43:10Z")}, NOW_MS, None, []),
    ({"BTC": None}, NOW_MS, None, ["BTC has no candle"]),
    ({"BTC": (BAR - 60000, "2026-11-29T19:42:59Z")}, NOW_MS, None, ["BTC's newest bar is 1 bar(s) behind"]),
    ({"BTC": (BAR - 60000, "2026-11-29T19:42:59Z")}, BAR + 1500, None, []),  # the first 2 s of a bar: the previous one counts
    ({"BTC": ("x", "2026-11-29T19:42:59Z")}, NOW_MS, None, ["BTC's newest bar is None bar(s) behind"]),
    ({"BTC": (BAR, "2026-11-29T19:43:04Z")}, NOW_MS, 1795981385.2, ["before the start"]),
    ({"BTC": (BAR, "2026-11-29T19:43:05Z")}, NOW_MS, 1795981385.2, []),
])
def test_forming_bar_problems(rows, now_ms, since, words):
    got = _sidecar.forming_bar_problems(rows, now_ms, since)
    assert len(got) == len(words) and all(w in g for w, g in zip(words, got, strict=True))


def test_tick_ages_and_stale_ticks():
    rows = {"BTC": (BAR, "2026-11-29T19:43:10Z"), "ETH": (BAR, "2026-11-29T19:40:00Z"), "SOL": None, "XRP": (BAR, "garbage")}
    ticks = _sidecar.tick_ages(rows, NOW_MS / 1000.0)
    assert ticks["BTC"] == dict(t=BAR, updated_at="2026-11-29T19:43:10Z", age_s=0.5)
    assert ticks["ETH"]["age_s"] == 190.5
    assert ticks["SOL"] == dict(t=None, updated_at=None, age_s=None)
    assert ticks["XRP"]["age_s"] is None
    assert _sidecar.stale_ticks(ticks, 120) == ["ETH's last tick was written 190 s ago (at most 120)"]


def test_read_forming_reads_the_newest_bar_of_each_symbol(tmp_path):
    conn = sqlite3.connect(str(tmp_path / "candles_1m.db"))
    conn.execute("CREATE TABLE candles (symbol TEXT, interval TEXT, t INTEGER, updated_at TEXT, PRIMARY KEY (symbol, interval, t))")
    conn.executemany("INSERT INTO candles VALUES (?, ?, ?, ?)", [
        ("BTC", "1m", BAR - 60000, "2026-11-29T19:42:59Z"), ("BTC", "1m", BAR, "2026-11-29T19:43:10Z"),
        ("BTC", "5m", BAR + 60000, "2026-11-29T19:43:10Z")])
    assert _sidecar.read_forming(conn, ["BTC", "ETH"], "1m") == {"BTC": (BAR, "2026-11-29T19:43:10Z"), "ETH": None}


@pytest.mark.parametrize("line, kind", [
    ("ws connect: attempt=1 url=wss://api.hyperliquid.xyz/ws", None),
    ("ws connected: attempt=2 status=101 Switching Protocols", None),
    ("ws connect: attempt=2 url=wss://api.hyperliquid.xyz/ws", "reconnects"),
    ("ws connect: attempt=12 url=wss://api.hyperliquid.xyz/ws", "reconnects"),
    ("ws connect: attempt=10 url=wss://api.hyperliquid.xyz/ws", "reconnects"),
    ("ws read error: Connection reset without closing handshake", "disconnects"),
    ("ws close: code=Normal reason=", "disconnects"),
    ("ws send error: Trying to work with closed connection", "disconnects"),
    ("ws connect failed: IO error: Connection refused (os error 111)", "disconnects"),
    ("ws restart requested by client", "disconnects"),
    ("ws desired: attempt=3 symbols=3 candles=15 user=no pending_subs=23", None),
    ("ws-sidecar starting: ws_url=wss://api.hyperliquid.xyz/ws", None),
])
def test_journal_lines_are_told_apart(line, kind):
    counts = _sidecar.count_events([line])
    assert bool(re.search(_sidecar.DISCONNECT, line)) == (kind is not None)
    assert counts == dict(disconnects=int(kind == "disconnects"), reconnects=int(kind == "reconnects"))
