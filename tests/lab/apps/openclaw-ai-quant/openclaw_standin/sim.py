"""Deterministic synthetic market: prices are a pure function of (seed, symbol, time), so candles are contiguous
across restarts and intervals agree with each other (the close of a bar is the open of the next one).

The log-price is a sum of value-noise octaves (15 s ... ~45 days, amplitude ~ sqrt(scale), about 3 % daily volatility),
which looks like a random walk at every interval. Nothing here touches the network.
"""

import functools
import math
import os
import zlib

from openclaw_standin.common import HOUR_MS, INTERVALS

MASK = (1 << 64) - 1
OCTAVES = [15_000 * 4 ** k for k in range(10)]  # ms
VOL_PER_SQRT_MS = 0.03 / math.sqrt(86_400_000)
BASE_PRICES = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0, "DOGE": 0.15, "HYPE": 25.0}


def _read_seed():
    try:
        return int(os.environ.get("AI_QUANT_SIM_SEED", "42"))
    except ValueError:
        return 42


SEED = _read_seed()  # AI_QUANT_SIM_SEED, read once at start


@functools.lru_cache(maxsize=1 << 17)
def unit(seed_value, sid, stream, k):
    """Deterministic pseudo-random number in [-1, 1) (splitmix64 of the inputs)."""
    x = (seed_value * 0x9E3779B97F4A7C15 + sid * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB + k) & MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    x ^= x >> 31
    return x / 2.0 ** 63 - 1.0


def sym_id(symbol):
    return zlib.crc32(symbol.encode())


def round_px(price):
    """Hyperliquid quotes prices with 5 significant figures."""
    return float(f"{price:.5g}")


def base_price(symbol):
    return BASE_PRICES.get(symbol, 1.0 + 99.0 * (unit(SEED, sym_id(symbol), 99, 0) + 1) / 2)


def price(symbol, ts_ms):
    sd, sid = SEED, sym_id(symbol)
    log_px = 0.0
    for idx, scale in enumerate(OCTAVES):
        k, frac = divmod(ts_ms, scale)
        a, b = unit(sd, sid, idx, k), unit(sd, sid, idx, k + 1)
        log_px += VOL_PER_SQRT_MS * math.sqrt(scale) * (a + (b - a) * frac / scale)
    return base_price(symbol) * math.exp(log_px)


def base_volume_per_min(symbol):
    """Traded volume per minute, in coins (~ $2M per minute for every symbol)."""
    return 2_000_000.0 / base_price(symbol)


def candle(symbol, interval, t, upto_ms=None):
    """Synthesise the bar opening at t, using only data up to upto_ms (partial bar) when given.
    Returns the row tuple (symbol, interval, t, t_close, o, h, l, c, v, n)."""
    ms = INTERVALS[interval]
    end = t + ms if upto_ms is None else min(t + ms, max(t, upto_ms))
    samples = [price(symbol, t + (end - t) * i // 3) for i in range(4)]
    sd, sid = SEED, sym_id(symbol)
    wick = 1 + 0.0004 * math.sqrt(ms / 60_000) * abs(unit(sd, sid, 50, t))
    share = (end - t) / ms
    v = base_volume_per_min(symbol) * ms / 60_000 * share * (1 + 0.5 * unit(sd, sid, 51, t))
    n = max(1, int(ms / 1000 * share * (1.5 + unit(sd, sid, 52, t)))) if end > t else 0
    o, c = samples[0], samples[-1]
    h, low = max(samples) * wick, min(samples) / wick
    return (symbol, interval, t, t + ms - 1, round_px(o), round_px(h), round_px(low), round_px(c), round(v, 4), n)


def trade_size(symbol, ts_ms, ticks_per_min):
    return base_volume_per_min(symbol) / ticks_per_min * (1 + 0.5 * unit(SEED, sym_id(symbol), 53, ts_ms))


def funding(symbol, hour_ms):
    """(funding_rate, premium) for the hour starting at hour_ms: Hyperliquid style, premium/8 + 0.00125 %/h, capped at 4 %/h."""
    hour = hour_ms // HOUR_MS
    sd, sid = SEED, sym_id(symbol)
    premium = 0.0004 * unit(sd, sid, 60, hour // 8) + 0.0002 * unit(sd, sid, 61, hour)
    rate = max(-0.04, min(0.04, premium / 8 + 0.0000125))
    return round(rate, 10), round(premium, 10)


def bbo(symbol, ts_ms):
    """(bid, bid_sz, ask, ask_sz) around the mid price."""
    mid = price(symbol, ts_ms)
    sd, sid = SEED, sym_id(symbol)
    half_spread = mid * (0.5 + 0.4 * unit(sd, sid, 70, ts_ms)) / 10_000
    size = base_volume_per_min(symbol) / 200
    return (round_px(mid - half_spread), round(size * (1.2 + unit(sd, sid, 71, ts_ms)), 4),
            round_px(mid + half_spread), round(size * (1.2 + unit(sd, sid, 72, ts_ms)), 4))
