#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: candle_db_info
short_description: Freshness, gaps, duplicates and retention of the openclaw-ai-quant candle databases
version_added: 1.0.0
description:
  - Answers "is every candle database fresh, complete and intact?" for the WS sidecar's C(candles_dbs/candles_*.db),
    replacing runbook section 3's C(sqlite3) one-liners and C(tools/check_candle_dbs.py), without scanning whole
    tables.
  - For every database and every (symbol, interval) series it reports the newest bar and how many whole bars it lags
    the bar that should be open at O(now) (stale beyond O(max_bars_behind)), the runs of missing bars inside the
    lookback window, bars not aligned to their interval, and, with O(min_bars), whether the series keeps at least that
    many bars (the append-only retention of AQC-203).
  - Per database it checks the schema and establishes duplicates on (symbol, interval, t) for free when a primary key
    or unique index on those columns proves there are none, and counts them with one scan otherwise.
  - The lookups are index seeks on the table's (symbol, interval, t) key, so the time grows with symbols times lookback,
    not with the number of rows. Exact per-symbol row counts cost a scan and are opt-in (O(count_rows)).
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._sqlite
  - quantops.runbooks._sqlite.now
  - quantops.runbooks._sqlite.integrity
options:
  symbols:
    description:
      - Check only these symbols. A symbol listed here that a database has no candles for is a problem.
      - Default is every symbol in each database.
    type: list
    elements: str
  intervals:
    description: Check only these intervals (V(1m), V(3m), V(5m), V(15m), V(1h), ...). Default is every one found.
    type: list
    elements: str
  lookback_hours:
    description: The window, ending at O(now), in which missing and misaligned bars are looked for. Above 0, at most 87600.
    type: float
    default: 24
  max_bars_behind:
    description:
      - A series is stale when its newest bar lags the bar that should be open at O(now) by more than this many bars.
        0 means the forming bar itself must be written (the sidecar upserts it on every tick). At most 1000000.
    type: int
    default: 2
  min_bars:
    description:
      - "Map of interval to the fewest bars each symbol must keep, for the retention check of AQC-203
        (C({3m: 5000, 5m: 5000}) once pruning is disabled for 3m and 5m). Checked with one index seek per series."
      - Each value is a whole number from 1 to 1000000000.
    type: dict
  count_rows:
    description:
      - Also return the exact number of rows of each series (RV(databases[].series[].rows)). This reads every row, so
        it is off by default.
    type: bool
    default: false
seealso:
  - module: quantops.runbooks.funding_db_info
  - module: quantops.runbooks.bbo_db_info
  - module: quantops.runbooks.sqlite_integrity
"""

EXAMPLES = r"""
- name: Every candle database of the bot is fresh and complete (runbook section 3)
  quantops.runbooks.candle_db_info:
    paths: /home/trader/openclaw-ai-quant/candles_dbs/candles_*.db
    lookback_hours: 24
  become: true
  become_user: trader
  register: candles

- name: Retention beyond 5,000 bars for the append-only intervals (AQC-203), and fail on any problem
  quantops.runbooks.candle_db_info:
    paths:
      - /home/trader/openclaw-ai-quant/candles_dbs/candles_3m.db
      - /home/trader/openclaw-ai-quant/candles_dbs/candles_5m.db
    min_bars: {3m: 5000, 5m: 5000}
    fail_on_problems: true

- name: The same check as of the moment of an incident, for a post-mortem
  quantops.runbooks.candle_db_info:
    paths: /srv/postmortem/candles_dbs/candles_5m.db
    now: 1763726400000
    symbols: [BTC, ETH]
"""

RETURN = r"""
healthy:
  description: No problem anywhere.
  returned: always
  type: bool
problems:
  description: One line an operator can read per problem, naming the database, the series and what is wrong.
  returned: always
  type: list
  elements: str
  sample: ["/home/trader/openclaw-ai-quant/candles_dbs/candles_1m.db: BTC 1m stale: newest bar 2026-11-21T14:52:00Z is 6 bars behind (max 2)"]
