"""Stand-in strategy (the real one is strategy/mei_alpha_v1.analyze): EMA trend + RSI entry filter + ATR stops.

Shared by the engine and the backtester. Signals are BUY / SELL / NEUTRAL like the real analyze().
"""


def ema(values, period):
    alpha, out, cur = 2.0 / (period + 1), [], None
    for value in values:
        cur = value if cur is None else cur + alpha * (value - cur)
        out.append(cur)
    return out


def rsi(values, period):
    """Wilder RSI; None until `period` changes have been seen."""
    out, avg_gain, avg_loss = [None], 0.0, 0.0
    for i in range(1, len(values)):
        change = values[i] - values[i - 1]
        gain, loss = max(change, 0.0), max(-change, 0.0)
        if i <= period:
            avg_gain += gain / period
            avg_loss += loss / period
        else:
            avg_gain = (avg_gain * (period - 1) + gain) / period
            avg_loss = (avg_loss * (period - 1) + loss) / period
        if i < period:
            out.append(None)
        else:
            out.append(100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss))
    return out


def atr(highs, lows, closes, period):
    """Wilder ATR over true ranges."""
    out, cur = [], None
    for i, (high, low) in enumerate(zip(highs, lows, strict=True)):
        tr = high - low if i == 0 else max(high - low, abs(high - closes[i - 1]), abs(low - closes[i - 1]))
        cur = tr if cur is None else (cur * (period - 1) + tr) / period
        out.append(cur)
    return out


def indicators(highs, lows, closes, cfg):
    ind = cfg["indicators"]
    return (ema(closes, int(ind["ema_fast_window"])), ema(closes, int(ind["ema_slow_window"])),
            rsi(closes, int(ind["rsi_window"])), atr(highs, lows, closes, int(ind["atr_window"])))


def signal_at(i, fast, slow, rsi_values, cfg):
    """BUY when EMA fast > slow and RSI <= trade.reef_long_rsi_block_gt; SELL mirrored; else NEUTRAL."""
    trade, value = cfg["trade"], rsi_values[i]
    if value is None:
        return "NEUTRAL"
    if fast[i] > slow[i] and value <= float(trade["reef_long_rsi_block_gt"]):
        return "BUY"
    if fast[i] < slow[i] and value >= float(trade["reef_short_rsi_block_lt"]):
        return "SELL"
    return "NEUTRAL"


def analyze(bars, cfg):
    """bars: [(t, t_close, o, h, l, c)] oldest first -> (signal, confidence, now) like the real analyze()."""
    highs, lows, closes = [b[3] for b in bars], [b[4] for b in bars], [b[5] for b in bars]
    fast, slow, rsi_values, atr_values = indicators(highs, lows, closes, cfg)
    sig = signal_at(len(bars) - 1, fast, slow, rsi_values, cfg)
    now = {"Close": closes[-1], "EMA_fast": fast[-1], "EMA_slow": slow[-1], "RSI": rsi_values[-1], "ATR": atr_values[-1]}
    return sig, "medium", now
