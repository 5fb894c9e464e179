#!/usr/bin/env python3
"""Trader stand-in: python3 daemons/trader.py --mode paper|live (units openclaw-ai-quant-trader / openclaw-ai-quant-live).

Reads candles of engine.interval (read-only) written by the WS sidecar, opens positions on the EMA-cross signal and closes
them after a few loops, so orders flow continually. Both modes fill orders locally (no exchange); they differ in the DB.
Kill switch (env + polled file), rate limits and drawdown trip: openclaw_standin.risk. Config hot-reload by mtime polling.
"""

import argparse
import os
import sqlite3
import sys
import time

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin import config, schema, strategy
from openclaw_standin.common import (
    DEFAULT_CONFIG,
    INTERVALS,
    TRADING_DBS,
    candles_db_path,
    connect_ro,
    connect_rw,
    env_num,
    env_str,
    log,
    now_ms,
    query_sidecar,
    sidecar_sock_path,
    stop_event_on_signals,
)
from openclaw_standin.risk import KillSwitch, RateLimits


class Trader:
    def __init__(self, mode, stop):
        self.mode, self.stop = mode, stop
        self.db_path = env_str("AI_QUANT_TRADING_DB") or TRADING_DBS[mode]
        self.cfg_path = env_str("AI_QUANT_CONFIG_PATH") or DEFAULT_CONFIG
        self.loop_secs = env_num("AI_QUANT_TRADER_LOOP_SECS", 1.0, float, 0.05)
        self.poll_secs = env_num("AI_QUANT_KILL_SWITCH_POLL_SECS", 1.0, float, 0.05)
        self.hold_loops = env_num("AI_QUANT_TRADER_HOLD_LOOPS", 10, int, 1)
        self.sock = sidecar_sock_path()
        self.cfg, self.cfg_hash = config.load(self.cfg_path)
        self.cfg_sig = self._sig()
        self.interval = self.cfg["engine"]["interval"]
        log("INFO", f"Config loaded: {self.cfg_path} (engine.interval={self.interval}, hash={self.cfg_hash}, "
                    f"symbols={','.join(self.cfg['engine']['symbols'])})")
        self.db = connect_rw(self.db_path)
        self.db.executescript(schema.TRADING)
        start_balance = env_num("AI_QUANT_SIM_START_BALANCE_USD", 10_000.0, float, 1.0)
        self.db.execute("INSERT OR IGNORE INTO account VALUES (1, ?, ?, ?, 'off', ?)", (start_balance, start_balance, start_balance, now_ms()))
        self.db.commit()
        self.balance, previous_kill = self.db.execute("SELECT balance_usd, kill_mode FROM account WHERE id = 1").fetchone()
        self.peak = self.equity = self.balance  # drawdown is measured from the equity peak since this process started
        self.limits = RateLimits()
        self.limits.seed(self.db.execute("SELECT ts_ms, kind, symbol, qty * price FROM orders WHERE ts_ms > ? ORDER BY ts_ms",
                                         (now_ms() - 60_000,)).fetchall())
        log("INFO", f"risk limits: {self.limits.describe()}")
        self.kill = KillSwitch(self._record_kill)
        self.kill.startup(previous_kill)
        self.sidecar_ok, self.blocked, self.stale = None, {}, set()

    def _sig(self):
        try:
            st = os.stat(self.cfg_path)
            return st.st_mtime_ns, st.st_ino, st.st_size
        except OSError:
            return None

    def _record_kill(self, previous, mode, source):
        self.db.execute("INSERT INTO kill_switch_events (ts_ms, previous, mode, source) VALUES (?, ?, ?, ?)", (now_ms(), previous, mode, source))
        self.db.execute("UPDATE account SET kill_mode = ?, updated_ts_ms = ? WHERE id = 1", (mode, now_ms()))
        self.db.commit()

    def reload_config(self):
        sig = self._sig()
        if sig == self.cfg_sig:
            return
        self.cfg_sig = sig
        try:
            cfg, digest = config.load(self.cfg_path)
        except config.ConfigError as exc:
            log("ERROR", f"Config reload failed: {exc}; keeping previous config (hash={self.cfg_hash})")
            return
        new_interval = cfg["engine"]["interval"]
        if new_interval != self.interval:
            log("WARNING", f"engine.interval changed {self.interval} -> {new_interval}: restart required to apply; keeping {self.interval}")
            cfg["engine"]["interval"] = self.interval
        log("INFO", f"Config reloaded: {self.cfg_path} (hash={digest}, previous={self.cfg_hash}, engine.interval={self.interval})")
        self.cfg, self.cfg_hash = cfg, digest

    def check_sidecar(self):
        try:
            status = query_sidecar(self.sock, {"op": "status", "client": f"trader-{self.mode}", "symbols": self.cfg["engine"]["symbols"]})
            ok = isinstance(status, dict) and status.get("connected") is True
            why = "sidecar reports disconnected"
        except (OSError, ValueError) as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            log("ERROR", f"ws sidecar unreachable at {self.sock}: market data unavailable, no new entries ({why})")
        elif self.sidecar_ok is False:
            log("INFO", f"ws sidecar reachable again at {self.sock} (connected)")
        self.sidecar_ok = ok
        return ok

    def market(self, symbols):
        """symbol -> (closes, latest close, latest bar t) from candles_<engine.interval>.db, read-only."""
        out, bars = {}, self.cfg["engine"]["lookback_bars"]
        try:
            conn = connect_ro(candles_db_path(self.interval))
            try:
                for sym in symbols:
                    rows = conn.execute("SELECT t, c FROM candles WHERE symbol = ? AND interval = ? ORDER BY t DESC LIMIT ?",
                                        (sym, self.interval, bars)).fetchall()
                    if rows:
                        out[sym] = ([r["c"] for r in reversed(rows)], rows[0]["c"], rows[0]["t"])
            finally:
                conn.close()
        except (OSError, sqlite3.Error) as exc:
            log("ERROR", f"candles DB {candles_db_path(self.interval)} unavailable: {exc}")
        return out

    def allowed(self, kind, symbol, notional, now):
        reason = self.limits.check(kind, symbol, notional, now)
        if reason and self.blocked.get((kind, symbol)) != reason:
            log("WARNING", f"risk: {kind} {symbol} blocked by {reason}")
        self.blocked[(kind, symbol)] = reason
        return reason is None

    def place(self, kind, symbol, side, qty, px, *, now):
        cur = self.db.execute("INSERT INTO orders (ts_ms, symbol, side, kind, qty, price, status) VALUES (?, ?, ?, ?, ?, ?, 'open')",
                              (now, symbol, side, kind, qty, px))
        self.limits.note(kind, symbol, qty * px, now)
        log("INFO", f"order #{cur.lastrowid} placed: {kind} {side} {qty:.6g} {symbol} @ {px} ({self.mode})")

    def process_open_orders(self, now, mode):
        """Cancel what the kill mode forbids (subject to the cancel limit); fill the rest at their price."""
        fee_rate = self.cfg["risk"]["fee_bps"] / 10_000
        orders = self.db.execute("SELECT id, symbol, side, kind, qty, price FROM orders WHERE status = 'open' ORDER BY id").fetchall()
        for oid, sym, side, kind, qty, px in orders:
            if mode == "halt_all" or (mode == "close_only" and kind == "entry"):
                if self.allowed("cancel", sym, 0.0, now):
                    self.db.execute("UPDATE orders SET status = 'cancelled' WHERE id = ?", (oid,))
                    self.limits.note("cancel", sym, 0.0, now)
                    log("INFO", f"order #{oid} cancelled: {kind} {side} {sym} (kill switch {mode})")
                continue
            fee, pnl = qty * px * fee_rate, 0.0
            if kind == "entry":
                self.db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?)", (sym, "long" if side == "buy" else "short", qty, px, now))
            else:
                pos = self.db.execute("SELECT side, qty, entry_price FROM positions WHERE symbol = ?", (sym,)).fetchone()
                if pos:
                    pnl = (px - pos[2]) * pos[1] * (1 if pos[0] == "long" else -1)
                self.db.execute("DELETE FROM positions WHERE symbol = ?", (sym,))
            self.balance += pnl - fee
            self.db.execute("UPDATE orders SET status = 'filled' WHERE id = ?", (oid,))
            self.db.execute("INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (oid, now, sym, side, qty, px, fee, pnl))
            log("INFO", f"order #{oid} filled: {kind} {side} {qty:.6g} {sym} @ {px} fee={fee:.4f} pnl={pnl:.2f}")

    def loop_once(self):
        self.reload_config()
        now, cfg = now_ms(), self.cfg
        sidecar_ok = self.check_sidecar()
        positions = {r[0]: r[1:] for r in self.db.execute("SELECT symbol, side, qty, entry_price, opened_ts_ms FROM positions")}
        symbols = list(dict.fromkeys(cfg["engine"]["symbols"] + sorted(positions)))
        market = self.market(symbols)
        self.equity = self.balance + sum((market[s][1] - p[2]) * p[1] * (1 if p[0] == "long" else -1) for s, p in positions.items() if s in market)
        self.peak = max(self.peak, self.equity)
        drawdown = (self.peak - self.equity) / self.peak * 100 if self.peak > 0 else 0.0
        if self.limits.max_drawdown_pct and drawdown >= self.limits.max_drawdown_pct:
            self.kill.trip(f"max_drawdown {drawdown:.3f}% >= {self.limits.max_drawdown_pct}%")
        mode = self.kill.update()
        self.process_open_orders(now, mode)
        pending = {r[0] for r in self.db.execute("SELECT symbol FROM orders WHERE status = 'open'")}
        positions = {r[0]: r[1:] for r in self.db.execute("SELECT symbol, side, qty, entry_price, opened_ts_ms FROM positions")}
        if mode != "halt_all":
            for sym, (side, qty, entry, opened) in positions.items():
                if sym in pending or sym not in market:
                    continue
                px = market[sym][1]
                move = (px / entry - 1) * 100 * (1 if side == "long" else -1)
                hold_ms = (self.hold_loops + (symbols.index(sym) if sym in symbols else 0)) * self.loop_secs * 1000
                if (now - opened >= hold_ms or move <= -cfg["risk"]["stop_loss_pct"] or move >= cfg["risk"]["take_profit_pct"]) \
                        and self.allowed("exit", sym, qty * px, now):
                    self.place("exit", sym, "sell" if side == "long" else "buy", qty, px, now=now)
                    pending.add(sym)
        if mode == "off" and sidecar_ok:
            self.enter(now, market, positions, pending)
        self.db.execute("UPDATE account SET balance_usd = ?, equity_usd = ?, peak_equity_usd = ?, kill_mode = ?, updated_ts_ms = ? WHERE id = 1",
                        (self.balance, self.equity, self.peak, mode, now))
        self.db.commit()

    def enter(self, now, market, positions, pending):
        cfg, trade = self.cfg, self.cfg["trade"]
        slots = trade["max_open_positions"] - len(positions) - len(pending - set(positions))
        for sym in cfg["engine"]["symbols"]:
            if slots <= 0 or sym in positions or sym in pending:
                continue
            if sym not in market or now - market[sym][2] > 2 * INTERVALS[self.interval]:
                if sym not in self.stale:
                    log("WARNING", f"no fresh {self.interval} candles for {sym}: skipping entries")
                self.stale.add(sym)
                continue
            self.stale.discard(sym)
            closes, px = market[sym][0], market[sym][1]
            fast, slow, rsi = strategy.indicators(closes, cfg)
            side = strategy.entry_side(fast[-1], slow[-1], rsi[-1], cfg)
            qty = float(f"{self.equity * trade['size_pct'] / 100 * trade['leverage'] / px:.5g}")
            if side and qty > 0 and self.allowed("entry", sym, qty * px, now):
                self.place("entry", sym, "buy" if side == "long" else "sell", qty, px, now=now)
                slots -= 1

    def run(self):
        log("INFO", f"trader running: mode={self.mode} db={self.db_path} loop={self.loop_secs}s switch_poll={self.poll_secs}s "
                    f"switch_file={self.kill.path or '-'} sidecar_sock={self.sock}" + (" (live orders are simulated locally)" if self.mode == "live" else ""))
        next_poll = next_loop = time.monotonic()
        while not self.stop.is_set():
            if time.monotonic() >= next_poll:
                self.kill.poll_file()
                self.kill.update()
                next_poll = max(next_poll + self.poll_secs, time.monotonic())
            if time.monotonic() >= next_loop:
                try:
                    self.loop_once()
                except (sqlite3.Error, OSError) as exc:  # one failed loop (e.g. a locked DB) must not kill the daemon
                    self.db.rollback()
                    log("ERROR", f"trading loop failed: {type(exc).__name__}: {exc}")
                next_loop = max(next_loop + self.loop_secs, time.monotonic())
            self.stop.wait(max(0.0, min(next_poll, next_loop) - time.monotonic()))
        self.db.close()
        log("INFO", f"trader stopped (mode={self.mode})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(TRADING_DBS), required=True)
    args = parser.parse_args()
    stop = stop_event_on_signals(f"trader ({args.mode})")
    try:
        trader = Trader(args.mode, stop)
    except config.ConfigError as exc:
        log("ERROR", f"Config load failed: {exc}")
        return 1
    trader.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
