#!/usr/bin/env python3
"""Export live or paper trading state to JSON for backtester --init-state.

Usage (real argv, tools/export_state.py at 9603e63):
    python export_state.py --source paper --output state.json
    python export_state.py --source live  --output state.json

Real: paper reconstructs the open positions from <repo>/trading_engine.db (fixed path: AI_QUANT_DB_PATH is not read);
a missing DB prints "[export] DB not found: <path>" and still writes balance 0, no positions, exit 0. Live asks the
exchange (secrets + Hyperliquid API) and enriches from <repo>/trading_engine_live.db.
Stand-in: no exchange, no trades/position_state tables. Paper reads the positions and the cash balance of the stand-in's
<repo>/trading_engine.db; live reads the positions and the account value (equity) of <repo>/trading_engine_live.db, the
stand-in's "exchange" (missing: exit 1, as the real one fails without its secrets). The JSON has the real keys; the
per-position fields the stand-in's tables do not hold get the real tool's fallbacks. Like the real tool: no open orders
in the JSON, progress on stderr, the output written with a plain open() once the state is read, a traceback (exit 1)
when the DB exists but cannot be read.
"""

import argparse
import json
import os
import sqlite3
import sys
import time
import urllib.parse

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
PROJECT_DIR = os.path.dirname(SCRIPT_DIR)


def _paper_db_path() -> str:
    return os.path.join(PROJECT_DIR, "trading_engine.db")


def _live_db_path() -> str:
    return os.path.join(PROJECT_DIR, "trading_engine_live.db")


def _connect_ro(db_path):
    """Read-only, as every stand-in tool (the real tool opens read-write and only SELECTs)."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(db_path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def _position(row):
    """One position with the real tool's keys; what the stand-in does not record gets the real fallbacks."""
    return {
        "symbol": row["symbol"],
        "side": "long" if row["side"] == "long" else "short",
        "size": round(float(row["qty"]), 10),
        "entry_price": round(float(row["entry_price"]), 10),
        "entry_atr": 0.0,
        "trailing_sl": None,
        "confidence": "medium",
        "leverage": 1.0,
        "margin_used": 0.0,
        "adds_count": 0,
        "tp1_taken": False,
        "open_time_ms": int(row["opened_ts_ms"] or 0),
        "last_add_time_ms": 0,
        "entry_adx_threshold": 0.0,
    }


def _read_state(db_path: str, balance_column: str) -> tuple[float, list[dict]]:
    """(balance, positions) in one read transaction, so both come from the same moment."""
    conn = _connect_ro(db_path)
    try:
        conn.execute("BEGIN")
        row = conn.execute(f"SELECT {balance_column} AS balance FROM account WHERE id = 1").fetchone()  # a fixed column name
        balance = float(row["balance"]) if row else 0.0
        positions = [_position(r) for r in conn.execute("SELECT symbol, side, qty, entry_price, opened_ts_ms FROM positions ORDER BY symbol")]
        conn.execute("COMMIT")
    finally:
        conn.close()
    return balance, positions


def _export_paper() -> tuple[float, list[dict]]:
    db_path = _paper_db_path()
    if not os.path.exists(db_path):
        print(f"[export] DB not found: {db_path}", file=sys.stderr)
        return 0.0, []
    return _read_state(db_path, "balance_usd")  # real: the latest trades.balance (cash)


def _export_live() -> tuple[float, list[dict]]:
    db_path = _live_db_path()
    if not os.path.exists(db_path):  # the stand-in's exchange is this DB
        print(f"[export] Live DB not found at {db_path} (the stand-in's exchange)", file=sys.stderr)
        sys.exit(1)
    return _read_state(db_path, "equity_usd")  # real: the account snapshot's account_value_usd


def main():
    parser = argparse.ArgumentParser(description="Export live/paper state for backtester --init-state")
    parser.add_argument("--source", required=True, choices=["live", "paper"],
                        help="Which trading engine to export from")
    parser.add_argument("--output", required=True, help="Output JSON file path")
    args = parser.parse_args()

    print(f"[export] Exporting from {args.source}...", file=sys.stderr)

    if args.source == "paper":
        balance, positions = _export_paper()
    else:
        balance, positions = _export_live()

    state = {
        "version": 1,
        "source": args.source,
        "exported_at_ms": int(time.time() * 1000),
        "balance": round(balance, 4),
        "positions": positions,
    }

    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
        f.write("\n")

    print(f"[export] Written to {args.output}", file=sys.stderr)
    print(f"[export] Balance: ${balance:.2f}, Positions: {len(positions)}", file=sys.stderr)
    for p in positions:
        print(f"  {p['symbol']:>6} {p['side']:>5} size={p['size']:.6f} "
              f"entry=${p['entry_price']:.4f} atr={p['entry_atr']:.4f} "
              f"lev={p['leverage']:.1f}x margin=${p['margin_used']:.2f}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
