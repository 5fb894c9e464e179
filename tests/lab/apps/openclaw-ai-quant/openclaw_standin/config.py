"""Strategy YAML (config/strategy_overrides.yaml) in the real shape, loaded and hot-reloaded like engine/strategy_manager.py.

Shape: `global: {trade: {...}, indicators: {...}, engine: {...}}`, optional `symbols: {SYM: {...}}` and `live: {...}`.
Merged config of a symbol = DEFAULTS <- global <- symbols.SYM (<- live, or live.global/live.symbols.SYM, in live/dry_live).
"""

import copy
import hashlib
import json
import os
import threading

import yaml

from openclaw_standin.common import REPO_ROOT

# The stand-in's key set, with the real code's defaults for these keys (strategy/mei_alpha_v1.py _DEFAULT_STRATEGY_CONFIG,
# which tools/validate_config.py compares with the Rust defaults; for these keys both agree).
DEFAULTS = {
    "trade": {
        "allocation_pct": 0.03,         # margin per entry, fraction of equity
        "leverage": 3.0,
        "max_open_positions": 20,
        "slippage_bps": 10.0,
        "sl_atr_mult": 2.0,
        "tp_atr_mult": 4.0,
        "reef_long_rsi_block_gt": 70.0,  # no long entry above this RSI
        "reef_short_rsi_block_lt": 30.0,  # no short entry below this RSI
    },
    "indicators": {
        "ema_fast_window": 20,
        "ema_slow_window": 50,
        "rsi_window": 14,
        "atr_window": 14,
    },
}


def default_yaml_path():
    """AI_QUANT_STRATEGY_YAML, default <repo>/config/strategy_overrides.yaml (resolved from the code, not the cwd)."""
    return os.environ.get("AI_QUANT_STRATEGY_YAML", os.path.join(REPO_ROOT, "config", "strategy_overrides.yaml"))


def sha1_json(obj):
    """engine/utils.py sha1_json: sha1 of the canonical JSON (sorted keys, compact, UTF-8), repr() when not JSON-able."""
    try:
        data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except Exception:  # noqa: BLE001 - same fallback as the real helper (e.g. YAML dates)
        data = repr(obj).encode("utf-8")
    return hashlib.sha1(data).hexdigest()


def load_yaml(path):
    """Missing file -> {}; empty or non-mapping document -> {}; a parse error raises (yaml.YAMLError)."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    return data if isinstance(data, dict) else {}


def deep_merge(base, override):
    if not isinstance(base, dict) or not isinstance(override, dict):
        return base
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


class StrategyManager:
    """Reload only when the file's mtime is strictly greater than the loaded one (or the file appeared/disappeared);
    a YAML error keeps the previous config and the previous mtime (so it is retried next loop). Never logs."""

    def __init__(self, path=None):
        self.path = path or default_yaml_path()
        self.lock = threading.RLock()
        self.mtime = None
        self.overrides = {}
        self.overrides_sha1 = ""
        self.version = None  # strategy_changelog.json is not modelled: the heartbeat shows version=n/a
        self.maybe_reload(force=True)

    def maybe_reload(self, force=False):
        mtime = _mtime(self.path)
        with self.lock:
            if not force:
                if mtime is None:
                    needed = self.mtime is not None
                elif self.mtime is None:
                    needed = True
                else:
                    needed = mtime > self.mtime
                if not needed:
                    return
            try:
                overrides = load_yaml(self.path)
                digest = sha1_json(overrides)
            except Exception:  # noqa: BLE001 - fail open, silently, like the real manager
                return
            self.mtime, self.overrides, self.overrides_sha1 = mtime, overrides, digest

    def get_config(self, symbol, mode="paper"):
        with self.lock:
            cfg, overrides = copy.deepcopy(DEFAULTS), copy.deepcopy(self.overrides)
        deep_merge(cfg, overrides.get("global") or {})
        deep_merge(cfg, (overrides.get("symbols") or {}).get((symbol or "").upper()) or {})
        if mode in ("live", "dry_live"):
            live = overrides.get("live") or {}
            if isinstance(live, dict):
                if "global" in live or "symbols" in live:
                    deep_merge(cfg, live.get("global") or {})
                    deep_merge(cfg, (live.get("symbols") or {}).get((symbol or "").upper()) or {})
                else:
                    deep_merge(cfg, live)
        for key in ("trade", "indicators", "filters", "thresholds"):
            if not isinstance(cfg.get(key), dict):
                cfg[key] = {}
        return cfg


def flatten(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out
