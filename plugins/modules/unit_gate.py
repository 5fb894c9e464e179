#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: unit_gate
short_description: Start, restart or stop systemd units and wait on the host for the proof
version_added: 1.1.0
description:
  - Starts, restarts or stops the units O(names) with one C(systemctl) call, for a system unit or a user's unit, as
    root or as that user. Then, in the same module run, it waits on the host for the proof that each unit is up,
    from its B(new invocation) only. A line logged by an earlier run never counts. This replaces the runbook's
    C(sleep 5) and C(journalctl ... | tail -3).
  - The proof depends on O(proof).
  - V(journal) is a line matching O(pattern) in the new invocation's journal.
  - V(openclaw_sidecar) is the openclaw-ai-quant WS sidecar streaming again. Its new invocation logged
    C(ws connected), its socket answers C(health) over the bot's own JSON-lines protocol with C(connected=true) and
    fresh mids, and the forming 1m bar of every symbol (C(AI_QUANT_SIDECAR_SYMBOLS), or O(symbols)) in
    C(candles_1m.db) was written since the start.
  - V(openclaw_trader) is a trader's heartbeat (C(engine ok. ...)) from its new invocation that shows the strategy
    config on disk. That is C(strategy_sha1), computed from the YAML the new process reads as the trader computes it.
  - While it waits, and for O(settle) seconds after the proof, the unit fails on any line matching O(fail_pattern). It
    also fails when its invocation changes (the process exited and systemd restarted it) or when it stops being
    active. It fails at once, not at the deadline, with the unit's last journal lines.
  - A trader with a kill switch (C(AI_QUANT_MODE) V(live) or V(dry_live)) never loses it by a restart. The real
    trader never clears a kill in-process, so a kill file removed after it was read still holds until the process
    ends, and a restart is exactly when it stops counting. With O(kill_switch_hold=true) the module works out the
    mode each such trader holds before it acts. That is the strongest of its sources now (its environment and its
    kill file), of every kill engaged since it started (the kill_switch audit trail O(audit_log)), and of every
    order it blocked since then (C(RISK_BLOCK) events in its trading database). It refuses, changing nothing, when
    a restart or stop would drop that mode. After a start it proves the mode holds, as the emergency stop does, with a
    heartbeat of a process started after the sources were set, with sources that give at least that mode.
  - V(http) is the unit's health URL of O(health) answering one of its statuses (200 by default), polled from the host
    while the new invocation runs (module_utils C(_http_health), so a token is read on the host by reference and
    never returned). A unit that has no entry in O(health) is proven by being active, as with V(none).
  - V(stopped) stops the units that are active and checks that each one is inactive. A unit that did not end on
    C(SIGTERM) within its C(TimeoutStopSec) and was killed by systemd has RV(units.stop_result=timeout) and
    RV(units.killed=true).
  - A unit in the C(failed) state (for example one that crashed in a loop until it hit its start limit) is reset
    with C(systemctl reset-failed) before it is started or restarted; systemd would refuse the start otherwise.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._systemd
attributes:
  check_mode:
    support: full
    description: Reports what it would start, restart or stop, and does nothing.
  diff_mode:
    support: full
    description: Shows each unit's state and invocation before and after.
  idempotent:
    support: partial
    description: V(started) and V(stopped) change only units that are not yet in that state. V(restarted) restarts every time, as C(systemctl restart) does.
