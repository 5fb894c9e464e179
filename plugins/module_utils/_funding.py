# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Freshness, gaps and anomalies of one symbol's hourly funding rates. Pure functions on epoch milliseconds."""

import math
from typing import Any, Dict, Optional, Sequence, Tuple

HOUR = 3600 * 1000
MAX_ANOMALIES = 20


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# PLR0913: keyword-only: the symbol's bounds and the check's settings, each named by the caller
def funding_report(symbol: str, rows: Sequence[Tuple[int, Any]], *, latest: Optional[int], has_older: bool,  # noqa: PLR0913
                   now: int, lookback_ms: int, max_gap_ms: int, max_abs_rate: float) -> Dict[str, Any]:
    """rows: [(time, funding_rate)] of the lookback window [now - lookback, now], ascending; latest: the newest time not
    after now (None when the symbol has none); has_older: the symbol has rows before the window.
    A gap is a stretch longer than max_gap between two rows, or between the window's start and the first row when the
    history goes back further; the stretch after the newest row is its age (stale), not a gap. Anomalies: |funding_rate| above max_abs_rate, NULL,
    or not a finite number (TEXT, BLOB, NaN)."""
    times = [r[0] for r in rows]
    age = None if latest is None else max(0, now - latest)
    report = dict(symbol=symbol, rows_in_lookback=len(rows), latest=latest, age_hours=None if age is None else round(age / HOUR, 2),
                  stale=age is None or age > max_gap_ms, gaps=[], off_hour=sum(1 for t in times if t % HOUR), anomalies=[], anomaly_count=0)
    edges = ([now - lookback_ms] if has_older else []) + times
    for before, after in zip(edges, edges[1:]):
        if after - before > max_gap_ms:
            report["gaps"].append(dict(start=before, end=after, hours=round((after - before) / HOUR, 2)))
    for t, rate in rows:
        if not _finite(rate) or abs(rate) > max_abs_rate:
            report["anomaly_count"] += 1
            if len(report["anomalies"]) < MAX_ANOMALIES:
                report["anomalies"].append(dict(time=t, funding_rate=rate))
    return report
