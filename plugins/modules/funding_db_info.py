#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: funding_db_info
short_description: Freshness, gaps and anomalies of the openclaw-ai-quant funding rate database
version_added: 1.0.0
description:
  - Checks C(candles_dbs/funding_rates.db) per symbol the way runbook section 3's
    C(tools/check_funding_rates_db.py --lookback-hours 72 --max-gap-hours 4) does, read-only and from the control node.
  - Per symbol it reports the newest hourly rate and its age (stale when older than O(max_gap_hours)), gaps longer than
    O(max_gap_hours) inside the lookback window, rows not on the hour, and anomalies (|funding_rate| above
    O(max_abs_rate), NULL, or not a number at all, such as a TEXT value).
  - The remedy for stale rates is the bot's C(tools/fetch_funding_rates.py --days 7); the playbook
    C(quantops.runbooks.check_databases) runs it when asked to remediate.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._sqlite
  - quantops.runbooks._sqlite.now
  - quantops.runbooks._sqlite.integrity
options:
  symbols:
    description: Check only these symbols; one without rates is a problem. Default is every symbol in the database.
    type: list
    elements: str
  lookback_hours:
    description: The window, ending at O(now), in which gaps and anomalies are looked for. Above 0, at most 87600.
    type: float
    default: 72
  max_gap_hours:
    description: The longest acceptable stretch without a rate, inside the window and since the newest rate. Above 0, at most 87600.
    type: float
    default: 4
  max_abs_rate:
    description:
      - An hourly rate whose absolute value is above this is an anomaly (Hyperliquid caps funding at 4 % an hour).
      - From 0 to 100.
    type: float
    default: 0.04
seealso:
  - module: quantops.runbooks.candle_db_info
"""

EXAMPLES = r"""
- name: Funding rates are fresh and sane (runbook section 3)
  quantops.runbooks.funding_db_info:
    paths: /home/trader/openclaw-ai-quant/candles_dbs/funding_rates.db
  become: true
  become_user: trader
  register: funding

- name: Backfill when stale, as the runbook says
  ansible.builtin.command:
    argv: [uv, run, python, tools/fetch_funding_rates.py, --days, "7"]
    chdir: /home/trader/openclaw-ai-quant
  when: funding.totals.stale > 0
  changed_when: true
"""

RETURN = r"""
healthy:
  description: No problem anywhere.
  returned: always
  type: bool
problems:
  description: One line an operator can read per problem.
  returned: always
  type: list
  elements: str
  sample: ["/home/trader/openclaw-ai-quant/candles_dbs/funding_rates.db: BTC stale: newest rate 2026-11-21T09:00:00Z is 6.2 h old (max 4 h)"]
now:
  description: The moment the check was evaluated as of (epoch ms).
  returned: always
  type: int
now_iso:
  description: RV(now) in ISO 8601 UTC.
  returned: always
  type: str
totals:
  description: Counts over all databases.
  returned: always
  type: dict
  contains:
    databases:
      description: Database files checked.
      type: int
    symbols:
      description: Symbols checked.
      type: int
    stale:
      description: Stale symbols.
      type: int
    gaps:
      description: Gaps longer than O(max_gap_hours).
      type: int
    anomalies:
      description: Anomalous rates.
      type: int
    problems:
      description: Number of problems.
      type: int
databases:
  description: One entry per database file.
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
      description: Why the database could not be read at all, else null.
      type: str
    access:
      description: How it was opened, V(read-only) or V(immutable).
      type: str
    size:
      description: File size in bytes.
      type: int
    schema_ok:
      description: The funding_rates table has the bot's columns and primary key.
      type: bool
    schema_problems:
      description: What is wrong with the schema.
      type: list
      elements: str
    missing_symbols:
      description: Symbols of O(symbols) without any rate.
      type: list
      elements: str
    integrity:
      description: 'With O(integrity): C(ok) and C(messages) of the pragma, else null.'
      type: dict
    symbols:
      description: One entry per symbol.
      type: list
      elements: dict
      contains:
        symbol:
          description: The symbol.
          type: str
        rows_in_lookback:
          description: Rates in the window.
          type: int
        latest:
          description: Time (epoch ms) of the newest rate not after O(now).
          type: int
        latest_iso:
          description: RV(databases[].symbols[].latest) in ISO 8601 UTC.
          type: str
        age_hours:
          description: Hours from RV(databases[].symbols[].latest) to O(now).
          type: float
        stale:
          description: RV(databases[].symbols[].age_hours) is above O(max_gap_hours) (or there is no rate).
          type: bool
        gaps:
          description: Stretches without a rate longer than O(max_gap_hours) in the window.
          type: list
          elements: dict
          contains:
            start:
              description: The rate before the gap, or the window's start (epoch ms).
              type: int
            end:
              description: The rate after the gap (epoch ms).
              type: int
            hours:
              description: Length of the gap in hours.
              type: float
        off_hour:
          description: Rates in the window whose time is not on the hour.
          type: int
        anomaly_count:
          description: Anomalous rates in the window.
          type: int
        anomalies:
          description: The first 20 anomalous rates, as C(time) and C(funding_rate).
          type: list
          elements: dict
        error:
          description:
            - Why the symbol could not be checked (a row whose C(time) holds TEXT or BLOB, not a number), else null. The
              other fields are then null or 0.
          type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _funding as fd
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

TABLE = "funding_rates"
COLUMNS = ["symbol", "time", "funding_rate", "premium"]
HOURS = v.Range(0, 87600, "hours", above=True)
MAX_ABS_RATE = v.Range(0, 100, "a fraction per hour")