now:
  description: The moment the check was evaluated as of (epoch ms).
  returned: always
  type: int
now_iso:
  description: RV(now) in ISO 8601 UTC.
  returned: always
  type: str
elapsed:
  description: Seconds the module spent reading the databases.
  returned: always
  type: float
totals:
  description: Counts over all databases.
  returned: always
  type: dict
  contains:
    databases:
      description: Database files checked.
      type: int
    series:
      description: (symbol, interval) series checked.
      type: int
    stale:
      description: Stale series.
      type: int
    gaps:
      description: Runs of missing bars in the lookback windows.
      type: int
    missing_in_lookback:
      description: Missing bars in the lookback windows.
      type: int
    misaligned:
      description: Misaligned bars in the lookback windows.
      type: int
    duplicates:
      description: Duplicated (symbol, interval, t) keys.
      type: int
    below_min_bars:
      description: Series with fewer bars than O(min_bars) asks.
      type: int
    problems:
      description: Number of problems.
      type: int
databases:
  description: One entry per database file (a pattern that matched nothing is an entry with RV(databases[].error)).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file (or the pattern that matched nothing).
      type: str
    ok:
      description: No problem in this database.
      type: bool
    error:
      description: Why the database could not be read at all (missing, not SQLite, corrupt, locked), else null.
      type: str
    access:
      description: How it was opened, V(read-only) or V(immutable) (a WAL database no process had open).
      type: str
    size:
      description: File size in bytes.
      type: int
    schema_ok:
      description: The candles table has the bot's columns and primary key.
      type: bool
    schema_problems:
      description: What is wrong with the schema.
      type: list
      elements: str
    last_write:
      description: The newest C(updated_at) of the newest bars of all series (ISO 8601 UTC), the database's last write.
      type: str
    last_write_age_s:
      description: Seconds from RV(databases[].last_write) to O(now), the database's freshness in one number; null when unknown.
      type: float
    duplicates:
      description: Number of (symbol, interval, t) keys present more than once.
      type: int
    duplicate_rows:
      description: Rows beyond the first of each duplicated key.
      type: int
    duplicates_method: {description: "How RV(databases[].duplicates) was established: the C(primary key) or C(unique index NAME)
        on those columns (0 without a scan), or C(scan).", type: str}
    integrity:
      description: 'With O(integrity): C(ok) and C(messages) of the pragma, else null.'
      type: dict
    missing_symbols:
      description: Symbols of O(symbols) the database has no candles for.
      type: list
      elements: str
    unknown_intervals:
      description: C(SYMBOL INTERVAL) of series whose interval is not a Hyperliquid one.
      type: list
      elements: str
    series:
      description: One entry per (symbol, interval).
      type: list
      elements: dict
      contains:
        symbol:
          description: The symbol.
          type: str
        interval:
          description: The interval.
          type: str
        earliest:
          description: Open time (epoch ms) of the oldest bar not after O(now).
          type: int
        latest:
          description: Open time (epoch ms) of the newest bar not after O(now).
          type: int
        latest_iso:
          description: RV(databases[].series[].latest) in ISO 8601 UTC.
          type: str
        latest_close:
          description: C(t_close) of the newest bar (epoch ms).
          type: int
        latest_write:
          description: C(updated_at) of the newest bar, when the sidecar last wrote it (RFC 3339 UTC); null without that column.
          type: str
        bars_behind:
          description: Whole bars the newest bar lags the bar that should be open at O(now).
          type: int
        stale:
          description: RV(databases[].series[].bars_behind) is above O(max_bars_behind).
          type: bool
        bars_in_lookback:
          description: Bars present in the lookback window.
          type: int
        gaps:
          description: Runs of missing bars in the lookback window, up to the newest bar.
          type: list
          elements: dict
          contains:
            start:
              description: Open time of the first missing bar (epoch ms).
              type: int
            end:
              description: Open time of the last missing bar (epoch ms).
              type: int
            missing:
              description: Bars missing in this run.
              type: int
        missing_in_lookback:
          description: Bars missing in the lookback window.
          type: int
        misaligned:
          description: Bars in the lookback window whose open time is not a multiple of the interval.
          type: int
        bad_t_close:
          description: Bars in the lookback window whose C(t_close) is not the next bar's open minus 1 ms.
          type: int
        min_bars:
          description: The O(min_bars) for this interval, or null.
          type: int
        below_min_bars:
          description: The series keeps fewer bars than RV(databases[].series[].min_bars) (null without it).
          type: bool
        rows:
          description:
            - Rows of the series with C(t) up to RV(now), with O(count_rows) only.
            - The count is of what the read saw. A bar the sidecar writes while the check reads (the one that opens
              just before RV(now)) may or may not be in it; every bar opened a whole interval before RV(now) is.
          type: int
        error:
          description:
            - Why the series could not be checked (a row whose C(t) holds TEXT or BLOB, not a number), else null. The
              other fields are then null or 0.
          type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _candles as cd
from ansible_collections.quantops.runbooks.plugins.module_utils import _sidecar
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

TABLE = "candles"
LOOKBACK_HOURS = v.Range(0, 87600, "hours", above=True)
MAX_BARS_BEHIND = v.Range(0, 1000000, "bars", integer=True)
MIN_BARS = v.Range(1, 1000000000, "bars", integer=True)
KEY = ["symbol", "interval", "t"]
COLUMNS = ["symbol", "interval", "t", "t_close", "o", "h", "l", "c", "v", "n"]


class CandleCheck:
    def __init__(self, params):
        self.p = params
        self.now = sq.now_ms(params["now"])
        self.lookback_ms = int(params["lookback_hours"] * cd.HOUR)
        self.min_bars = dict(params["min_bars"] or {})
        self.symbols = params["symbols"]
        self.intervals = set(params["intervals"] or [])

    def read(self, conn):
        info = sq.TableInfo(conn, TABLE)
        out = dict(schema_problems=info.problems(COLUMNS), series=[], missing_symbols=[], unknown_intervals=[])
        if not info.columns:
            out["schema_ok"] = False
            return out
        key = info.unique_key(KEY)
        if not key:
            out["schema_problems"].append("no primary key or unique index on (symbol, interval, t): duplicates are possible")
        out["schema_ok"] = not out["schema_problems"]
        if not info.has(*KEY):
            return out  # nothing below can run without the key columns
        if key:
            out.update(duplicates=0, duplicate_rows=0, duplicates_method=key)
        else:
            # Not the runbook's "COUNT(*) AS c ... HAVING c > 1": in this table c is the close price, and SQLite resolves
            # a HAVING name to the column before the alias, so that query counts keys whose close is above 1.
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(copies - 1), 0) FROM (SELECT COUNT(*) AS copies FROM candles "
                               "GROUP BY symbol, interval, t HAVING COUNT(*) > 1)").fetchone()
            out.update(duplicates=row[0], duplicate_rows=row[1], duplicates_method="scan")
        out["integrity"] = sq.integrity_report(conn, self.p["integrity"])
        has_close = info.has("t_close")
        self.has_updated = info.has("updated_at")
        symbols = self.symbols or sq.distinct(conn, TABLE, "symbol", seek=info.seek("symbol"))
        for symbol in symbols:
            intervals = sq.distinct(conn, TABLE, "interval", "symbol = ?", (symbol,), seek=info.seek("symbol", "interval"))
            intervals = [i for i in intervals if not self.intervals or i in self.intervals]
            if not intervals and self.symbols:
                out["missing_symbols"].append(symbol)
            for interval in intervals:
                if interval in cd.INTERVALS:
                    out["series"].append(self.series(conn, symbol, interval, has_close))
                else:
                    out["unknown_intervals"].append("%s %s" % (symbol, interval))
        return out

    def series(self, conn, symbol, interval, has_close):
        try:
            return self._series(conn, symbol, interval, has_close)
        except sq.BadValue as e:
            return bad_series(symbol, interval, str(e), self.min_bars.get(interval))

    def _series(self, conn, symbol, interval, has_close):
        key = (symbol, interval)
        sq.numeric(sq.greatest(conn, TABLE, "t", "symbol = ? AND interval = ?", key), "t")
        latest = conn.execute("SELECT t, %s, %s FROM candles WHERE symbol = ? AND interval = ? AND t <= ? ORDER BY t DESC LIMIT 1"
                              % ("t_close" if has_close else "NULL", "updated_at" if self.has_updated else "NULL"), key + (self.now,)).fetchone()
        earliest = conn.execute("SELECT MIN(t) FROM candles WHERE symbol = ? AND interval = ? AND t <= ?", key + (self.now,)).fetchone()[0]
        rows = conn.execute("SELECT t, %s FROM candles WHERE symbol = ? AND interval = ? AND t >= ? AND t <= ? ORDER BY t"
                            % ("t_close" if has_close else "NULL"), key + (self.now - self.lookback_ms, self.now)).fetchall()
        for value in [earliest, latest and latest[0]] + [r[0] for r in rows]:
            sq.numeric(value, "t")
        report = cd.series_report(symbol, interval, [r[0] for r in rows], earliest=earliest, latest=latest and latest[0], now=self.now,
                                  lookback_ms=self.lookback_ms, max_bars_behind=self.p["max_bars_behind"])
        report["latest_iso"] = sq.iso(report["latest"])
        report["latest_close"] = latest[1] if latest else None
        report["latest_write"] = latest[2] if latest and isinstance(latest[2], str) else None
        report["bad_t_close"] = cd.bad_t_close(rows, interval) if has_close else 0
        report["min_bars"] = self.min_bars.get(interval)
        report["below_min_bars"] = None
        report["error"] = None
        if report["min_bars"]:
            nth = conn.execute("SELECT t FROM candles WHERE symbol = ? AND interval = ? AND t <= ? ORDER BY t DESC LIMIT 1 OFFSET ?",
                               key + (self.now, report["min_bars"] - 1)).fetchone()
            report["below_min_bars"] = nth is None
        if self.p["count_rows"]:
            report["rows"] = conn.execute("SELECT COUNT(*) FROM candles WHERE symbol = ? AND interval = ? AND t <= ?", key + (self.now,)).fetchone()[0]
        return report


