"""RiskManager as engine/risk.py: kill switch (env + file, sticky, silent), token-bucket rate limits, drawdown kill.

Only the live and dry_live engines have one (engine/daemon.py); paper has none.
"""

import collections
import os
import time

from openclaw_standin.engine_db import log_audit_event


def _env_float(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return float(default)
    try:
        return float(raw.strip())
    except ValueError:
        return float(default)


class TokenBucket:
    def __init__(self, per_min):
        self.capacity = max(0.0, per_min)
        self.refill_per_s = self.capacity / 60.0
        self.tokens, self.last = self.capacity, time.monotonic()

    def allow(self, cost=1.0):
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.last) * self.refill_per_s)
        self.last = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class RiskManager:
    def __init__(self, db_path):
        self.db_path = db_path
        self.kill_mode, self.kill_reason, self.kill_since_s = "off", None, None
        self.kill_file = os.environ.get("AI_QUANT_KILL_SWITCH_FILE", "")
        self.entry_bucket = TokenBucket(max(1.0, _env_float("AI_QUANT_RISK_MAX_ENTRY_ORDERS_PER_MIN", 30.0)))
        self.entry_symbol_per_min = max(1.0, _env_float("AI_QUANT_RISK_MAX_ENTRY_ORDERS_PER_MIN_PER_SYMBOL", 6.0))
        self.entry_symbol_events = collections.defaultdict(collections.deque)
        self.exit_bucket = TokenBucket(max(1.0, _env_float("AI_QUANT_RISK_MAX_EXIT_ORDERS_PER_MIN", 120.0)))
        self.cancel_bucket = TokenBucket(max(1.0, _env_float("AI_QUANT_RISK_MAX_CANCELS_PER_MIN", 120.0)))
        self.notional_window_s = max(10.0, _env_float("AI_QUANT_RISK_NOTIONAL_WINDOW_S", 60.0))
        self.max_notional = max(0.0, _env_float("AI_QUANT_RISK_MAX_NOTIONAL_PER_WINDOW_USD", 0.0))
        self.notional_events = collections.deque()
        raw_gap = os.environ.get("AI_QUANT_RISK_MIN_ORDER_GAP_MS")
        try:
            self.min_order_gap_ms = 0 if raw_gap is None else int(max(0.0, float(raw_gap.strip())))
        except ValueError:
            self.min_order_gap_ms = 0
        self.last_order_ts_ms = None
        self.max_drawdown_pct = max(0.0, _env_float("AI_QUANT_RISK_MAX_DRAWDOWN_PCT", 0.0))
        self.equity_peak = None

    def kill(self, mode="close_only", reason="manual"):
        mode = str(mode or "close_only").strip().lower()
        self.kill_mode = mode if mode in ("close_only", "halt_all") else "close_only"
        self.kill_reason, self.kill_since_s = str(reason or "manual"), time.time()

    def refresh(self, equity=None):
        """Env first, then the file; each hit calls kill() (so the last one wins). Nothing ever clears the kill."""
        raw = os.environ.get("AI_QUANT_KILL_SWITCH", "").strip().lower()
        if raw in ("1", "true", "yes", "y", "on", "close_only", "close"):
            self.kill("close_only", "env")
        elif raw in ("halt", "halt_all", "2", "stop", "full"):
            self.kill("halt_all", "env")
        kill_file = os.environ.get("AI_QUANT_KILL_SWITCH_FILE", "").strip() or self.kill_file
        if kill_file and os.path.exists(kill_file):
            mode = "close_only"
            try:
                with open(kill_file, encoding="utf-8") as handle:
                    text = (handle.read() or "").strip().lower()
                if "halt" in text or "full" in text:
                    mode = "halt_all"
            except (OSError, UnicodeDecodeError):
                pass
            self.kill(mode, f"file:{kill_file}")
        self._refresh_drawdown(equity)

    def _refresh_drawdown(self, equity):
        if self.max_drawdown_pct <= 0 or equity is None or equity <= 0:
            return
        if self.equity_peak is None or equity > self.equity_peak:
            self.equity_peak = equity
            return
        dd = max(0.0, (self.equity_peak - equity) / self.equity_peak) * 100.0
        if dd >= self.max_drawdown_pct:
            self.kill("close_only", f"drawdown:{dd:.2f}%")
            log_audit_event(self.db_path, "SYSTEM", "RISK_KILL_DRAWDOWN", level="warn",
                            data={"drawdown_pct": dd, "equity": float(equity), "peak": float(self.equity_peak)})

    def allow_order(self, *, symbol, action, notional_usd, intent_id=None, reduce_risk=False):
        """-> (allowed, reason). Blocks write a RISK_BLOCK audit event."""
        sym, ac = str(symbol or "").strip().upper(), str(action or "").strip().upper()
        if self.kill_mode == "halt_all":
            return self._block("halt_all", sym, ac, intent_id)
        if self.kill_mode == "close_only" and not reduce_risk and ac in ("OPEN", "ADD"):
            return self._block("close_only", sym, ac, intent_id)
        if self.min_order_gap_ms > 0 and self.last_order_ts_ms is not None and int(time.time() * 1000) - self.last_order_ts_ms < self.min_order_gap_ms:
            return self._block("min_order_gap", sym, ac, intent_id)
        if not reduce_risk and ac in ("OPEN", "ADD"):
            if not self.entry_bucket.allow():
                return self._block("entry_rate", sym, ac, intent_id)
            events = self._prune(self.entry_symbol_events[sym], 60.0)
            if sym and len(events) >= int(self.entry_symbol_per_min):
                return self._block("entry_rate_symbol", sym, ac, intent_id)
            if self.max_notional > 0:
                self._prune_notional()
                if sum(n for _, n in self.notional_events) + abs(notional_usd or 0.0) > self.max_notional:
                    return self._block("entry_notional_rate", sym, ac, intent_id)
        if (reduce_risk or ac in ("CLOSE", "REDUCE")) and not self.exit_bucket.allow():
            return self._block("exit_rate", sym, ac, intent_id)
        return True, "ok"

    def allow_cancel(self, *, symbol, exchange_order_id=None):
        if not self.cancel_bucket.allow():
            return self._block("cancel_rate", str(symbol or "").upper(), "CANCEL", exchange_order_id)
        return True, "ok"

    def note_order_sent(self, *, symbol, action, notional_usd, reduce_risk=False):
        self.last_order_ts_ms = int(time.time() * 1000)
        sym, ac = str(symbol or "").strip().upper(), str(action or "").strip().upper()
        if not reduce_risk and ac in ("OPEN", "ADD"):
            self.entry_symbol_events[sym].append(time.time())
            self._prune(self.entry_symbol_events[sym], 60.0)
            if self.max_notional > 0:
                self.notional_events.append((time.time(), abs(notional_usd or 0.0)))
                self._prune_notional()

    @staticmethod
    def _prune(events, window_s):
        cutoff = time.time() - window_s
        while events and events[0] < cutoff:
            events.popleft()
        return events

    def _prune_notional(self):
        cutoff = time.time() - self.notional_window_s
        while self.notional_events and self.notional_events[0][0] < cutoff:
            self.notional_events.popleft()

    def _block(self, code, sym, action, intent_id):
        reason = f"{code}:{self.kill_reason or 'manual'}" if code in ("close_only", "halt_all") else code
        log_audit_event(self.db_path, sym or "SYSTEM", "RISK_BLOCK", level="warn",
                        data={"code": code, "action": action, "intent_id": intent_id, "kill_mode": self.kill_mode, "kill_reason": self.kill_reason})
        return False, reason
