"""SQLite schemas: market-data DBs (WS sidecar) and trading DBs (engine).

Real DDL (same columns, written from the real code's description): candles + bbo_snapshots (ws_sidecar/src/main.rs
ensure_db / ensure_bbo_snapshots_db), funding_rates (tools/fetch_funding_rates.py), runtime_logs (engine/sqlite_logger.py),
audit_events (strategy/mei_alpha_v1.py ensure_db), oms_intents (engine/oms.py). orders/fills/positions/account are the
stand-in's own simulated-execution tables (the real bot keeps trades/position_state and the exchange's books instead).
"""

CANDLES = """
CREATE TABLE IF NOT EXISTS candles (
    symbol TEXT NOT NULL, interval TEXT NOT NULL, t INTEGER NOT NULL, t_close INTEGER,
    o REAL, h REAL, l REAL, c REAL, v REAL, n INTEGER, updated_at TEXT,
    PRIMARY KEY (symbol, interval, t)
);
CREATE INDEX IF NOT EXISTS idx_candles_symbol_interval_t ON candles(symbol, interval, t);
"""

FUNDING = """
CREATE TABLE IF NOT EXISTS funding_rates (
    symbol TEXT NOT NULL, time INTEGER NOT NULL, funding_rate REAL NOT NULL, premium REAL,
    PRIMARY KEY (symbol, time)
);
"""

BBO = """
CREATE TABLE IF NOT EXISTS bbo_snapshots (
    symbol TEXT NOT NULL, ts_ms INTEGER NOT NULL, bid REAL NOT NULL, ask REAL NOT NULL, mid REAL NOT NULL, updated_at TEXT,
    PRIMARY KEY (symbol, ts_ms)
);
CREATE INDEX IF NOT EXISTS idx_bbo_snapshots_ts_ms ON bbo_snapshots(ts_ms);
"""

RUNTIME_LOGS = """
CREATE TABLE IF NOT EXISTS runtime_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms INTEGER NOT NULL,
    ts TEXT NOT NULL,
    pid INTEGER,
    mode TEXT,
    stream TEXT,
    level TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS idx_runtime_logs_ts_ms ON runtime_logs(ts_ms);
CREATE INDEX IF NOT EXISTS idx_runtime_logs_mode_ts_ms ON runtime_logs(mode, ts_ms);
"""

AUDIT_EVENTS = """
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT,
    symbol TEXT,
    event TEXT,
    level TEXT,
    data_json TEXT
);
CREATE INDEX IF NOT EXISTS idx_audit_events_ts ON audit_events(timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_events_symbol_ts ON audit_events(symbol, timestamp);
"""

OMS_INTENTS = """
CREATE TABLE IF NOT EXISTS oms_intents (
    intent_id TEXT PRIMARY KEY,
    created_ts_ms INTEGER NOT NULL,
    sent_ts_ms INTEGER,
    symbol TEXT NOT NULL,
    action TEXT NOT NULL,
    side TEXT NOT NULL,
    requested_size REAL,
    requested_notional REAL,
    entry_atr REAL,
    leverage REAL,
    decision_ts_ms INTEGER,
    strategy_version TEXT,
    strategy_sha1 TEXT,
    reason TEXT,
    confidence TEXT,
    status TEXT,
    dedupe_key TEXT,
    client_order_id TEXT,
    exchange_order_id TEXT,
    last_error TEXT,
    meta_json TEXT
);
"""

SIM_TRADING = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    kind TEXT NOT NULL CHECK (kind IN ('entry', 'exit')),
    qty REAL NOT NULL,
    price REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'filled', 'cancelled'))
);
CREATE INDEX IF NOT EXISTS idx_orders_ts ON orders (ts_ms);
CREATE INDEX IF NOT EXISTS idx_orders_symbol_ts ON orders (symbol, ts_ms);
CREATE TABLE IF NOT EXISTS fills (
    order_id INTEGER NOT NULL REFERENCES orders (id),
    ts_ms INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty REAL NOT NULL,
    price REAL NOT NULL,
    fee REAL NOT NULL,
    realized_pnl REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_fills_symbol_ts ON fills (symbol, ts_ms);
CREATE TABLE IF NOT EXISTS positions (
    symbol TEXT PRIMARY KEY,
    side TEXT NOT NULL CHECK (side IN ('long', 'short')),
    qty REAL NOT NULL,
    entry_price REAL NOT NULL,
    opened_ts_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    balance_usd REAL NOT NULL,
    equity_usd REAL NOT NULL,
    peak_equity_usd REAL NOT NULL,
    updated_ts_ms INTEGER NOT NULL
);
"""

TRADING = AUDIT_EVENTS + RUNTIME_LOGS + OMS_INTENTS + SIM_TRADING


def migrate_trading(conn):
    """Drop what older stand-in versions invented (kill_switch_events, account.kill_mode)."""
    conn.execute("DROP TABLE IF EXISTS kill_switch_events")
    cols = [r[1] for r in conn.execute("PRAGMA table_info(account)")]
    if "kill_mode" in cols:
        conn.execute("ALTER TABLE account DROP COLUMN kill_mode")


def migrate_candles(conn):
    """Older stand-in candle DBs lack updated_at."""
    if "updated_at" not in [r[1] for r in conn.execute("PRAGMA table_info(candles)")]:
        conn.execute("ALTER TABLE candles ADD COLUMN updated_at TEXT")


def migrate_bbo(conn):
    """Older stand-in BBO DBs had (bid_sz, ask_sz) and no mid: the table is a rolling buffer, so start it afresh."""
    cols = [r[1] for r in conn.execute("PRAGMA table_info(bbo_snapshots)")]
    if cols and "mid" not in cols:
        conn.execute("DROP TABLE bbo_snapshots")