options:
  names:
    description:
      - The units, with or without C(.service). They are acted on with one C(systemctl) call, and each is proven.
      - Required unless O(steps) is given.
    type: list
    elements: str
  state:
    description: What to do. Required with O(names).
    type: str
    choices: [started, restarted, stopped]
  steps:
    description:
      - Several steps in order, in this one module run, instead of O(names) and O(state). This is the fast form for a
        rolling restart, where every round trip to a host counts. Each step takes the options of a single run and
        is proven before the next one starts.
      - A failed step with O(steps[].critical=true) ends the run. The steps after it are not done, and the module
        fails. A failed non-critical step is a warning, and the run goes on.
      - The kill-switch modes a stop step finds the traders holding carry over to their start in a later step.
      - O(scope), O(user), O(poll), O(audit_log) and O(heartbeat_pattern) apply to every step.
    type: list
    elements: dict
    suboptions:
      name:
        description: The step's label in RV(steps) and in messages. The default is C(step N).
        type: str
      names:
        description: As O(names).
        type: list
        elements: str
        required: true
      state:
        description: As O(state).
        type: str
        required: true
        choices: [started, restarted, stopped]
      proof:
        description: As O(proof).
        type: str
        choices: [none, journal, openclaw_sidecar, openclaw_trader, http]
      pattern:
        description: As O(pattern).
        type: raw
      fail_pattern:
        description: As O(fail_pattern).
        type: list
        elements: str
        default: []
      settle:
        description: As O(settle).
        type: float
        default: 0
      timeout:
        description: As O(timeout).
        type: float
        default: 60
      related:
        description: As O(related).
        type: list
        elements: str
        default: []
      symbols:
        description: As O(symbols).
        type: list
        elements: str
      candles_db:
        description: As O(candles_db).
        type: path
      max_mids_age:
        description: As O(max_mids_age).
        type: float
        default: 10
      kill_switch_hold:
        description: As O(kill_switch_hold).
        type: bool
        default: true
      health:
        description: As O(health).
        type: dict
        default: {}
      kill_modes:
        description: As O(kill_modes). Merged over what earlier stop steps found.
        type: dict
        default: {}
      critical:
        description: Whether a failure of this step fails the run (else it is a warning).
        type: bool
        default: true
  proof:
    description:
      - What proves that a started or restarted unit is up (see the description). V(none) only checks that it is
        active once C(systemctl) returns.
      - The default is V(journal) when O(pattern) is set, else V(none).
    type: str
    choices: [none, journal, openclaw_sidecar, openclaw_trader, http]
  pattern:
    description: Python regular expression, or a list of them, of the journal line that proves a unit is up (V(journal)).
    type: raw
  fail_pattern:
    description:
      - Python regular expressions. A matching line in a unit's new invocation fails it, from its start to O(settle)
        seconds after its proof. Case matters unless the expression starts with C((?i)).
      - For the openclaw traders the flows pass C((?i)\berror\b), C(Traceback) and C((?i)\bexception\b), the
        runbook's C(grep -iE "error|exception|traceback") without the heartbeat's own C(errors=0).
    type: list
    elements: str
    default: []
  settle:
    description: Seconds to keep watching each unit after its proof, from 0 to 3600.
    type: float
    default: 0
  timeout:
    description: Seconds from the C(systemctl) call to the last proof, from 1 to 3600.
    type: float
    default: 60
  poll:
    description: Seconds between two looks at the journal and the units, from 0.05 to 10.
    type: float
    default: 0.2
  health:
    description:
      - With V(http), the health endpoint of each unit, a mapping of unit to an endpoint of
        M(quantops.runbooks.http_health) (C(url) or C(port), C(host), C(path); C(status), C(timeout) per request,
        C(token) by reference). Units without an entry are proven by being active.
    type: dict
    default: {}
  related:
    description:
      - Other units of the same manager whose state is returned with the result, read in the same C(systemctl show).
        The flows pass the traders that C(Requires=) the sidecar, so that a failed sidecar names what it left them in.
    type: list
    elements: str
    default: []
  symbols:
    description: With V(openclaw_sidecar), the symbols whose forming 1m bar must be fresh. The default is the sidecar's own C(AI_QUANT_SIDECAR_SYMBOLS).
    type: list
    elements: str
  candles_db:
    description:
      - With V(openclaw_sidecar), the 1m candle database. The default is C(candles_1m.db) in the directory the sidecar
        writes to (C(AI_QUANT_CANDLES_DB_DIR) of its environment, as the sidecar derives it).
    type: path
  max_mids_age:
    description: With V(openclaw_sidecar), the oldest mids (C(mids_age_s) of C(health)) that count as streaming, in seconds.
    type: float
    default: 10
  kill_switch_hold:
    description:
      - With V(openclaw_trader), refuse a restart or a stop that would drop a kill-switch mode a live trader holds,
        and after V(started) or V(restarted) prove the mode still holds (see the description).
      - When false, a restart or stop goes ahead with a warning, and RV(units.kill_mode_held) and
        RV(units.kill_mode_sources) tell what a start will lose.
    type: bool
    default: true
  kill_modes:
    description:
      - With V(openclaw_trader) and V(started), the mode each unit held before it was stopped (RV(units) of the stop's
        RV(units.kill_mode_held)), a mapping of unit to mode; the stop's RV(units) itself is taken as it is. A trader whose
        sources now give less fails.
    type: dict
    default: {}
  audit_log:
    description: The kill_switch audit trail read for O(kill_switch_hold) (JSON lines). A missing file is no kill.
    type: path
    default: /var/log/quantops-kill-switch.jsonl
  heartbeat_pattern:
    description: The trader's heartbeat, with named groups C(loop) and optionally C(sha1). The default is openclaw-ai-quant's at 9603e63.
    type: str
seealso:
  - module: quantops.runbooks.journal_check
  - module: quantops.runbooks.kill_switch
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: Restart the sidecar and wait until it streams again (runbook section 5, step 1 and 2)
  quantops.runbooks.unit_gate:
    names: [openclaw-ai-quant-ws-sidecar]
    state: restarted
    proof: openclaw_sidecar
    user: trader
    related: [openclaw-ai-quant-trader, openclaw-ai-quant-live]
    timeout: 60

- name: Start the traders; each must show the config on disk and log no error for 10 s
  quantops.runbooks.unit_gate:
    names: [openclaw-ai-quant-trader, openclaw-ai-quant-live]
    state: started
    proof: openclaw_trader
    user: trader
    settle: 10
    fail_pattern: ['(?i)\berror\b', Traceback, '(?i)\bexception\b']

