#!/usr/bin/env python3
"""Freshness + anomaly checks of candles_dbs/funding_rates.db (JSON on stdout; summary on stderr; exit 2 on any issue).

python3 tools/check_funding_rates_db.py [--db candles_dbs/funding_rates.db] [--lookback-hours 72 | --lookback-days N] [--max-gap-hours 4]
    [--symbols BTC,ETH] [--abs-rate-fail 0.02] [--now-ms MS]    (real flag names; the stand-in's checks are a subset of the real ones)
Exit 0 OK, 2 FAIL (as the real tool). Per symbol within the lookback: rows, newest row age, the largest gap (window start and now count),
rows not on the hour, |funding_rate| above --abs-rate-fail or NULL.
"""

import argparse
import itertools
import json
import os
import sqlite3
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import HOUR_MS, connect_ro, funding_db_path, now_ms


def main():
    parser = argparse.ArgumentParser(description="Check funding rates freshness and anomalies.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--lookback-hours", type=float, default=72.0)
    group.add_argument("--lookback-days", type=float, default=None)
    parser.add_argument("--max-gap-hours", type=float, default=4.0)
    parser.add_argument("--abs-rate-fail", type=float, default=0.02, dest="max_abs_rate")
    parser.add_argument("--fail-on-warn", action="store_true", help="accepted (the stand-in has no WARN level)")
    parser.add_argument("--now-ms", type=int, default=None)
    parser.add_argument("--symbols", help="comma list of symbols that must be present (default: those in the DB)")
    parser.add_argument("--db", default=funding_db_path())
    args = parser.parse_args()
    if args.lookback_days is not None:
        args.lookback_hours = args.lookback_days * 24.0
    now = args.now_ms if args.now_ms is not None else now_ms()
    since = now - int(args.lookback_hours * HOUR_MS)
    try:
        conn = connect_ro(args.db)
        try:
            rows = conn.execute("SELECT symbol, time, funding_rate FROM funding_rates WHERE time >= ? ORDER BY symbol, time", (since,)).fetchall()
            known = [r[0] for r in conn.execute("SELECT DISTINCT symbol FROM funding_rates ORDER BY symbol")]
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        print(json.dumps({"db": args.db, "ok": False, "issues": [str(exc)]}))
        print(f"FAIL: {args.db}: {exc}", file=sys.stderr)
        return 2
    wanted = [s.strip().upper() for s in args.symbols.split(",") if s.strip()] if args.symbols else known
    times, symbols, issues = {s: [] for s in wanted}, {}, []
    for r in rows:
        if r["symbol"] in times:
            times[r["symbol"]].append((r["time"], r["funding_rate"]))
    for sym, series in times.items():
        edges = [since] + [t for t, _rate in series] + [now]
        max_gap = max(b - a for a, b in itertools.pairwise(edges)) / HOUR_MS
        info = {"rows": len(series), "latest_time": series[-1][0] if series else None,
                "age_hours": round((now - series[-1][0]) / HOUR_MS, 2) if series else None, "max_gap_hours": round(max_gap, 2),
                "misaligned": sum(1 for t, _rate in series if t % HOUR_MS),
                "anomalies": sum(1 for _t, rate in series if rate is None or abs(rate) > args.max_abs_rate)}
        symbols[sym] = info
        if not series:
            issues.append(f"{sym}: no rows in the last {args.lookback_hours:g}h")
        elif max_gap > args.max_gap_hours:
            issues.append(f"{sym}: gap of {max_gap:.1f}h > {args.max_gap_hours:g}h (newest row {info['age_hours']}h old)")
        issues += [f"{sym}: {k}={info[k]}" for k in ("misaligned", "anomalies") if info[k]]
    if not wanted:
        issues.append("no symbols in funding_rates")
    ok = not issues
    print(json.dumps({"db": args.db, "generated_ts_ms": now, "lookback_hours": args.lookback_hours, "max_gap_hours": args.max_gap_hours,
                      "ok": ok, "issues": issues, "symbols": symbols}, indent=1))
    for line in issues:
        print(f"issue: {line}", file=sys.stderr)
    print(f"{'OK' if ok else 'FAIL'}: {args.db}: {len(symbols)} symbols, {len(rows)} rows in the last {args.lookback_hours:g}h, {len(issues)} issue(s)",
          file=sys.stderr)
    return 0 if ok else 2  # real: FAIL -> exit 2


if __name__ == "__main__":
    sys.exit(main())
