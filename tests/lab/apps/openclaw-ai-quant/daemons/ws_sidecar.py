#!/usr/bin/env python3
"""WS sidecar stand-in (unit openclaw-ai-quant-ws-sidecar; the real one is the Rust binary of ws_sidecar/).

No network: the "Hyperliquid feed" is the deterministic simulation of openclaw_standin.sim. Like the real sidecar it
serves the JSON-lines RPC of ws_sidecar/src/main.rs on a unix socket and writes candles_<interval>.db for the
(symbol, interval) pairs its clients ask for (ensure_started) plus AI_QUANT_SIDECAR_SYMBOLS x AI_QUANT_SIDECAR_INTERVALS,
and bbo_snapshots.db when enabled. Stand-in extra: hourly funding rows in <candles dir>/funding_rates.db.
Run from the repo root: python3 daemons/ws_sidecar.py
"""

import datetime
import json
import os
import queue
import re
import socket
import sqlite3
import sys
import threading
import time

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin import schema, sim
from openclaw_standin.common import (
    HOUR_MS,
    INTERVALS,
    KEEP_BARS,
    bar_open,
    bbo_db_path,
    candles_db_path,
    candles_dir,
    connect_rw,
    env_flag,
    env_list,
    env_num,
    env_str,
    log,
    now_ms,
    sidecar_sock_path,
    stop_event_on_signals,
)

BASE_TICK_SECS = 0.5  # one simulated trade per symbol per tick; AI_QUANT_SIM_SPEED divides it
SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,16}$")
UPSERT = ("INSERT INTO candles (symbol, interval, t, t_close, o, h, l, c, v, n, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT(symbol, interval, t) DO UPDATE SET t_close = excluded.t_close, o = excluded.o, h = excluded.h, l = excluded.l, "
          "c = excluded.c, v = excluded.v, n = excluded.n, updated_at = excluded.updated_at")


def utc_now_s():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_interval(raw):
    s = str(raw or "").strip().lower() or "1h"
    return s


def symbols_param(params):
    raw = params.get("symbols") if isinstance(params, dict) else None
    return [s.strip().upper() for s in raw if isinstance(s, str) and s.strip()] if isinstance(raw, list) else []


class CandleDB:
    """One candles_<interval>.db: backfill of a pair, its forming bar upserted every tick, pruning."""

    def __init__(self, interval, prune, directory):
        self.interval, self.ms, self.prune_enabled = interval, INTERVALS[interval], prune
        self.conn = connect_rw(candles_db_path(interval, directory))
        self.conn.executescript(schema.CANDLES)
        schema.migrate_candles(self.conn)
        self.bars = {}  # symbol -> forming bar row (list)

    def backfill(self, symbol, bars, now):
        cur, stamp = bar_open(now, self.interval), utc_now_s()
        rows = [(*sim.candle(symbol, self.interval, t), stamp) for t in range(cur - bars * self.ms, cur, self.ms)]
        rows.append((*sim.candle(symbol, self.interval, cur, upto_ms=now), stamp))
        self.conn.executemany(UPSERT, rows)
        self.conn.commit()
        self.bars[symbol] = list(rows[-1][:10])
        self.prune(symbol)

    def tick(self, symbol, ts, px, size):
        row, cur = self.bars[symbol], bar_open(ts, self.interval)
        rolled = cur != row[2]
        stamp = utc_now_s()
        if rolled:  # close the bar at the next bar's open (contiguous), synthesise any bars missed while stalled
            final = sim.round_px(sim.price(symbol, row[2] + self.ms))
            row[5], row[6], row[7] = max(row[5], final), min(row[6], final), final
            missed = [(*sim.candle(symbol, self.interval, t), stamp) for t in range(row[2] + self.ms, cur, self.ms)]
            self.conn.executemany(UPSERT, [(*row, stamp), *missed])
            opening = sim.round_px(sim.price(symbol, cur))
            row = self.bars[symbol] = [symbol, self.interval, cur, cur + self.ms - 1, opening, opening, opening, opening, 0.0, 0]
        row[5], row[6], row[7] = max(row[5], px), min(row[6], px), px
        row[8], row[9] = round(row[8] + size, 4), row[9] + 1
        self.conn.execute(UPSERT, (*row, stamp))
        return rolled

    def prune(self, symbol):
        if self.prune_enabled:
            self.conn.execute("DELETE FROM candles WHERE symbol = ? AND interval = ? AND t < (SELECT t FROM candles WHERE symbol = ? AND interval = ? "
                              "ORDER BY t DESC LIMIT 1 OFFSET ?)", (symbol, self.interval, symbol, self.interval, KEEP_BARS - 1))
            self.conn.commit()