- name: The runbook's restart order in one module run (one round trip to the host)
  quantops.runbooks.unit_gate:
    user: trader
    steps:
      - {name: traders stop, names: [openclaw-ai-quant-trader], state: stopped, proof: openclaw_trader}
      - {name: sidecar, names: [openclaw-ai-quant-ws-sidecar], state: restarted, proof: openclaw_sidecar,
         related: [openclaw-ai-quant-trader]}
      - {name: traders, names: [openclaw-ai-quant-trader], state: started, proof: openclaw_trader, settle: 10,
         fail_pattern: ['(?i)\berror\b', Traceback, '(?i)\bexception\b']}
      - {name: monitor, names: [openclaw-ai-quant-monitor], state: restarted, pattern: 'AI Quant Monitor listening on ',
         critical: false}

- name: Start two system services, each up when its health endpoint answers 200
  quantops.runbooks.unit_gate:
    names: [quantlab-featurexd, quantlab-strategyd]
    scope: system
    state: started
    proof: http
    health:
      quantlab-featurexd: {port: 3051, path: /health}
      quantlab-strategyd: {port: 3031, path: /health}

- name: Restart a system service and wait for its own ready line
  quantops.runbooks.unit_gate:
    names: [quantlab-replayd]
    scope: system
    state: restarted
    pattern: 'listening on'
"""

RETURN = r"""
steps:
  description:
    - With O(steps), one result per step, in order, each with the return values of a single run (RV(units),
      RV(related), RV(failed_units), RV(journal), RV(acted_at), RV(elapsed)) and C(name), C(critical), C(failed), C(msg).
    - A step that was not done has C(skipped=true).
  returned: with O(steps)
  type: list
  elements: dict
units:
  description: One entry per unit of O(names), by full name.
  returned: without O(steps)
  type: dict
  contains:
    action:
      description: V(restarted), V(started), V(stopped), or V(none) when the unit already was in the state asked for.
      type: str
    active_state:
      description: C(ActiveState) at the end.
      type: str
    sub_state:
      description: C(SubState) at the end.
      type: str
    main_pid:
      description: The main process at the end, null when none.
      type: int
    invocation_id:
      description: The invocation proven (the new one), empty when the unit is not running.
      type: str
    previous_invocation_id:
      description: The invocation before the action.
      type: str
    ready_s:
      description: Seconds from the C(systemctl) call to the proof, null without one.
      type: float
    proof:
      description: The line, or what was seen, that proves the unit is up.
      type: str
    proven_at:
      description: When the proof was seen on the host, seconds since the epoch; null without one.
      type: float
    strategy_sha1:
      description: With V(openclaw_trader), the config hash the proof showed (that of the YAML on disk).
      type: str
    kill_mode_held:
      description: With V(openclaw_trader) and O(kill_switch_hold), the mode the trader held before the action (V(off) without a kill switch).
      type: str
    kill_mode_sources:
      description: With V(openclaw_trader), the mode the trader's sources give now, which is what a new start takes.
      type: str
    kill_mode_after:
      description: With V(openclaw_trader), the mode the new process holds from its sources.
      type: str
    stop_result:
      description: With V(stopped), systemd's C(Result) of the unit after the stop; V(timeout) when it ignored C(SIGTERM) and was killed.
      type: str
    killed:
      description: With V(stopped), whether systemd had to kill the unit after its stop timeout (C(Result=timeout)).
      type: bool
    sidecar:
      description: With V(openclaw_sidecar), the last C(health) and C(ws_stats) answers and the forming bars seen.
      type: dict
related:
  description: State of each unit of O(related) at the end (C(active_state), C(sub_state), C(main_pid)).
  returned: without O(steps)
  type: dict
failed_units:
  description: The units that did not come up, or did not stop.
  returned: without O(steps)
  type: list
  elements: str
journal:
  description: On failure, the last journal lines of each failed unit since the action, oldest first.
  returned: without O(steps)
  type: dict
acted_at:
  description: When the C(systemctl) call was made, seconds since the epoch; null when nothing was done.
  returned: without O(steps)
  type: float
elapsed:
  description: Seconds the module spent.
  returned: always
  type: float
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _http_health as hh
from ansible_collections.quantops.runbooks.plugins.module_utils import _lifecycle as lc
from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile as sf
from ansible_collections.quantops.runbooks.plugins.module_utils import _sidecar as sc
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _trader, _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._journal import Journal, JournalError, message_text
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

PROPS = ("Id", "LoadState", "ActiveState", "SubState", "MainPID", "InvocationID", "NRestarts", "Result")
SETTLE = v.Range(0, 3600, "seconds")
TIMEOUT = v.Range(1, 3600, "seconds")
POLL = v.Range(0.05, 10, "seconds")
MIDS_AGE = v.Range(0.1, 3600, "seconds")
RUNNING = ("active", "reloading")
CONNECTED = re.compile(sc.CONNECTED)


class GateError(Exception):
    pass


class Refused(GateError):
    """Refused before anything changed."""


def row(props):
    return dict(active_state=props.get("ActiveState", ""), sub_state=props.get("SubState", ""), main_pid=_units.main_pid(props),
                invocation_id=props.get("InvocationID", ""), n_restarts=int(props["NRestarts"]) if props.get("NRestarts", "").isdigit() else None)


