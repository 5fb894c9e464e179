#!/usr/bin/env python3
"""Freshness + gap checks of the candle DBs (JSON report on stdout, human summary on stderr), with the real tool's argv.

python3 tools/check_candle_dbs.py [--db-glob 'candles_dbs/candles_*.db'] [--lookback-hours 24] [--symbols BTC,ETH] [--fail-on-warn] ...
Per DB and symbol within the lookback: staleness of the newest bar (WARN >= --freshness-warn-mult x interval, FAIL >=
--freshness-fail-mult x interval), missing bars (largest run: --gap-warn-bars/--gap-fail-bars; total: --missing-warn-bars/
--missing-fail-bars). Stand-in extras (always FAIL): t not aligned to the interval, t_close != t + interval - 1, bad OHLC.
Exit: 2 when the overall status is FAIL, 1 when WARN with --fail-on-warn, else 0 (as the real tool).
"""

import argparse
import glob
import json
import os
import sqlite3
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import INTERVALS, REPO_ROOT, connect_ro, now_ms

RANK = {"OK": 0, "WARN": 1, "FAIL": 2}


def default_db_glob():
    raw = os.environ.get("AI_QUANT_CANDLES_DB_DIR", "").strip()
    return os.path.join(raw, "candles_*.db") if raw else os.path.join(REPO_ROOT, "candles_dbs", "candles_*.db")


def check_db(path, args, now):
    name = os.path.basename(path)
    interval = name[len("candles_"):-len(".db")]
    if interval not in INTERVALS:
        return {"db": path, "interval": interval, "status": "FAIL", "issues": ["not a Hyperliquid interval"], "symbols": {}}
    ms, since = INTERVALS[interval], now - int(args.lookback_hours * 3_600_000)
    wanted = {s.strip().upper() for s in args.symbols.split(",") if s.strip()}
    conn = connect_ro(path)
    try:
        rows = conn.execute("SELECT symbol, interval, t, t_close, o, h, l, c, t - LAG(t) OVER (PARTITION BY symbol ORDER BY t) AS d "
                            "FROM candles WHERE t >= ? ORDER BY symbol, t", (since,)).fetchall()
        latest = dict(conn.execute("SELECT symbol, MAX(t) FROM candles GROUP BY symbol").fetchall())
    finally:
        conn.close()
    symbols, issues = {}, []
    for r in rows:
        if wanted and r["symbol"] not in wanted:
            continue
        s = symbols.setdefault(r["symbol"], {"bars": 0, "missing_bars": 0, "max_gap_bars": 0, "misaligned": 0, "bad_t_close": 0, "bad_ohlc": 0})
        gap = max(0, (r["d"] or ms) // ms - 1)
        s["bars"] += 1
        s["missing_bars"] += gap
        s["max_gap_bars"] = max(s["max_gap_bars"], gap)
        s["misaligned"] += r["t"] % ms != 0
        s["bad_t_close"] += r["t_close"] != r["t"] + ms - 1
        s["bad_ohlc"] += not (0 < r["l"] <= min(r["o"], r["c"]) and r["h"] >= max(r["o"], r["c"]))
    status = "OK"
    for sym in sorted(set(latest) | wanted):
        if wanted and sym not in wanted:
            continue
        s = symbols.setdefault(sym, {"bars": 0, "missing_bars": 0, "max_gap_bars": 0, "misaligned": 0, "bad_t_close": 0, "bad_ohlc": 0})
        last_close = latest[sym] + ms - 1 if sym in latest else None
        stale_ms = max(0, now - last_close - int(args.grace_seconds * 1000)) if last_close is not None else None
        s["latest_t"], s["staleness_s"] = latest.get(sym), None if stale_ms is None else round(stale_ms / 1000, 1)
        st, why = "OK", []
        checks = [("no candles", stale_ms is None, stale_ms is None),
                  (f"stale {s['staleness_s']}s", stale_ms is not None and stale_ms >= args.freshness_warn_mult * ms,
                   stale_ms is not None and stale_ms >= args.freshness_fail_mult * ms),
                  (f"max_gap_bars={s['max_gap_bars']}", s["max_gap_bars"] >= args.gap_warn_bars, s["max_gap_bars"] >= args.gap_fail_bars),
                  (f"missing_bars={s['missing_bars']}", s["missing_bars"] >= args.missing_warn_bars, s["missing_bars"] >= args.missing_fail_bars)]
        checks += [(f"{k}={s[k]}", bool(s[k]), bool(s[k])) for k in ("misaligned", "bad_t_close", "bad_ohlc")]
        for text, warn, fail in checks:
            level = "FAIL" if fail else "WARN" if warn else "OK"
            if level != "OK":
                why.append(f"{sym}: {text} ({level})")
                st = max(st, level, key=RANK.get)
        s["status"] = st
        issues += why
        status = max(status, st, key=RANK.get)
    if not symbols:
        status, issues = "FAIL", ["no candles"]
    return {"db": path, "interval": interval, "status": status, "issues": issues, "symbols": symbols}


def main(argv=None):
    p = argparse.ArgumentParser(description="Check candle DB freshness and gaps")
    p.add_argument("--db-glob", default=default_db_glob())
    p.add_argument("--lookback-hours", type=float, default=24.0)
    p.add_argument("--freshness-warn-mult", type=float, default=2.0)
    p.add_argument("--freshness-fail-mult", type=float, default=5.0)
    p.add_argument("--gap-warn-bars", type=int, default=1)
    p.add_argument("--gap-fail-bars", type=int, default=3)
    p.add_argument("--missing-warn-bars", type=int, default=10)
    p.add_argument("--missing-fail-bars", type=int, default=50)
    p.add_argument("--grace-seconds", type=float, default=5.0)
    p.add_argument("--max-gap-ranges-per-symbol", type=int, default=5, help="accepted; the stand-in reports no gap ranges")
    p.add_argument("--symbols", default="")
    p.add_argument("--fail-on-warn", action="store_true")
    p.add_argument("--now-ms", type=int, default=None)
    p.add_argument("--json-indent", type=int, default=None)
    args = p.parse_args(argv)
    now = args.now_ms if args.now_ms is not None else now_ms()
    results = []
    for path in sorted(glob.glob(args.db_glob)):
        try:
            results.append(check_db(path, args, now))
        except (OSError, sqlite3.Error) as exc:
            results.append({"db": path, "status": "FAIL", "issues": [str(exc)], "symbols": {}})
    overall = max((r["status"] for r in results), key=RANK.get) if results else "FAIL"
    report = {"generated_at_ms": now, "lookback_hours": args.lookback_hours, "db_glob": args.db_glob, "overall_status": overall, "dbs": results}
    for r in results:
        sys.stderr.write(f"{r['db']}: {r['status']}" + (": " + "; ".join(r["issues"]) if r["issues"] else "") + "\n")
    sys.stderr.write(f"Overall: {overall}" + ("" if results else f" (no DB matches {args.db_glob})") + "\n")
    json.dump(report, sys.stdout, indent=args.json_indent, sort_keys=True)
    sys.stdout.write("\n")
    if overall == "FAIL":
        return 2
    return 1 if overall == "WARN" and args.fail_on_warn else 0


if __name__ == "__main__":
    sys.exit(main())
