"""RiskManager pieces of the trader: the kill switch (env + polled file + drawdown trip) and the order rate limits."""

import collections

from openclaw_standin.common import KILL_MODES, env_num, env_str, log

WINDOW_MS = 60_000  # every limit below is per rolling minute (the notional window too)


def _rank(mode):
    return KILL_MODES.index(mode)


class KillSwitch:
    """Effective mode = the most restrictive of env (read at start), file (polled) and risk (drawdown trip, sticky until restart).

    File content, stripped and case-insensitive: close_only | halt_all; file absent -> no file kill; empty or other content ->
    warning, the previous file mode is kept (a half-written file must not lift a kill). Unknown env values fail safe to halt_all.
    """

    def __init__(self, record):
        self.record = record  # callable(previous, mode, source) storing the transition
        self.path = env_str("AI_QUANT_KILL_SWITCH_FILE")
        self.modes = {"env": "off", "file": "off", "risk": "off"}
        self.sources = {"env": "env", "file": f"file:{self.path}", "risk": "risk:max_drawdown"}
        self.bad_content = None
        raw = env_str("AI_QUANT_KILL_SWITCH").lower()
        if raw in ("close_only", "halt_all"):
            self.modes["env"] = raw
        elif raw:
            log("WARNING", f"kill switch: AI_QUANT_KILL_SWITCH={raw!r} is not close_only|halt_all; failing safe to halt_all")
            self.modes["env"] = "halt_all"
        self.poll_file()
        self.mode, self.source = self._effective()

    def _effective(self):
        name = max(self.modes, key=lambda k: _rank(self.modes[k]))
        return self.modes[name], self.sources[name]

    def startup(self, previous):
        """At start: log the mode when a kill is active; record it (and a kill lifted while the trader was down)."""
        if self.mode != "off":
            log("WARNING", f"kill switch: {self.mode} (source={self.source})")
            self.record(previous, self.mode, self.source)
        elif previous != "off":
            log("INFO", f"kill switch: {previous} -> off (source=startup)")
            self.record(previous, "off", "startup")

    def poll_file(self):
        if not self.path:
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                content = handle.read(4096).strip()
        except FileNotFoundError:
            self.modes["file"], self.bad_content = "off", None
            return
        except OSError as exc:
            content = f"<unreadable: {exc.strerror}>"
        if content.lower() in ("close_only", "halt_all"):
            self.modes["file"], self.bad_content = content.lower(), None
        elif content != self.bad_content:
            self.bad_content = content
            what = f"unrecognised content {content[:40]!r}" if content else "empty file"
            log("WARNING", f"kill switch file {self.path}: {what}; keeping file mode {self.modes['file']}")

    def trip(self, reason):
        if self.modes["risk"] != "halt_all":
            self.modes["risk"], self.sources["risk"] = "halt_all", f"risk:{reason}"

    def update(self):
        """Recompute the effective mode; log and record every transition. Returns the mode."""
        new, source = self._effective()
        if new != self.mode:
            if _rank(new) < _rank(self.mode):  # a kill was lifted or relaxed: name the source that changed
                source = self.source
            log("WARNING", f"kill switch: {self.mode} -> {new} (source={source})")
            self.record(self.mode, new, source)
        self.mode, self.source = new, self._effective()[1]
        return self.mode


class RateLimits:
    """AI_QUANT_RISK_* limits over a rolling minute; check() returns the name of the violated limit or None."""

    def __init__(self):
        self.max_entry = env_num("AI_QUANT_RISK_MAX_ENTRY_ORDERS_PER_MIN", 30, int, 0)
        self.max_entry_symbol = env_num("AI_QUANT_RISK_MAX_ENTRY_ORDERS_PER_MIN_PER_SYMBOL", 6, int, 0)
        self.max_exit = env_num("AI_QUANT_RISK_MAX_EXIT_ORDERS_PER_MIN", 120, int, 0)
        self.max_cancel = env_num("AI_QUANT_RISK_MAX_CANCELS_PER_MIN", 120, int, 0)
        self.max_notional = env_num("AI_QUANT_RISK_MAX_NOTIONAL_PER_WINDOW_USD", 0.0, float, 0.0)
        self.min_gap_ms = env_num("AI_QUANT_RISK_MIN_ORDER_GAP_MS", 0, int, 0)
        self.max_drawdown_pct = env_num("AI_QUANT_RISK_MAX_DRAWDOWN_PCT", 0.0, float, 0.0)
        self.events = collections.deque()  # (ts_ms, kind, symbol, notional); kind: entry | exit | cancel
        self.last_order_ms = 0

    def describe(self):
        return (f"entry/min={self.max_entry} entry/min/symbol={self.max_entry_symbol} exit/min={self.max_exit} cancel/min={self.max_cancel} "
                f"notional/window={self.max_notional or 'off'} min_gap_ms={self.min_gap_ms or 'off'} max_drawdown_pct={self.max_drawdown_pct or 'off'}")

    def seed(self, rows):
        for ts_ms, kind, symbol, notional in rows:
            self.events.append((ts_ms, kind, symbol, notional))
            self.last_order_ms = max(self.last_order_ms, ts_ms)

    def check(self, kind, symbol, notional, now):
        while self.events and self.events[0][0] <= now - WINDOW_MS:
            self.events.popleft()
        same = [e for e in self.events if e[1] == kind]
        if kind == "cancel":
            return "max_cancels_per_min" if len(same) >= self.max_cancel else None
        if self.min_gap_ms and now - self.last_order_ms < self.min_gap_ms:
            return "min_order_gap_ms"
        if kind == "exit":
            return "max_exit_orders_per_min" if len(same) >= self.max_exit else None
        if len(same) >= self.max_entry:
            return "max_entry_orders_per_min"
        if sum(1 for e in same if e[2] == symbol) >= self.max_entry_symbol:
            return "max_entry_orders_per_min_per_symbol"
        if self.max_notional and sum(e[3] for e in same) + notional > self.max_notional:
            return "max_notional_per_window_usd"
        return None

    def note(self, kind, symbol, notional, now):
        self.events.append((now, kind, symbol, notional))
        if kind != "cancel":
            self.last_order_ms = now