class Gate:
    def __init__(self, module, params=None):
        self.module = module
        p = self.p = params or module.params
        try:
            self.names = self._names(p["names"], "names", required=True)
            self.related = [u for u in self._names(p["related"], "related") if u not in self.names]
            self.target = SystemdTarget(p["scope"], p["user"])
        except (_units.UnitsError, SystemdTargetError) as e:
            raise GateError(to_native(e)) from None
        self.proof = p["proof"] or ("journal" if p["pattern"] else "none")
        self.patterns = lc.compile_patterns(p["pattern"], "pattern")
        self.fail = lc.compile_patterns(p["fail_pattern"], "fail_pattern")
        if self.proof == "journal" and not self.patterns:
            raise GateError("proof=journal needs pattern: the regular expression of the line that proves a unit is up")
        if self.proof == "openclaw_trader" and not HAS_YAML:
            raise GateError("proof=openclaw_trader needs PyYAML on the host (python3-yaml) to hash the strategy config")
        self.kill_modes = {}
        for unit, value in (p["kill_modes"] or {}).items():
            mode = value.get("kill_mode_held", "off") if isinstance(value, dict) else value
            if mode not in _trader.RANK:
                raise GateError("kill_modes[%s] is %r: use off, close_only or halt_all" % (unit, mode))
            self.kill_modes[_units.service_name(unit)] = mode
        self.heartbeat = p["heartbeat_pattern"] or _trader.HEARTBEAT
        self.secrets = hh.Secrets()
        self.health = self._health(p.get("health") or {})
        self.units = {}
        self.journal = {}
        self.failed = {}
        self.started = time.monotonic()
        self.acted_at = None
        self.assume_stopped = set()  # check mode: what an earlier step would have stopped

    def _health(self, health):
        """{unit: http_health Target} of O(health), checked before anything is done."""
        targets = {}
        for n, (unit, item) in enumerate(sorted(health.items())):
            name = _units.service_name(_units.check_unit_name(unit, "health"))
            if not isinstance(item, dict):
                raise GateError("health[%s] must be an endpoint (url, or port and path), not %r" % (unit, item))
            try:
                t = hh.target(n, dict(item, name=name), 2.0)
            except (hh.HealthInputError, v.InvalidInput) as e:
                raise GateError("health[%s]: %s" % (unit, to_native(e))) from None
            targets[name] = t
        unknown = sorted(set(targets) - set(self.names))
        if unknown:
            raise GateError("health names %s, which %s not among the units acted on (%s)" % (
                ", ".join(unknown), "is" if len(unknown) == 1 else "are", ", ".join(self.names)))
        if targets and self.proof != "http":
            raise GateError("health is given, but proof is %s: use proof=http" % self.proof)
        return targets

    @staticmethod
    def _names(values, option, required=False):
        names = []
        for value in values or []:
            unit = _units.service_name(_units.check_unit_name(value, option))
            if unit not in names:
                names.append(unit)
        if required and not names:
            raise _units.UnitsError("%s is empty: give the units to act on" % option)
        return names

    def show(self, units):
        try:
            return _units.show(self.module, self.target, units, PROPS)
        except _units.UnitsError as e:
            raise GateError(to_native(e)) from None

    # ---- before -----------------------------------------------------------------------------------------------------
    def read_before(self):
        self.before = self.show(self.names + self.related)
        missing = [u for u in self.names + self.related if self.before[u].get("LoadState") == "not-found"]
        if missing:
            raise Refused("unit %s not found in the %s manager: check names, scope and user" % (", ".join(missing), _units.manager_name(self.target)))
        for unit in self.names:
            self.units[unit] = dict(row(self.before[unit]), action="none", previous_invocation_id=self.before[unit].get("InvocationID", ""),
                                    ready_s=None, proof="")
        state = self.p["state"]
        running = [u for u in self.names if self.before[u].get("ActiveState") in RUNNING and u not in self.assume_stopped]
        if state == "restarted":
            self.todo = list(self.names)
        elif state == "started":
            self.todo = [u for u in self.names if u not in running]
        else:
            # not only the running ones: a unit crash-looping (activating/auto-restart) would start again by itself
            self.todo = [u for u in self.names if self.before[u].get("ActiveState") not in ("inactive", "failed") and u not in self.assume_stopped]
        if self.proof == "openclaw_trader" and state in ("restarted", "stopped"):
            self.check_kill_hold(running)

    def trader_of(self, pid):
        try:
            process = _units.Process(pid)
        except _units.UnitsError as e:
            raise GateError(to_native(e)) from None
        return process, _trader.TraderFacts(process.environ, process.cwd)

    def sources_mode(self, facts):
        """The mode a trader starting now would take from its sources: the env value, then its kill file."""
        content = None
        if facts.kill_file:
            try:
                content, odd, _st = sf.read_path(facts.kill_file)
            except (sf.UnsafePathError, OSError) as e:
                raise GateError("cannot read the kill file %s: %s" % (facts.kill_file, e)) from None
            if odd:
                raise GateError("the kill file %s is %s: the trader cannot read it as a kill; fix it first" % (facts.kill_file, odd))
        return _trader.after_refresh(None, facts.env_value, content)

    def engaged_since(self, process, facts):
        modes = []
        path = self.p["audit_log"]
        if path:
            try:
                data, odd, _st = sf.read_path(path, limit=16 << 20)
            except (sf.UnsafePathError, OSError) as e:
                raise GateError("cannot read the kill switch audit trail %s: %s" % (path, e)) from None
            if data and not odd:
                modes += lc.audit_modes(data.decode("utf-8", "replace").splitlines(), process.started)
        db = os.path.normpath(os.path.join(process.cwd, process.environ.get("AI_QUANT_DB_PATH") or "trading_engine.db"))
        if os.path.exists(db):
            since_iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(process.started))

            def blocks(conn):
                if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'").fetchone():
                    return []
                return conn.execute("SELECT timestamp, data_json FROM audit_events WHERE event = 'RISK_BLOCK' AND timestamp >= ?",
                                    (since_iso,)).fetchall()
            try:
                modes += lc.risk_block_modes(sq.ReadOnly(db).read(blocks), process.started)
            except sq.DatabaseError as e:
                self.module.warn("cannot read RISK_BLOCK events of %s: %s" % (db, e))
        return modes

    def check_kill_hold(self, running):
        lost = []
        for unit in running:
            pid = _units.main_pid(self.before[unit])
            if not pid:
                continue
            process, facts = self.trader_of(pid)
            if not facts.reads_kill_switch:
                self.units[unit]["kill_mode_held"] = "off"
                continue
            hold = lc.kill_hold(self.sources_mode(facts), self.engaged_since(process, facts))
            self.units[unit]["kill_mode_held"] = hold["held"]
            self.units[unit]["kill_mode_sources"] = hold["after_restart"]
            if hold["lost"]:
                lost.append("%s holds %s, but its sources now give %s (the kill file %s was removed or relaxed after the trader read it)"
                            % (unit, hold["held"], hold["after_restart"], facts.kill_file or "(none)"))
        if lost and not self.p["kill_switch_hold"]:
            self.module.warn("the kill switch will not survive a start: %s" % "; ".join(lost))
        elif lost:
            raise Refused("refused: a restart would clear a kill switch in force (the next start takes only what its sources give). %s. "
                          "Put the kill back (emergency_stop) or clear it on purpose (kill_switch_clear) first" % "; ".join(lost))

    # ---- act --------------------------------------------------------------------------------------------------------
    def act(self):
        if not self.todo or self.module.check_mode:
            for unit in self.todo:
                self.units[unit]["action"] = self.p["state"]
            return
        verb = {"started": "start", "restarted": "restart", "stopped": "stop"}[self.p["state"]]
        self.acted_at = time.time()
        self.acted_mono = time.monotonic()
        crashed = [u for u in self.todo if self.before[u].get("ActiveState") == "failed"]
        if crashed and verb != "stop":
            # a unit that crashed in a loop has hit its start limit: systemd refuses to start it until reset
            rc, out, err = _units.systemctl(self.module, self.target, "reset-failed", "--", *crashed)
            if rc != 0:
                self.module.warn("reset-failed of %s: %s" % (", ".join(crashed), (err or out).strip()))
        rc, out, err = _units.systemctl(self.module, self.target, verb, "--", *self.todo)
        for unit in self.todo:
            self.units[unit]["action"] = self.p["state"]
        if rc != 0:
            for unit in self.todo:
                self.failed[unit] = "systemctl %s failed: %s" % (verb, (err or out).strip())

    # ---- prove ------------------------------------------------------------------------------------------------------
    def prove(self):
        if self.module.check_mode:
            return
        if self.p["state"] == "stopped":
            self.prove_stopped()
            return
        mono0 = self.acted_mono if self.acted_at else time.monotonic()
        watch = self.start_watch()
        deadline = mono0 + self.p["timeout"]
        while watch:
            for unit, w in list(watch.items()):
                problem = self.look(unit, w, mono0)
                if problem:
                    self.failed[unit] = problem
                    del watch[unit]
                elif w["proven_at"] is not None and time.monotonic() >= w["proven_at"] + self.p["settle"]:
                    del watch[unit]
            if not watch:
                break
            if time.monotonic() >= deadline:
                for unit, w in watch.items():
                    self.failed[unit] = ("no proof within %.0f s: %s" % (self.p["timeout"], w["last"]) if w["proven_at"] is None
                                         else "settle window not over at the deadline")
                break
            time.sleep(self.p["poll"])
            self.check_alive(watch, mono0)

    def prove_stopped(self):
        now = self.show(self.names)
        for unit in self.names:
            self.units[unit].update(row(now[unit]))
            if unit in self.todo:
                self.units[unit].update(lc.stop_outcome(now[unit]))
            if unit not in self.failed and now[unit].get("ActiveState") not in ("inactive", "failed"):
                self.failed[unit] = "still %s/%s after systemctl stop" % (now[unit].get("ActiveState"), now[unit].get("SubState"))

    def start_watch(self):
        """The invocation each unit runs now, which alone may prove it."""
        current = self.show(self.names)
        watch = {}
        for unit in self.names:
            if unit in self.failed:
                continue
            inv = current[unit].get("InvocationID", "")
            self.units[unit].update(row(current[unit]))
            if current[unit].get("ActiveState") not in RUNNING or not inv:
                self.failed[unit] = "its process ended right after systemctl %s (%s/%s, result %s)" % (
                    "start" if self.p["state"] == "started" else "restart", current[unit].get("ActiveState"), current[unit].get("SubState"),
                    current[unit].get("Result"))
                continue
            watch[unit] = dict(inv=inv, journal=Journal(self.module, self.target, unit, invocation_id=inv), proven_at=None,
                               ws=False, expect=None, last="no proof seen yet")
        return watch

    def check_alive(self, watch, mono0):
        """A unit whose process ended (systemd may already have started another) fails at once."""
        now = self.show(list(watch))
        for unit, w in list(watch.items()):
            props = now[unit]
            self.units[unit].update(row(props))
            if props.get("InvocationID") != w["inv"] or props.get("ActiveState") not in RUNNING:
                # a last read of its journal first: the line that killed it is the most useful one
                problem = self.look(unit, w, mono0) or "its process ended: now %s/%s, result %s, %s restart(s) by systemd" % (
                    props.get("ActiveState"), props.get("SubState"), props.get("Result"), props.get("NRestarts"))
                self.failed[unit] = problem
                del watch[unit]

    def look(self, unit, w, mono0):
        """Read the unit's new lines; return why it failed, or None (and note the proof when it comes)."""
        try:
            return self._look(unit, w, mono0)
        except (GateError, JournalError) as e:
            return to_native(e)

    def _look(self, unit, w, mono0):
        # proof=http with no fail_pattern needs no journal line: no journalctl per unit and poll
        entries = [] if self.proof == "http" and not self.fail else w["journal"].read_new()
        for entry in entries:
            text = message_text(entry)
            bad = lc.first_match(self.fail, text)
            if bad:
                return "logged %r (matches %s)" % (" ".join(text.split())[:300], bad)
            if w["proven_at"] is None:
                self.check_line(unit, w, text)
        if w["proven_at"] is None and self.proof == "openclaw_sidecar" and w["ws"]:
            self.check_sidecar(unit, w)
        if w["proven_at"] is None and self.proof == "http":
            self.check_http(unit, w)
        if w["proven_at"] is None and self.proof == "none":
            self.proven(unit, w, mono0, "active")
        if w.get("proof") and w["proven_at"] is None:
            self.proven(unit, w, mono0, w["proof"])
        return w.get("error")

    def check_http(self, unit, w):
        """One GET of the unit's health endpoint (its token read on the host once); 200 (or its statuses) proves it."""
        t = self.health.get(unit)
        if t is None:
            w["proof"] = "active (no health endpoint)"
            return
        if "token" not in w:
            try:
                w["token"] = hh.read_token(t.token[0], t.token[1], self.secrets) if t.token else None
            except hh.TokenError as e:
                w["error"] = to_native(e)
                return
        out = hh.check_once(t, w["token"], 65536, {})
        if out["error"] is None and out["status"] in t.status:
            w["proof"] = "%s answered %s" % (t.url, out["status"])
        else:
            w["last"] = "%s: %s" % (t.url, self.secrets.scrub(out["error"] or "status %s" % out["status"]))

    def proven(self, unit, w, mono0, proof):
        w["proven_at"] = time.monotonic()
        self.units[unit]["ready_s"] = round(w["proven_at"] - mono0, 3)
        self.units[unit]["proven_at"] = round(time.time(), 6)
        self.units[unit]["proof"] = proof

    def check_line(self, unit, w, text):
        if self.proof == "journal":
            if lc.first_match(self.patterns, text):
                w["proof"] = " ".join(text.split())[:300]
        elif self.proof == "openclaw_sidecar":
            if CONNECTED.search(text):
                w["ws"] = True
                w["last"] = "ws connected logged; waiting for the socket and the forming bars"
        elif self.proof == "openclaw_trader":
            if w["expect"] is None:
                self.expect_trader(unit, w)
            seen = lc.heartbeat_proof(text, w["expect"], self.heartbeat)
            if seen["heartbeat"]:
                if seen["proves"]:
                    self.units[unit]["strategy_sha1"] = seen["sha1"]
                    w["proof"] = " ".join(text.split())[:300]
                    self.kill_after(unit, w)
                else:
                    w["last"] = "heartbeat shows strategy_sha1=%s, the config on disk is %s" % (seen["sha1"], w["expect"])

    def expect_trader(self, unit, w):
        pid = self.units[unit]["main_pid"]
        process, facts = self.trader_of(pid)
        w["process"], w["facts"] = process, facts
        path = os.path.normpath(os.path.join(process.cwd, process.environ.get("AI_QUANT_STRATEGY_YAML") or "config/strategy_overrides.yaml"))
        try:
            data, odd, _st = sf.read_path(path, limit=16 << 20)
        except (sf.UnsafePathError, OSError) as e:
            raise GateError("cannot read %s's strategy config %s: %s" % (unit, path, e)) from None
        if data is None or odd:
            parsed = {}
        else:
            try:
                parsed = yaml.safe_load(data)
            except yaml.YAMLError as e:
                w["error"] = "its strategy config %s does not parse: %s" % (path, " ".join(str(e).split())[:200])
                parsed = {}
        w["expect"] = _trader.strategy_sha1(parsed)

    def kill_after(self, unit, w):
        facts = w["facts"]
        mode = self.sources_mode(facts) if facts.reads_kill_switch else "off"
        self.units[unit]["kill_mode_after"] = mode
        held = self.kill_modes.get(unit) or self.units[unit].get("kill_mode_held") or "off"
        self.units[unit]["kill_mode_held"] = held
        if self.p["kill_switch_hold"] and _trader.RANK[mode] < _trader.RANK[held]:
            w["error"] = "held %s before, but its new process takes %s from its sources: the kill switch was lost" % (held, mode)

    def check_sidecar(self, unit, w):
        if "env" not in w:
            try:
                process = _units.Process(self.units[unit]["main_pid"])
            except _units.UnitsError as e:
                w["last"] = to_native(e)
                return
            w["env"], w["cwd"] = process.environ, process.cwd
        env = w["env"]
        symbols = self.p["symbols"] or sc.env_symbols(env)
        owner = getattr(self.target, "uid", None) if self.target.scope == "user" else None
        try:
            status = sc.status(sc.socket_path(env, w["cwd"]), owner, symbols, "1m")
        except sc.SidecarError as e:
            w["last"] = to_native(e)
            return
        self.units[unit]["sidecar"] = dict(health=status["health"], ws_stats=status["ws_stats"], rtt_ms=status["rtt_ms"])
        problem = sc.health_problem(status["health"], self.p["max_mids_age"])
        if problem:
            w["last"] = problem
            return
        self.check_forming_bars(unit, w, symbols, status)

    def check_forming_bars(self, unit, w, symbols, status):
        env = w["env"]
        if not symbols:
            w["last"] = "no symbols to check the forming bars of: set symbols (the sidecar has no AI_QUANT_SIDECAR_SYMBOLS)"
            return
        db = self.p["candles_db"] or os.path.join(sc.candles_dir(env, w["cwd"]), "candles_1m.db")
        if not os.path.exists(db):
            w["last"] = "no candle database %s yet" % db
            return
        try:
            rows = sq.ReadOnly(db).read(lambda conn: sc.read_forming(conn, symbols, "1m"))
        except sq.DatabaseError as e:
            w["last"] = "cannot read %s: %s" % (db, e)
            return
        problems = sc.forming_bar_problems(rows, int(time.time() * 1000), self.acted_at)
        self.units[unit]["sidecar"]["forming_bars"] = {s: (list(r) if r else None) for s, r in rows.items()}
        if problems:
            w["last"] = "; ".join(problems)
            return
        w["proof"] = "ws connected, socket connected=true mids %.1f s old, forming 1m bars of %s written since the start" % (
            status["health"].get("mids_age_s") or 0, ",".join(symbols))

    # ---- report -----------------------------------------------------------------------------------------------------
    def tails(self):
        if not self.failed or not self.acted_at:
            return
        for unit in self.failed:
            try:
                lines = [message_text(e) for e in Journal(self.module, self.target, unit, since=self.acted_at - 1).read_new()]
            except JournalError as e:
                lines = ["(journal unreadable: %s)" % e]
            self.journal[unit] = lc.tail(lines)

    def result(self):
        related = {}
        if self.related:
            now = self.show(self.related)
            related = {u: dict(active_state=now[u].get("ActiveState", ""), sub_state=now[u].get("SubState", ""),
                               main_pid=_units.main_pid(now[u])) for u in self.related}
        changed = any(u["action"] != "none" for u in self.units.values())
        result = dict(changed=changed, units=self.units, related=related, failed_units=sorted(self.failed), journal=self.journal,
                      acted_at=round(self.acted_at, 6) if self.acted_at else None, elapsed=round(time.monotonic() - self.started, 3))
        if self.module._diff:
            result["diff"] = dict(
                before="".join("%s: %s %s\n" % (u, self.before[u].get("ActiveState"), self.before[u].get("InvocationID")) for u in self.names),
                after="".join("%s: %s %s\n" % (u, r["active_state"], r["invocation_id"]) for u, r in self.units.items()))
        if self.failed:
            result["msg"] = "; ".join("%s: %s" % (u, why) for u, why in sorted(self.failed.items()))
        else:
            done = [u for u, r in self.units.items() if r["action"] != "none"]
            verb = ("would be " if self.module.check_mode else "") + self.p["state"]
            if not done:
                result["msg"] = "nothing to do: %s already %s" % (", ".join(self.names), "inactive" if self.p["state"] == "stopped" else "active")
            else:
                result["msg"] = "%s %s" % (verb, ", ".join(done))
            if self.p["state"] != "stopped" and not self.module.check_mode:
                result["msg"] += ", each proven (%s)" % self.proof
        return result


