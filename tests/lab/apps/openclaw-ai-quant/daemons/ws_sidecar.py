#!/usr/bin/env python3
"""WS sidecar stand-in (unit openclaw-ai-quant-ws-sidecar).

Simulates the Hyperliquid WebSocket feed without any network: deterministic synthetic prices (openclaw_standin.sim)
are written as candles into $AI_QUANT_CANDLES_DB_DIR/candles_<interval>.db, hourly funding rates into funding_rates.db
and, when enabled, sampled BBO snapshots into bbo_snapshots.db. Traders check its liveness on a unix socket.
Run from the repo root: python3 daemons/ws_sidecar.py
"""

import json
import os
import queue
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
    funding_db_path,
    log,
    now_ms,
    sidecar_sock_path,
    sidecar_symbols,
    stop_event_on_signals,
)
from openclaw_standin.config import SYMBOL_RE

WS_URL = "wss://api.hyperliquid.xyz/ws"
BASE_TICK_SECS = 0.5  # one simulated trade per symbol per tick; AI_QUANT_SIM_SPEED divides it
MAX_SYMBOLS = 64
UPSERT = "INSERT OR REPLACE INTO candles (symbol, interval, t, t_close, o, h, l, c, v, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


class CandleDB:
    """One candles_<interval>.db: backfill, the forming bar of each symbol (upserted every tick), pruning."""

    def __init__(self, interval, prune):
        self.interval, self.ms, self.prune_enabled = interval, INTERVALS[interval], prune
        self.path = candles_db_path(interval)
        self.conn = connect_rw(self.path)
        self.conn.executescript(schema.CANDLES)
        self.bars = {}  # symbol -> [symbol, interval, t, t_close, o, h, l, c, v, n] of the forming bar

    def backfill(self, symbol, bars, now):
        """Like Hyperliquid's candleSnapshot: (re)write the last `bars` closed bars and the forming one."""
        cur = bar_open(now, self.interval)
        rows = [sim.candle(symbol, self.interval, t) for t in range(cur - bars * self.ms, cur, self.ms)]
        rows.append(sim.candle(symbol, self.interval, cur, upto_ms=now))
        self.conn.executemany(UPSERT, rows)
        self.conn.commit()
        self.bars[symbol] = list(rows[-1])
        return len(rows), self.prune(symbol)

    def tick(self, symbol, ts, px, size):
        row, cur = self.bars[symbol], bar_open(ts, self.interval)
        rolled = cur != row[2]
        if rolled:  # close the bar at the next bar's open (contiguous), synthesise any bars missed while stalled
            final = sim.round_px(sim.price(symbol, row[2] + self.ms))
            row[5], row[6], row[7] = max(row[5], final), min(row[6], final), final
            missed = [sim.candle(symbol, self.interval, t) for t in range(row[2] + self.ms, cur, self.ms)]
            self.conn.executemany(UPSERT, [tuple(row)] + missed)
            opening = sim.round_px(sim.price(symbol, cur))
            row = self.bars[symbol] = [symbol, self.interval, cur, cur + self.ms - 1, opening, opening, opening, opening, 0.0, 0]
        row[5], row[6], row[7] = max(row[5], px), min(row[6], px), px
        row[8], row[9] = round(row[8] + size, 4), row[9] + 1
        self.conn.execute(UPSERT, tuple(row))
        return rolled

    def prune(self, symbol):
        if not self.prune_enabled:
            return 0
        cur = self.conn.execute(
            "DELETE FROM candles WHERE symbol = ? AND interval = ? AND t < "
            "(SELECT t FROM candles WHERE symbol = ? AND interval = ? ORDER BY t DESC LIMIT 1 OFFSET ?)",
            (symbol, self.interval, symbol, self.interval, KEEP_BARS - 1))
        self.conn.commit()
        return max(0, cur.rowcount)


