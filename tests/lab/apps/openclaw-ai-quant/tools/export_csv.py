#!/usr/bin/env python3
"""Export trade history (fills joined with their orders) to CSV.

python3 tools/export_csv.py [--source paper|live|all] [--output-dir exports] [--output FILE]
Default: exports/trades_paper.csv and exports/trades_live.csv for the trading DBs that exist. Read-only; atomic writes.
"""

import argparse
import csv
import io
import os
import sqlite3
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import connect_ro, live_db_path, paper_db_path, write_atomic

TRADING_DBS = {"paper": paper_db_path(), "live": live_db_path()}
COLUMNS = ["order_id", "ts_ms", "time_utc", "symbol", "kind", "side", "qty", "price", "fee", "realized_pnl"]
QUERY = """
SELECT f.order_id, f.ts_ms, strftime('%Y-%m-%dT%H:%M:%fZ', f.ts_ms / 1000.0, 'unixepoch') AS time_utc, f.symbol, o.kind, f.side,
       f.qty, f.price, f.fee, f.realized_pnl
FROM fills f LEFT JOIN orders o ON o.id = f.order_id ORDER BY f.ts_ms, f.order_id
"""


def main():
    parser = argparse.ArgumentParser(description="Export fills to CSV.")
    parser.add_argument("--source", choices=["all", *sorted(TRADING_DBS)], default="all")
    parser.add_argument("--output-dir", default="exports")
    parser.add_argument("--output", help="output file (only with --source paper or live)")
    args = parser.parse_args()
    if args.output and args.source == "all":
        parser.error("--output needs --source paper or --source live")
    sources = sorted(TRADING_DBS) if args.source == "all" else [args.source]
    written = 0
    for source in sources:
        path = TRADING_DBS[source]
        if not os.path.exists(path):
            if args.source != "all":
                print(f"export_csv: no such database: {path}", file=sys.stderr)
                return 1
            continue
        try:
            conn = connect_ro(path)
            try:
                rows = conn.execute(QUERY).fetchall()
            finally:
                conn.close()
        except (OSError, sqlite3.Error) as exc:
            print(f"export_csv: cannot read {path}: {exc}", file=sys.stderr)
            return 1
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([tuple(r) for r in rows])
        out = args.output or os.path.join(args.output_dir, f"trades_{source}.csv")
        write_atomic(out, buf.getvalue())
        print(f"wrote {len(rows)} fills from {path} to {out}")
        written += 1
    if not written:
        print(f"export_csv: no trading database found ({', '.join(TRADING_DBS.values())})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
