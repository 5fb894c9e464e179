#!/usr/bin/env python3
"""Freshness + gap checks of candles_dbs/candles_<interval>.db (JSON on stdout; summary on stderr; exit 1 on any issue).

python3 tools/check_candle_dbs.py --lookback-hours 24 [--db-dir candles_dbs] [--max-age-bars 2]
Per symbol within the lookback: bars, latest bar age (stale when the newest bar opened more than --max-age-bars intervals
ago), missing bars between consecutive bars, bars not aligned to the interval, t_close != t + interval - 1, bad OHLC.
"""

import argparse
import json
import os
import sqlite3
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import (
    INTERVALS,
    candle_db_files,
    candles_dir,
    connect_ro,
    now_ms,
)


def check_db(path, interval, since, now, max_age_bars):
    ms, symbols, issues = INTERVALS[interval], {}, []
    conn = connect_ro(path)
    try:
        rows = conn.execute("SELECT symbol, interval, t, t_close, o, h, l, c, t - LAG(t) OVER (PARTITION BY symbol ORDER BY t) AS d "
                            "FROM candles WHERE t >= ? ORDER BY symbol, t", (since,)).fetchall()
        latest = dict(conn.execute("SELECT symbol, MAX(t) FROM candles GROUP BY symbol").fetchall())
    finally:
        conn.close()
    for r in rows:
        s = symbols.setdefault(r["symbol"], {"bars": 0, "missing_bars": 0, "misaligned": 0, "bad_t_close": 0, "bad_ohlc": 0, "wrong_interval": 0})
        s["bars"] += 1
        s["missing_bars"] += max(0, (r["d"] or ms) // ms - 1)
        s["misaligned"] += r["t"] % ms != 0
        s["bad_t_close"] += r["t_close"] != r["t"] + ms - 1
        s["bad_ohlc"] += not (0 < r["l"] <= min(r["o"], r["c"]) and r["h"] >= max(r["o"], r["c"]))
        s["wrong_interval"] += r["interval"] != interval
    for sym, last_t in latest.items():
        s = symbols.setdefault(sym, {"bars": 0})
        s["latest_t"], s["latest_age_s"] = last_t, round((now - last_t) / 1000, 1)
        s["stale"] = now - last_t > max_age_bars * ms
        problems = [k for k in ("missing_bars", "misaligned", "bad_t_close", "bad_ohlc", "wrong_interval") if s.get(k)]
        problems += ["stale"] if s["stale"] else []
        issues += [f"{sym}: {p}={s[p]}" if p != "stale" else f"{sym}: stale (newest bar {s['latest_age_s']}s old)" for p in problems]
    if not latest:
        issues.append("no candles")
    return {"db": path, "interval": interval, "ok": not issues, "issues": issues, "symbols": symbols}


def main():
    parser = argparse.ArgumentParser(description="Check candle DB freshness and gaps.")
    parser.add_argument("--lookback-hours", type=float, default=24.0)
    parser.add_argument("--db-dir", default=candles_dir())
    parser.add_argument("--max-age-bars", type=float, default=2.0, help="stale when the newest bar is older than this many intervals")
    args = parser.parse_args()
    now = now_ms()
    since = now - int(args.lookback_hours * 3_600_000)
    results = []
    for interval, path in candle_db_files(args.db_dir):
        if interval not in INTERVALS:
            results.append({"db": path, "interval": interval, "ok": False, "issues": ["not a Hyperliquid interval"], "symbols": {}})
            continue
        try:
            results.append(check_db(path, interval, since, now, args.max_age_bars))
        except (OSError, sqlite3.Error) as exc:
            results.append({"db": path, "interval": interval, "ok": False, "issues": [str(exc)], "symbols": {}})
    ok = bool(results) and all(r["ok"] for r in results)
    print(json.dumps({"generated_ts_ms": now, "lookback_hours": args.lookback_hours, "ok": ok, "dbs": results}, indent=1))
    for r in results:
        print(f"{r['db']}: " + ("OK" if r["ok"] else "; ".join(r["issues"])) + f" ({len(r['symbols'])} symbols)", file=sys.stderr)
    print(("OK: " if ok else "FAIL: ") + (f"{len(results)} candle DB(s) checked" if results else f"no candle DBs in {args.db_dir}"), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
