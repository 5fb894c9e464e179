#!/usr/bin/env python3
"""Backfill hourly funding rates into candles_dbs/funding_rates.db for the last --days days (stand-in: values are
synthesised deterministically, the same ones the WS sidecar writes; no network). Idempotent (INSERT OR REPLACE).

python3 tools/fetch_funding_rates.py --days 7 [--symbols BTC,ETH]   (default symbols: $AI_QUANT_SIDECAR_SYMBOLS + those in the DB)
"""

import argparse
import os
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin import schema, sim
from openclaw_standin.common import (
    HOUR_MS,
    connect_rw,
    funding_db_path,
    now_ms,
    sidecar_symbols,
)


def main():
    parser = argparse.ArgumentParser(description="Backfill funding rates.")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--symbols", help="comma list (default: AI_QUANT_SIDECAR_SYMBOLS plus symbols already in the DB)")
    args = parser.parse_args()
    if args.days <= 0:
        parser.error("--days must be > 0")
    path = funding_db_path()
    conn = connect_rw(path)
    conn.executescript(schema.FUNDING)
    if args.symbols:
        symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    else:
        symbols = sorted(set(sidecar_symbols()) | {r[0] for r in conn.execute("SELECT DISTINCT symbol FROM funding_rates")})
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
