#!/usr/bin/env python3
"""Quick diagnostics for one symbol: latest candle age per interval DB, latest funding rate, and per trading DB the
position, the orders/fills of the last --hours hours and the last orders. Everything is opened read-only.

python3 tools/reality_check.py [--symbol BTC] [--hours 2]   (real argv; DBs: $AI_QUANT_PAPER_DB_PATH / $AI_QUANT_LIVE_DB_PATH)
"""

import argparse
import os
import sqlite3
import sys
import time

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import candle_db_files, connect_ro, funding_db_path, live_db_path, now_ms, paper_db_path


def iso(ts_ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_ms / 1000))


def market(symbol, since, now):
    for _interval, path in candle_db_files():
        try:
            conn = connect_ro(path)
            row = conn.execute("SELECT MAX(t), COUNT(*) FROM candles WHERE symbol = ? AND t >= ?", (symbol, since)).fetchone()
            last = conn.execute("SELECT t, c FROM candles WHERE symbol = ? ORDER BY t DESC LIMIT 1", (symbol,)).fetchone()
            conn.close()
        except (OSError, sqlite3.Error) as exc:
            print(f"[candles] {path}: {exc}")
            continue
        if last:
            age = (now - last["t"]) / 1000
            print(f"[candles] {os.path.basename(path)}: latest t={iso(last['t'])} (age {age:.0f}s) close={last['c']} bars_in_window={row[1]}")
        else:
            print(f"[candles] {os.path.basename(path)}: no candles for {symbol}")
    try:
        conn = connect_ro(funding_db_path())
        last = conn.execute("SELECT time, funding_rate FROM funding_rates WHERE symbol = ? ORDER BY time DESC LIMIT 1", (symbol,)).fetchone()
        conn.close()
        print(f"[funding] latest {iso(last['time'])} rate={last['funding_rate']}" if last else f"[funding] no rows for {symbol}")
    except (OSError, sqlite3.Error) as exc:
        print(f"[funding] {exc}")


def trading(mode, path, symbol, since, now):
    try:
        conn = connect_ro(path)
    except OSError:
        print(f"[{mode}] {path}: not found")
        return False
    try:
        acct = conn.execute("SELECT equity_usd FROM account WHERE id = 1").fetchone()
        blocks = conn.execute("SELECT COUNT(*) FROM audit_events WHERE event = 'RISK_BLOCK' AND symbol = ? AND timestamp >= ?",
                              (symbol, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since / 1000)))).fetchone()[0]
        pos = conn.execute("SELECT side, qty, entry_price, opened_ts_ms FROM positions WHERE symbol = ?", (symbol,)).fetchone()
        kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM orders WHERE symbol = ? AND ts_ms >= ? GROUP BY kind", (symbol, since)).fetchall())
        states = dict(conn.execute("SELECT status, COUNT(*) FROM orders WHERE symbol = ? AND ts_ms >= ? GROUP BY status", (symbol, since)).fetchall())
        fills = conn.execute("SELECT COUNT(*), COALESCE(SUM(fee), 0), COALESCE(SUM(realized_pnl), 0) FROM fills WHERE symbol = ? AND ts_ms >= ?",
                             (symbol, since)).fetchone()
        last = conn.execute("SELECT * FROM orders WHERE symbol = ? ORDER BY id DESC LIMIT 5", (symbol,)).fetchall()
    except sqlite3.Error as exc:
        print(f"[{mode}] {path}: {exc}")
        return False
    finally:
        conn.close()
    print(f"[{mode}] {path}: equity={acct['equity_usd'] if acct else 0:.2f} risk_blocks_in_window={blocks}")
    if pos:
        print(f"  position: {pos['side']} {pos['qty']} @ {pos['entry_price']} (opened {(now - pos['opened_ts_ms']) / 1000:.0f}s ago)")
    else:
        print("  position: flat")
    print(f"  orders in window: {sum(kinds.values())} (entry {kinds.get('entry', 0)}, exit {kinds.get('exit', 0)}; "
          f"filled {states.get('filled', 0)}, open {states.get('open', 0)}, cancelled {states.get('cancelled', 0)})")
    print(f"  fills in window: {fills[0]}, fees {fills[1]:.4f}, realized pnl {fills[2]:.2f}")
    for o in last:
        print(f"  order #{o['id']} {iso(o['ts_ms'])} {o['kind']} {o['side']} {o['qty']} @ {o['price']} {o['status']}")
    return True


def main():
    parser = argparse.ArgumentParser(description="Recent activity of one symbol.")
    parser.add_argument("--symbol", default="BTC")
    parser.add_argument("--hours", type=float, default=2.0)
    args = parser.parse_args()
    symbol, now = args.symbol.upper(), now_ms()
    since = now - int(args.hours * 3_600_000)
    print(f"reality check: {symbol}, last {args.hours:g}h (since {iso(since)})")
    market(symbol, since, now)
    found = [trading(mode, path, symbol, since, now) for mode, path in (("paper", paper_db_path()), ("live", live_db_path()))]
    return 0 if any(found) else 1


if __name__ == "__main__":
    sys.exit(main())
