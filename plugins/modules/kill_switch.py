#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kill_switch
short_description: Engage, change or clear the openclaw-ai-quant kill switch
version_added: 1.0.0
description:
  - Puts a trading host into V(close_only) (no new entries, exits allowed) or V(halt_all) (no orders at all), or
    clears the switch with V(off), the way runbook section 1 does it by hand, without its pitfalls.
  - O(method=file) writes the kill file the trader's RiskManager polls (C(AI_QUANT_KILL_SWITCH_FILE)), holding exactly the
    mode word and a newline, as C(echo close_only > /tmp/ai-quant-kill) writes it, but atomically (a temporary file in
    the same directory, then a rename), so the poller never reads a partial or empty file. V(off) removes it.
  - O(method=env) sets C(AI_QUANT_KILL_SWITCH) for the unit in a systemd drop-in (the runbook's C(export) never
    reaches a systemd unit), reloads that manager and returns RV(restart_required=true), since the trader reads the
    variable at start. V(off) removes the drop-in.
  - It never relaxes by accident. Asking for V(close_only) while V(halt_all) is in force (or in the chosen source)
    keeps V(halt_all), changes nothing and warns, unless O(force=true). V(off) is explicit and clears the
    chosen method's source only; RV(effective_mode) tells when the other source still holds a kill.
  - The semantics are the real trader's (C(engine/risk.py) of openclaw-ai-quant). Only a trader in C(AI_QUANT_MODE)
    V(live) or V(dry_live) has a kill switch; a V(paper) trader reads neither the file nor the variable. The
    trader re-reads the switch at the start of an engine loop once C(AI_QUANT_LIVE_STATE_SYNC_SECS) (default 10 s)
    have passed, applying the env value first and the file after it, so an existing file decides (V(halt_all)
    when it mentions C(halt) or C(full), else V(close_only)). It never clears a kill in-process, and logs nothing
    when the mode changes.
  - With O(verify=true) the module also proves, on the host and within O(verify_timeout), that each running trader
    of O(units) that has a kill switch has taken the change. The proof is the trader's own heartbeat line (C(engine
    ok. ... loop=X.XXs ...)) from the same process, ending a loop that began late enough that the switch was re-read
    after the write (or any heartbeat of a process started after it), together with the mode the trader's own
    sources give (its process environment and the file its C(AI_QUANT_KILL_SWITCH_FILE) names). A trader that polls
    another file than O(path), or none, is reported as not verified, naming both.
  - With O(restart=true) the module restarts the running traders that have a kill switch when that is needed, after
    O(method=env) changed their environment, and always for O(mode=off), since the trader never clears a kill
    in-process.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes
  - quantops.runbooks._systemd
options:
  mode:
    description: The mode asked for.
    type: str
    required: true
    choices: [close_only, halt_all, "off"]
  method:
    description: Which source to set. V(file) needs no restart; V(env) takes effect at the unit's next start.
    type: str
    choices: [file, env]
    default: file
  path:
    description:
      - The kill file (the trader's C(AI_QUANT_KILL_SWITCH_FILE)). Always read, so RV(effective_mode) covers both
        sources; written only with O(method=file).
    type: path
    default: /tmp/ai-quant-kill
  unit:
    description:
      - The trader unit whose environment O(method=env) sets. Always read for RV(sources.env) when it exists.
    type: str
    default: openclaw-ai-quant-live
  force:
    description: Relax V(halt_all) to V(close_only) on purpose.
    type: bool
    default: false
  reason:
    description:
      - Why. When given (and O(audit_log) too), a JSON line with the time, the host, the remote user, the method,
        the mode asked for, the previous and the effective mode, whether anything changed and this reason is
        appended to O(audit_log). The kill file itself never holds anything but the mode word.
    type: str
  audit_log:
    description: Path of a JSON-lines audit trail (created if missing, mode 0640). Not written in check mode.
    type: path
  verify:
    description: Wait for the proof that each running trader of O(units) with a kill switch has taken the change.
    type: bool
    default: false
  verify_timeout:
    description:
      - Seconds to wait for the proofs. A real trader re-reads the switch once per engine loop (the shipped config
        runs one loop a minute), so the default covers two loops.
    type: float
    default: 150
  units:
    description: The trader units to verify (and, with O(restart=true), to restart).
    type: list
    elements: str
    default: [openclaw-ai-quant-trader, openclaw-ai-quant-live]
  restart:
    description: Restart the running traders with a kill switch where the change needs it (see the description).
    type: bool
    default: false
  heartbeat_pattern:
    description:
      - Python regular expression of the trader's heartbeat line, with a named group C(loop) (seconds since the
        loop started). The default is the heartbeat of openclaw-ai-quant at 9603e63.
    type: str
    default: 'engine ok\. .*?\bloop=(?P<loop>[0-9]+(?:\.[0-9]+)?)s\b'
  proof_pattern:
    description:
      - Optional Python regular expression of a journal line that also proves the change, for a trader version that
        logs its kill-switch transitions. A matching line from the same process after the write counts as the
        proof.
    type: str
