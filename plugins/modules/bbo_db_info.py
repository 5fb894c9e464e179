#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: bbo_db_info
short_description: Freshness and retention of the openclaw-ai-quant BBO snapshot database
version_added: 1.0.0
description:
  - Checks the sampled best-bid/best-ask snapshots of AQC-206 (C(candles_dbs/bbo_snapshots.db)) per symbol, the
    runbook's two verification queries in one read-only pass that uses the (symbol, ts_ms) index.
  - Per symbol it returns the rows, the oldest and newest snapshot, whether the newest is older than
    O(max_age_seconds) (stale), and how many rows are older than O(retention_hours) (the runbook's 48 h sanity check,
    which should trend to 0 while the sidecar's retention is shorter).
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
      - Check only these symbols; one without snapshots is a problem (the sidecar writes snapshots only for the symbols
        it is subscribed to). Default is every symbol in the database.
    type: list
    elements: str
  max_age_seconds:
    description: A symbol is stale when its newest snapshot is older than this. Above 0, at most 31536000 (a year).
    type: float
    default: 60
  retention_hours:
    description:
      - Rows older than this many hours are counted (and are a problem) because the retention sweep should have removed them.
      - Above 0, at most 87600.
    type: float
    default: 48
seealso:
  - module: quantops.runbooks.candle_db_info
"""

EXAMPLES = r"""
- name: BBO snapshots are being written and swept (runbook section 3, AQC-206)
  quantops.runbooks.bbo_db_info:
    paths: /home/trader/openclaw-ai-quant/candles_dbs/bbo_snapshots.db
    retention_hours: 48
  become: true
  become_user: trader
  register: bbo
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
  sample: ["/home/trader/openclaw-ai-quant/candles_dbs/bbo_snapshots.db: ETH stale: newest snapshot 2026-11-21T14:50:02Z is 1231 s old (max 60 s)"]
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
    rows:
      description: Snapshots not after O(now).
      type: int
    stale:
      description: Stale symbols.
      type: int
    older_than_retention:
      description: Rows older than O(retention_hours).
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
      description: The bbo_snapshots table has the bot's columns and its (symbol, ts_ms) index.
      type: bool
    schema_problems:
      description: What is wrong with the schema.
      type: list
      elements: str
    missing_symbols:
      description: Symbols of O(symbols) without any snapshot.
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
        rows:
          description: Snapshots not after O(now).
          type: int
        earliest:
          description: Oldest snapshot (epoch ms).
          type: int
        latest:
          description: Newest snapshot not after O(now) (epoch ms).
          type: int
        latest_iso:
          description: RV(databases[].symbols[].latest) in ISO 8601 UTC.
          type: str
        age_seconds:
          description: Seconds from the newest snapshot to O(now).
          type: float
        stale:
          description: RV(databases[].symbols[].age_seconds) is above O(max_age_seconds).
          type: bool
        older_than_retention:
          description: Rows older than O(retention_hours).
          type: int
        error:
          description:
            - Why the symbol could not be checked (a row whose C(ts_ms) holds TEXT or BLOB, not a number), else null.
              The other fields are then null or 0.
          type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

TABLE = "bbo_snapshots"
# ws_sidecar/src/main.rs ensure_bbo_snapshots_db at 9603e63: PRIMARY KEY (symbol, ts_ms)
COLUMNS = ["symbol", "ts_ms", "bid", "ask", "mid"]
MAX_AGE_SECONDS = v.Range(0, 31536000, "seconds", above=True)
RETENTION_HOURS = v.Range(0, 87600, "hours", above=True)


class BboCheck:
    def __init__(self, params):
        self.p = params
        self.now = sq.now_ms(params["now"])
        self.cutoff = self.now - int(params["retention_hours"] * 3600 * 1000)

    def read(self, conn):
        info = sq.TableInfo(conn, TABLE)
        out = dict(schema_problems=info.problems(COLUMNS), symbols=[], missing_symbols=[])
        if not info.columns:
            out["schema_ok"] = False
            return out
        if not info.seek("symbol", "ts_ms"):
            out["schema_problems"].append("no index on (symbol, ts_ms): every per-symbol query of the bot scans the table")
        out["schema_ok"] = not out["schema_problems"]
        if not info.has("symbol", "ts_ms"):
            return out
        out["integrity"] = sq.integrity_report(conn, self.p["integrity"])
        symbols = self.p["symbols"] or sq.distinct(conn, TABLE, "symbol", seek=info.seek("symbol"))
        for symbol in symbols:
            try:
                entry = self.symbol(conn, symbol)
            except sq.BadValue as e:
                entry = dict(symbol=symbol, rows=0, earliest=None, latest=None, latest_iso=None, age_seconds=None, stale=None,
                             older_than_retention=0, error=str(e))
            if entry is None:
                out["missing_symbols"].append(symbol)
            else:
                out["symbols"].append(entry)
        return out

    def symbol(self, conn, symbol):
        """The symbol's entry, None when it has no snapshot; BadValue when a ts_ms holds something else than a number."""
        sq.numeric(sq.greatest(conn, TABLE, "ts_ms", "symbol = ?", (symbol,)), "ts_ms")
        rows, earliest, latest = conn.execute("SELECT COUNT(*), MIN(ts_ms), MAX(ts_ms) FROM bbo_snapshots WHERE symbol = ? AND ts_ms <= ?",
                                              (symbol, self.now)).fetchone()
        if not rows:
            return None
        sq.numeric(earliest, "ts_ms")
        sq.numeric(latest, "ts_ms")
        old = conn.execute("SELECT COUNT(*) FROM bbo_snapshots WHERE symbol = ? AND ts_ms < ?", (symbol, self.cutoff)).fetchone()[0]
        age = round(max(0, self.now - latest) / 1000.0, 3)
        return dict(symbol=symbol, rows=rows, earliest=earliest, latest=latest, latest_iso=sq.iso(latest), age_seconds=age,
                    stale=age > self.p["max_age_seconds"], older_than_retention=old, error=None)


def describe(db, p):
    where = db["path"]
    lines, readable = sq.database_lines(db, "BBO snapshots", db["symbols"])
    if not readable:
        return lines
    for s in db["symbols"]:
        if s["error"]:
            lines.append("%s: %s cannot be checked: %s" % (where, s["symbol"], s["error"]))
        if s["stale"]:
            lines.append("%s: %s stale: newest snapshot %s is %g s old (max %g s)"
                         % (where, s["symbol"], s["latest_iso"], s["age_seconds"], p["max_age_seconds"]))
        if s["older_than_retention"]:
            lines.append("%s: %s: %d snapshots older than %g h (is the retention sweep running?)" % (where, s["symbol"], s["older_than_retention"],
                                                                                                     p["retention_hours"]))
    return lines


def run(module):
    p = module.params
    check = BboCheck(p)
    defaults = dict(schema_ok=None, schema_problems=[], symbols=[], missing_symbols=[], integrity=None)
    databases = sq.check_paths(p["paths"], p["busy_timeout"], check.read, defaults)
    problems = []
    totals = dict(databases=len(databases), symbols=0, rows=0, stale=0, older_than_retention=0)
    for db in databases:
        lines = describe(db, p)
        db["ok"] = not lines
        problems.extend(lines)
        totals["symbols"] += len(db["symbols"])
        totals["rows"] += sum(s["rows"] for s in db["symbols"])
        totals["stale"] += sum(1 for s in db["symbols"] if s["stale"])
        totals["older_than_retention"] += sum(s["older_than_retention"] for s in db["symbols"])
    totals["problems"] = len(problems)
    result = dict(changed=False, healthy=not problems, problems=problems, totals=totals, databases=databases, now=check.now, now_iso=sq.iso(check.now))
    return sq.finish(module, result, "BBO database")


def main():
    argument_spec = sq.sqlite_argument_spec()
    argument_spec.update(
        symbols=dict(type="list", elements="str"),
        max_age_seconds=dict(type="float", default=60),
        retention_hours=dict(type="float", default=48),
        integrity=dict(type="str", default="none", choices=["none", "quick", "full"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    sq.check_options(module, dict(max_age_seconds=MAX_AGE_SECONDS, retention_hours=RETENTION_HOURS))
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
