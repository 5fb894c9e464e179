"""SQLite schemas of the market-data DBs (written by the WS sidecar) and the trading DBs (written by the trader)."""

CANDLES = """
CREATE TABLE IF NOT EXISTS candles (
    symbol TEXT, interval TEXT, t INTEGER, t_close INTEGER,
    o REAL, h REAL, l REAL, c REAL, v REAL, n INTEGER,
    PRIMARY KEY (symbol, interval, t)
);
"""

FUNDING = """
CREATE TABLE IF NOT EXISTS funding_rates (
    symbol TEXT, time INTEGER, funding_rate REAL, premium REAL,
    PRIMARY KEY (symbol, time)
);
"""

BBO = """
CREATE TABLE IF NOT EXISTS bbo_snapshots (
    symbol TEXT, ts_ms INTEGER, bid REAL, bid_sz REAL, ask REAL, ask_sz REAL
);
CREATE INDEX IF NOT EXISTS idx_bbo_snapshots_symbol_ts ON bbo_snapshots (symbol, ts_ms);
"""

TRADING = """
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
CREATE TABLE IF NOT EXISTS kill_switch_events (
    ts_ms INTEGER NOT NULL,
    previous TEXT NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    balance_usd REAL NOT NULL,
    equity_usd REAL NOT NULL,
    peak_equity_usd REAL NOT NULL,
    kill_mode TEXT NOT NULL,
    updated_ts_ms INTEGER NOT NULL
);
"""