class FundingCheck:
    def __init__(self, params):
        self.p = params
        self.now = sq.now_ms(params["now"])
        self.lookback_ms = int(params["lookback_hours"] * fd.HOUR)
        self.max_gap_ms = int(params["max_gap_hours"] * fd.HOUR)

    def read(self, conn):
        info = sq.TableInfo(conn, TABLE)
        out = dict(schema_problems=info.problems(COLUMNS), symbols=[], missing_symbols=[])
        if not info.columns:
            out["schema_ok"] = False
            return out
        if not info.unique_key(["symbol", "time"]):
            out["schema_problems"].append("no primary key on (symbol, time): the same hour can be stored twice")
        out["schema_ok"] = not out["schema_problems"]
        if not info.has("symbol", "time", "funding_rate"):
            return out
        out["integrity"] = sq.integrity_report(conn, self.p["integrity"])
        symbols = self.p["symbols"] or sq.distinct(conn, TABLE, "symbol", seek=info.seek("symbol"))
        start = self.now - self.lookback_ms
        for symbol in symbols:
            try:
                report = self.symbol(conn, symbol, start)
            except sq.BadValue as e:
                report = dict(symbol=symbol, rows_in_lookback=0, latest=None, latest_iso=None, age_hours=None, stale=None, gaps=[],
                              off_hour=0, anomalies=[], anomaly_count=0, error=str(e))
            if report is None:
                out["missing_symbols"].append(symbol)
            else:
                out["symbols"].append(report)
        return out

    def symbol(self, conn, symbol, start):
        """The symbol's report, None when it has no rate; BadValue when a time holds something else than a number (a
        funding_rate that is not a number is an anomaly of the report)."""
        sq.numeric(sq.greatest(conn, TABLE, "time", "symbol = ?", (symbol,)), "time")
        latest = conn.execute("SELECT MAX(time) FROM funding_rates WHERE symbol = ? AND time <= ?", (symbol, self.now)).fetchone()[0]
        if latest is None:
            return None
        rows = conn.execute("SELECT time, funding_rate FROM funding_rates WHERE symbol = ? AND time >= ? AND time <= ? ORDER BY time",
                            (symbol, start, self.now)).fetchall()
        for value in [latest] + [r[0] for r in rows]:
            sq.numeric(value, "time")
        older = conn.execute("SELECT 1 FROM funding_rates WHERE symbol = ? AND time < ? LIMIT 1", (symbol, start)).fetchone() is not None
        report = fd.funding_report(symbol, rows, latest=latest, has_older=older, now=self.now, lookback_ms=self.lookback_ms,
                                   max_gap_ms=self.max_gap_ms, max_abs_rate=self.p["max_abs_rate"])
        report["latest_iso"] = sq.iso(latest)
        report["error"] = None
        return report


def describe(db, p):
    where = db["path"]
    lines, readable = sq.database_lines(db, "funding rates", db["symbols"])
    if not readable:
        return lines
    for s in db["symbols"]:
        name = "%s: %s" % (where, s["symbol"])
        if s["error"]:
            lines.append("%s cannot be checked: %s" % (name, s["error"]))
            continue
        if s["stale"]:
            lines.append("%s stale: newest rate %s is %g h old (max %g h)" % (name, s["latest_iso"], s["age_hours"], p["max_gap_hours"]))
        if s["gaps"]:
            g = max(s["gaps"], key=lambda x: x["hours"])
            lines.append("%s: %d gap(s) longer than %g h in the last %g h, the longest %g h from %s to %s"
                         % (name, len(s["gaps"]), p["max_gap_hours"], p["lookback_hours"], g["hours"], sq.iso(g["start"]), sq.iso(g["end"])))
        if s["off_hour"]:
            lines.append("%s: %d rates in the last %g h are not on the hour" % (name, s["off_hour"], p["lookback_hours"]))
        if s["anomaly_count"]:
            lines.append("%s: %d anomalous rates (|rate| > %g, NULL or not a number) in the last %g h"
                         % (name, s["anomaly_count"], p["max_abs_rate"], p["lookback_hours"]))
    return lines


def run(module):
    p = module.params
    check = FundingCheck(p)
    defaults = dict(schema_ok=None, schema_problems=[], symbols=[], missing_symbols=[], integrity=None)
    databases = sq.check_paths(p["paths"], p["busy_timeout"], check.read, defaults)
    problems = []
    totals = dict(databases=len(databases), symbols=0, stale=0, gaps=0, anomalies=0)
    for db in databases:
        lines = describe(db, p)
        db["ok"] = not lines
        problems.extend(lines)
        totals["symbols"] += len(db["symbols"])
        totals["stale"] += sum(1 for s in db["symbols"] if s["stale"])
        totals["gaps"] += sum(len(s["gaps"]) for s in db["symbols"])
        totals["anomalies"] += sum(s["anomaly_count"] for s in db["symbols"])
    totals["problems"] = len(problems)
    result = dict(changed=False, healthy=not problems, problems=problems, totals=totals, databases=databases, now=check.now, now_iso=sq.iso(check.now))
    return sq.finish(module, result, "funding database")


def main():
    argument_spec = sq.sqlite_argument_spec()
    argument_spec.update(
        symbols=dict(type="list", elements="str"),
        lookback_hours=dict(type="float", default=72),
        max_gap_hours=dict(type="float", default=4),
        max_abs_rate=dict(type="float", default=0.04),
        integrity=dict(type="str", default="none", choices=["none", "quick", "full"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    sq.check_options(module, dict(lookback_hours=HOURS, max_gap_hours=HOURS, max_abs_rate=MAX_ABS_RATE))
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
