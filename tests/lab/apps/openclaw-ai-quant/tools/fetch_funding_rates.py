#!/usr/bin/env python3
"""Backfill hourly funding rates into candles_dbs/funding_rates.db for the last --days days (stand-in: values are
synthesised deterministically, the same ones the WS sidecar writes; no network). Idempotent (INSERT OR REPLACE).

python3 tools/fetch_funding_rates.py [--days 30] [--db candles_dbs/funding_rates.db]   (real argv)
Symbols as the real get_symbols(): $AI_QUANT_SYMBOLS, else AI_QUANT_SIDECAR_SYMBOLS= in ~/.config/openclaw/ai-quant-universe.env,
else BTC,ETH,SOL. Stand-in extra: --symbols A,B.
"""

import argparse
import os
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin import schema, sim
from openclaw_standin.common import HOUR_MS, connect_rw, funding_db_path, now_ms


def get_symbols():
    raw = os.environ.get("AI_QUANT_SYMBOLS", "")
    if raw.strip():
        return [s.strip().upper() for s in raw.split(",") if s.strip()]
    env_file = os.path.expanduser("~/.config/openclaw/ai-quant-universe.env")
    if os.path.isfile(env_file):
        with open(env_file, encoding="utf-8") as handle:
            for line in handle:
                if line.strip().startswith("AI_QUANT_SIDECAR_SYMBOLS="):
                    return [s.strip().upper() for s in line.strip().split("=", 1)[1].split(",") if s.strip()]
    return ["BTC", "ETH", "SOL"]


def main():
    parser = argparse.ArgumentParser(description="Backfill funding rates.")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--db", default=funding_db_path())
    parser.add_argument("--symbols", help="comma list (stand-in extra; default: as the real get_symbols())")
    args = parser.parse_args()
    if args.days <= 0:
        parser.error("--days must be > 0")
    path = args.db
    conn = connect_rw(path)
    conn.executescript(schema.FUNDING)
    if args.symbols:
        symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    else:
        symbols = get_symbols()
    now = now_ms()
    last_hour = now - now % HOUR_MS
    hours = range(last_hour - int(args.days * 24) * HOUR_MS, last_hour + 1, HOUR_MS)
    rows = [(s, h, *sim.funding(s, h)) for s in symbols for h in hours]
    conn.executemany("INSERT OR REPLACE INTO funding_rates (symbol, time, funding_rate, premium) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    print(f"{path}: upserted {len(rows)} rows ({len(hours)} hours x {len(symbols)} symbols: {','.join(symbols)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