class BboWriter(threading.Thread):
    """bbo_snapshots.db writer: bounded queue (drops when full), retention sweep at start and every sweep_secs."""

    def __init__(self, stop, path, max_queue, retention_hours, sweep_secs):
        super().__init__(name="bbo-writer", daemon=True)
        self.stop, self.path, self.queue = stop, path, queue.Queue(maxsize=max_queue)
        self.retention_ms, self.sweep_secs = retention_hours * HOUR_MS, sweep_secs
        conn = connect_rw(path)
        schema.migrate_bbo(conn)
        conn.executescript(schema.BBO)
        conn.close()

    def offer(self, row):
        try:
            self.queue.put_nowait(row)
        except queue.Full:
            pass

    def run(self):
        conn, next_sweep = connect_rw(self.path), 0.0
        while True:
            stopping = self.stop.wait(0.5)
            rows = []
            while True:
                try:
                    rows.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                if rows:
                    conn.executemany("INSERT INTO bbo_snapshots (symbol, ts_ms, bid, ask, mid, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                                     "ON CONFLICT(symbol, ts_ms) DO UPDATE SET bid = excluded.bid, ask = excluded.ask, mid = excluded.mid, "
                                     "updated_at = excluded.updated_at", rows)
                    conn.commit()
                if time.monotonic() >= next_sweep:
                    deleted = conn.execute("DELETE FROM bbo_snapshots WHERE ts_ms < ?", (now_ms() - self.retention_ms,)).rowcount
                    conn.commit()
                    if deleted:
                        log(f"bbo snapshots retention sweep deleted_rows={deleted}", err=True)
                    next_sweep = time.monotonic() + self.sweep_secs
            except sqlite3.Error as exc:
                if "locked" not in str(exc).lower():
                    log(f"bbo snapshots db write failed: {exc}", err=True)
            if stopping:
                conn.close()
                return


