"""Logging, environment parsing, intervals, paths and SQLite helpers shared by the daemons and tools."""

import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse

# Hyperliquid candle intervals -> milliseconds.
INTERVALS = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
}
HOUR_MS = 3_600_000
KEEP_BARS = 5000  # what Hyperliquid backfills; the sidecar prunes to this many bars per symbol
KILL_MODES = ("off", "close_only", "halt_all")  # least to most restrictive
DEFAULT_CONFIG = os.path.join("config", "strategy_overrides.yaml")
TRADING_DBS = {"paper": "trading_engine.db", "live": "trading_engine_live.db"}


def log(level, msg):
    """One line per event, flushed at once: INFO to stdout, WARNING/ERROR to stderr (journald keeps both)."""
    stream = sys.stdout if level == "INFO" else sys.stderr
    print(f"{level} {msg}", file=stream, flush=True)


def now_ms():
    return int(time.time() * 1000)


def bar_open(ts_ms, interval):
    """Open time of the bar of `interval` that contains ts_ms (aligned to the epoch, like Hyperliquid)."""
    return ts_ms - ts_ms % INTERVALS[interval]


def env_str(name, default=""):
    return os.environ.get(name, default).strip()


def env_num(name, default, cast=float, minimum=None):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        log("WARNING", f"{name}={raw!r} is not a valid {cast.__name__}; using default {default}")
        return default
    if minimum is not None and value < minimum:
        log("WARNING", f"{name}={raw} is below the minimum {minimum}; using {minimum}")
        return minimum
    return value


def env_list(name, default):
    """Comma list; unset -> default, set but empty -> [] (so an empty value can switch a feature off)."""
    raw = os.environ.get(name)
    if raw is None:
        raw = default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_flag(name):
    return env_str(name).lower() in ("1", "true", "yes", "on")


def candles_dir():
    return env_str("AI_QUANT_CANDLES_DB_DIR") or "candles_dbs"


def candles_db_path(interval):
    return os.path.join(candles_dir(), f"candles_{interval}.db")


def candle_db_files(directory=None):
    """[(interval, path)] of the existing candles_<interval>.db files, shortest interval first (unknown names last)."""
    directory = directory or candles_dir()
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.startswith("candles_") and name.endswith(".db"):
            found.append((name[len("candles_"):-len(".db")], os.path.join(directory, name)))
    return sorted(found, key=lambda item: (INTERVALS.get(item[0], float("inf")), item[0]))


def funding_db_path():
    return os.path.join(candles_dir(), "funding_rates.db")


def bbo_db_path():
    return env_str("AI_QUANT_BBO_SNAPSHOTS_DB_PATH") or os.path.join(candles_dir(), "bbo_snapshots.db")


def sidecar_symbols():
    return [s.upper() for s in env_list("AI_QUANT_SIDECAR_SYMBOLS", "BTC,ETH,SOL")]


def sidecar_sock_path():
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return env_str("AI_QUANT_WS_SIDECAR_SOCK") or os.path.join(runtime_dir, "openclaw-ai-quant-ws.sock")


def connect_rw(path):
    """Writer connection: WAL journal and a busy timeout so readers and writers can share the file."""
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def connect_ro(path):
    """Read-only connection (SQLite URI mode=ro); raises FileNotFoundError when the DB does not exist."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such database: {path}")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=10)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.row_factory = sqlite3.Row
    return conn


def query_sidecar(path, request=None, timeout=1.0):
    """Ask the WS sidecar for its one-line JSON status; raises OSError/ValueError when it is unreachable."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall((json.dumps(request or {"op": "status"}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data.decode() or "null")


def stop_event_on_signals(name):
    """Return an Event set by SIGTERM/SIGINT (logged once); daemons poll it and shut down cleanly."""
    stop = threading.Event()

    def handler(signum, frame):
        log("INFO", f"{name}: received {signal.Signals(signum).name}, shutting down")
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def write_atomic(path, text):
    """Write text to path via a temporary file in the same directory and rename (readers never see half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
