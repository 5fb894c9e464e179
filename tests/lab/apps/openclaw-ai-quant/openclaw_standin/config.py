"""Strategy config (config/strategy_overrides.yaml): load, validate, hash. Shared by the trader, the tools and the backtester."""

import hashlib
import math
import re

import yaml

from openclaw_standin.common import INTERVALS

SYMBOL_RE = re.compile(r"^[A-Za-z0-9]{1,16}$")

# section -> key -> (type, minimum, maximum); every key is required ("YAML fully explicit") and unknown keys are rejected.
NUM = "number"
SCHEMA = {
    "engine": {"interval": ("interval", None, None), "symbols": ("symbols", None, None), "lookback_bars": (int, 50, 5000)},
    "trade": {"leverage": (NUM, 1, 50), "size_pct": (NUM, 0.01, 100), "max_open_positions": (int, 1, 50), "allow_short": (bool, None, None)},
    "indicators": {
        "ema_fast": (int, 2, 500), "ema_slow": (int, 3, 1000), "rsi_period": (int, 2, 100),
        "rsi_overbought": (NUM, 50, 100), "rsi_oversold": (NUM, 0, 50),
    },
    "risk": {"stop_loss_pct": (NUM, 0.1, 50), "take_profit_pct": (NUM, 0.1, 500), "fee_bps": (NUM, 0, 100)},
}


class ConfigError(Exception):
    """The config cannot be used; str(error) is a one-line reason."""


def file_hash(data):
    return hashlib.sha256(data).hexdigest()[:12]


def _check_value(name, value, kind, low, high):
    if kind == "interval":
        if not isinstance(value, str) or value not in INTERVALS:
            raise ConfigError(f"{name}: {value!r} is not a Hyperliquid interval ({', '.join(INTERVALS)})")
    elif kind == "symbols":
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{name}: must be a non-empty list of symbols")
        for sym in value:
            if not isinstance(sym, str) or not SYMBOL_RE.match(sym):
                raise ConfigError(f"{name}: invalid symbol {sym!r}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{name}: duplicate symbols")
    elif kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: must be true or false, got {value!r}")
    else:
        ok = isinstance(value, int) if kind is int else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise ConfigError(f"{name}: must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        if math.isnan(value) or not low <= value <= high:
            raise ConfigError(f"{name}: {value} out of range [{low}, {high}]")


def validate(cfg):
    """Raise ConfigError for the first problem found; return cfg when it is usable."""
    if not isinstance(cfg, dict):
        raise ConfigError("top level must be a mapping")
    unknown = sorted(set(cfg) - set(SCHEMA))
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(map(str, unknown))}")
    for section, keys in SCHEMA.items():
        body = cfg.get(section)
        if not isinstance(body, dict):
            raise ConfigError(f"missing required section: {section}")
        unknown = sorted(set(body) - set(keys))
        if unknown:
            raise ConfigError(f"unknown key(s): {', '.join(f'{section}.{k}' for k in unknown)}")
        for key, (kind, low, high) in keys.items():
            if key not in body:
                raise ConfigError(f"missing required key: {section}.{key}")
            _check_value(f"{section}.{key}", body[key], kind, low, high)
    ind = cfg["indicators"]
    if ind["ema_fast"] >= ind["ema_slow"]:
        raise ConfigError(f"indicators.ema_fast ({ind['ema_fast']}) must be < indicators.ema_slow ({ind['ema_slow']})")
    if ind["rsi_oversold"] >= ind["rsi_overbought"]:
        raise ConfigError("indicators.rsi_oversold must be < indicators.rsi_overbought")
    return cfg


def load(path):
    """Return (config dict, short sha256 of the file); raise ConfigError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        cfg = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"YAML parse error{where}: {problem}") from exc
    return validate(cfg), file_hash(data)


def load_or_defaults(path):
    """For read-only helpers (dump-indicators): the config when it exists and is valid, else None."""
    try:
        return load(path)[0]
    except ConfigError:
        return None