class BboWriter(threading.Thread):
    """Drains the bounded snapshot queue into bbo_snapshots.db every 0.5 s; sweeps rows older than the retention."""

    def __init__(self, stop, max_queue, retention_hours, sweep_secs):
        super().__init__(name="bbo-writer", daemon=True)
        self.stop, self.queue, self.dropped = stop, queue.Queue(maxsize=max_queue), 0
        self.retention_ms, self.sweep_secs = int(retention_hours * HOUR_MS), sweep_secs
        self.path = bbo_db_path()
        conn = connect_rw(self.path)  # create it now so it exists as soon as snapshots are enabled
        conn.executescript(schema.BBO)
        conn.close()

    def offer(self, row):
        try:
            self.queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1

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
            if rows:
                conn.executemany("INSERT INTO bbo_snapshots (symbol, ts_ms, bid, bid_sz, ask, ask_sz) VALUES (?, ?, ?, ?, ?, ?)", rows)
                conn.commit()
            if time.monotonic() >= next_sweep:
                deleted = conn.execute("DELETE FROM bbo_snapshots WHERE ts_ms < ?", (now_ms() - self.retention_ms,)).rowcount
                conn.commit()
                if deleted:
                    log("INFO", f"bbo retention sweep: deleted {deleted} snapshots older than {self.retention_ms // HOUR_MS} h")
                next_sweep = time.monotonic() + self.sweep_secs
            if stopping:
                conn.close()
                return


