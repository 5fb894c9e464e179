#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: units_info
short_description: State, start time and restarts of many systemd units in one read
version_added: 1.1.0
description:
  - Reads every unit of O(units) with one C(systemctl show --timestamp=us+utc) call (an argv list, never a shell),
    for a system unit or a user's unit, connected as root (C(systemctl --user -M USER@)) or as that user.
  - Per unit it returns the load, active and sub state, the main PID and invocation ID, when the unit entered its
    current active state (to the microsecond, in UTC) and how long ago that was, how often systemd restarted it, its
    last result and exit status, and its unit file state. This is the runbook's C(systemctl --user status ...) of
    section 5 ("Post-restart health check") as data.
  - A unit that does not exist is reported in RV(units) with C(load_state=not-found); it never fails the task.
  - Needs systemd 248 or later on the host (C(--timestamp=)).
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._systemd
options:
  units:
    description:
      - The units, with or without C(.service) (a name without a type suffix gets C(.service)).
      - At least one, at most 100; each a systemd unit name (letters, digits and C(:-_.\@)).
    type: list
    elements: str
    required: true
seealso:
  - module: quantops.runbooks.journal_check
  - module: quantops.runbooks.sidecar_status
"""

EXAMPLES = r"""
- name: The bot's units, as root, for trader's user manager
  quantops.runbooks.units_info:
    units:
      - openclaw-ai-quant-ws-sidecar
      - openclaw-ai-quant-trader
      - openclaw-ai-quant-monitor
    scope: user
    user: trader
  register: units

- name: The sidecar has been up for at least a minute
  ansible.builtin.assert:
    that: units.units['openclaw-ai-quant-ws-sidecar'].since_s >= 60
"""

RETURN = r"""
units:
  description: One entry per unit of O(units), keyed by the name as given.
  returned: always
  type: dict
  contains:
    id:
      description: The unit's full name (C(Id)).
      type: str
      sample: openclaw-ai-quant-trader.service
    load_state:
      description: C(LoadState), V(loaded) or V(not-found) for a unit that does not exist.
      type: str
      sample: loaded
    active_state:
      description: C(ActiveState) (V(active), V(inactive), V(failed), V(activating), ...).
      type: str
      sample: active
    sub_state:
      description: C(SubState) (V(running), V(dead), V(auto-restart), ...).
      type: str
      sample: running
    main_pid:
      description: The main process, null when there is none.
      type: int
      sample: 4242
    invocation_id:
      description: The current invocation (C(InvocationID)), the journal's C(_SYSTEMD_INVOCATION_ID); null when none.
      type: str
      sample: f497578df8b9495fb52ea33d9e5a08e5
    active_enter:
      description: When the unit last entered the active state, ISO 8601 UTC with microseconds; null when never.
      type: str
      sample: "2026-11-29T19:38:08.123456+00:00"
    active_enter_epoch:
      description: C(active_enter) in seconds since the epoch.
      type: float
      sample: 1795981088.123456
    since_s:
      description: Seconds since the current start, as of the read; null when the unit is not active.
      type: float
      sample: 12.5
    n_restarts:
      description: How often systemd restarted the unit automatically (C(NRestarts), C(Restart=)) since it was last started by hand.
      type: int
      sample: 0
    result:
      description: C(Result) of the last run (V(success), V(exit-code), V(signal), V(timeout), ...).
      type: str
      sample: success
    exec_main_status:
      description: Exit status of the last main process (C(ExecMainStatus)), 0 while it runs.
      type: int
      sample: 0
    unit_file_state:
      description: C(UnitFileState) (V(enabled), V(disabled), V(static), ...); null for a unit without a file.
      type: str
      sample: enabled
  sample:
    openclaw-ai-quant-trader:
      id: openclaw-ai-quant-trader.service
      load_state: loaded
      active_state: active
      sub_state: running
      main_pid: 4242
      invocation_id: f497578df8b9495fb52ea33d9e5a08e5
      active_enter: "2026-11-29T19:38:08.123456+00:00"
      active_enter_epoch: 1795981088.123456
      since_s: 12.5
      n_restarts: 0
      result: success
      exec_main_status: 0
      unit_file_state: enabled
now:
  description: The moment of the read on the host, seconds since the epoch (C(since_s) of RV(units) is counted to it).
  returned: always
  type: float
  sample: 1795981100.62
missing:
  description: The units of O(units) that do not exist (load state V(not-found)), in the order given.
  returned: always
  type: list
  elements: str
  sample: []
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    USER_MAX_LENGTH,
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)

MAX_UNITS = 100


def run(module):
    p = module.params
    names = p["units"]
    for unit in names:
        _units.check_unit_name(unit, "units")
    target = SystemdTarget(p["scope"], p["user"])
    full = [_units.full_name(u) for u in names]
    props = _units.show(module, target, list(dict.fromkeys(full)), _units.INFO_PROPERTIES, options=(_units.TIMESTAMP_OPTION,))
    now = time.time()
    units = dict((name, _units.unit_info(props[f], now)) for name, f in zip(names, full))
    missing = [name for name in names if units[name]["load_state"] == "not-found"]
    return dict(changed=False, units=units, now=now, missing=missing)


def main():
    argument_spec = dict(units=dict(type="list", elements="str", required=True))
    argument_spec.update(systemd_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    v.check(module, lists=dict(units=v.Items(min_items=1, max_items=MAX_UNITS)), texts=dict(user=v.Text(max_length=USER_MAX_LENGTH)))
    try:
        module.exit_json(**run(module))
    except (_units.UnitsError, SystemdTargetError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
