"""Unified daemon entrypoint of the stand-in (paper + dry_live + live), as the real engine/daemon.py.

Usage (from the repo root):
  AI_QUANT_MODE=paper python3 -u -m engine.daemon
  AI_QUANT_MODE=dry_live python3 -u -m engine.daemon
  AI_QUANT_MODE=live python3 -u -m engine.daemon
"""

import fcntl
import os

from openclaw_standin.common import trading_db_path
from openclaw_standin.config import StrategyManager
from openclaw_standin.engine_db import install_stdio_logger
from openclaw_standin.engine_loop import LivePlugin, LiveTrader, Market, PaperPlugin, PaperTrader, UnifiedEngine
from openclaw_standin.risk import RiskManager


def _mode():
    return str(os.getenv("AI_QUANT_MODE", "paper") or "paper").strip().lower()


def acquire_lock_or_exit(lock_path):
    """flock(LOCK_EX | LOCK_NB) on the lock file, then write our pid into it; held for the life of the process."""
    lock_file = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - must stay open while the daemon runs
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise SystemExit(f"Another ai-quant daemon is already running (lock held): {lock_path}") from None
    except Exception as exc:  # noqa: BLE001
        lock_file.close()
        raise SystemExit(f"Failed to acquire lock {lock_path}: {exc}") from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    return lock_file


def main():
    mode = _mode()
    db_path = trading_db_path()
    try:
        install_stdio_logger(db_path, mode)
    except Exception:  # noqa: BLE001, S110 - the real daemon runs on without the tee too
        pass
    default_lock_name = "ai_quant_paper.lock" if mode == "paper" else "ai_quant_live.lock"
    lock_path = os.getenv("AI_QUANT_LOCK_PATH", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", default_lock_name))
    _lock = acquire_lock_or_exit(lock_path)
    strategy_manager = StrategyManager()
    market = Market()
    if mode == "paper":
        trader = PaperTrader(db_path, mode, strategy_manager)
        plugin = PaperPlugin(trader)
    elif mode in ("live", "dry_live"):
        trader = LiveTrader(db_path, mode, strategy_manager)
        plugin = LivePlugin(trader, RiskManager(db_path))
    else:
        raise SystemExit(f"Unknown AI_QUANT_MODE={mode}")
    interval = str(os.getenv("AI_QUANT_INTERVAL", "1h") or "1h").strip() or "1h"
    try:
        lookback_bars = int(os.getenv("AI_QUANT_LOOKBACK_BARS", "200"))
    except ValueError:
        lookback_bars = 200
    engine = UnifiedEngine(trader=trader, strategy_manager=strategy_manager, market=market, interval=interval,
                           lookback_bars=max(50, min(10_000, lookback_bars)), mode=mode, plugin=plugin)
    print(f"🚀 Unified engine started. mode={mode}")
    engine.run_forever()


if __name__ == "__main__":
    main()
