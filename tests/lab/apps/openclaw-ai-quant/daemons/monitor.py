#!/usr/bin/env python3
"""Monitor stand-in (unit openclaw-ai-quant-monitor): read-only HTTP dashboard on 127.0.0.1:$AI_QUANT_MONITOR_PORT (8765).

GET /            plain-text summary
GET /api/status  JSON: sidecar liveness, latest candle per symbol per DB, funding, BBO, and per trading DB the kill mode,
                 account, positions and last orders.
Every DB is opened with SQLite URI mode=ro. Run from the repo root: python3 daemons/monitor.py
"""

import http.server
import json
import os
import sqlite3
import sys
import threading

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import (
    TRADING_DBS,
    bbo_db_path,
    candle_db_files,
    connect_ro,
    env_num,
    funding_db_path,
    log,
    now_ms,
    query_sidecar,
    sidecar_sock_path,
    stop_event_on_signals,
)


def read_db(path, reader):
    """Run reader(conn) on a read-only connection; a missing or broken DB becomes {"error": ...}."""
    try:
        conn = connect_ro(path)
        try:
            return {"db": path, **reader(conn)}
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        return {"db": path, "error": str(exc)}


def candles(conn):
    now = now_ms()
    rows = conn.execute("SELECT symbol, interval, MAX(t) AS t, COUNT(*) AS rows FROM candles GROUP BY symbol, interval ORDER BY symbol").fetchall()
    out = {}
    for r in rows:
        last = conn.execute("SELECT t_close, c FROM candles WHERE symbol = ? AND interval = ? AND t = ?", (r["symbol"], r["interval"], r["t"])).fetchone()
        out[r["symbol"]] = {"t": r["t"], "t_close": last["t_close"], "c": last["c"], "age_s": round((now - r["t"]) / 1000, 1), "rows": r["rows"]}
    return {"symbols": out}


def funding(conn):
    rows = conn.execute("SELECT f.symbol, f.time, f.funding_rate, n.rows FROM funding_rates f JOIN "
                        "(SELECT symbol, MAX(time) AS time, COUNT(*) AS rows FROM funding_rates GROUP BY symbol) n "
                        "ON f.symbol = n.symbol AND f.time = n.time ORDER BY f.symbol").fetchall()
    return {"symbols": {r["symbol"]: {"time": r["time"], "funding_rate": r["funding_rate"], "rows": r["rows"]} for r in rows}}


def bbo(conn):
    rows = conn.execute("SELECT symbol, MAX(ts_ms) AS ts_ms, COUNT(*) AS rows FROM bbo_snapshots GROUP BY symbol ORDER BY symbol").fetchall()
    return {"symbols": {r["symbol"]: {"ts_ms": r["ts_ms"], "rows": r["rows"]} for r in rows}}


def trading(conn):
    account = conn.execute("SELECT * FROM account WHERE id = 1").fetchone()
    return {
        "kill_mode": account["kill_mode"] if account else None,
        "account": dict(account) if account else None,
        "positions": [dict(r) for r in conn.execute("SELECT * FROM positions ORDER BY symbol")],
        "open_orders": conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'open'").fetchone()[0],
        "last_orders": [dict(r) for r in conn.execute("SELECT * FROM orders ORDER BY id DESC LIMIT 10")],
        "kill_switch_events": [dict(r) for r in conn.execute("SELECT * FROM kill_switch_events ORDER BY rowid DESC LIMIT 5")],
    }


def status():
    sock = sidecar_sock_path()
    try:
        sidecar = {"socket": sock, "reachable": True, "status": query_sidecar(sock, {"op": "status", "client": "monitor"})}
    except (OSError, ValueError) as exc:
        sidecar = {"socket": sock, "reachable": False, "error": str(exc)}
    return {
        "ts_ms": now_ms(),
        "sidecar": sidecar,
        "candles": {interval: read_db(path, candles) for interval, path in candle_db_files()},
        "funding": read_db(funding_db_path(), funding),
        "bbo": read_db(bbo_db_path(), bbo) if os.path.exists(bbo_db_path()) else None,
        "trading": {mode: read_db(path, trading) for mode, path in sorted(TRADING_DBS.items())},
    }


def summary(st):
    side = st["sidecar"]
    lines = [f"openclaw-ai-quant monitor (stand-in)  ts_ms={st['ts_ms']}",
             f"ws sidecar: {'connected' if side['reachable'] and side['status'].get('connected') else 'UNREACHABLE'} ({side['socket']})"]
    for interval, db in st["candles"].items():
        for sym, c in db.get("symbols", {}).items():
            lines.append(f"candles {interval:>4} {sym:<6} rows={c['rows']:<6} last t={c['t']} c={c['c']} age={c['age_s']}s")
        if "error" in db:
            lines.append(f"candles {interval}: {db['error']}")
    for mode, db in st["trading"].items():
        if "error" in db:
            lines.append(f"{mode}: {db['error']}")
            continue
        acct = db["account"] or {}
        lines.append(f"{mode}: kill={db['kill_mode']} equity={acct.get('equity_usd', 0):.2f} positions={len(db['positions'])} open_orders={db['open_orders']}")
        lines += [f"  order #{o['id']} {o['kind']} {o['side']} {o['symbol']} {o['qty']} @ {o['price']} {o['status']} ts_ms={o['ts_ms']}"
                  for o in db["last_orders"][:5]]
    return "\n".join(lines) + "\n"


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "openclaw-monitor/standin"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/status":
            body, ctype, code = json.dumps(status(), indent=1).encode(), "application/json", 200
        elif path == "/":
            body, ctype, code = summary(status()).encode(), "text/plain; charset=utf-8", 200
        else:
            body, ctype, code = b'{"error": "not found"}\n', "application/json", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # one line per request on stdout (journald)
        log("INFO", f"http {self.address_string()} {format % args}")


def main():
    port = env_num("AI_QUANT_MONITOR_PORT", 8765, int, 1)
    stop = stop_event_on_signals("monitor")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    log("INFO", f"monitor listening on http://127.0.0.1:{port}/ (read-only; /api/status for JSON)")
    while not stop.wait(1.0):
        pass
    server.shutdown()
    server.server_close()
    log("INFO", "monitor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
