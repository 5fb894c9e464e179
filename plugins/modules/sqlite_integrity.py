#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: sqlite_integrity
short_description: Read-only PRAGMA integrity_check of SQLite databases
version_added: 1.0.0
description:
  - Runs C(PRAGMA integrity_check) (or the faster C(quick_check)) on each database, read-only, the way runbook section 3
    checks C(trading_engine.db) and C(trading_engine_live.db); works on any SQLite file.
  - A file that is missing, not SQLite or too corrupt to open is reported as not ok with the reason, never a crash.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._sqlite
options:
  mode:
    description:
      - V(full) is C(PRAGMA integrity_check), V(quick) is C(PRAGMA quick_check) (skips index contents and some
        constraints; much faster on big files).
    type: str
    choices: [full, quick]
    default: full
  max_errors:
    description: Stop after this many error messages per database, from 1 to 1000000.
    type: int
    default: 100
seealso:
  - module: quantops.runbooks.candle_db_info
"""

EXAMPLES = r"""
- name: The paper and live trading databases are intact (runbook section 3)
  quantops.runbooks.sqlite_integrity:
    paths:
      - /home/trader/openclaw-ai-quant/trading_engine.db
      - /home/trader/openclaw-ai-quant/trading_engine_live.db
    fail_on_problems: true
  become: true
  become_user: trader
"""

RETURN = r"""
healthy:
  description: Every database is ok.
  returned: always
  type: bool
problems:
  description: One line per database that is not ok.
  returned: always
  type: list
  elements: str
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
      description: The check returned exactly C(ok).
      type: bool
    error:
      description: Why the database could not be checked at all, else null.
      type: str
    access:
      description: How it was opened, V(read-only) or V(immutable).
      type: str
    size:
      description: File size in bytes.
      type: int
    messages:
      description: What the pragma returned (C([ok]) when intact).
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

MAX_ERRORS = v.Range(1, 1000000, "messages", integer=True)


def run(module):
    p = module.params

    def read(conn):
        ok, messages = sq.integrity(conn, quick=p["mode"] == "quick", max_errors=p["max_errors"])
        return dict(ok=ok, messages=messages)

    databases = sq.check_paths(p["paths"], p["busy_timeout"], read, dict(messages=[]))
    problems = []
    for db in databases:
        if db["error"]:
            db["ok"] = False
            problems.append("%s: %s" % (db["path"], db["error"]))
        elif not db["ok"]:
            problems.append("%s: %s_check failed: %s" % (db["path"], "quick" if p["mode"] == "quick" else "integrity", "; ".join(db["messages"][:5])))
    result = dict(changed=False, healthy=not problems, problems=problems, databases=databases)
    if problems and p["fail_on_problems"]:
        module.fail_json(msg="%d database(s) failed the integrity check: %s" % (len(problems), "; ".join(problems)), **result)
    return result


def main():
    argument_spec = sq.sqlite_argument_spec(now=False)
    argument_spec.update(
        mode=dict(type="str", default="full", choices=["full", "quick"]),
        max_errors=dict(type="int", default=100),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    sq.check_options(module, dict(max_errors=MAX_ERRORS), now=False)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
