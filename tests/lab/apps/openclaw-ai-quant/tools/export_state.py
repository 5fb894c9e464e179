#!/usr/bin/env python3
"""Export a JSON snapshot of a trading DB (balance, positions, open orders) to --output, atomically.

python3 tools/export_state.py --source paper|live --output /tmp/paper_state.json [--db PATH]
Real argv: --source and --output (both required). Stand-in: both sources are read from the trading DB (opened read-only:
$AI_QUANT_PAPER_DB_PATH / $AI_QUANT_LIVE_DB_PATH, default <repo>/trading_engine[_live].db, or --db, a stand-in extra);
the real live export asks the exchange (secrets + Hyperliquid API) instead.
"""

import argparse
import json
import os
import sqlite3
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import connect_ro, live_db_path, now_ms, paper_db_path, write_atomic


def snapshot(conn, source, path):
    account = conn.execute("SELECT * FROM account WHERE id = 1").fetchone()
    return {
        "source": source,
        "db": os.path.abspath(path),
        "exported_ts_ms": now_ms(),
        "balance": dict(account) if account else None,
        "positions": [dict(r) for r in conn.execute("SELECT * FROM positions ORDER BY symbol")],
        "open_orders": [dict(r) for r in conn.execute("SELECT * FROM orders WHERE status = 'open' ORDER BY id")],
        "counts": {"orders": conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0], "fills": conn.execute("SELECT COUNT(*) FROM fills").fetchone()[0]},
    }


def main():
    parser = argparse.ArgumentParser(description="Export trader state as JSON.")
    parser.add_argument("--source", choices=["live", "paper"], required=True)
    parser.add_argument("--output", required=True, help="JSON file to write (atomically)")
    parser.add_argument("--db", help="trading DB (stand-in extra; default: the source's DB)")
    args = parser.parse_args()
    path = args.db or (paper_db_path() if args.source == "paper" else live_db_path())
    try:
        conn = connect_ro(path)
        try:
            state = snapshot(conn, args.source, path)
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        print(f"export_state: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    write_atomic(args.output, json.dumps(state, indent=2) + "\n")
    print(f"exported {args.source} state ({len(state['positions'])} positions, {len(state['open_orders'])} open orders) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