STEP_OPTIONS = dict(
    name=dict(type="str"),
    names=dict(type="list", elements="str", required=True),
    state=dict(type="str", required=True, choices=["started", "restarted", "stopped"]),
    proof=dict(type="str", choices=list(lc.PROOFS)),
    pattern=dict(type="raw"),
    fail_pattern=dict(type="list", elements="str", default=[]),
    settle=dict(type="float", default=0.0),
    timeout=dict(type="float", default=60.0),
    related=dict(type="list", elements="str", default=[]),
    symbols=dict(type="list", elements="str"),
    candles_db=dict(type="path"),
    max_mids_age=dict(type="float", default=10.0),
    kill_switch_hold=dict(type="bool", default=True),
    kill_modes=dict(type="dict", default={}),
    health=dict(type="dict", default={}),
    critical=dict(type="bool", default=True),
)
SHARED = ("scope", "user", "poll", "audit_log", "heartbeat_pattern")
STEP_NUMBERS = dict(settle=SETTLE, timeout=TIMEOUT, max_mids_age=MIDS_AGE)


def run_gate(gate):
    """One step: act, prove, report. A step that fails says why in its result; nothing is raised."""
    gate.started = time.monotonic()  # a step's elapsed is its own, not the time since the module started
    try:
        gate.read_before()
        gate.act()
        gate.prove()
        gate.tails()
        result = gate.result()
        result["failed"] = bool(result["failed_units"])
        gate.module.no_log_values.update(gate.secrets.values)  # a token read for proof=http: masked by Ansible too
    except (GateError, lc.LifecycleError, JournalError) as e:
        result = dict(failed=True, msg=to_native(e), refused=isinstance(e, Refused), changed=gate.acted_at is not None,
                      units=gate.units, failed_units=sorted(gate.failed), journal=gate.journal, related={})
    return result


