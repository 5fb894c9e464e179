#!/usr/bin/env python3
"""Monitor stand-in (unit openclaw-ai-quant-monitor): python3 -u monitor/server.py from the repo root.

Read-only HTTP server on $AIQ_MONITOR_BIND:$AIQ_MONITOR_PORT (default 127.0.0.1:61010), like the real monitor/server.py:
GET /                 plain-text summary (the real one serves its static dashboard here)
GET /api/health       {"ok": true, "now_ts_ms", "ws": <mids snapshot>}
GET /api/mids         {"ok", "last_error", "updated_ts_ms", "mids"} from the WS sidecar (get_mids)
GET /api/snapshot?mode=paper|live
                      {"now_ts_ms", "mode", "health" (the last heartbeat in runtime_logs, parsed), "db_path", "open_positions",
                       "recent" (last orders/fills/audit events: stand-in extras), "warnings", "config"}
Anything else: 404 "not found". DBs: $AIQ_MONITOR_PAPER_DB / $AIQ_MONITOR_LIVE_DB (default <repo>/trading_engine[_live].db),
opened mode=ro. No request logging (the real monitor is silent too).
"""

import http.server
import json
import os
import re
import sqlite3
import sys
import urllib.parse

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin.common import REPO_ROOT, connect_ro, now_ms
from openclaw_standin.sidecar_client import SidecarClient

HB_PATTERNS = {"loop_s": (r"(?:wall|loop)=([0-9.]+)s", float), "errors": (r"errors=([0-9]+)", int), "symbols": (r"symbols=([0-9]+)", int),
               "open_pos": (r"open_pos=([0-9]+)", int), "ws_connected": (r"ws_connected=(True|False)", lambda v: v.lower() == "true"),
               "ws_thread_alive": (r"ws_thread_alive=(True|False)", lambda v: v.lower() == "true"), "ws_restarts": (r"ws_restarts=([0-9]+)", int)}
SIDECAR = SidecarClient(client_id="monitor")


def env_int(name, default):
    try:
        return int(os.environ.get(name, str(default)).strip())
    except ValueError:
        return default


def mode_db(mode):
    if mode == "live":
        return os.environ.get("AIQ_MONITOR_LIVE_DB", os.path.join(REPO_ROOT, "trading_engine_live.db"))
    return os.environ.get("AIQ_MONITOR_PAPER_DB", os.path.join(REPO_ROOT, "trading_engine.db"))


def rows(conn, sql, args=()):
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    except sqlite3.Error:
        return []


def heartbeat(conn, db_path):
    found = rows(conn, "SELECT ts_ms, message FROM runtime_logs WHERE message LIKE '🫀 engine ok%' ORDER BY ts_ms DESC LIMIT 1")
    if not found:
        return {"ok": False, "error": "heartbeat_missing", "db_path": db_path}
    line = str(found[0]["message"]).strip()
    out = {"ok": True, "source": "sqlite", "db_path": db_path, "ts_ms": found[0]["ts_ms"], "line": line}
    for key, (pattern, cast) in HB_PATTERNS.items():
        match = re.search(pattern, line, re.IGNORECASE)
        if match:
            out[key] = cast(match.group(1))
    return out


def mids(symbols=("BTC",)):
    try:
        got, age = SIDECAR.get_mids(sorted(set(symbols) | {"BTC"}))
        return {"ok": age is not None and age <= 60, "last_error": None, "updated_ts_ms": now_ms() if age is not None else None, "mids": got}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "last_error": f"{type(exc).__name__}: {exc}", "updated_ts_ms": None, "mids": {}}


def snapshot(mode):
    mode = (mode or "paper").strip().lower()
    db_path = mode_db(mode)
    snap = {"now_ts_ms": now_ms(), "mode": mode, "health": {"ok": False, "error": "heartbeat_missing", "db_path": db_path}, "db_path": db_path,
            "symbols": [], "open_positions": [], "recent": {}, "warnings": [],
            "config": {"trader_interval": str(os.environ.get("AI_QUANT_INTERVAL") or "1h").strip() or "1h"}}
    try:
        conn = connect_ro(db_path)
    except OSError:
        snap["warnings"].append("db_missing")
        return snap
    try:
        snap["health"] = heartbeat(conn, db_path)
        snap["open_positions"] = rows(conn, "SELECT * FROM positions ORDER BY symbol")
        snap["symbols"] = [p["symbol"] for p in snap["open_positions"]]
        acct = rows(conn, "SELECT * FROM account WHERE id = 1")
        snap["recent"] = {"account": acct[0] if acct else None, "orders": rows(conn, "SELECT * FROM orders ORDER BY id DESC LIMIT 10"),
                          "fills": rows(conn, "SELECT * FROM fills ORDER BY ts_ms DESC LIMIT 10"),
                          "audit_events": rows(conn, "SELECT * FROM audit_events ORDER BY id DESC LIMIT 10")}
    finally:
        conn.close()
    return snap


def summary():
    ws = mids()
    lines = [f"openclaw-ai-quant monitor (stand-in)  now_ts_ms={now_ms()}",
             f"ws sidecar: {'ok' if ws['ok'] else 'NOT OK'} mids={json.dumps(ws['mids'])}" + (f" error={ws['last_error']}" if ws["last_error"] else "")]
    for mode in ("paper", "live"):
        snap = snapshot(mode)
        if snap["warnings"]:
            lines.append(f"{mode}: {snap['db_path']}: {','.join(snap['warnings'])}")
            continue
        hb = snap["health"]
        lines.append(f"{mode}: heartbeat {'ts_ms=' + str(hb['ts_ms']) + ' ' + hb['line'] if hb['ok'] else hb['error']}")
        lines += [f"  position {p['symbol']} {p['side']} {p['qty']} @ {p['entry_price']}" for p in snap["open_positions"]]
        lines += [f"  order #{o['id']} {o['kind']} {o['side']} {o['symbol']} {o['qty']} @ {o['price']} {o['status']} ts_ms={o['ts_ms']}"
                  for o in snap["recent"]["orders"][:5]]
    return "\n".join(lines) + "\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def send(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parsed = urllib.parse.urlparse(self.path)
        path, qs = parsed.path or "/", urllib.parse.parse_qs(parsed.query or "")
        as_json = "application/json; charset=utf-8"
        if path in ("/", "/index.html"):
            self.send(200, summary().encode(), "text/plain; charset=utf-8")
        elif path == "/api/health":
            self.send(200, json.dumps({"ok": True, "now_ts_ms": now_ms(), "ws": mids()}, default=str).encode(), as_json)
        elif path == "/api/mids":
            self.send(200, json.dumps(mids()).encode(), as_json)
        elif path == "/api/snapshot":
            self.send(200, json.dumps(snapshot((qs.get("mode") or ["paper"])[0]), ensure_ascii=False, default=str).encode(), as_json)
        else:
            self.send(404, b"not found", "text/plain; charset=utf-8")

    def log_message(self, format, *args):  # quiet, like the real monitor
        return


def main():
    bind, port = os.environ.get("AIQ_MONITOR_BIND", "127.0.0.1"), env_int("AIQ_MONITOR_PORT", 61010)
    server = http.server.ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    print(f"AI Quant Monitor listening on http://{bind}:{port}/", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