notes:
  - The drop-in is C(50-quantops-kill-switch.conf) in the unit's C(.service.d/) directory. It sets the variable with
    C(Environment=), which overrides the unit's own C(Environment=) lines; a value in an C(EnvironmentFile=) would
    override it, so keep C(AI_QUANT_KILL_SWITCH) out of env files (the P(quantops.runbooks.openclaw#role) role does).
"""

EXAMPLES = r"""
- name: Close only, now (the trader polls the file; no restart)
  quantops.runbooks.kill_switch:
    mode: close_only
    reason: "exchange incident INC-4711"
    audit_log: /var/log/quantops-kill-switch.jsonl

- name: Halt everything through the unit's environment, as root, for trader's user unit
  quantops.runbooks.kill_switch:
    mode: halt_all
    method: env
    unit: openclaw-ai-quant-live
    scope: user
    user: trader
  register: kill

- name: The env method takes effect at the next start
  ansible.builtin.systemd_service:
    name: openclaw-ai-quant-live
    scope: user
    state: restarted
  become: true
  become_user: trader
  when: kill.restart_required

- name: Clear the file-based kill
  quantops.runbooks.kill_switch:
    mode: "off"
"""

RETURN = r"""
previous_mode:
  description: The effective mode before (the most restrictive of file and env).
  returned: always
  type: str
  sample: "off"
mode:
  description: The mode of the chosen method's source afterwards (unchanged when a relaxation was refused).
  returned: always
  type: str
  sample: close_only
effective_mode:
  description:
    - The most restrictive of the file, the configured env and the running process's env afterwards, so "file cleared
      but env still says halt_all" shows, also while a restart is pending.
  returned: always
  type: str
  sample: close_only
sources:
  description: Each source's mode afterwards. V(unknown) is a kill file with content the trader does not understand.
  returned: always
  type: dict
  sample: {"file": "close_only", "env": "off"}
  contains:
    file:
      description: The kill file's mode (V(off) when there is no file).
      type: str
      returned: always
    env:
      description: C(AI_QUANT_KILL_SWITCH) configured for O(unit) (its drop-in, else its own C(Environment=)).
      type: str
      returned: always
    env_running:
      description:
        - C(AI_QUANT_KILL_SWITCH) of the unit's running process, which read it at start. It differs from RV(sources.env)
          until the unit restarts.
      type: str
      returned: when O(unit) is running
restart_required:
  description: True when the env method changed the unit's environment; the unit must restart to see it.
  returned: always
  type: bool
  sample: false
unit_found:
  description: Whether O(unit) exists in the chosen manager (its env source reads as V(off) when it does not).
  returned: always
  type: bool
  sample: true
status:
  description:
    - The host in one word. With O(verify=true) V(PROTECTED) (every running trader with a kill switch proved in the
      asked mode or stricter), V(UNPROTECTED), V(CLEARED) / V(NOT_CLEARED) for O(mode=off), V(NO_KILL_SWITCH)
      (the running traders are all paper traders, which have none), V(NOT_RUNNING) (no trader runs). Otherwise
      V(ENGAGED) / V(CLEARED) / V(UNCHANGED), and in check mode V(WOULD_ENGAGE) / V(WOULD_CLEAR) / V(UNCHANGED).
  returned: always
  type: str
  sample: PROTECTED
summary:
  description: One line that says what was done and what was seen, for a fleet summary.
  returned: always
  type: str
  sample: "close_only in force on openclaw-ai-quant-live (dry_live, pid 812): heartbeat 2.41 s after the write"
traders:
  description: One entry per unit of O(units), with what the running process reads and its proof.
  returned: when O(verify=true)
  type: list
  elements: dict
  contains:
    unit:
      description: The unit.
      type: str
    running:
      description: Whether the unit is active with a main process.
      type: bool
    pid:
      description: Its main process, the one that gave the proof.
      type: int
    trader_mode:
      description: The process's C(AI_QUANT_MODE) (V(paper) when unset).
      type: str
    reads_kill_switch:
      description: Whether that mode has a kill switch (V(live), V(dry_live)).
      type: bool
    kill_file:
      description: The file its C(AI_QUANT_KILL_SWITCH_FILE) names, absolute; null when it reads none.
      type: str
    in_force:
      description: The mode the trader's own sources give it after the proven refresh.
      type: str
    verified:
      description: Proven in the asked mode (or stricter; V(off) for a clear). Null when there was nothing to prove.
      type: bool
    proof:
      description: The line that proved it, or why there is none.
      type: str
    proof_time:
      description: When that line was logged, ISO 8601 UTC.
      type: str
    seconds_to_proof:
      description: Seconds from the write to the proof.
      type: float
started:
  description:
    - When the module started on the host, seconds since the epoch. A transition the trader logs after the change
      is later than this, so it bounds the window of a verification (C(since=@STARTED) of M(quantops.runbooks.journal_check)).
  returned: always
  type: float
  sample: 1795267934.512
"""

import datetime
import errno
import getpass
import json
import os
import re
import socket
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.quantops.runbooks.plugins.module_utils import _kill_switch as ks
from ansible_collections.quantops.runbooks.plugins.module_utils import _trader
from ansible_collections.quantops.runbooks.plugins.module_utils import _units
from ansible_collections.quantops.runbooks.plugins.module_utils._journal import Journal, JournalError, entry_epoch, iso, message_text
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)

KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"))


class KillSwitchError(Exception):
    pass


def read_kill_file(path):
    """(content, odd): the kill file's first 4 KiB, None when there is none. Never follows a symlink and never blocks
    on a FIFO; anything but a regular file gives content b"" (the trader sees an existing path: close_only) and
    ``odd`` naming what it is, so the caller replaces it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None, None
    except OSError as e:
        if e.errno == errno.ELOOP:
            return b"", "a symbolic link"
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise KillSwitchError("%s is a directory, not a kill file: set path to the trader's AI_QUANT_KILL_SWITCH_FILE" % path)
        if not stat.S_ISREG(st.st_mode):
            return b"", next((name for test, name in KINDS if test(st.st_mode)), "not a regular file")
        return os.read(fd, 4096), None
    finally:
        os.close(fd)


def write_atomically(module, path, data, owner=None):
    """Temp file in the same directory + rename: a reader sees the old file or the new one, never a partial one.
    An existing file keeps its owner and mode (atomic_move copies them); a new one is 0644 (the trader reads it)."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        existed = os.path.exists(path)
        module.atomic_move(tmp, path)
        if not existed:
            os.chmod(path, 0o644)  # the trader (another user) reads it
        if owner is not None:
            os.chown(path, owner[0], owner[1])
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class EnvSource(object):
    """The unit's AI_QUANT_KILL_SWITCH: our drop-in plus whatever the unit's Environment= already says."""

    def __init__(self, module, target, unit):
        self.module = module
        self.target = target
        self.unit = unit if unit.endswith(".service") else unit + ".service"
        self.dropin_dir = os.path.join(target.unit_dir(), self.unit + ".d")
        self.dropin = os.path.join(self.dropin_dir, ks.DROPIN_NAME)
        self.error = None

    def systemctl(self, *args):
        return self.module.run_command(self.target.systemctl(*args), environ_update=self.target.environ())

    def read_props(self):
        """One `systemctl show` for all this module needs of the unit; None when its manager cannot be reached."""
        try:
            return _units.show(self.module, self.target, [self.unit], ("LoadState", "FragmentPath", "DropInPaths", "MainPID"))[self.unit]
        except _units.UnitsError as e:
            self.error = "cannot reach the %s manager to read %s: %s" % (self.manager(), self.unit, to_native(e))
            return None

    def manager(self):
        return _units.manager_name(self.target)

    def running_mode(self, props):
        """AI_QUANT_KILL_SWITCH of the unit's running process (what it read at start), None when it is not running."""
        pid = _units.main_pid(props)
        if pid is None:
            return None
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                environ = _trader.parse_environ(f.read())
        except (IOError, OSError):
            return None
        return ks.env_mode(environ[ks.ENV_VAR]) if ks.ENV_VAR in environ else "off"

    def modes(self, props):
        """(our drop-in's mode, the mode the unit's own files set without it). systemd's last Environment= wins."""
        dropin = "off"
        if os.path.exists(self.dropin):
            with open(self.dropin) as f:
                dropin = ks.parse_dropin(f.read())
        # the unit's files in systemd's order (`systemctl cat` does not work across -M)
        own = "off"
        for path in [props.get("FragmentPath", "")] + props.get("DropInPaths", "").split():
            if not path or path == self.dropin or not os.path.isfile(path):
                continue
            with open(path) as f:
                own = ks.unit_file_mode(f.read()) or own
        return dropin, own

    def apply(self, mode):
        owner = None if self.target.scope == "system" else (self.target.uid, self.target.gid)
        if mode == "off":
            if os.path.exists(self.dropin):
                os.unlink(self.dropin)
            if os.path.isdir(self.dropin_dir) and not os.listdir(self.dropin_dir):
                os.rmdir(self.dropin_dir)
        else:
            if not os.path.isdir(self.dropin_dir):
                os.makedirs(self.dropin_dir, 0o755)
                if owner is not None:
                    os.chown(self.dropin_dir, owner[0], owner[1])
            write_atomically(self.module, self.dropin, ks.render_dropin(mode).encode("ascii"), owner)
        rc, out, err = self.systemctl("daemon-reload")
        if rc != 0:
            raise KillSwitchError("daemon-reload of the %s manager failed: %s" % (self.manager(), (err or out).strip()))


def audit(path, record):
    line = json.dumps(record, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))  # one write of one line: appends never interleave
    finally:
        os.close(fd)


class Verifier(object):
    """Which running traders read the switch, restarting them where needed, and the wait for their proofs."""

    def __init__(self, module, target, units):
        self.module = module
        self.target = target
        self.units = [_units.service_name(u) for u in units]
        self.rows = {}

    def snapshot(self):
        """{unit: row}; for a running unit, also its Process (environment, cwd, start)."""
        props = _units.show(self.module, self.target, self.units)
        rows = {}
        for unit in self.units:
            pr = props[unit]
            pid = _units.main_pid(pr)
            row = dict(unit=unit, running=pr.get("ActiveState") == "active" and pid is not None, pid=pid,
                       found=pr.get("LoadState") not in ("not-found", "", None))
            if row["running"]:
                proc = _units.Process(pid)
                facts = _trader.TraderFacts(proc.environ, proc.cwd)
                row.update(facts.as_dict())
                row["_proc"], row["_facts"] = proc, facts
            rows[unit] = row
        return rows

    def restart(self, units):
        for unit in units:
            rc, out, err = self.module.run_command(self.target.systemctl("restart", "--", unit),
                                                   environ_update=self.target.environ())
            if rc != 0:
                raise KillSwitchError("restart of %s failed: %s" % (unit, (err or out).strip()))

    def wait(self, rows, written, timeout, heartbeat, proof_pattern):
        """Proof per running trader with a kill switch: (line, time) of the first qualifying journal line."""
        pending = dict((u, r) for u, r in rows.items() if r["running"] and r["reads_kill_switch"])
        journals = dict((u, Journal(self.module, self.target, u, since=written, pid=r["pid"])) for u, r in pending.items())
        proofs = {}
        started = time.monotonic()
        while pending and time.monotonic() - started < timeout:
            for unit in sorted(pending):
                row = pending[unit]
                for entry in journals[unit].read_new():
                    line, when = message_text(entry), entry_epoch(entry)
                    if when < written:
                        continue
                    if proof_pattern and re.search(proof_pattern, line):
                        proofs[unit] = (line, when)
                        break
                    hb = _trader.parse_heartbeat(line, heartbeat)
                    if hb and _trader.refresh_after(written, when, hb[0], row["_proc"].started, row["_facts"].state_sync):
                        proofs[unit] = (line, when)
                        break
                if unit in proofs:
                    del pending[unit]
            if pending:
                time.sleep(0.2)
        return proofs


def judge(rows, proofs, requested, path, written):
    """Per running trader with a kill switch: the mode in force from its own sources, verified or why not."""
    for row in rows.values():
        if not row["running"]:
            row.update(verified=None, proof="not running")
            continue
        if not row["reads_kill_switch"]:
            row.update(verified=None, in_force="none", proof="%s mode: no kill switch" % row["trader_mode"])
            continue
        facts, proc = row["_facts"], row["_proc"]
        content, odd = read_kill_file(facts.kill_file) if facts.kill_file else (None, None)
        previous = "off"  # a kill engaged earlier in this process is sticky and not visible here: claim no more
        row["in_force"] = _trader.after_refresh(previous, facts.env_value, content)
        if odd:
            row["kill_file_odd"] = odd
        why = []
        if requested != "off" and facts.kill_file != os.path.normpath(path) and row["in_force"] != requested:
            why.append("kill written to %s; the trader polls %s" % (path, facts.kill_file or "no file (AI_QUANT_KILL_SWITCH_FILE unset)"))
        if requested == "off" and proc.started < written:
            why.append("pid %d started before the clear, and the trader never clears a kill in-process: restart it" % row["pid"])
        proof = proofs.get(row["unit"])
        if proof is None:
            why.append("no heartbeat of pid %d showed a loop begun %.0f s after the write (its state sync period)"
                       % (row["pid"], facts.state_sync))
        else:
            row.update(proof=proof[0], proof_time=iso(proof[1]), seconds_to_proof=round(proof[1] - written, 3))
        ok = row["in_force"] == "off" if requested == "off" else _trader.at_least(row["in_force"], requested)
        if not ok:
            why.append("in force: %s (env %s, file %s)" % (row["in_force"], ks.env_mode(facts.env_value),
                                                           ks.file_mode(content) if content is not None else "none"))
        row["verified"] = not why
        if why:
            row["proof"] = "; ".join(why)


def host_status(rows, requested):
    killable = [r for r in rows.values() if r["running"] and r["reads_kill_switch"]]
    clearing = requested == "off"
    if killable:
        if all(r["verified"] for r in killable):
            status = "CLEARED" if clearing else "PROTECTED"
        else:
            status = "NOT_CLEARED" if clearing else "UNPROTECTED"
        parts = []
        for r in killable:
            head = "%s (%s, pid %s): %s" % (r["unit"][:-8], r["trader_mode"], r["pid"], r["in_force"])
            if r["verified"]:
                parts.append("%s, heartbeat %.2f s after the write" % (head, r["seconds_to_proof"]))
            else:
                parts.append("%s, %s" % (head, r["proof"]))
        return status, " | ".join(parts)
    paper = [r["unit"][:-8] for r in rows.values() if r["running"]]
    if paper:
        return "NO_KILL_SWITCH", "%s: paper mode has no kill switch (stop_units stops it)" % ", ".join(paper)
    return "NOT_RUNNING", "no trader runs; the switch is read when one starts"


def run(module):
    started = time.time()
    p = module.params
    method, requested = p["method"], p["mode"]
    path = p["path"]
    directory = os.path.dirname(path) or "."
    if method == "file" and not os.path.isdir(directory):
        raise KillSwitchError("the kill file's directory %s does not exist: set path to the trader's AI_QUANT_KILL_SWITCH_FILE" % directory)
    if method == "file" and not os.access(directory, os.W_OK | os.X_OK):
        raise KillSwitchError("cannot write in %s as %s: connect (or become) a user who can" % (directory, getpass.getuser()))
    if p["audit_log"] and not os.path.isdir(os.path.dirname(p["audit_log"]) or "."):
        raise KillSwitchError("the audit log's directory %s does not exist" % os.path.dirname(p["audit_log"]))
    if p["verify_timeout"] != p["verify_timeout"] or not 0 <= p["verify_timeout"] <= 3600:
        raise KillSwitchError("verify_timeout is seconds between 0 and 3600, not %r" % p["verify_timeout"])
    for pattern in (p["heartbeat_pattern"], p["proof_pattern"]):
        try:
            re.compile(pattern or "")
        except re.error as e:
            raise KillSwitchError("%r is not a valid regular expression: %s" % (pattern, e)) from None

    try:
        target = SystemdTarget(p["scope"], p["user"])
    except SystemdTargetError as e:
        if method == "env" or p["verify"] or p["restart"]:
            raise KillSwitchError(to_native(e)) from None
        target = None
    env = EnvSource(module, target, p["unit"]) if target is not None else None
    props = env.read_props() if env is not None else None
    if props is None and method == "env":
        raise KillSwitchError(env.error)
    unit_found = props is not None and props.get("LoadState") not in ("not-found", "", None)
    if method == "env" and not unit_found:
        raise KillSwitchError("unit %s not found in the %s manager: check unit, scope and user" % (env.unit, env.manager()))

    content, odd = read_kill_file(path)
    file_mode = "off" if odd else ks.file_mode(content)
    if odd:
        module.warn("%s is %s, not a kill file: it is replaced by a regular file" % (path, odd))
    dropin_mode, unit_own = env.modes(props) if unit_found else ("off", "off")
    env_now = dropin_mode if dropin_mode != "off" else unit_own
    sources = {"file": file_mode, "env": env_now}
    decision = ks.plan(requested, method, sources, p["force"])
    for warning in decision["warnings"]:
        module.warn(warning)
    kept = decision["target"] != requested  # a relaxation that was refused

    if method == "file":
        write = decision["write"] or (odd is not None and decision["target"] != "off")
        after = dict(sources, file=decision["target"])
    else:
        # what we own is the drop-in: it holds the target, or is absent for off
        desired = dropin_mode if kept else decision["target"]
        write = desired != dropin_mode
        after = dict(sources, env=desired if desired != "off" else unit_own)
        if requested == "off" and unit_own != "off":
            module.warn("the unit's own files set %s=%s, which stays in force: remove it there" % (ks.ENV_VAR, unit_own))
    written = time.time()
    if write and not module.check_mode:
        if method == "file" and decision["target"] == "off":
            os.unlink(path)
        elif method == "file":
            write_atomically(module, path, ks.file_content(decision["target"]))
        else:
            env.apply(desired)
    # the running process keeps what it read at start: our change (a file, a drop-in) does not alter it
    running = env.running_mode(props) if unit_found else None
    if running is not None:
        after["env_running"] = running
    effective = ks.in_force(after["file"], ks.most_restrictive(after["env"], running))
    previous = ks.in_force(sources["file"], ks.most_restrictive(sources["env"], running))
    result = dict(
        changed=write,
        previous_mode=previous,
        mode=after[method],
        effective_mode=effective,
        sources=after,
        restart_required=write and method == "env",
        unit_found=unit_found,
        started=started,
    )
    if module.check_mode:
        verb = "WOULD_CLEAR" if requested == "off" else "WOULD_ENGAGE"
        result["status"] = verb if write else "UNCHANGED"
        result["summary"] = "%s %s (now %s)" % (verb.replace("_", " "), requested, previous) if write else \
            "%s already in force (%s)" % (effective, ", ".join("%s=%s" % kv for kv in sorted(sources.items())))
    elif p["verify"] or p["restart"]:
        verifier = Verifier(module, target, p["units"])
        rows = verifier.snapshot()
        if p["restart"]:
            stale = [u for u, r in rows.items() if r["running"] and r["reads_kill_switch"]
                     and (requested == "off" or (method == "env" and ks.env_mode(r["_facts"].env_value) != desired))]
            if stale:
                verifier.restart(stale)
                rows = verifier.snapshot()
                result["restarted"] = stale
                if unit_found and env.unit in stale:  # the new process read the sources afresh: its mode, not the old one's
                    props = env.read_props() or props
                    running = env.running_mode(props)
                    after.pop("env_running", None)
                    if running is not None:
                        after["env_running"] = running
                    effective = ks.in_force(after["file"], ks.most_restrictive(after["env"], running))
                    result.update(effective_mode=effective, sources=after)
        proofs = verifier.wait(rows, written, p["verify_timeout"] if p["verify"] else 0, p["heartbeat_pattern"], p["proof_pattern"])
        judge(rows, proofs, requested, path, written)
        result["status"], result["summary"] = host_status(rows, requested)
        result["traders"] = [dict((k, v) for k, v in rows[u].items() if not k.startswith("_")) for u in verifier.units]
    else:
        result["status"] = ("CLEARED" if requested == "off" else "ENGAGED") if write else "UNCHANGED"
        result["summary"] = "%s in force by the sources (not verified)" % effective
    if module._diff:
        result["diff"] = dict(
            before="file: %s\nenv: %s\n" % (sources["file"], sources["env"]),
            after="file: %s\nenv: %s\n" % (after["file"], after["env"]),
            before_header="kill switch",
            after_header="kill switch",
        )
    if p["audit_log"] and p["reason"] and not module.check_mode:
        audit(p["audit_log"], dict(
            time=datetime.datetime.now(datetime.timezone.utc).isoformat(), host=socket.gethostname(), user=getpass.getuser(),
            method=method, mode=requested, previous_mode=previous, effective_mode=effective, changed=write,
            reason=p["reason"], status=result["status"]))
    return result


def main():
    argument_spec = dict(
        mode=dict(type="str", required=True, choices=["close_only", "halt_all", "off"]),
        method=dict(type="str", default="file", choices=["file", "env"]),
        path=dict(type="path", default="/tmp/ai-quant-kill"),
        unit=dict(type="str", default="openclaw-ai-quant-live"),
        force=dict(type="bool", default=False),
        reason=dict(type="str"),
        audit_log=dict(type="path"),
        verify=dict(type="bool", default=False),
        verify_timeout=dict(type="float", default=150.0),
        units=dict(type="list", elements="str", default=["openclaw-ai-quant-trader", "openclaw-ai-quant-live"]),
        restart=dict(type="bool", default=False),
        heartbeat_pattern=dict(type="str", default=_trader.HEARTBEAT_LOOP),
        proof_pattern=dict(type="str"),
    )
    argument_spec.update(systemd_argument_spec())
    argument_spec["unit"]["no_log"] = False
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except (KillSwitchError, JournalError, _units.UnitsError, OSError, ValueError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