class Sidecar:
    def __init__(self, stop):
        self.stop, self.lock, self.pending = stop, threading.Lock(), set()
        self.symbols, self.connected, self.last_tick_ms = [], False, 0
        self.speed = min(50.0, env_num("AI_QUANT_SIM_SPEED", 1.0, float, 0.1))
        self.backfill_bars = int(env_num("AI_QUANT_SIDECAR_BACKFILL_BARS", 300, int, 1))
        self.funding_hours = int(env_num("AI_QUANT_SIDECAR_FUNDING_BACKFILL_HOURS", 72, int, 0))
        intervals = env_list("AI_QUANT_SIDECAR_INTERVALS", "1m,3m,5m,15m,1h")
        no_prune = env_list("AI_QUANT_CANDLE_PRUNE_DISABLE_INTERVALS", "")
        for name in [i for i in intervals + no_prune if i not in INTERVALS]:
            log("WARNING", f"ignoring unknown interval {name!r} (Hyperliquid intervals: {', '.join(INTERVALS)})")
        self.dbs = [CandleDB(i, i not in no_prune) for i in INTERVALS if i in intervals]
        self.funding = connect_rw(funding_db_path())
        self.funding.executescript(schema.FUNDING)
        self.last_funding_hour = 0
        self.bbo, self.sample_ms, self.last_sample = None, 0, {}
        if env_flag("AI_QUANT_WS_ENABLE_BBO") and env_flag("AI_QUANT_BBO_SNAPSHOTS_ENABLE"):
            self.sample_ms = int(env_num("AI_QUANT_BBO_SNAPSHOTS_SAMPLE_MS", 1000, int, 0))
            self.bbo = BboWriter(stop, int(env_num("AI_QUANT_BBO_SNAPSHOTS_MAX_QUEUE", 20000, int, 1)),
                                 env_num("AI_QUANT_BBO_SNAPSHOTS_RETENTION_HOURS", 24.0, float, 0.0),
                                 env_num("AI_QUANT_BBO_SNAPSHOTS_RETENTION_SWEEP_SECS", 600.0, float, 30.0))
        log("INFO", f"ws sidecar starting: db_dir={candles_dir()} intervals={','.join(d.interval for d in self.dbs)} "
                    f"prune_disabled={','.join(d.interval for d in self.dbs if not d.prune_enabled) or '-'} "
                    f"bbo_snapshots={'on (' + self.bbo.path + ')' if self.bbo else 'off'} sim_speed={self.speed}")

    def subscribe(self, symbol, why):
        now, pruned, rows = now_ms(), [], 0
        for db in self.dbs:
            rows, count = db.backfill(symbol, self.backfill_bars, now)
            pruned += [f"{db.interval}:{count}"] if count else []
        log("INFO", f"backfilled {symbol}: {rows} bars per interval ({','.join(d.interval for d in self.dbs)})"
                    + (f"; pruned to the newest {KEEP_BARS} bars, rows deleted {' '.join(pruned)}" if pruned else ""))
        hour = now - now % HOUR_MS
        self.funding.executemany("INSERT OR REPLACE INTO funding_rates (symbol, time, funding_rate, premium) VALUES (?, ?, ?, ?)",
                                 [(symbol, h, *sim.funding(symbol, h)) for h in range(hour - self.funding_hours * HOUR_MS, hour + 1, HOUR_MS)])
        self.funding.commit()
        self.last_funding_hour = hour
        self.symbols.append(symbol)
        log("INFO", f"subscribed {symbol} ({why}): candle {','.join(d.interval for d in self.dbs)}" + (", bbo" if self.bbo else ""))

    def tick(self):
        now = now_ms()
        with self.lock:
            new, self.pending = sorted(self.pending - set(self.symbols)), set()
        for symbol in new[: max(0, MAX_SYMBOLS - len(self.symbols))]:
            self.subscribe(symbol, "requested by a client")
        ticks_per_min = 60 / (BASE_TICK_SECS / self.speed)
        rolled = set()
        for symbol in self.symbols:
            px = sim.round_px(sim.price(symbol, now))
            size = sim.trade_size(symbol, now, ticks_per_min)
            for db in self.dbs:
                if db.tick(symbol, now, px, size):
                    rolled.add((db, symbol))
            if self.bbo and now - self.last_sample.get(symbol, 0) >= self.sample_ms:
                self.last_sample[symbol] = now
                self.bbo.offer((symbol, now, *sim.bbo(symbol, now)))
        for db in self.dbs:
            db.conn.commit()
        for db, symbol in rolled:
            db.prune(symbol)
        hour = now - now % HOUR_MS
        if hour > self.last_funding_hour:
            self.funding.executemany("INSERT OR REPLACE INTO funding_rates (symbol, time, funding_rate, premium) VALUES (?, ?, ?, ?)",
                                     [(s, hour, *sim.funding(s, hour)) for s in self.symbols])
            self.funding.commit()
            self.last_funding_hour = hour
        self.last_tick_ms = now

    def status(self):
        return {"connected": self.connected, "source": "simulated", "url": WS_URL, "symbols": list(self.symbols),
                "intervals": [d.interval for d in self.dbs], "last_tick_ms": self.last_tick_ms, "bbo": bool(self.bbo), "pid": os.getpid()}

    def serve(self, server):
        """Liveness socket: read an optional one-line JSON request ({"op": "status", "symbols": [...]}), answer one JSON line."""
        while not self.stop.is_set():
            try:
                conn, _addr = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(0.5)
                    data = b""
                    while b"\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                try:
                    request = json.loads(data.decode().strip() or "{}")
                except ValueError:
                    request = {}
                wanted = request.get("symbols") if isinstance(request, dict) else None
                if isinstance(wanted, list):
                    with self.lock:
                        self.pending.update(s.upper() for s in wanted if isinstance(s, str) and SYMBOL_RE.match(s))
                try:
                    conn.sendall((json.dumps(self.status()) + "\n").encode())
                except OSError:
                    pass

    def run(self):
        now = now_ms()
        for symbol in sidecar_symbols():
            if SYMBOL_RE.match(symbol) and symbol not in self.symbols:
                self.subscribe(symbol, "AI_QUANT_SIDECAR_SYMBOLS")
        sock_path = sidecar_sock_path()
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        os.makedirs(os.path.dirname(sock_path) or ".", exist_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(sock_path)
        server.listen(16)
        server.settimeout(0.5)
        threading.Thread(target=self.serve, args=(server,), name="status-socket", daemon=True).start()
        if self.bbo:
            self.bbo.start()
        self.connected = True
        log("INFO", f"connected to {WS_URL} (simulated): streaming {','.join(self.symbols)} "
                    f"in {time.time() - now / 1000:.1f}s, tick every {BASE_TICK_SECS / self.speed:.3f}s, status socket {sock_path}")
        period, next_tick, next_drop_log, dropped_logged = BASE_TICK_SECS / self.speed, time.monotonic(), 0.0, 0
        while not self.stop.is_set():
            try:
                self.tick()
            except (sqlite3.Error, OSError) as exc:  # keep streaming; a locked or broken DB is logged loudly
                log("ERROR", f"tick failed: {type(exc).__name__}: {exc}")
            if self.bbo and self.bbo.dropped > dropped_logged and time.monotonic() >= next_drop_log:
                log("WARNING", f"bbo snapshot queue full (max={self.bbo.queue.maxsize}): dropped {self.bbo.dropped - dropped_logged} snapshots")
                dropped_logged, next_drop_log = self.bbo.dropped, time.monotonic() + 10
            next_tick = max(next_tick + period, time.monotonic())
            self.stop.wait(max(0.0, next_tick - time.monotonic()))
        self.connected = False
        server.close()
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        if self.bbo:
            self.bbo.join(timeout=5)
            if self.bbo.dropped > dropped_logged:
                log("WARNING", f"bbo snapshot queue full (max={self.bbo.queue.maxsize}): dropped {self.bbo.dropped - dropped_logged} snapshots")
        for db in self.dbs:
            db.conn.commit()
            db.conn.close()
        self.funding.close()
        log("INFO", f"disconnected from {WS_URL} (shutdown), databases closed")


def main():
    stop = stop_event_on_signals("ws sidecar")
    Sidecar(stop).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
