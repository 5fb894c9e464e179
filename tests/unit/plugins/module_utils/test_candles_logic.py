"""Bar arithmetic of candle series (_candles) and funding gaps (_funding): every interval, an open bar, an empty series,
a series of one bar, a gap at the window's start, misaligned bars."""

import datetime
import random

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _candles as cd
from ansible_collections.quantops.runbooks.plugins.module_utils import _funding as fd

UTC = datetime.timezone.utc
# 2026-11-21 15:07:30.250 UTC, a Saturday: inside a bar of every fixed interval, never on a boundary of 3m or more.
NOW = int(datetime.datetime(2026, 11, 21, 15, 7, 30, 250000, tzinfo=UTC).timestamp() * 1000)
FIXED = [(name, ms) for name, ms in cd.INTERVALS.items() if ms]


def open_bar(now, interval):
    """Open time of the bar that should be open (forming) at now."""
    return cd.bar_start(cd.bar_index(now, interval), interval)


def ms(*args):
    return int(datetime.datetime(*args, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(("interval", "length"), FIXED)
def test_open_bar_of_every_fixed_interval(interval, length):
    start = open_bar(NOW, interval)
    assert start % length == 0 and start <= NOW < start + length
    assert cd.aligned(start, interval) and not cd.aligned(start + 1, interval)
    assert cd.expected_close(start, interval) == start + length - 1
    assert cd.bar_start(cd.bar_index(NOW, interval), interval) == start


def test_known_open_bars():
    assert open_bar(NOW, "1m") == ms(2026, 11, 21, 15, 7)
    assert open_bar(NOW, "3m") == ms(2026, 11, 21, 15, 6)
    assert open_bar(NOW, "5m") == ms(2026, 11, 21, 15, 5)
    assert open_bar(NOW, "15m") == ms(2026, 11, 21, 15, 0)
    assert open_bar(NOW, "4h") == ms(2026, 11, 21, 12, 0)
    assert open_bar(NOW, "1d") == ms(2026, 11, 21)
    assert open_bar(NOW, "1w") == ms(2026, 11, 19)  # epoch-aligned weeks start on Thursday


def test_calendar_month():
    assert open_bar(NOW, "1M") == ms(2026, 11, 1)
    assert cd.expected_close(ms(2026, 11, 1), "1M") == ms(2026, 12, 1) - 1
    assert cd.expected_close(ms(2024, 2, 1), "1M") == ms(2024, 3, 1) - 1  # leap February
    assert cd.bars_behind(ms(2026, 8, 1), NOW, "1M") == 3
    assert not cd.aligned(ms(2026, 11, 2), "1M")


def test_unknown_interval():
    with pytest.raises(cd.UnknownInterval, match="2m"):
        cd.bar_index(NOW, "2m")


@pytest.mark.parametrize(("interval", "length"), FIXED)
def test_bars_behind_of_every_interval(interval, length):
    start = open_bar(NOW, interval)
    assert cd.bars_behind(start, NOW, interval) == 0  # the forming bar is written
    assert cd.bars_behind(start - length, NOW, interval) == 1  # only the last closed bar
    assert cd.bars_behind(start - 7 * length, NOW, interval) == 7
    assert cd.bars_behind(start + length, NOW, interval) == 0  # a bar after now is never "ahead"
    assert cd.bars_behind(None, NOW, interval) is None


def test_bars_behind_at_the_boundary():
    boundary = ms(2026, 11, 21, 15, 9)  # a 3m bar opens exactly now: it should be written already
    assert cd.bars_behind(ms(2026, 11, 21, 15, 6), boundary, "3m") == 1
    assert cd.bars_behind(ms(2026, 11, 21, 15, 6), boundary - 1, "3m") == 0


def test_gaps_runs_and_ends():
    t0 = ms(2026, 11, 21, 0, 0)
    step = cd.INTERVALS["5m"]
    present = [t0 + i * step for i in range(20) if i not in (3, 4, 5, 9)]
    first, last = cd.bar_index(t0, "5m"), cd.bar_index(t0 + 19 * step, "5m")
    assert cd.gaps(present, first, last, "5m") == [
        dict(start=t0 + 3 * step, end=t0 + 5 * step, missing=3),
        dict(start=t0 + 9 * step, end=t0 + 9 * step, missing=1),
    ]
    assert cd.gaps(present + present, first, last, "5m") == cd.gaps(present, first, last, "5m")  # duplicates fill nothing twice
    assert cd.gaps(present, first + 6, first + 8, "5m") == []


def test_misaligned_bars_fill_no_slot():
    t0 = ms(2026, 11, 21, 0, 0)
    step = cd.INTERVALS["3m"]
    times = [t0, t0 + step + 1000, t0 + 2 * step]  # the middle bar opens 1 s late
    assert cd.gaps(times, cd.bar_index(t0, "3m"), cd.bar_index(t0 + 2 * step, "3m"), "3m") == [dict(start=t0 + step, end=t0 + step, missing=1)]


def window(interval, hours=24):
    length = cd.INTERVALS[interval]
    first = cd.window_first_index(NOW, hours * cd.HOUR, interval)
    return [cd.bar_start(i, interval) for i in range(first, cd.bar_index(NOW, interval) + 1)], length


# PLR0913: keyword-only test options with defaults
def report(interval, times, *, earliest=None, latest=None, hours=24, max_behind=2):  # noqa: PLR0913
    return cd.series_report("BTC", interval, times, earliest=times[0] if earliest is None and times else earliest,
                            latest=times[-1] if latest is None and times else latest, now=NOW, lookback_ms=hours * cd.HOUR,
                            max_bars_behind=max_behind)


@pytest.mark.parametrize("interval", ["1m", "3m", "5m", "15m", "1h"])
def test_a_complete_fresh_series(interval):
    times, length = window(interval)
    r = report(interval, times, earliest=times[0] - 100 * length)
    assert (r["bars_behind"], r["stale"], r["gaps"], r["missing_in_lookback"], r["misaligned"]) == (0, False, [], 0, 0)
    assert r["bars_in_lookback"] == 24 * cd.HOUR // length


def test_window_counts_only_bars_opening_inside_it():
    times, length = window("1h")
    assert times[0] >= NOW - 24 * cd.HOUR > times[0] - length
    assert len(times) == 24


def test_stale_series_is_behind_not_gappy():
    times, length = window("3m")
    r = report("3m", times[:-5], earliest=times[0] - length)
    assert (r["bars_behind"], r["stale"], r["gaps"]) == (5, True, [])  # the missing tail is lag, not a gap
    assert not report("3m", times[:-2], earliest=times[0] - length)["stale"]  # 2 behind is the default limit


def test_gap_at_the_windows_start():
    times, length = window("5m")
    r = report("5m", times[6:], earliest=times[0] - 10 * length)  # history goes back further: the head is a gap
    assert r["gaps"] == [dict(start=times[0], end=times[5], missing=6)] and r["missing_in_lookback"] == 6


def test_history_starting_inside_the_window_is_not_a_gap():
    times, length = window("5m")
    r = report("5m", times[6:])
    assert r["gaps"] == [] and r["earliest"] == times[6]


def test_empty_series():
    r = report("1m", [], earliest=None, latest=None)
    assert (r["latest"], r["bars_behind"], r["stale"], r["gaps"], r["bars_in_lookback"]) == (None, None, True, [], 0)


def test_symbol_with_one_bar():
    forming = open_bar(NOW, "15m")
    r = report("15m", [forming])
    assert (r["earliest"], r["latest"], r["bars_behind"], r["stale"], r["gaps"]) == (forming, forming, 0, False, [])
    old = forming - 30 * cd.INTERVALS["15m"]
    r = report("15m", [old])
    assert (r["bars_behind"], r["stale"], r["gaps"]) == (30, True, [])


def test_misaligned_bars_are_counted_and_leave_their_slot_missing():
    times, length = window("3m")
    shifted = list(times)
    shifted[100] += 1000
    r = report("3m", shifted, earliest=times[0] - length)
    assert r["misaligned"] == 1 and r["gaps"] == [dict(start=times[100], end=times[100], missing=1)]


def test_funding_fresh_hourly():
    hour = fd.HOUR
    last = NOW - NOW % hour
    rows = [(last - i * hour, 0.0001) for i in range(72, -1, -1) if last - i * hour >= NOW - 72 * hour]
    r = fd.funding_report("BTC", rows, latest=last, has_older=True, now=NOW, lookback_ms=72 * hour, max_gap_ms=4 * hour, max_abs_rate=0.04)
    assert (r["stale"], r["gaps"], r["off_hour"], r["anomaly_count"]) == (False, [], 0, 0)
    assert r["age_hours"] == round((NOW - last) / hour, 2)


def test_funding_gap_staleness_and_anomalies():
    hour = fd.HOUR
    last = NOW - NOW % hour - 5 * hour  # nothing for the last 5 hours: stale, not a gap
    rows = [(last - i * hour, 0.0001) for i in range(60, -1, -1) if not 20 <= i <= 25]
    rows[3] = (rows[3][0], 0.05)
    rows[4] = (rows[4][0], None)
    r = fd.funding_report("ETH", rows, latest=last, has_older=False, now=NOW, lookback_ms=72 * hour, max_gap_ms=4 * hour, max_abs_rate=0.04)
    assert r["stale"] and r["age_hours"] > 5
    assert r["gaps"] == [dict(start=last - 26 * hour, end=last - 19 * hour, hours=7.0)]
    assert r["anomaly_count"] == 2 and r["anomalies"][0] == dict(time=rows[3][0], funding_rate=0.05)


def test_funding_gap_at_the_windows_start_only_when_history_is_older():
    hour = fd.HOUR
    start = NOW - 72 * hour
    rows = [(t, 0.0) for t in range(start - start % hour + 10 * hour, NOW, hour)]
    args = dict(latest=rows[-1][0], now=NOW, lookback_ms=72 * hour, max_gap_ms=4 * hour, max_abs_rate=0.04)
    assert fd.funding_report("SOL", rows, has_older=True, **args)["gaps"][0]["start"] == start
    assert fd.funding_report("SOL", rows, has_older=False, **args)["gaps"] == []


@pytest.mark.parametrize("seed", range(30))
def test_fixed_gaps_agrees_with_the_general_arithmetic(seed):
    rng = random.Random(seed)
    interval = rng.choice(["1m", "3m", "5m", "1h"])
    length = cd.INTERVALS[interval]
    base = cd.bar_index(NOW, interval) - 200
    times = [(base + i) * length for i in range(200) if rng.random() > 0.2]
    times += [(base + rng.randrange(200)) * length + rng.choice([1, 1000, length // 2]) for _extra in range(rng.randrange(4))]  # misaligned
    times += rng.sample(times, rng.randrange(3)) if times else []  # duplicates
    times.sort()
    first, last = base + rng.randrange(50), base + 150 + rng.randrange(50)
    assert cd.fixed_gaps(times, first, last, length) == cd.general_gaps(times, first, last, interval)
