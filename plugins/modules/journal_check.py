#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: journal_check
short_description: Wait for, or assert the absence of, lines in a systemd unit's journal
version_added: 1.0.0
description:
  - Reads a unit's journal with C(journalctl -o json) (an argv list, never a shell) and looks for lines matching
    O(pattern), for a system unit or a user's unit, connected as root or as that user.
  - By default only the unit's current invocation counts (its C(_SYSTEMD_INVOCATION_ID)), so a line logged by a
    previous run of the unit never does.
  - O(state=present) waits until a matching line appears (the runbook's C(journalctl ... | grep -i kill), as a
    verification that fails when the line does not come). O(state=absent) asserts there is none.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._systemd
options:
  unit:
    description: The unit, with or without C(.service).
    type: str
    required: true
  pattern:
    description: A Python regular expression, or a list of them; a line matches when any of them is found in it.
    type: raw
    required: true
  ignore_case:
    description: Match without regard to case, like C(grep -i).
    type: bool
    default: false
  since:
    description:
      - Where the window starts, in any form C(journalctl --since) takes (C(2026-11-21 13:00:00), C(@1795267829),
        C(-5min)). When it is not set, the window is the unit's current invocation; for a unit that is not running,
        the moment the module starts.
    type: str
  state:
    description: V(present) waits for a match; V(absent) fails on one.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description:
      - Seconds to wait. With O(state=present), how long to wait for a match (default 30). With O(state=absent), how
        long to keep watching for a match that must not come (default 0, check the window once).
      - From 0 to 86400; V(nan) and V(inf) are refused.
    type: float
  poll:
    description: Seconds between two reads of the journal, from 0.05 to 60.
    type: float
    default: 0.5
"""

EXAMPLES = r"""
- name: The trader logged the kill switch transition (as root, for trader's user unit)
  quantops.runbooks.journal_check:
    unit: openclaw-ai-quant-live
    scope: user
    user: trader
    pattern: 'kill switch: .* -> close_only'
    timeout: 10

- name: No errors from the new invocation in its first 20 seconds
  quantops.runbooks.journal_check:
    unit: quantlab-replayd
    scope: system
    pattern: ['(?i)error', 'Traceback']
    state: absent
    timeout: 20
"""

RETURN = r"""
matches:
  description: The matching lines, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: When the line was logged, ISO 8601 UTC with microseconds.
      type: str
    message:
      description: The line.
      type: str
  sample: [{"time": "2026-11-21T13:30:02.118744+00:00", "message": "WARNING kill switch: off -> close_only (source=file:/tmp/ai-quant-kill)"}]
count:
  description: How many lines matched.
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds the module spent reading and waiting.
  returned: always
  type: float
  sample: 1.02
invocation_id:
  description: The unit's current invocation the window was limited to, empty when O(since) was used or the unit is not running.
  returned: always
  type: str
  sample: f497578df8b9495fb52ea33d9e5a08e5
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._journal import Journal, JournalError, entry_time, message_text
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)

# A timeout of nan or inf never ends the wait loop, a poll of 0 spins it: both are refused before anything runs.
TIMEOUT = v.Range(0, 86400, "seconds")
POLL = v.Range(0.05, 60, "seconds")


class JournalCheckError(Exception):
    pass


def open_journal(module, target, unit, since):
    """The unit's journal from ``since``, else its current invocation, else from now (a unit that is not running)."""
    try:
        props = _units.show(module, target, [unit], ("LoadState", "InvocationID"))[unit]
    except _units.UnitsError as e:
        raise JournalCheckError("cannot reach the manager of %s: %s" % (unit, to_native(e))) from None
    if props.get("LoadState") == "not-found":
        raise JournalCheckError("unit %s not found: check unit, scope and user" % unit)
    if since:
        return Journal(module, target, unit, since=since), ""
    if props.get("InvocationID"):
        return Journal(module, target, unit, invocation_id=props["InvocationID"]), props["InvocationID"]
    return Journal(module, target, unit, since=time.time()), ""


def run(module):
    p = module.params
    patterns = p["pattern"] if isinstance(p["pattern"], list) else [p["pattern"]]
    if not patterns or not all(isinstance(x, str) and x for x in patterns):
        raise JournalCheckError("pattern must be a non-empty regular expression or a list of them")
    flags = re.IGNORECASE if p["ignore_case"] else 0
    try:
        regexes = [re.compile(x, flags) for x in patterns]
    except re.error as e:
        raise JournalCheckError("pattern is not a valid regular expression: %s" % e) from None
    timeout = p["timeout"] if p["timeout"] is not None else (30.0 if p["state"] == "present" else 0.0)
    try:
        _units.check_unit_name(p["unit"])
    except _units.UnitsError as e:
        raise JournalCheckError(to_native(e)) from None
    unit = p["unit"] if "." in p["unit"] else p["unit"] + ".service"
    try:
        target = SystemdTarget(p["scope"], p["user"])
    except SystemdTargetError as e:
        raise JournalCheckError(to_native(e)) from None

    started = time.monotonic()
    journal, invocation_id = open_journal(module, target, unit, p["since"])
    matches = []
    while True:
        for entry in journal.read_new():
            text = message_text(entry)
            if any(r.search(text) for r in regexes):
                matches.append(dict(time=entry_time(entry), message=text))
        elapsed = time.monotonic() - started
        done = bool(matches) or elapsed >= timeout
        if done:
            break
        time.sleep(min(p["poll"], max(timeout - elapsed, 0.01)))
    result = dict(changed=False, matches=matches, count=len(matches), elapsed=round(time.monotonic() - started, 3),
                  invocation_id=invocation_id)
    window = "since %s" % p["since"] if p["since"] else "in its current invocation"
    if p["state"] == "present" and not matches:
        result["msg"] = "no line of %s's journal %s matched %s within %.1f s" % (unit, window, " or ".join(patterns), timeout)
        module.fail_json(**result)
    if p["state"] == "absent" and matches:
        result["msg"] = "%d line(s) of %s's journal %s matched %s, the first: %s" % (
            len(matches), unit, window, " or ".join(patterns), matches[0]["message"])
        module.fail_json(**result)
    return result


def main():
    argument_spec = dict(
        unit=dict(type="str", required=True),
        pattern=dict(type="raw", required=True),
        ignore_case=dict(type="bool", default=False),
        since=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        timeout=dict(type="float"),
        poll=dict(type="float", default=0.5),
    )
    argument_spec.update(systemd_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    v.check(module, numbers=dict(timeout=TIMEOUT, poll=POLL))
    try:
        module.exit_json(**run(module))
    except (JournalCheckError, JournalError, ValueError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