def to_number(value):
    """A min_bars value as YAML or -e gave it ("5000" too), as a number for the range check; else as it is."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def bad_series(symbol, interval, error, min_bars):
    """The entry of a series that could not be checked: a value of the wrong type in one of its rows."""
    return dict(symbol=symbol, interval=interval, earliest=None, latest=None, latest_iso=None, latest_close=None, latest_write=None, bars_behind=None,
                stale=None, bars_in_lookback=0, gaps=[], missing_in_lookback=0, misaligned=0, bad_t_close=0, min_bars=min_bars,
                below_min_bars=None, error=error)


def describe(db, now, hours, max_behind):
    """The operator's lines for one database."""
    where = db["path"]
    dupes = ["%s: %d duplicated (symbol, interval, t) keys, %d extra rows" % (where, db["duplicates"], db["duplicate_rows"])] if db["duplicates"] else []
    lines, readable = sq.database_lines(db, "candles", db["series"], schema_extra=dupes)
    if not readable:
        return lines
    lines.extend("%s: %s is not a Hyperliquid interval" % (where, name) for name in db["unknown_intervals"])
    for s in db["series"]:
        name = "%s: %s %s" % (where, s["symbol"], s["interval"])
        if s["error"]:
            lines.append("%s: cannot be checked: %s" % (name, s["error"]))
            continue
        if s["latest"] is None:
            lines.append("%s stale: no bar at or before %s" % (name, sq.iso(now)))
        elif s["stale"]:
            lines.append("%s stale: newest bar %s is %d bars behind (max %d)" % (name, s["latest_iso"], s["bars_behind"], max_behind))
        if s["gaps"]:
            lines.append("%s: %d bars missing in the last %g h, in %d gap(s), the first from %s to %s"
                         % (name, s["missing_in_lookback"], hours, len(s["gaps"]), sq.iso(s["gaps"][0]["start"]), sq.iso(s["gaps"][0]["end"])))
        if s["misaligned"]:
            lines.append("%s: %d bars in the last %g h do not open on a %s boundary" % (name, s["misaligned"], hours, s["interval"]))
        if s["bad_t_close"]:
            lines.append("%s: %d bars in the last %g h have a t_close other than the next open - 1 ms" % (name, s["bad_t_close"], hours))
        if s["below_min_bars"]:
            lines.append("%s: fewer than %d bars kept (retention, AQC-203)" % (name, s["min_bars"]))
    return lines