class Sidecar:
    def __init__(self, stop):
        self.stop, self.lock = stop, threading.RLock()
        self.ws_url = os.environ.get("HL_WS_URL", "wss://api.hyperliquid.xyz/ws")
        self.info_url = os.environ.get("AI_QUANT_INFO_URL", "https://api.hyperliquid.xyz/info")
        self.sock_path = sidecar_sock_path()
        self.dir = candles_dir(for_sidecar=True)
        self.speed = min(50.0, env_num("AI_QUANT_SIM_SPEED", 1.0, float, 0.1))
        self.client_ttl = max(1, env_num("AI_QUANT_WS_CLIENT_TTL_SECS", 90, int))
        self.candles_enable = env_flag("AI_QUANT_CANDLES_ENABLE", True)
        self.enable_bbo = env_flag("AI_QUANT_WS_ENABLE_BBO", True)
        self.always_symbols = [s.upper() for s in env_list("AI_QUANT_SIDECAR_SYMBOLS") if SYMBOL_RE.match(s.upper())]
        self.always_intervals = [canonical_interval(i) for i in env_list("AI_QUANT_SIDECAR_INTERVALS")]
        self.always_limit = env_num("AI_QUANT_SIDECAR_CANDLE_LIMIT", 2000, int, 0)
        self.no_prune = sorted({canonical_interval(i) for i in env_list("AI_QUANT_CANDLE_PRUNE_DISABLE_INTERVALS", "3m,5m")})
        self.funding_hours = env_num("AI_QUANT_SIDECAR_FUNDING_BACKFILL_HOURS", 72, int, 0)
        self.bbo_snapshots = None
        if env_flag("AI_QUANT_BBO_SNAPSHOTS_ENABLE", False):
            self.sample_ms = max(1, env_num("AI_QUANT_BBO_SNAPSHOTS_SAMPLE_MS", 1000, int))
            self.bbo_path = bbo_db_path()
            self.bbo_cfg = (max(1, env_num("AI_QUANT_BBO_SNAPSHOTS_MAX_QUEUE", 20000, int)), max(1, env_num("AI_QUANT_BBO_SNAPSHOTS_RETENTION_HOURS", 24, int)),
                            max(30, env_num("AI_QUANT_BBO_SNAPSHOTS_RETENTION_SWEEP_SECS", 600, int)))
        self.clients = {}  # client_id -> {"symbols": set, "interval": str, "candle_limit": int, "last_seen": monotonic}
        self.desired = {}  # (symbol, interval) -> candle limit
        self.symbols = set()  # desired symbols (mids, bbo)
        self.streaming = {}  # (symbol, interval) -> True once backfilled (subscribed; never unsubscribed, like one WS connection)
        self.dbs = {}
        self.connected, self.attempt, self.restart_requested = False, 0, False
        self.mids_at = None  # monotonic time of the last tick
        self.last_tick_ms = 0
        self.candle_at, self.bbo_at, self.last_sample = {}, {}, {}
        self.funding = None  # stand-in extra: funding_rates.db (the real sidecar writes none; tools/fetch_funding_rates.py does)
        self.funded = set()
        self.last_funding_hour = 0

    # ---- desired set (ensure_started) -------------------------------------------------------------------------------
    def recompute_desired(self):
        desired, symbols = {}, set()
        for c in self.clients.values():
            for sym in c["symbols"]:
                symbols.add(sym)
                if self.candles_enable:
                    desired[(sym, c["interval"])] = max(desired.get((sym, c["interval"]), 0), c["candle_limit"])
        for sym in self.always_symbols:
            symbols.add(sym)
            if self.candles_enable:
                for interval in self.always_intervals:
                    desired[(sym, interval)] = max(desired.get((sym, interval), 0), self.always_limit)
        self.desired, self.symbols = desired, symbols

    def ensure_started(self, params):
        interval = canonical_interval(params.get("interval"))
        client_id = str(params.get("client_id") or "default").strip() or "default"
        limit = params.get("candle_limit")
        limit = limit if isinstance(limit, int) and limit >= 0 else 0
        now = time.monotonic()
        with self.lock:
            for cid in [cid for cid, c in self.clients.items() if now - c["last_seen"] > self.client_ttl]:
                del self.clients[cid]
            self.clients[client_id] = {"symbols": {s for s in symbols_param(params) if SYMBOL_RE.match(s)}, "interval": interval,
                                       "candle_limit": limit, "last_seen": now}
            self.recompute_desired()
        return {"ok": True}

    # ---- RPC ------------------------------------------------------------------------------------------------------------
    def handle(self, method, params):
        params = params if isinstance(params, dict) else {}
        with self.lock:
            if method == "ensure_started":
                return self.ensure_started(params)
            if method == "restart":
                self.restart_requested = True
                return {"ok": True}
            mids_age = None if self.mids_at is None else time.monotonic() - self.mids_at
            if method in ("health", "ws_stats"):
                out = {"connected": self.connected, "ws_connect_attempt": self.attempt, "ws_disconnect_count": max(0, self.attempt - 1),
                       "ws_last_error": None, "ws_last_error_ms": None, "ws_last_close": None, "ws_last_close_ms": None,
                       "ws_incoming_drops_full": 0, "ws_incoming_drops_closed": 0, "ws_last_incoming_drop_ms": None, "mids_age_s": mids_age}
                if method == "ws_stats":
                    return {**out, "clients": len(self.clients), "desired_symbols": len(self.symbols), "desired_candles": len(self.desired),
                            "desired_user": False}
                interval, syms = canonical_interval(params.get("interval")), symbols_param(params)
                ages = [time.monotonic() - self.candle_at[(s, interval)] for s in syms if (s, interval) in self.candle_at]
                bbo_ages = [time.monotonic() - self.bbo_at[s] for s in syms if s in self.bbo_at]
                return {**out, "candle_age_s": max(ages) if ages else None, "bbo_age_s": max(bbo_ages) if bbo_ages else None}
            if method in ("candles_ready", "candles_health"):
                interval, syms = canonical_interval(params.get("interval")), symbols_param(params)
                if method == "candles_ready":
                    not_ready = [s for s in syms if not self.streaming.get((s, interval))]
                    return {"ready": not not_ready, "not_ready": not_ready}
                return {"ws_candle_disabled_s": None, "items": [self.candle_health_item(s, interval) for s in syms]}
            if method in ("get_mid", "get_bbo"):
                sym = str(params.get("symbol") or "").strip().upper()
                max_age = params.get("max_age_s")
                if self.mids_at is None or not SYMBOL_RE.match(sym) or (isinstance(max_age, (int, float)) and mids_age > max_age):
                    return None
                if method == "get_mid":
                    return sim.round_px(sim.price(sym, self.last_tick_ms))
                if not self.enable_bbo or sym not in self.bbo_at:
                    return None
                bid, _bsz, ask, _asz = sim.bbo(sym, self.last_tick_ms)
                return [bid, ask]
            if method == "get_mids":
                syms = symbols_param(params)
                max_age = params.get("max_age_s")
                if not syms or self.mids_at is None or (isinstance(max_age, (int, float)) and mids_age > max_age):
                    return {"mids": {}, "mids_age_s": mids_age}
                return {"mids": {s: sim.round_px(sim.price(s, self.last_tick_ms)) for s in syms if SYMBOL_RE.match(s)}, "mids_age_s": mids_age}
            if method in ("get_latest_candle_times", "get_last_closed_candle_times"):
                sym, interval = str(params.get("symbol") or "").strip().upper(), canonical_interval(params.get("interval"))
                db = self.dbs.get(interval)
                row = db.bars.get(sym) if db and self.streaming.get((sym, interval)) else None
                if row is None:
                    return [None, None]
                t, t_close = row[2], row[3]
                grace = params.get("grace_ms") if isinstance(params.get("grace_ms"), int) else 2000
                if method == "get_last_closed_candle_times" and now_ms() < t_close - max(0, grace):
                    t, t_close = t - db.ms, t - 1
                return [t, t_close]
            if method in ("drain_user_fills", "drain_order_updates", "drain_user_fundings", "drain_user_ledger_updates"):
                return []
        raise KeyError(f"unknown method: {method}")

    def candle_health_item(self, sym, interval):
        db, ok = self.dbs.get(interval), self.streaming.get((sym, interval))
        if not ok:
            return {"symbol": sym, "interval": interval, "ready": False, "have_count": 0, "expected_count": 0, "min_t": None, "max_t": None,
                    "max_t_close": None, "checked_at_ms": None, "last_ok_backfill_ms": None, "last_err_backfill": None}
        row = db.bars[sym]
        have = self.desired.get((sym, interval), 0) + 1
        return {"symbol": sym, "interval": interval, "ready": True, "have_count": have, "expected_count": have, "min_t": row[2] - (have - 1) * db.ms,
                "max_t": row[2], "max_t_close": row[3], "checked_at_ms": now_ms(), "last_ok_backfill_ms": ok, "last_err_backfill": None}

    def serve_client(self, conn):
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                try:
                    req = json.loads(raw.decode("utf-8", errors="replace"))
                    rid, method = int(req["id"]), str(req["method"]).strip()
                except (ValueError, KeyError, TypeError) as exc:
                    resp = {"id": 0, "ok": False, "error": f"bad json: {exc}"}
                else:
                    try:
                        resp = {"id": rid, "ok": True, "result": self.handle(method, req.get("params") or {})}
                    except KeyError as exc:
                        resp = {"id": rid, "ok": False, "error": exc.args[0]}
                    except Exception as exc:  # noqa: BLE001 - one bad request must not kill the connection
                        resp = {"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
                try:
                    stream.write((json.dumps(resp, separators=(",", ":")) + "\n").encode())
                    stream.flush()
                except OSError:
                    return

    def accept_loop(self, server):
        while not self.stop.is_set():
            try:
                conn, _addr = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self.serve_client, args=(conn,), name="rpc-client", daemon=True).start()

    # ---- simulated feed -------------------------------------------------------------------------------------------------
    def connect(self):
        self.attempt += 1
        self.connected = False
        log(f"ws connect: attempt={self.attempt} url={self.ws_url}", err=True)
        self.connected = True
        log(f"ws connected: attempt={self.attempt} status=101 Switching Protocols", err=True)
        log(f"ws desired: attempt={self.attempt} symbols={len(self.symbols)} candles={len(self.desired)} user=no pending_subs="
            f"{len(self.symbols) * (2 if self.enable_bbo else 1) + len(self.desired) + 2}", err=True)

    def subscribe_new(self, now):
        with self.lock:
            todo = [(pair, limit) for pair, limit in sorted(self.desired.items()) if pair not in self.streaming]
        for (sym, interval), limit in todo:
            if interval not in INTERVALS:
                continue
            db = self.dbs.get(interval)
            if db is None:
                db = self.dbs[interval] = CandleDB(interval, interval not in self.no_prune, self.dir)
            db.backfill(sym, max(1, limit), now)
            with self.lock:
                self.streaming[(sym, interval)] = now_ms()
                self.candle_at[(sym, interval)] = time.monotonic()
            if sym not in self.funded:
                self.funded.add(sym)
                self.write_funding([sym], range(now - now % HOUR_MS - self.funding_hours * HOUR_MS, now - now % HOUR_MS + 1, HOUR_MS))

    def write_funding(self, symbols, hours):
        self.funding.executemany("INSERT OR REPLACE INTO funding_rates (symbol, time, funding_rate, premium) VALUES (?, ?, ?, ?)",
                                 [(s, h, *sim.funding(s, h)) for s in symbols for h in hours])
        self.funding.commit()

    def tick(self):
        now = now_ms()
        self.subscribe_new(now)
        ticks_per_min = 60 / (BASE_TICK_SECS / self.speed)
        with self.lock:
            pairs = [pair for pair, ok in self.streaming.items() if ok]
            symbols = sorted(self.symbols | {s for s, _i in pairs})
        rolled = []
        for sym, interval in pairs:
            db = self.dbs[interval]
            if db.tick(sym, now, sim.round_px(sim.price(sym, now)), sim.trade_size(sym, now, ticks_per_min)):
                rolled.append((db, sym))
        for db in self.dbs.values():
            db.conn.commit()
        for db, sym in rolled:
            db.prune(sym)
        mono = time.monotonic()
        with self.lock:
            for pair in pairs:
                self.candle_at[pair] = mono
            if self.enable_bbo:
                for sym in symbols:
                    self.bbo_at[sym] = mono
            self.mids_at, self.last_tick_ms = mono, now
        if self.bbo_snapshots and self.enable_bbo:
            for sym in symbols:
                if now - self.last_sample.get(sym, 0) >= self.sample_ms:
                    self.last_sample[sym] = now
                    bid, _bsz, ask, _asz = sim.bbo(sym, now)
                    self.bbo_snapshots.offer((sym, now, bid, ask, (bid + ask) / 2, utc_now_s()))
        hour = now - now % HOUR_MS
        if self.funding is not None and hour > self.last_funding_hour:
            if self.funded and self.last_funding_hour:
                self.write_funding(sorted(self.funded), [hour])
            self.last_funding_hour = hour

    def run(self):
        log(f"ws-sidecar starting: ws_url={self.ws_url} info_url={self.info_url} sock={self.sock_path} candles_db_dir={self.dir} "
            f"candles_enable={str(self.candles_enable).lower()} candle_ws_enable=true")
        if self.no_prune:
            log(f"ws-sidecar candle retention: pruning disabled for intervals: {','.join(self.no_prune)} (append-only; monitor disk usage)")
        if hasattr(self, "bbo_path"):
            max_queue, retention, sweep = self.bbo_cfg
            log(f"ws-sidecar bbo snapshots: enabled=yes db_path={self.bbo_path} sample_ms={self.sample_ms} retention_hours={retention} "
                f"retention_sweep_secs={sweep} max_queue={max_queue}")
            if not self.enable_bbo:
                log("ws-sidecar warning: AI_QUANT_BBO_SNAPSHOTS_ENABLE=1 but AI_QUANT_WS_ENABLE_BBO=0; no snapshots will be written", err=True)
            self.bbo_snapshots = BboWriter(self.stop, self.bbo_path, max_queue, retention, sweep)
            self.bbo_snapshots.start()
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        if os.path.dirname(self.sock_path):
            os.makedirs(os.path.dirname(self.sock_path), exist_ok=True)
        self.funding = connect_rw(os.path.join(self.dir, "funding_rates.db"))
        self.funding.executescript(schema.FUNDING)
        with self.lock:
            self.recompute_desired()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.sock_path)
        server.listen(64)
        server.settimeout(0.5)
        threading.Thread(target=self.accept_loop, args=(server,), name="rpc-accept", daemon=True).start()
        self.connect()
        period, next_tick = BASE_TICK_SECS / self.speed, time.monotonic()
        while not self.stop.is_set():
            if self.restart_requested:
                self.restart_requested = False
                log("ws restart requested by client", err=True)
                self.connect()
            try:
                self.tick()
            except (sqlite3.Error, OSError) as exc:  # keep streaming; a later tick repairs the rows
                log(f"db write failed: {exc}", err=True)
            next_tick = max(next_tick + period, time.monotonic())
            self.stop.wait(max(0.0, next_tick - time.monotonic()))
        server.close()
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        if self.bbo_snapshots:
            self.bbo_snapshots.join(timeout=5)
        for db in self.dbs.values():
            db.conn.close()
        self.funding.close()


def main():
    if env_str("AI_QUANT_WS_SIDECAR_SOCK") == "" and "AI_QUANT_WS_SIDECAR_SOCK" in os.environ:
        print("AI_QUANT_WS_SIDECAR_SOCK is empty", file=sys.stderr)
        return 1
    Sidecar(stop_event_on_signals()).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
