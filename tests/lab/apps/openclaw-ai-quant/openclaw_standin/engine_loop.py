"""The stand-in engine: UnifiedEngine.run_forever (engine/core.py), the mode plugins (engine/daemon.py), and traders that
simulate execution locally (the real PaperTrader is strategy/mei_alpha_v1.py, the real LiveTrader is live/trader.py).

Every line is print()ed like the real engine (stdout, or a traceback); the stdio tee stores them in runtime_logs.
"""

import os
import sqlite3
import time
import traceback
import uuid

from openclaw_standin import schema, strategy
from openclaw_standin.common import candles_db_path, connect_ro, connect_rw, env_flag, env_num, now_ms
from openclaw_standin.engine_db import log_audit_event
from openclaw_standin.risk import RiskManager
from openclaw_standin.sidecar_client import SidecarClient

# strategy/mei_alpha_v1.py _FALLBACK_SYMBOLS: the watchlist when AI_QUANT_SYMBOLS is unset and the exchange's top-N
# cannot be fetched (the stand-in never fetches it).
FALLBACK_SYMBOLS = ["BTC", "ETH", "SOL", "HYPE", "XRP", "ARB", "OP", "SUI", "AVAX", "APT", "LINK", "NEAR", "LTC", "BCH", "XLM", "ADA",
                    "DOT", "STX", "POL", "TIA"]
CONF_RANK = {"low": 0, "medium": 1, "high": 2}


def interval_to_ms(interval):
    s = str(interval or "").strip().lower()
    try:
        if s.endswith("m"):
            return int(float(s[:-1]) * 60_000)
        if s.endswith("h"):
            return int(float(s[:-1]) * 3_600_000)
        if s.endswith("d"):
            return int(float(s[:-1]) * 86_400_000)
        return int(float(s) * 1000) if s else 0
    except ValueError:
        return 0


def parse_symbols(raw):
    out = []
    for part in str(raw or "").replace("\n", ",").split(","):
        sym = part.strip().upper()
        if sym and sym not in out:
            out.append(sym)
    return out


class Market:
    """MarketDataHub over the sidecar: RPC for health/mids/readiness, candles read straight from the SQLite files (ro)."""

    def __init__(self):
        self.ws = SidecarClient()
        self.stale_mid_s = env_num("AI_QUANT_WS_STALE_MIDS_S", 60.0)
        self.stale_candle_s = env_num("AI_QUANT_WS_STALE_CANDLES_S", 7200.0)

    def health(self, symbols, interval):
        h = self.ws.health(symbols, interval)  # raises when the sidecar is unreachable, like the real engine
        mids_age, candle_age = h.get("mids_age_s"), h.get("candle_age_s")
        connected = (mids_age is not None and mids_age < self.stale_mid_s * 10) or (candle_age is not None and candle_age < self.stale_candle_s * 10)
        return {"thread_alive": self.ws.status()["connected"], "connected": connected, "mids_age_s": mids_age, "candle_age_s": candle_age,
                "bbo_age_s": h.get("bbo_age_s")}

    def closed_bars(self, symbol, interval, rows, grace_ms):
        """The newest `rows` closed bars [(t, t_close, o, h, l, c)] oldest first, or None when fewer exist."""
        try:
            conn = connect_ro(candles_db_path(interval))
            try:
                got = conn.execute("SELECT t, t_close, o, h, l, c FROM candles WHERE symbol = ? AND interval = ? ORDER BY t DESC LIMIT ?",
                                   (symbol, interval, rows + 1)).fetchall()
            finally:
                conn.close()
        except (OSError, sqlite3.Error):
            return None
        bars = [tuple(r) for r in reversed(got)]
        if bars and bars[-1][1] is not None and now_ms() < bars[-1][1] - grace_ms:
            bars = bars[:-1]  # the forming bar (signal_on_candle_close)
        bars = bars[-rows:]
        return bars if len(bars) >= rows else None

    def price(self, symbol, interval, fallback):
        """Candle close of `interval` when it is a sub-interval, else the sidecar mid (max age 10 s), else `fallback`."""
        if interval:
            bars = self.closed_bars(symbol, interval, 1, 10**12)  # newest row, forming or not
            if bars:
                return bars[-1][5]
        try:
            mid = self.ws.get_mid(symbol, max_age_s=10.0)
        except Exception:  # noqa: BLE001
            mid = None
        return mid if mid is not None else fallback