def check_request(module):
    """Fail the task on an unknown interval, or a min_bars that is not a whole number of bars; min_bars' values
    become numbers."""
    p = module.params
    for interval in list(p["intervals"] or []) + list((p["min_bars"] or {}).keys()):
        if interval not in cd.INTERVALS:
            module.fail_json(msg="%s is not a Hyperliquid candle interval; use one of %s" % (interval, ", ".join(cd.INTERVALS)))
    for interval, bars in (p["min_bars"] or {}).items():
        try:
            p["min_bars"][interval] = v.number("min_bars[%s]" % interval, to_number(bars), MIN_BARS)
        except v.InvalidInput as e:
            module.fail_json(msg=str(e))


def add_to_totals(totals, db):
    """Count one database's series and duplicates into totals."""
    for s in db["series"]:
        totals["series"] += 1
        totals["stale"] += int(bool(s["stale"]))
        totals["gaps"] += len(s["gaps"])
        totals["missing_in_lookback"] += s["missing_in_lookback"]
        totals["misaligned"] += s["misaligned"]
        totals["below_min_bars"] += int(bool(s["below_min_bars"]))
    totals["duplicates"] += db["duplicates"] or 0


def run(module):
    p = module.params
    check_request(module)
    started = time.time()
    check = CandleCheck(p)
    defaults = dict(schema_ok=None, schema_problems=[], duplicates=None, duplicate_rows=None, duplicates_method=None, integrity=None, series=[],
                    missing_symbols=[], unknown_intervals=[])
    databases = sq.check_paths(p["paths"], p["busy_timeout"], check.read, defaults)
    problems = []
    totals = dict(databases=len(databases), series=0, stale=0, gaps=0, missing_in_lookback=0, misaligned=0, duplicates=0, below_min_bars=0)
    for db in databases:
        writes = [w for w in (_sidecar.rfc3339_epoch(x["latest_write"]) for x in db["series"]) if w is not None]
        db["last_write"] = sq.iso(max(writes) * 1000) if writes else None
        db["last_write_age_s"] = round(max(0.0, check.now / 1000.0 - max(writes)), 3) if writes else None
        lines = describe(db, check.now, p["lookback_hours"], p["max_bars_behind"])
        add_to_totals(totals, db)
        db["ok"] = not lines
        problems.extend(lines)
    totals["problems"] = len(problems)
    result = dict(changed=False, healthy=not problems, problems=problems, totals=totals, databases=databases, now=check.now,
                  now_iso=sq.iso(check.now), elapsed=round(time.time() - started, 4))
    return sq.finish(module, result, "candle database")


def main():
    argument_spec = sq.sqlite_argument_spec()
    argument_spec.update(
        symbols=dict(type="list", elements="str"),
        intervals=dict(type="list", elements="str"),
        lookback_hours=dict(type="float", default=24),
        max_bars_behind=dict(type="int", default=2),
        min_bars=dict(type="dict"),
        count_rows=dict(type="bool", default=False),
        integrity=dict(type="str", default="none", choices=["none", "quick", "full"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    sq.check_options(module, dict(lookback_hours=LOOKBACK_HOURS, max_bars_behind=MAX_BARS_BEHIND))
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
