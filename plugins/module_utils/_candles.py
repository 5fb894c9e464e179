# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bar arithmetic of candle series: which bar should be open at a moment, how far behind a series is, where bars are
missing. Pure functions on epoch milliseconds, no SQLite and no AnsibleModule.

Bars are numbered: bar_index(t) is the number of the bar that is open at t, bar_start(i) its open time. For the
fixed-length intervals that is t // length; for the calendar month (Hyperliquid's 1M) it counts months since 1970-01,
so every interval goes through the same arithmetic.
"""

import datetime
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

MINUTE = 60 * 1000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Hyperliquid's candle intervals; 1M is a calendar month (None: no fixed length).
INTERVALS = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1h": HOUR, "2h": 2 * HOUR, "4h": 4 * HOUR, "8h": 8 * HOUR, "12h": 12 * HOUR,
    "1d": DAY, "3d": 3 * DAY, "1w": 7 * DAY, "1M": None,
}

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class UnknownInterval(ValueError):
    pass


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise UnknownInterval("unknown interval %r (Hyperliquid intervals: %s)" % (interval, ", ".join(INTERVALS)))
    return interval


def bar_index(t: int, interval: str) -> int:
    """The number of the bar that is open at t (epoch ms)."""
    length = INTERVALS[check_interval(interval)]
    if length:
        return t // length
    when = _EPOCH + datetime.timedelta(milliseconds=t)
    return (when.year - 1970) * 12 + when.month - 1


def bar_start(index: int, interval: str) -> int:
    """Open time (epoch ms) of bar number index."""
    length = INTERVALS[check_interval(interval)]
    if length:
        return index * length
    year, month = divmod(index, 12)
    start = datetime.datetime(1970 + year, month + 1, 1, tzinfo=datetime.timezone.utc)
    return int((start - _EPOCH).total_seconds()) * 1000


def aligned(t: int, interval: str) -> bool:
    """Whether t is the open time of a bar."""
    return bar_start(bar_index(t, interval), interval) == t


def expected_close(t: int, interval: str) -> int:
    """t_close the bot writes for the bar that opens at t: the next bar's open minus one millisecond."""
    return bar_start(bar_index(t, interval) + 1, interval) - 1


def bars_behind(latest: Optional[int], now: int, interval: str) -> Optional[int]:
    """How many whole bars the newest bar lags the bar that should be open at now: 0 when the open bar is written,
    1 when only the bar before it is, and so on. None for an empty series; never negative."""
    if latest is None:
        return None
    return max(0, bar_index(now, interval) - bar_index(latest, interval))


def window_first_index(now: int, lookback_ms: int, interval: str) -> int:
    """Number of the first bar that opens inside the lookback window [now - lookback, now]."""
    start = now - lookback_ms
    index = bar_index(start, interval)
    return index if bar_start(index, interval) >= start else index + 1


def gaps(times: Iterable[int], first_index: int, last_index: int, interval: str) -> List[Dict[str, int]]:
    """Missing bars between bar numbers first_index and last_index (both included), given the open times of the
    bars present (any order, duplicates and misaligned ones allowed: a misaligned bar fills no slot).
    Returns [{start, end, missing}] with start/end the open times of the first and last missing bar of each run."""
    length = INTERVALS[check_interval(interval)]
    if length:
        return fixed_gaps(sorted(times), first_index, last_index, length)
    return general_gaps(times, first_index, last_index, interval)


def general_gaps(times: Iterable[int], first_index: int, last_index: int, interval: str) -> List[Dict[str, int]]:
    """gaps() by bar numbers, for any interval (the calendar month too)."""
    present = set()
    for t in times:
        index = bar_index(t, interval)
        if bar_start(index, interval) == t:
            present.add(index)
    out, run = [], None
    for index in range(first_index, last_index + 1):
        if index in present:
            if run is not None:
                out.append(run)
                run = None
            continue
        if run is None:
            run = dict(start=bar_start(index, interval), end=bar_start(index, interval), missing=0)
        run["end"] = bar_start(index, interval)
        run["missing"] += 1
    if run is not None:
        out.append(run)
    return out


def bad_t_close(rows: Iterable[Tuple[int, Any]], interval: str) -> int:
    """How many aligned bars of rows [(t, t_close)] have a t_close other than the next bar's open minus 1 ms."""
    length = INTERVALS[check_interval(interval)]
    if length:  # the hot path: integer arithmetic only
        return sum(1 for t, t_close in rows if not t % length and t_close != t + length - 1)
    return sum(1 for t, t_close in rows if aligned(t, interval) and t_close != expected_close(t, interval))


def fixed_gaps(times: Sequence[int], first_index: int, last_index: int, length: int) -> List[Dict[str, int]]:
    """gaps() for a fixed-length interval, in integer arithmetic only (the module's hot path: it runs for every bar
    of every series in the window). times must be sorted ascending."""
    out, expected = [], first_index
    for t in times:
        if t % length:
            continue  # misaligned: fills no slot
        index = t // length
        if index < expected:
            continue  # before the window, or a duplicate
        if index > last_index:
            break
        if index > expected:
            out.append(dict(start=expected * length, end=(index - 1) * length, missing=index - expected))
        expected = index + 1
    if expected <= last_index:
        out.append(dict(start=expected * length, end=last_index * length, missing=last_index - expected + 1))
    return out


# PLR0913: keyword-only: the series' bounds and the check's settings, each named by the caller
def series_report(symbol: str, interval: str, times: Sequence[int], *, earliest: Optional[int], latest: Optional[int],  # noqa: PLR0913
                  now: int, lookback_ms: int, max_bars_behind: int) -> Dict[str, Any]:
    """The freshness and completeness of one (symbol, interval) series as of now.

    times: open times of the bars with now - lookback <= t <= now; earliest/latest: the series' oldest and newest open
    time not after now (None when it has none). Gaps are counted from the window's first bar, or from the series'
    first bar when its history starts inside the window, up to its newest bar; the bars after the newest one are
    what bars_behind counts, not a gap."""
    behind = bars_behind(latest, now, interval)
    length = INTERVALS[interval]
    report = dict(
        symbol=symbol, interval=interval, earliest=earliest, latest=latest, bars_behind=behind,
        stale=behind is None or behind > max_bars_behind, bars_in_lookback=len(times),
        misaligned=sum(1 for t in times if t % length) if length else sum(1 for t in times if not aligned(t, interval)),
        gaps=[], missing_in_lookback=0,
    )
    if latest is not None:
        first = window_first_index(now, lookback_ms, interval)
        first = max(first, bar_index(earliest, interval) + (0 if aligned(earliest, interval) else 1))
        last = bar_index(latest, interval)
        report["gaps"] = gaps(times, first, last, interval)
        report["missing_in_lookback"] = sum(g["missing"] for g in report["gaps"])
    return report
