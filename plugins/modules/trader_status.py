#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: trader_status
short_description: What the running openclaw-ai-quant traders have loaded, their kill mode, errors and last order
version_added: 1.1.0
description:
  - The trader half of the runbook's section 5 "Post-restart health check", for every trader unit of O(units) in one
    module run.
  - Config in force. The strategy YAML's hash the trader shows in its last heartbeat of the window (C(strategy_sha1=),
    the real trader logs no "config reloaded") against the hash of the YAML on disk, computed as the trader does
    (C(sha1_json) of C(yaml.safe_load)), from the file its environment names (C(AI_QUANT_STRATEGY_YAML), else
    C(config/strategy_overrides.yaml) of its working directory).
  - Kill mode. Only live and dry_live traders read a kill switch; their mode from C(AI_QUANT_KILL_SWITCH) in their
    environment and the kill file (C(AI_QUANT_KILL_SWITCH_FILE)) as it is now, the file winning when it exists.
  - Errors. Lines of the trader's journal in the window matching C(error), C(exception) or C(traceback) as whole
    words (the heartbeat's C(errors=0) does not count), like the runbook's C(grep -iE).
  - Last order. The newest order time in the trader's database (C(AI_QUANT_DB_PATH)), read-only; the newest of
    C(oms_intents.created_ts_ms), C(orders.ts_ms) and C(trades.timestamp), whichever the database has.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._systemd
options:
  units:
    description: The trader units, with or without C(.service). At least one, at most 20.
    type: list
    elements: str
    default: [openclaw-ai-quant-trader]
  since:
    description:
      - Where the journal window starts, in any form C(journalctl --since) takes (C(-15min), C(@1795267829)). Only
        lines of each trader's current invocation count.
    type: str
    default: -15min
requirements:
  - PyYAML on the managed host (to hash the YAML on disk; without it C(disk_sha1) of RV(traders) is null and a problem).
notes:
  - Run it as root or as the traders' user; it reads C(/proc/MAINPID/environ), the journal and the files.
  - The kill switch is sticky in the trader, so a kill file removed since the trader's last start may still be in force
    (C(kill_mode) of RV(traders) shows what the sources say now).
seealso:
  - module: quantops.runbooks.units_info
  - module: quantops.runbooks.kill_switch
  - module: quantops.runbooks.config_rollback
"""

EXAMPLES = r"""
- name: Both traders of a host, the last 15 minutes
  quantops.runbooks.trader_status:
    user: trader
    units: [openclaw-ai-quant-trader, openclaw-ai-quant-live]
    since: -15min
  register: traders
"""

RETURN = r"""
healthy:
  description: No problem (RV(problems) is empty).
  returned: always
  type: bool
problems:
  description: One sentence per problem, naming the unit.
  returned: always
  type: list
  elements: str
  sample: ["openclaw-ai-quant-live: loaded config 1a2b3c4d is not the one on disk (dbd57e32)"]
traders:
  description: One entry per unit of O(units), keyed by the name as given.
  returned: always
  type: dict
  contains:
    main_pid:
      description: The trader's process; null when it is not running.
      type: int
    trader_mode:
      description: C(AI_QUANT_MODE) of the process (paper, live, dry_live).
      type: str
    strategy_yaml:
      description: The YAML the trader reads.
      type: str
    disk_sha1:
      description: The C(strategy_sha1) of the YAML on disk.
      type: str
    loaded_sha1:
      description: The C(strategy_sha1) of the last heartbeat in the window; null without a heartbeat.
      type: str
    heartbeat_time:
      description: When that heartbeat was logged (ISO 8601 UTC).
      type: str
    config_in_force:
      description: C(loaded_sha1) equals C(disk_sha1).
      type: bool
    kill_mode:
      description: V(off), V(close_only) or V(halt_all); null for a trader without a kill switch (paper).
      type: str
    kill_file:
      description: The kill file the trader reads; null when none is set.
      type: str
    errors:
      description: How many error lines the window holds.
      type: int
    last_error:
      description: The newest of them; null when none.
      type: str
    trading_db:
      description: The trader's database.
      type: str
    last_order_ms:
      description: The newest order time in it, epoch ms; null when there is none.
      type: int
    last_order:
      description: C(last_order_ms) in ISO 8601 UTC.
      type: str
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _journal, _trader, _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _kill_switch as ks
from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile as sf
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._sidecar import rfc3339_epoch
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    USER_MAX_LENGTH,
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

ERRORS = re.compile(r"(?i)\b(?:error|exception|traceback)\b")
ENV_YAML = "AI_QUANT_STRATEGY_YAML"
DEFAULT_YAML = "config/strategy_overrides.yaml"
# The newest order of each table the bot's databases may hold: (table, column, text time?)
ORDER_TABLES = (("oms_intents", "created_ts_ms", False), ("orders", "ts_ms", False), ("trades", "timestamp", True))


def disk_sha1(path):
    """The strategy_sha1 of the YAML at path, as the trader computes it (config_rollback's code path)."""
    try:
        data, error, _st = sf.read_path(path, limit=16 << 20)
    except (sf.UnsafePathError, OSError) as e:
        raise ValueError(to_native(e)) from None
    if error:
        raise ValueError(error)
    if data is None:
        return _trader.strategy_sha1({})  # a missing file: the trader runs on its defaults, hashed as {}
    return _trader.strategy_sha1(yaml.safe_load(data.decode("utf-8", "replace")))


def newest_order(conn):
    newest = None
    for table, column, text in ORDER_TABLES:
        info = sq.TableInfo(conn, table)
        if not info.has(column):
            continue
        value = conn.execute("SELECT MAX(%s) FROM %s" % (column, table)).fetchone()[0]
        if text:
            epoch = rfc3339_epoch(value)
            value = int(epoch * 1000) if epoch is not None else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (newest is None or value > newest):
            newest = int(value)
    return newest


def read_kill(facts):
    """The kill mode the trader's sources give now."""
    if not facts.reads_kill_switch:
        return None
    file_mode = "off"
    if facts.kill_file:
        try:
            data, error, _st = sf.read_path(facts.kill_file, limit=4096)
        except (sf.UnsafePathError, OSError) as e:
            data, error = None, to_native(e)
        if error:
            raise ValueError("cannot read the kill file %s: %s" % (facts.kill_file, error))
        file_mode = ks.file_mode(data)
    return ks.in_force(file_mode, ks.env_mode(facts.env_value))


def read_journal(journal, out):
    """The last heartbeat's strategy_sha1 and the error lines of the journal's window, into out."""
    for entry in journal.read_new():
        text = _journal.message_text(entry)
        beat = _trader.parse_heartbeat(text)
        if beat and beat[1]:
            out.update(loaded_sha1=beat[1], heartbeat_time=_journal.entry_time(entry))
        elif ERRORS.search(text):
            out["errors"] += 1
            out["last_error"] = (text.strip().splitlines() or [""])[0][:300]


def trader(module, target, unit, props, since):
    name = _units.full_name(unit)
    out = dict(main_pid=_units.main_pid(props), trader_mode=None, strategy_yaml=None, disk_sha1=None, loaded_sha1=None, heartbeat_time=None,
               config_in_force=None, kill_mode=None, kill_file=None, errors=0, last_error=None, trading_db=None, last_order_ms=None,
               last_order=None)
    problems = []
    if props.get("LoadState") == "not-found":
        return out, ["unit not found"]
    if out["main_pid"] is None:
        return out, ["%s, not running" % (props.get("ActiveState") or "not active")]
    proc = _units.Process(out["main_pid"])
    facts = _trader.TraderFacts(proc.environ, proc.cwd)
    out.update(trader_mode=facts.trader_mode, kill_file=facts.kill_file if facts.reads_kill_switch else None)
    out["strategy_yaml"] = os.path.normpath(os.path.join(proc.cwd, proc.environ.get(ENV_YAML) or DEFAULT_YAML))
    if HAS_YAML:
        try:
            out["disk_sha1"] = disk_sha1(out["strategy_yaml"])
        except (ValueError, yaml.YAMLError) as e:
            problems.append("cannot hash %s: %s" % (out["strategy_yaml"], to_native(e).splitlines()[0]))
    else:
        problems.append(missing_required_lib("PyYAML"))
    try:
        out["kill_mode"] = read_kill(facts)
    except ValueError as e:
        problems.append(to_native(e))
    read_journal(_journal.Journal(module, target, name, since=since, invocation_id=props.get("InvocationID") or None), out)
    if out["loaded_sha1"] is None:
        problems.append("no heartbeat with strategy_sha1 since %s" % since)
    elif out["disk_sha1"] is not None:
        out["config_in_force"] = out["loaded_sha1"] == out["disk_sha1"]
        if not out["config_in_force"]:
            problems.append("loaded config %s is not the one on disk (%s)" % (out["loaded_sha1"], out["disk_sha1"]))
    if out["errors"]:
        problems.append("%d error line(s) since %s, the last: %s" % (out["errors"], since, out["last_error"]))
    db = proc.environ.get("AI_QUANT_DB_PATH") or "trading_engine.db"
    out["trading_db"] = os.path.normpath(os.path.join(proc.cwd, db))
    if os.path.exists(out["trading_db"]):
        try:
            out["last_order_ms"] = sq.ReadOnly(out["trading_db"], 5000).read(newest_order)
            out["last_order"] = sq.iso(out["last_order_ms"])
        except sq.DatabaseError as e:
            problems.append("%s: %s" % (out["trading_db"], e))
    return out, problems


def run(module):
    p = module.params
    for unit in p["units"]:
        _units.check_unit_name(unit, "units")
    target = SystemdTarget(p["scope"], p["user"])
    full = [_units.full_name(u) for u in p["units"]]
    props = _units.show(module, target, list(dict.fromkeys(full)))
    traders, problems = {}, []
    for unit, name in zip(p["units"], full):
        try:
            traders[unit], lines = trader(module, target, unit, props[name], p["since"])
        except (_units.UnitsError, _journal.JournalError) as e:
            traders[unit], lines = dict(main_pid=_units.main_pid(props[name])), [to_native(e)]
        problems.extend("%s: %s" % (unit, line) for line in lines)
    return dict(changed=False, traders=traders, problems=problems, healthy=not problems)


def main():
    argument_spec = dict(
        units=dict(type="list", elements="str", default=["openclaw-ai-quant-trader"]),
        since=dict(type="str", default="-15min"),
    )
    argument_spec.update(systemd_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    v.check(module, lists=dict(units=v.Items(min_items=1, max_items=20)),
            texts=dict(since=v.Text(max_length=100), user=v.Text(max_length=USER_MAX_LENGTH)))
    if module.params["since"].lstrip().startswith("--"):
        module.fail_json(msg="since %r is not a time: give one like -15min or @1795267829" % module.params["since"])
    try:
        module.exit_json(**run(module))
    except (_units.UnitsError, SystemdTargetError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