def run_steps(module):
    """O(steps) in order, in this one module run; a failed critical step ends the run, the rest are not done."""
    started = time.monotonic()
    shared = dict((k, module.params[k]) for k in SHARED)
    gates = []
    for index, step in enumerate(module.params["steps"]):
        try:
            v.validate(step, numbers=STEP_NUMBERS)
        except v.InvalidInput as e:
            raise GateError("steps[%d]: %s" % (index, to_native(e))) from None
        params = dict(shared, **step)
        params["name"] = step.get("name") or "step %d" % (index + 1)
        try:
            gates.append(Gate(module, params))
        except (GateError, lc.LifecycleError) as e:
            raise GateError("steps[%d] (%s): %s" % (index, params["name"], to_native(e))) from None
    held, results, stop, would_stop = {}, [], None, set()
    for gate in gates:
        name = gate.p["name"]
        if stop:
            results.append(dict(name=name, skipped=True, changed=False, msg="not done: step %s failed" % stop))
            continue
        gate.kill_modes = dict(held, **gate.kill_modes)  # what a stop step found the traders holding, for their start
        gate.assume_stopped = would_stop if module.check_mode else set()
        result = run_gate(gate)
        if module.check_mode:
            stopped = set(u for u, r in gate.units.items() if r.get("action") == "stopped")
            would_stop = (would_stop | stopped) - set(u for u, r in gate.units.items() if r.get("action") in ("started", "restarted"))
        for unit, row in gate.units.items():
            if row.get("kill_mode_held"):
                held[unit] = row["kill_mode_held"]
        results.append(dict(result, name=name, critical=gate.p["critical"]))
        if result["failed"] and gate.p["critical"]:
            stop = name
    out = dict(changed=any(r.get("changed") for r in results), steps=results, elapsed=round(time.monotonic() - started, 3))
    failed = [r for r in results if r.get("failed") and r.get("critical")]
    warned = [r for r in results if r.get("failed") and not r.get("critical")]
    for r in warned:
        module.warn("non-critical step %s failed: %s" % (r["name"], r.get("msg")))
    if failed:
        out["msg"] = "step %s failed: %s" % (failed[0]["name"], failed[0].get("msg"))
        module.fail_json(**out)
    out["msg"] = "; ".join("%s: %s" % (r["name"], r.get("msg")) for r in results)
    module.exit_json(**out)


