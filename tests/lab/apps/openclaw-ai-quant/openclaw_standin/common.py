"""Environment parsing, intervals, paths and SQLite helpers shared by the daemons and tools of the stand-in."""

import os
import signal
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
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the real code resolves defaults from the repo, not the cwd


def log(msg, *, err=False):
    """One line per event, flushed at once (journald adds the timestamps)."""
    print(msg, file=sys.stderr if err else sys.stdout, flush=True)


def now_ms():
    return int(time.time() * 1000)


def bar_open(ts_ms, interval):
    """Open time of the bar of `interval` that contains ts_ms (aligned to the epoch, like Hyperliquid)."""
    return ts_ms - ts_ms % INTERVALS[interval]


def env_str(name, default=""):
    return os.environ.get(name, default).strip()


def env_num(name, default, cast=float, minimum=None):
    """Number from the environment; unset, empty or invalid -> default (silently, like the real code); clamped to minimum."""
    raw = os.environ.get(name, "").strip()
    try:
        value = cast(float(raw)) if raw else default
    except ValueError:
        value = default
    return value if minimum is None else max(minimum, value)


def env_list(name, default=""):
    raw = os.environ.get(name)
    return [item.strip() for item in (default if raw is None else raw).split(",") if item.strip()]


def env_flag(name, default=False):
    """The real `_env_bool`: unset -> default; set -> true only for 1/true/yes/y/on."""
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in ("1", "true", "yes", "y", "on")


def trading_db_path():
    """The engine's DB: AI_QUANT_DB_PATH, default <repo>/trading_engine.db (strategy/mei_alpha_v1.py DB_PATH)."""
    return os.environ.get("AI_QUANT_DB_PATH") or os.path.join(REPO_ROOT, "trading_engine.db")


def paper_db_path():
    """Paper DB as the real tools/monitor find it (AI_QUANT_PAPER_DB_PATH, default <repo>/trading_engine.db)."""
    return os.environ.get("AI_QUANT_PAPER_DB_PATH") or os.path.join(REPO_ROOT, "trading_engine.db")


def live_db_path():
    return os.environ.get("AI_QUANT_LIVE_DB_PATH") or os.path.join(REPO_ROOT, "trading_engine_live.db")


def candles_dir(for_sidecar=False):
    """AI_QUANT_CANDLES_DB_DIR, else <dir of the market/trading DB>/candles_dbs (the sidecar's default base is market_data.db)."""
    raw = env_str("AI_QUANT_CANDLES_DB_DIR")
    if raw:
        return raw
    base = os.environ.get("AI_QUANT_MARKET_DB_PATH") or os.environ.get("AI_QUANT_DB_PATH")
    if not base:
        base = "market_data.db" if for_sidecar else os.path.join(REPO_ROOT, "trading_engine.db")
    return os.path.join(os.path.dirname(base if for_sidecar else os.path.abspath(base)), "candles_dbs")


def candles_db_path(interval, directory=None):
    return os.path.join(directory or candles_dir(), f"candles_{interval}.db")


def candle_db_files(directory=None):
    """[(interval, path)] of the existing candles_<interval>.db files, shortest interval first (unknown names last)."""
    directory = directory or candles_dir()
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.startswith("candles_") and name.endswith(".db"):
            found.append((name[len("candles_"):-len(".db")], os.path.join(directory, name)))
    return sorted(found, key=lambda item: (INTERVALS.get(item[0], float("inf")), item[0]))


def funding_db_path():
    return os.path.join(REPO_ROOT, "candles_dbs", "funding_rates.db")


def bbo_db_path(for_sidecar=True):
    return env_str("AI_QUANT_BBO_SNAPSHOTS_DB_PATH") or os.path.join(candles_dir(for_sidecar).rstrip("/"), "bbo_snapshots.db")


def sidecar_sock_path():
    """AI_QUANT_WS_SIDECAR_SOCK, else $XDG_RUNTIME_DIR/openclaw-ai-quant-ws.sock, else /tmp/openclaw-ai-quant-ws.sock."""
    raw = os.environ.get("AI_QUANT_WS_SIDECAR_SOCK")
    if raw:
        return raw
    xdg = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    return os.path.join(xdg, "openclaw-ai-quant-ws.sock") if xdg else "/tmp/openclaw-ai-quant-ws.sock"


def connect_rw(path, timeout=10.0):
    """Writer connection: WAL journal and a busy timeout so readers and writers can share the file."""
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def connect_ro(path):
    """Read-only connection (SQLite URI mode=ro); raises FileNotFoundError when the DB does not exist."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such database: {path}")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def stop_event_on_signals():
    """Return an Event set by SIGTERM/SIGINT; daemons poll it and shut down cleanly."""
    stop = threading.Event()

    def handler(signum, frame):
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
