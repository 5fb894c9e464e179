"""Indicators (EMA, Wilder RSI) and the EMA-cross signal shared by the trader and the backtester."""


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


def indicators(closes, cfg):
    ind = cfg["indicators"]
    return ema(closes, ind["ema_fast"]), ema(closes, ind["ema_slow"]), rsi(closes, ind["rsi_period"])


def entry_side(fast, slow, rsi_value, cfg):
    """'long' / 'short' / None for the latest bar: trend by EMA fast vs slow, filtered by RSI extremes."""
    ind = cfg["indicators"]
    if rsi_value is None:
        return None
    if fast > slow and rsi_value < ind["rsi_overbought"]:
        return "long"
    if fast < slow and rsi_value > ind["rsi_oversold"] and cfg["trade"]["allow_short"]:
        return "short"
    return None