class SimTrader:
    """Local execution shared by both traders: positions/orders/fills/account in the trading DB."""

    def __init__(self, db_path, mode, strategy_manager):
        self.db_path, self.mode, self.sm = db_path, mode, strategy_manager
        self.db = connect_rw(db_path, timeout=30)
        schema.migrate_trading(self.db)
        self.db.executescript(schema.TRADING)
        start = env_num("AI_QUANT_PAPER_BALANCE", 10_000.0) if mode == "paper" else env_num("AI_QUANT_SIM_START_BALANCE_USD", 10_000.0)
        self.db.execute("INSERT OR IGNORE INTO account (id, balance_usd, equity_usd, peak_equity_usd, updated_ts_ms) VALUES (1, ?, ?, ?, ?)",
                        (start, start, start, now_ms()))
        self.db.commit()
        self.balance = self.db.execute("SELECT balance_usd FROM account WHERE id = 1").fetchone()[0]
        self.fee_rate = env_num("HL_PERP_TAKER_FEE_RATE", 0.00045)
        self.hold_loops = env_num("AI_QUANT_TRADER_HOLD_LOOPS", 10, int, 1)
        self.hold_ms = 0  # set by the engine from the loop cadence
        self.entry_atr = {}  # symbol -> ATR at entry (in memory: after a restart, open positions exit by time only)
        self.loops = 0
        self.marks = {}

    @property
    def positions(self):
        return {r[0]: {"type": r[1].upper(), "size": r[2], "entry_price": r[3], "opened_ms": r[4]}
                for r in self.db.execute("SELECT symbol, side, qty, entry_price, opened_ts_ms FROM positions ORDER BY symbol")}

    def equity(self):
        total = self.balance
        for sym, pos in self.positions.items():
            px = self.marks.get(sym, pos["entry_price"])
            total += (px - pos["entry_price"]) * pos["size"] * (1 if pos["type"] == "LONG" else -1)
        return total

    def save_account(self):
        equity = self.equity()
        peak = max(equity, self.db.execute("SELECT peak_equity_usd FROM account WHERE id = 1").fetchone()[0])
        self.db.execute("UPDATE account SET balance_usd = ?, equity_usd = ?, peak_equity_usd = ?, updated_ts_ms = ? WHERE id = 1",
                        (self.balance, equity, peak, now_ms()))
        self.db.commit()

    def sizing(self, symbol, price):
        trade = self.sm.get_config(symbol, self.mode)["trade"]
        leverage = float(trade["leverage"])
        margin = self.equity() * float(trade["allocation_pct"])
        size = float(f"{margin * leverage / price:.5g}") if price > 0 else 0.0
        return size, leverage, trade

    def fill_px(self, symbol, side, price):
        slip = float(self.sm.get_config(symbol, self.mode)["trade"]["slippage_bps"]) / 10_000
        return price * (1 + slip) if side == "buy" else price * (1 - slip)

    def record_fill(self, order_id, kind, symbol, side, size, px, atr=0.0):  # noqa: PLR0917 - the real signature
        """Fill an order now: positions, balance (fees + realised PnL), fills. Returns (fee, gross pnl)."""
        now, fee, gross = now_ms(), size * px * self.fee_rate, 0.0
        if kind == "entry":
            self.db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?)", (symbol, "long" if side == "buy" else "short", size, px, now))
            self.entry_atr[symbol] = atr
        else:
            pos = self.db.execute("SELECT side, qty, entry_price FROM positions WHERE symbol = ?", (symbol,)).fetchone()
            if pos:
                gross = (px - pos[2]) * pos[1] * (1 if pos[0] == "long" else -1)
            self.db.execute("DELETE FROM positions WHERE symbol = ?", (symbol,))
        self.balance += gross - fee
        self.db.execute("UPDATE orders SET status = 'filled' WHERE id = ?", (order_id,))
        self.db.execute("INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (order_id, now, symbol, side, size, px, fee, gross))
        self.db.commit()
        return fee, gross

    def new_order(self, kind, symbol, side, size, px):
        cur = self.db.execute("INSERT INTO orders (ts_ms, symbol, side, kind, qty, price, status) VALUES (?, ?, ?, ?, ?, ?, 'open')",
                              (now_ms(), symbol, side, kind, size, px))
        self.db.commit()
        return cur.lastrowid

    def exit_reason(self, symbol, price, pos):
        """Stand-in exits: ATR stop loss / take profit (trade.sl_atr_mult / tp_atr_mult of the entry ATR), or after
        AI_QUANT_TRADER_HOLD_LOOPS engine loops (lab knob, keeps positions cycling)."""
        trade = self.sm.get_config(symbol, self.mode)["trade"]
        atr, side = self.entry_atr.get(symbol) or 0.0, 1 if pos["type"] == "LONG" else -1
        if atr > 0 and (price - pos["entry_price"]) * side <= -float(trade["sl_atr_mult"]) * atr:
            return "Stop Loss"
        if atr > 0 and (price - pos["entry_price"]) * side >= float(trade["tp_atr_mult"]) * atr:
            return "Take Profit"
        if (now_ms() - pos["opened_ms"]) >= self.hold_ms:
            return "Time Exit (lab)"
        return None


class PaperTrader(SimTrader):
    def execute_trade(self, symbol, signal, price, key, confidence, atr=0.0):  # noqa: PLR0917 - the real signature
        pos = self.positions.get(symbol)
        if pos:
            if (pos["type"] == "LONG") != (signal == "BUY"):
                self.close_position(symbol, price, f"Signal Flip ({confidence})")
            return  # same direction: the stand-in does not pyramid
        size, leverage, trade = self.sizing(symbol, price)
        max_open = int(trade["max_open_positions"])
        if len(self.positions) >= max_open:
            print(f"🟡 Skipping {symbol} entry: max_open_positions={max_open} reached")
            return
        side = "buy" if signal == "BUY" else "sell"
        px = self.fill_px(symbol, side, price)
        oid = self.new_order("entry", symbol, side, size, px)
        fee, _ = self.record_fill(oid, "entry", symbol, side, size, px, atr)
        notional = size * px
        print(f"🚀 OPEN {'LONG' if signal == 'BUY' else 'SHORT'} {symbol} px={px:.4f} size={size:.6f} notional~=${notional:.2f} "
              f"lev={leverage:.0f} margin~=${notional / leverage:.2f} fee=${fee:.4f} conf={confidence}")
        log_audit_event(self.db_path, symbol, "ENTRY_OPEN", data={"signal": signal, "confidence": confidence, "px": px, "size": size,
                                                                 "notional": notional, "leverage": leverage, "margin_used": notional / leverage,
                                                                 "fee_usd": fee, "fee_rate": self.fee_rate, "reversed_entry": False})
        self.save_account()

    def check_exit_conditions(self, symbol, price):
        pos = self.positions.get(symbol)
        reason = self.exit_reason(symbol, price, pos) if pos else None
        if reason:
            self.close_position(symbol, price, reason)

    def close_position(self, symbol, price, reason):
        pos = self.positions[symbol]
        side = "sell" if pos["type"] == "LONG" else "buy"
        px = self.fill_px(symbol, side, price)
        oid = self.new_order("exit", symbol, side, pos["size"], px)
        fee, gross = self.record_fill(oid, "exit", symbol, side, pos["size"], px)
        leverage = float(self.sm.get_config(symbol, self.mode)["trade"]["leverage"])
        notional = pos["size"] * px
        print(f"✅ CLOSE {pos['type']} {symbol} px={px:.4f} size={pos['size']:.6f} notional~=${notional:.2f} lev={leverage:.0f} "
              f"Δmargin~=${-notional / leverage:+.2f} | Reason: {reason} | GrossPnL={gross:.2f} | Fee={fee:.4f} | NetPnL={gross - fee:.2f}")
        self.save_account()


class LiveTrader(SimTrader):
    """live: orders are "sent" (an open orders row + an OMS intent) and fill at the next loop's state sync;
    dry_live: never sends (OMS intent WOULD + LIVE_ORDER_WOULD_OPEN), like live/trader.py."""

    risk: RiskManager = None

    def create_intent(self, symbol, action, side, size, notional, leverage, key, reason, confidence):  # noqa: PLR0917 - the real signature
        """engine/oms.py create_intent; OPEN intents dedupe on OPEN:<SYM>:<SIDE>:<decision ms>. -> (intent_id, duplicate)."""
        intent_id, dedupe = uuid.uuid4().hex, (f"OPEN:{symbol}:{side}:{int(key)}" if action == "OPEN" and key is not None else None)
        if dedupe:
            row = self.db.execute("SELECT intent_id FROM oms_intents WHERE dedupe_key = ?", (dedupe,)).fetchone()
            if row:
                return row[0], True
        self.db.execute("INSERT INTO oms_intents (intent_id, created_ts_ms, symbol, action, side, requested_size, requested_notional, leverage, "
                        "decision_ts_ms, strategy_version, strategy_sha1, reason, confidence, status, dedupe_key, client_order_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'NEW', ?, ?)",
                        (intent_id, now_ms(), symbol, action, side, size, notional, leverage, key, self.sm.version, self.sm.overrides_sha1, reason,
                         confidence, dedupe, "0x" + intent_id[:32]))
        self.db.commit()
        return intent_id, False

    def update_intent(self, intent_id, status, error):
        self.db.execute("UPDATE oms_intents SET status = ?, last_error = ? WHERE intent_id = ?", (status, error, intent_id))
        self.db.commit()

    def execute_trade(self, symbol, signal, price, key, confidence, atr=0.0):  # noqa: PLR0917 - the real signature
        pos = self.positions.get(symbol)
        if pos:
            if (pos["type"] == "LONG") != (signal == "BUY"):
                self.close_position(symbol, price, f"Signal Flip ({confidence})")
            return
        if self.db.execute("SELECT 1 FROM orders WHERE symbol = ? AND status = 'open'", (symbol,)).fetchone():
            return  # an entry is already in flight
        size, leverage, trade = self.sizing(symbol, price)
        max_open = int(trade["max_open_positions"])
        if len(self.positions) >= max_open:
            print(f"🟡 LIVE SKIP {symbol} entry: max_open_positions={max_open} reached")
            return
        side = "BUY" if signal == "BUY" else "SELL"
        px = self.fill_px(symbol, side.lower(), price)
        notional, margin = size * px, size * px / leverage
        order = {"kind": "OPEN", "signal": signal, "confidence": confidence, "px_est": px, "size": size, "notional_est": notional, "leverage": leverage}
        intent_id, duplicate = self.create_intent(symbol, "OPEN", side, size, notional, leverage, key, "Signal Trigger", confidence)
        if duplicate:
            log_audit_event(self.db_path, symbol, "OMS_DUPLICATE_OPEN_INTENT", level="warn",
                            data={"signal": signal, "confidence": confidence, "candle_key": str(key)})
            return
        allowed, why = self.risk.allow_order(symbol=symbol, action="OPEN", notional_usd=notional, intent_id=intent_id)
        if not allowed:
            self.update_intent(intent_id, "REJECTED", f"risk blocked: {why}")
            log_audit_event(self.db_path, symbol, "LIVE_ORDER_BLOCKED_RISK", level="warn", data={**order, "reason": why, "oms_intent_id": intent_id})
            return
        word = "LONG" if signal == "BUY" else "SHORT"
        if self.mode == "dry_live":
            self.update_intent(intent_id, "WOULD", "DRY LIVE")
            print(f"🟡 LIVE DRY LIVE: would OPEN {symbol} {word} size={size:.6f} notional~=${notional:.2f} margin~=${margin:.2f} "
                  f"lev={leverage:.0f} conf={confidence}")
            log_audit_event(self.db_path, symbol, "LIVE_ORDER_WOULD_OPEN", data={"why": "DRY LIVE", **order, "margin_est": margin})
            return
        self.new_order("entry", symbol, side.lower(), size, px)
        self.entry_atr[symbol] = atr
        self.risk.note_order_sent(symbol=symbol, action="OPEN", notional_usd=notional)
        self.update_intent(intent_id, "SENT", "")
        print(f"🚀 LIVE ORDER sent: OPEN {word} {symbol} px~={px:.4f} size={size:.6f} notional~=${notional:.2f} lev={leverage:.0f} "
              f"margin~=${margin:.2f} conf={confidence}")
        log_audit_event(self.db_path, symbol, "LIVE_ORDER_SENT_OPEN", data={**order, "margin_est": margin, "oms_intent_id": intent_id})

    def check_exit_conditions(self, symbol, price):
        pos = self.positions.get(symbol)
        reason = self.exit_reason(symbol, price, pos) if pos else None
        if reason and not self.db.execute("SELECT 1 FROM orders WHERE symbol = ? AND status = 'open'", (symbol,)).fetchone():
            self.close_position(symbol, price, reason)

    def close_position(self, symbol, price, reason):
        pos = self.positions[symbol]
        side = "SELL" if pos["type"] == "LONG" else "BUY"
        px = self.fill_px(symbol, side.lower(), price)
        leverage = float(self.sm.get_config(symbol, self.mode)["trade"]["leverage"])
        intent_id, _ = self.create_intent(symbol, "CLOSE", side, pos["size"], pos["size"] * px, leverage, None, reason, "N/A")
        allowed, why = self.risk.allow_order(symbol=symbol, action="CLOSE", notional_usd=pos["size"] * px, intent_id=intent_id, reduce_risk=True)
        if not allowed:
            self.update_intent(intent_id, "REJECTED", f"risk blocked: {why}")
            log_audit_event(self.db_path, symbol, "LIVE_ORDER_BLOCKED_RISK", level="warn",
                            data={"kind": "CLOSE", "size": pos["size"], "leverage": leverage, "reason": why, "oms_intent_id": intent_id})
            return
        if self.mode == "dry_live":  # unreachable in practice: dry_live never opens
            self.update_intent(intent_id, "WOULD", "DRY LIVE")
            return
        self.new_order("exit", symbol, side.lower(), pos["size"], px)
        self.risk.note_order_sent(symbol=symbol, action="CLOSE", notional_usd=pos["size"] * px, reduce_risk=True)
        self.update_intent(intent_id, "SENT", "")
        notional = pos["size"] * px
        print(f"✅ LIVE ORDER sent: CLOSE {pos['type']} {symbol} px~={px:.4f} size={pos['size']:.6f} notional~=${notional:.2f} "
              f"lev={leverage:.0f} margin~=${notional / leverage:.2f} reason={reason}")
        log_audit_event(self.db_path, symbol, "LIVE_ORDER_SENT_EXIT", data={"kind": "CLOSE", "pos_type": pos["type"], "px_est": px,
                                                                           "size": pos["size"], "notional_est": notional, "oms_intent_id": intent_id})

    def ingest_fills(self):
        """The "exchange" fills every open order at its price (stand-in for the WS userFills drained each loop)."""
        open_orders = self.db.execute("SELECT id, kind, symbol, side, qty, price FROM orders WHERE status = 'open' ORDER BY id").fetchall()
        for oid, kind, sym, side, qty, px in open_orders:
            self.record_fill(oid, kind, sym, side, qty, px, self.entry_atr.get(sym, 0.0))
        self.db.execute("UPDATE oms_intents SET status = 'FILLED' WHERE status = 'SENT'")
        self.db.commit()
        self.save_account()


class PaperPlugin:
    def __init__(self, trader):
        self.trader = trader

    def before_iteration(self):
        self.trader.loops += 1

    def after_iteration(self):
        self.trader.save_account()


class LivePlugin:
    """engine/daemon.py LivePlugin: the RiskManager refresh happens at a loop's start once AI_QUANT_LIVE_STATE_SYNC_SECS
    (default 10) have passed since the last one (the first loop always refreshes)."""

    def __init__(self, trader, risk):
        self.trader, self.risk = trader, risk
        trader.risk = risk
        self.last_state_sync = 0.0
        self.state_sync_s = env_num("AI_QUANT_LIVE_STATE_SYNC_SECS", 10.0)

    def before_iteration(self):
        self.trader.loops += 1
        now = time.time()
        if now - self.last_state_sync >= self.state_sync_s:
            self.last_state_sync = now
            try:
                self.risk.refresh(equity=self.trader.equity())
            except Exception:  # noqa: BLE001
                print(f"⚠️ RiskManager.refresh failed\n{traceback.format_exc()}")
        self.trader.ingest_fills()

    def after_iteration(self):
        self.trader.save_account()


class UnifiedEngine:
    def __init__(self, *, trader, strategy_manager, market, interval, lookback_bars, mode, plugin):
        self.trader, self.sm, self.market, self.mode, self.plugin = trader, strategy_manager, market, mode, plugin
        self.lookback_bars = lookback_bars
        self.loops = self.loop_errors = self.ws_restarts = 0
        self.last_heartbeat_s = self.last_ws_restart_s = 0.0
        self.stale_strikes, self.restart_window_started_s, self.restart_count_in_window = 0, 0.0, 0
        self.last_entry_key, self.analysis, self.breadth = {}, {}, None
        self.last_exit_bucket = {}
        ecfg = (self.sm.get_config("__GLOBAL__", mode) or {}).get("engine") or {}
        self.interval = str(ecfg["interval"]).strip().lower() if ecfg.get("interval") is not None else str(interval)
        self.heartbeat_every_s = self.cfg_float(ecfg, "heartbeat_every_s", "HEARTBEAT_SECS", 30.0)
        self.loop_target_s = self.cfg_float(ecfg, "loop_target_s", "LOOP_TARGET_SECS", 5.0)
        self.signal_on_close = self.cfg_bool(ecfg, "signal_on_candle_close", "SIGNAL_ON_CANDLE_CLOSE", True)
        self.grace_ms = int(self.cfg_float(ecfg, "candle_close_grace_ms", "CANDLE_CLOSE_GRACE_MS", 2000))
        self.ws_stale_mids_s = env_num("AI_QUANT_WS_STALE_MIDS_S", 60.0)
        self.ws_stale_candle_s = env_num("AI_QUANT_WS_STALE_CANDLES_S", 7200.0)
        self.ws_stale_bbo_s = env_num("AI_QUANT_WS_STALE_BBO_S", 120.0)
        self.ws_strikes_to_restart = env_num("AI_QUANT_WS_STALE_STRIKES", 2, int)
        self.ws_restart_cooldown_s = env_num("AI_QUANT_WS_RESTART_COOLDOWN_S", 60.0)
        self.ws_restart_window_s = env_num("AI_QUANT_WS_RESTART_WINDOW_S", 600.0)
        self.ws_restart_max = env_num("AI_QUANT_WS_RESTART_MAX_IN_WINDOW", 5, int)
        self.entry_every_s = env_num("AI_QUANT_SIM_ENTRY_EVERY_S", 0.0)  # lab-only: re-attempt entries every N s
        self.trader.hold_ms = int(self.trader.hold_loops * max(1, int(self.loop_target_s) or 1) * 1000)
        self.refresh_engine_config()

    @staticmethod
    def cfg_float(ecfg, key, env_key, default):
        """engine/core.py _cfg_float: YAML engine.<key>, else env AI_QUANT_<env_key> (when non-empty), else default."""
        if ecfg.get(key) is not None:
            return float(ecfg[key])
        raw = os.environ.get(f"AI_QUANT_{env_key}", "")
        return float(raw) if raw.strip() else default

    @staticmethod
    def cfg_str(ecfg, key, env_key, default):
        if ecfg.get(key) is not None:
            return str(ecfg[key]).strip().lower()
        return str(os.environ.get(f"AI_QUANT_{env_key}", default) or default).strip().lower()

    @staticmethod
    def cfg_bool(ecfg, key, env_key, default):
        value = ecfg.get(key)
        if value is not None:
            return value.lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)
        return env_flag(f"AI_QUANT_{env_key}", default)

    def refresh_engine_config(self):
        """Hot-reloadable: entry_interval / exit_interval (and the cadences derived from them)."""
        ecfg = (self.sm.get_config("__GLOBAL__", self.mode) or {}).get("engine") or {}
        entry_iv = self.cfg_str(ecfg, "entry_interval", "ENTRY_INTERVAL", "")
        if not entry_iv or entry_iv == self.interval:
            self.entry_interval, self.reanalyze_s = self.interval, 0.0
        else:
            self.entry_interval, self.reanalyze_s = entry_iv, interval_to_ms(entry_iv) / 1000.0
        exit_iv = self.cfg_str(ecfg, "exit_interval", "EXIT_PRICE_SOURCE", "mid").replace("_candle", "")
        self.exit_interval = exit_iv
        if exit_iv and exit_iv != "mid":
            self.exit_reanalyze_s = interval_to_ms(exit_iv) / 1000.0
        else:
            self.exit_reanalyze_s = self.reanalyze_s

    def exit_due(self, symbol):
        if self.exit_reanalyze_s <= 0:
            return False
        bucket = int(time.time()) // int(self.exit_reanalyze_s)
        if bucket != self.last_exit_bucket.get(symbol, -1):
            self.last_exit_bucket[symbol] = bucket
            return True
        return False

    def watchlist(self):
        raw = os.environ.get("AI_QUANT_SYMBOLS", "").strip()
        symbols = parse_symbols(raw) if raw else list(FALLBACK_SYMBOLS)
        exclude = (self.sm.get_config("__GLOBAL__", self.mode) or {}).get("watchlist_exclude") or []
        if isinstance(exclude, list) and exclude:
            drop = {str(s).upper() for s in exclude if str(s).strip()}
            symbols = [s for s in symbols if s.upper() not in drop]
        return symbols

    def ws_is_stale(self, symbols):
        h = self.market.ws.health(symbols, self.interval)
        mids, candle, bbo = h.get("mids_age_s"), h.get("candle_age_s"), h.get("bbo_age_s")
        if mids is None:
            return True, "mids_age_s is None"
        if float(mids) > self.ws_stale_mids_s:
            return True, f"mids_age_s={float(mids):.1f}s"
        if candle is not None and float(candle) > self.ws_stale_candle_s:
            return True, f"candle_age_s={float(candle):.1f}s"
        if self.ws_stale_bbo_s > 0 and bbo is not None and float(bbo) > self.ws_stale_bbo_s:
            return True, f"bbo_age_s={float(bbo):.1f}s"
        return False, "ok"

    def maybe_restart_ws(self, symbols):
        stale, reason = self.ws_is_stale(symbols)
        self.stale_strikes = self.stale_strikes + 1 if stale else 0
        if self.stale_strikes < self.ws_strikes_to_restart:
            return
        now = time.time()
        if self.last_ws_restart_s and now - self.last_ws_restart_s < self.ws_restart_cooldown_s:
            return
        if not self.restart_window_started_s or now - self.restart_window_started_s > self.ws_restart_window_s:
            self.restart_window_started_s, self.restart_count_in_window = now, 0
        self.restart_count_in_window += 1
        self.last_ws_restart_s = now
        print(f"🔄 WS restart. stale_strikes={self.stale_strikes} reason={reason}. "
              f"restart_count_in_window={self.restart_count_in_window}/{self.ws_restart_max}")
        self.stale_strikes = 0
        self.ws_restarts += 1
        try:
            self.market.ws.rpc("restart", {})
        except Exception:  # noqa: BLE001 - best effort, like the real client
            pass
        if self.restart_count_in_window >= self.ws_restart_max:
            raise SystemExit(f"Too many WS restarts within {self.ws_restart_window_s:.0f}s window. Exiting for supervisor restart.")

    def entry_key(self, bars):
        if self.entry_every_s > 0:
            return int(time.time() // self.entry_every_s * self.entry_every_s * 1000)
        return int(bars[-1][1]) if self.signal_on_close else int(bars[-1][0])

    def iteration(self):
        self.sm.maybe_reload()
        self.refresh_engine_config()
        self.plugin.before_iteration()
        watchlist = self.watchlist()
        watch_set = set(watchlist)
        positions = self.trader.positions
        active = list(dict.fromkeys(["BTC", *watchlist, *positions]))
        try:
            self.market.ws.ensure_started(active, self.interval, self.lookback_bars + 50)
        except Exception:  # noqa: BLE001, S110 - the real engine ignores this too
            pass
        try:
            self.maybe_restart_ws(active)
        except SystemExit:
            raise
        except Exception:  # noqa: BLE001
            print(f"⚠️ WS health check failed\n{traceback.format_exc()}")
        pos_n = tot = 0
        for sym in watch_set:
            now_series = (self.analysis.get(sym) or {}).get("now")
            if now_series and now_series["EMA_fast"] > 0 and now_series["EMA_slow"] > 0:
                tot += 1
                pos_n += now_series["EMA_fast"] > now_series["EMA_slow"]
        self.breadth = pos_n / tot * 100.0 if tot else None
        candidates = []
        for sym in active:
            try:
                pos_open, cfg = sym in positions, self.sm.get_config(sym, self.mode)
                bars = self.market.closed_bars(sym, self.interval, self.lookback_bars, self.grace_ms if self.signal_on_close else 10**12)
                if bars is None:
                    continue
                sig, conf, now_series = strategy.analyze(bars, cfg)
                self.analysis[sym] = {"key": bars[-1][1], "sig": sig, "now": now_series}
                self.trader.marks[sym] = now_series["Close"]
                if pos_open and self.exit_due(sym):
                    price = self.market.price(sym, self.exit_interval if self.exit_interval != "mid" else "", now_series["Close"])
                    self.trader.marks[sym] = price
                    self.trader.check_exit_conditions(sym, price)
                if sym not in watch_set or sig == "NEUTRAL":
                    continue
                key = self.entry_key(bars)
                if self.last_entry_key.get(sym) == key:
                    continue
                candidates.append((sym, sig, conf, key, now_series))
            except Exception:  # noqa: BLE001
                print(f"⚠️ Engine symbol error: {sym}\n{traceback.format_exc()}")
        candidates.sort(key=lambda c: c[0])
        candidates.sort(key=lambda c: CONF_RANK.get(c[2], 0) * 100, reverse=True)
        for sym, sig, conf, key, now_series in candidates:
            try:
                sub = self.entry_interval if self.entry_interval not in (self.interval, "mid") else ""
                price = self.market.price(sym, sub, now_series["Close"])
                self.last_entry_key[sym] = key
                self.trader.execute_trade(sym, sig, price, key, conf, atr=now_series["ATR"] or 0.0)
            except Exception:  # noqa: BLE001
                print(f"⚠️ Engine ranked-entry error: {sym}\n{traceback.format_exc()}")
        self.plugin.after_iteration()
        return active

    def heartbeat(self, active, loop_start):
        h = self.market.health(active, self.interval)
        breadth = f"{self.breadth:.1f}%" if self.breadth is not None else "n/a"
        print(f"🫀 engine ok. loops={self.loops} errors={self.loop_errors} symbols={len(active)} open_pos={len(self.trader.positions)} "
              f"loop={time.time() - loop_start:.2f}s ws_connected={h.get('connected')} ws_thread_alive={h.get('thread_alive')} "
              f"ws_restarts={self.ws_restarts} signal_on_close={int(self.signal_on_close)} entry_iv={self.entry_interval} "
              f"exit_iv={self.exit_interval} reanalyze_s={self.reanalyze_s:.0f} exit_reanalyze_s={self.exit_reanalyze_s:.0f} "
              f"breadth={breadth} auto_rev=OFF strategy_sha1={self.sm.overrides_sha1[:8]} version={self.sm.version or 'n/a'}")
        self.last_heartbeat_s = time.time()

    def run_forever(self):
        while True:
            loop_start = time.time()
            self.loops += 1
            try:
                active = self.iteration()
                if time.time() - self.last_heartbeat_s >= self.heartbeat_every_s:
                    self.heartbeat(active, loop_start)
            except SystemExit:
                raise
            except Exception:  # noqa: BLE001
                self.loop_errors += 1
                print(f"🔥 Engine loop error\n{traceback.format_exc()}")
            finally:
                now = time.time()
                step = int(self.loop_target_s) or 1
                time.sleep(max(0.1, ((int(now) // step) + 1) * step - now))