def main():
    # a single run takes a step's options at the top level (names and state then required by hand, below)
    argument_spec = dict((k, dict(spec)) for k, spec in STEP_OPTIONS.items() if k not in ("name", "critical"))
    for key in ("names", "state"):
        argument_spec[key].pop("required")
    argument_spec.update(
        steps=dict(type="list", elements="dict", options=STEP_OPTIONS),
        poll=dict(type="float", default=0.2),
        audit_log=dict(type="path", default="/var/log/quantops-kill-switch.jsonl"),
        heartbeat_pattern=dict(type="str"),
    )
    argument_spec.update(systemd_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[("names", "steps"), ("state", "steps")],
                           required_one_of=[("names", "steps")], required_by=dict(names="state"))
    v.check(module, numbers=dict(settle=SETTLE, timeout=TIMEOUT, poll=POLL, max_mids_age=MIDS_AGE),
            texts=dict(user=v.Text(max_length=USER_MAX_LENGTH)))
    if module.params["steps"] is not None:
        if not module.params["steps"]:
            module.fail_json(msg="steps is empty: give at least one step (names and state)")
        try:
            run_steps(module)
        except GateError as e:
            module.fail_json(msg=to_native(e), changed=False)
    gate = None
    try:
        gate = Gate(module)
    except (GateError, lc.LifecycleError) as e:
        module.fail_json(msg=to_native(e), changed=False)
    result = run_gate(gate)
    if result.pop("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
