#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

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
  - Another local user cannot block, undo or redirect the kill. Whatever is at the path (a FIFO, a symlink, a file
    another user planted, a file the trader cannot read) is replaced by a regular mode 0644 file of the user running
    the module, with a warning; nothing is ever read or written through it, and a read never blocks. Directories
    are walked without following a symlink another user could have made (root-owned links in root-owned
    directories, such as C(/var/run), are followed), so root never writes where a user points it.
  - O(method=env) sets C(AI_QUANT_KILL_SWITCH) for the unit in a systemd drop-in (the runbook's C(export) never
    reaches a systemd unit), reloads that manager and returns RV(restart_required=true), since the trader reads the
    variable at start. V(off) removes the drop-in. In a user's home the drop-in's directories are refused when any
    of them is a symlink; the ones created are the user's, set by file descriptor, never by path.
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
      - When not set, the file the running V(live)/V(dry_live) traders of O(units) poll, read from their own
        environment (C(/proc/PID/environ)); when none runs, the one their units set (C(Environment=), then
        C(EnvironmentFile=)); else C(/tmp/ai-quant-kill), the runbook's, and RV(kill_file_source) says so. The real trader
        has no default file; one whose C(AI_QUANT_KILL_SWITCH_FILE) is unset polls none, and O(verify) reports it.
      - Traders that poll different files are refused with their names; give the path, or use O(method=env).
    type: path
  unit:
    description:
      - The trader unit whose environment O(method=env) sets. Always read for RV(sources.env) when it exists.
      - A systemd unit name (letters, digits and C(:-_.\\@)); one that starts with C(-) or holds C(/) is refused.
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
    description:
      - Path of a JSON-lines audit trail (created if missing, mode 0640). Not written in check mode.
      - Never written through a symlink or into a FIFO; such a path fails the module before anything changes.
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
  fast:
    description:
      - Try the fast path first, which needs no Python on the host. It runs one POSIX C(sh) script over the task's
        connection (as C(raw) does, with every value quoted), so a host whose Python is broken or whose disk is full
        can still be stopped. The script engages the kill file and waits on the host for each trader's heartbeat
        proof. Its rules are the module's. It never relaxes, it writes a temporary file in the same directory and
        renames it, and it takes its proof from the journal. The controller judges what the script saw with the
        module's own code.
      - It takes only the plain case. That means O(method=file), V(close_only) or V(halt_all), O(scope=user) reached
        as root, no O(force), O(restart) or O(proof_pattern), and the default O(heartbeat_pattern).
        The kill file is either the one the running live traders poll, in a sticky shared directory of root such as
        C(/tmp), or a given path in directories only root can change. Whatever is at the path must be a regular file
        of root or the trader that the trader can read.
      - In every other case, or when its script does not finish, the fast path has changed nothing. The module then
        runs in the same task, and RV(fallback) says why.
    type: bool
    default: false
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
engine:
  description: Which path engaged the switch, when O(fast=true). V(fast) is the script, V(module) this module.
  returned: when O(fast=true)
  type: str
  sample: fast
fallback:
  description: Why the fast path left the work to the module.
  returned: when O(fast=true) and the module ran
  type: str
  sample: "fast path declined: /tmp/ai-quant-kill is symlink: the module replaces it"
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
kill_file:
  description: The kill file read (and, with O(method=file), written).
  returned: always
  type: str
  sample: /tmp/ai-quant-kill
kill_file_source:
  description: Where RV(kill_file) came from, V(given) when O(path) was set.
  returned: always
  type: str
  sample: AI_QUANT_KILL_SWITCH_FILE of the running openclaw-ai-quant-live.service (pid 751)
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
import getpass
import json
import os
import re
import socket
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _kill_switch as ks
from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile, _trader, _units, _validate
from ansible_collections.quantops.runbooks.plugins.module_utils._journal import Journal, JournalError, entry_epoch, iso, message_text
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)

VERIFY_TIMEOUT = _validate.Range(0, 3600, "seconds")


class KillSwitchError(Exception):
    pass


def read_kill_file(path, owners=(0,)):
    """(content, odd): the kill file's first 4 KiB, None when there is no regular file. Never follows a symlink a
    user could have made and never blocks on a FIFO. ``odd`` says why the path must be replaced: anything but a
    regular file (content None: counted as no kill, so it is always rewritten), or a regular file of another owner
    than ``owners`` (its owner could delete it and undo the kill) or one the trader cannot read (its content still
    counts, as the trader may read it)."""
    try:
        content, odd, st = _safefile.read_path(path, 4096)
    except FileNotFoundError:  # no such directory: no kill file either
        return None, None
    if odd == "a directory":
        raise KillSwitchError("%s is a directory, not a kill file: set path to the trader's AI_QUANT_KILL_SWITCH_FILE" % path)
    if odd:
        return None, odd
    if odd is None and content is not None:
        readable = st.st_mode & 0o004 or (st.st_uid in owners[1:] and st.st_mode & 0o400)
        if st.st_uid not in owners or not readable:
            odd = "owned by %s with mode %04o" % (_safefile.owner_name(st.st_uid), stat.S_IMODE(st.st_mode))
    return content, odd


def release_fifo(dir_fd, name):
    """A trader that opened a FIFO at its kill path is blocked in open() for good (engine/risk.py reads the file
    with a plain open), and renaming a file over the FIFO does not wake it. Opening the FIFO for writing, without
    blocking, and closing it again lets every waiting reader read an empty file and go on with its loop."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    except OSError:
        return False  # ENXIO: nobody waits on it; ELOOP, ENOENT...: not a FIFO any more
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def write_kill_file(path, data):
    """The kill file, replaced atomically by a regular 0644 file of the user running the module (root, or the
    trader): whatever was at the path (a planted file, a symlink, a FIFO) is replaced, never written through."""
    dir_fd = _safefile.open_dir(os.path.dirname(path))
    try:
        release_fifo(dir_fd, os.path.basename(path))
        _safefile.write_file(dir_fd, os.path.basename(path), data, 0o644)
    except PermissionError:
        raise KillSwitchError(
            "cannot replace %s: another user's file in a sticky directory (%s) can only be replaced by root; run the "
            "kill with become" % (path, os.path.dirname(path))) from None
    finally:
        os.close(dir_fd)


def remove_kill_file(path):
    dir_fd = _safefile.open_dir(os.path.dirname(path))
    try:
        release_fifo(dir_fd, os.path.basename(path))
        _safefile.remove_file(dir_fd, os.path.basename(path))
    finally:
        os.close(dir_fd)


class EnvSource:
    """The unit's AI_QUANT_KILL_SWITCH: our drop-in plus whatever the unit's Environment= already says."""

    def __init__(self, module, target, unit):
        self.module = module
        self.target = target
        self.unit = unit if unit.endswith(".service") else unit + ".service"
        self.dropin_dir = os.path.join(target.unit_dir(), self.unit + ".d")
        self.dropin = os.path.join(self.dropin_dir, ks.DROPIN_NAME)
        self.error = None

    def read_props(self):
        """One `systemctl show` for all this module needs of the unit; None when its manager cannot be reached."""
        try:
            return _units.show(self.module, self.target, [self.unit],
                               ("LoadState", "FragmentPath", "DropInPaths", "MainPID", "EnvironmentFiles"))[self.unit]
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
            environ = _units.Process(pid).environ
        except _units.UnitsError:
            return None
        return ks.env_mode(environ[ks.ENV_VAR]) if ks.ENV_VAR in environ else "off"

    def modes(self, props):
        """(our drop-in's mode, the mode the unit's own files set without it). systemd's last Environment= wins."""
        dropin = "off"
        try:
            content, odd, _st = _safefile.read_path(self.dropin)
        except FileNotFoundError:  # no drop-in directory
            content, odd = None, None
        if odd:
            self.module.warn("%s is %s, not our drop-in: it is replaced" % (self.dropin, odd))
        elif content is not None:
            dropin = ks.parse_dropin(content.decode("utf-8", "replace"))
        # the unit's files in systemd's order (`systemctl cat` does not work across -M)
        own = "off"
        for path in [props.get("FragmentPath", "")] + props.get("DropInPaths", "").split():
            if not path or path == self.dropin:
                continue
            try:
                content, odd, _st = _safefile.read_path(path)
            except (_safefile.UnsafePathError, OSError) as e:
                content, odd = None, to_native(e)
            if odd:
                self.module.warn("%s of %s is not read: %s" % (path, self.unit, odd))
            elif content is not None:
                own = ks.unit_file_mode(content.decode("utf-8", "replace")) or own
        return dropin, own

    def clear_hazards(self):
        """systemd reads every drop-in at daemon-reload and blocks for good on a FIFO (the manager then answers
        nothing, so no later kill or check works). A non-regular file at our drop-in's name, in any unit's drop-in
        directory, is removed; one anywhere else in the unit directory is refused before anything changes."""
        unit_fd = _safefile.open_dir_if_exists(self.target.unit_dir())
        if unit_fd is None:
            return
        hazards = []
        try:
            for name in os.listdir(unit_fd):
                st = os.stat(name, dir_fd=unit_fd)
                if not stat.S_ISDIR(st.st_mode):
                    if not stat.S_ISREG(st.st_mode):
                        hazards.append((os.path.join(self.target.unit_dir(), name), st))
                    continue
                if not name.endswith((".d", ".wants", ".requires")) or stat.S_ISLNK(os.lstat(name, dir_fd=unit_fd).st_mode):
                    continue
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=unit_fd)
                try:
                    hazards.extend(self._clear_unit_subdir(sub, name))
                finally:
                    os.close(sub)
        finally:
            os.close(unit_fd)
        if hazards:
            raise KillSwitchError(
                "the %s manager would hang at daemon-reload on %s: remove it, or engage with method=file, which needs "
                "no reload" % (self.manager(), ", ".join("%s (%s)" % (path, _safefile.kind(st.st_mode)) for path, st in hazards)))

    def _clear_unit_subdir(self, sub, name):
        """In the unit directory's subdirectory ``name`` (open as ``sub``): remove a non-regular file at our drop-in's
        name, return [(path, stat)] of the other non-regular files systemd would read."""
        hazards = []
        for entry in os.listdir(sub):
            try:
                est = os.stat(entry, dir_fd=sub)
            except OSError:
                continue  # a dangling link: systemd skips it
            if stat.S_ISREG(est.st_mode) or stat.S_ISDIR(est.st_mode):
                continue
            shown = os.path.join(self.target.unit_dir(), name, entry)
            if entry == ks.DROPIN_NAME and name.endswith(".d"):
                self.module.warn("%s is %s at our drop-in's name: removed (systemd would hang reading it)"
                                 % (shown, _safefile.kind(est.st_mode)))
                _safefile.remove_file(sub, entry)
            else:
                hazards.append((shown, est))
        return hazards

    def apply(self, mode):
        """Our drop-in holds ``mode`` (absent for off). In a user's home every directory is walked without following
        links and the ones created are given to the user by descriptor."""
        owner = None if self.target.scope == "system" else (self.target.uid, self.target.gid)
        if mode == "off":
            dir_fd = _safefile.open_dir_if_exists(self.dropin_dir)
            if dir_fd is not None:
                try:
                    _safefile.remove_file(dir_fd, ks.DROPIN_NAME)
                    empty = not os.listdir(dir_fd)
                finally:
                    os.close(dir_fd)
                if empty:
                    parent = _safefile.open_dir(os.path.dirname(self.dropin_dir))
                    try:
                        os.rmdir(os.path.basename(self.dropin_dir), dir_fd=parent)
                    except OSError:
                        pass  # not empty any more, or gone: either is fine
                    finally:
                        os.close(parent)
        else:
            self.clear_hazards()
            create = (owner[0], owner[1], 0o755) if owner else (0, 0, 0o755)
            dir_fd = _safefile.open_dir(self.dropin_dir, create=create)
            try:
                _safefile.write_file(dir_fd, ks.DROPIN_NAME, ks.render_dropin(mode).encode("ascii"), 0o644, owner)
            finally:
                os.close(dir_fd)
        rc, out, err = _units.systemctl(self.module, self.target, "daemon-reload")
        if rc != 0:
            raise KillSwitchError("daemon-reload of the %s manager failed: %s" % (self.manager(), (err or out).strip()))


def audit(path, record):
    _safefile.append_line(path, json.dumps(record, sort_keys=True) + "\n")


class Verifier:
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
            rc, out, err = _units.systemctl(self.module, self.target, "restart", "--", unit)
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
        if ks.nothing_to_verify(row):
            continue
        facts, proc = row["_facts"], row["_proc"]
        try:
            content, odd = read_kill_file(facts.kill_file) if facts.kill_file else (None, None)
        except (_safefile.UnsafePathError, KillSwitchError, OSError) as e:
            content, odd = None, to_native(e)
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


DEFAULT_KILL_FILE = "/tmp/ai-quant-kill"  # the runbook's; the real trader has none (engine/risk.py: "" = no file)


def check_request(p):
    """Every check of the options that needs no command on the host; KillSwitchError naming the first bad one."""
    if p["path"] is not None:
        _safefile.check_path(p["path"], "path")
    _units.check_unit_name(p["unit"], "unit")
    for unit in p["units"]:
        _units.check_unit_name(unit, "units")
    if p["audit_log"]:
        try:
            odd = _safefile.read_path(_safefile.check_path(p["audit_log"], "audit_log"), 0)[1]
        except FileNotFoundError:
            raise KillSwitchError("the audit log's directory %s does not exist" % os.path.dirname(p["audit_log"])) from None
        if odd:
            raise KillSwitchError("the audit log %s is %s: give a regular file (or a new name)" % (p["audit_log"], odd))
    _validate.number("verify_timeout", p["verify_timeout"], VERIFY_TIMEOUT)
    for pattern in (p["heartbeat_pattern"], p["proof_pattern"]):
        try:
            re.compile(pattern or "")
        except re.error as e:
            raise KillSwitchError("%r is not a valid regular expression: %s" % (pattern, e)) from None


def check_kill_path(path):
    """The kill file's directory exists and we can replace the file in it."""
    directory = os.path.dirname(path)
    try:
        os.close(_safefile.open_dir(directory))
    except FileNotFoundError:
        raise KillSwitchError("the kill file's directory %s does not exist: set path to the trader's AI_QUANT_KILL_SWITCH_FILE" % directory) from None
    except PermissionError:
        raise KillSwitchError("cannot reach %s as %s (uid %d): connect (or become) a user who can" % (
            directory, getpass.getuser(), os.geteuid())) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise KillSwitchError("cannot write in %s as %s: connect (or become) a user who can" % (directory, getpass.getuser()))
    try:
        st, dst = os.lstat(path), os.stat(directory)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise KillSwitchError("%s is a directory, not a kill file: set path to the trader's AI_QUANT_KILL_SWITCH_FILE" % path)
    euid = os.geteuid()
    if euid not in (0, st.st_uid) and dst.st_mode & stat.S_ISVTX and dst.st_uid != euid:
        raise KillSwitchError(
            "%s belongs to %s, and in the sticky directory %s only root or its owner can replace it; this task runs "
            "as uid %d: run the kill as root (become)" % (path, _safefile.owner_name(st.st_uid), directory, euid))


def env_files_values(props):
    """{name: value} the unit's EnvironmentFiles set, in systemd's order (a later file wins), each read without
    following another user's links or blocking; a file that cannot be read safely is skipped."""
    values = {}
    for entry in props.get("EnvironmentFiles", "").split("\n"):
        path = entry.split(" (")[0].strip()
        if not path:
            continue
        try:
            content, odd, _st = _safefile.read_path(path)
        except (OSError, _safefile.UnsafePathError):
            continue
        if content is not None and not odd:
            values.update(_trader.parse_env_file(content.decode("utf-8", "replace")))
    return values


def unit_kill_files(module, target, units):
    """{unit: AI_QUANT_KILL_SWITCH_FILE} as systemd would start each unit: Environment=, then its EnvironmentFiles
    (which override it); units that set none are left out."""
    props = _units.show(module, target, units, ("Environment", "EnvironmentFiles"))
    found = {}
    for unit in units:
        values = _trader.parse_env_assignments(props[unit].get("Environment", ""))
        values.update(env_files_values(props[unit]))
        if values.get(_trader.ENV_KILL_FILE, "").strip():
            found[unit] = values[_trader.ENV_KILL_FILE].strip()
    return found


def resolve_path(module, target, units, rows=None):
    """(path, how it was found) when path is not given: the file the running live/dry_live traders poll, else the
    one their units set, else the runbook's default, said so."""
    if target is None:
        return DEFAULT_KILL_FILE, "the default: no systemd manager to read the traders from"
    rows = rows if rows is not None else Verifier(module, target, units).snapshot()
    polled = {}
    for unit, row in sorted(rows.items()):
        if row["running"] and row["reads_kill_switch"] and row["kill_file"]:
            polled.setdefault(row["kill_file"], []).append("%s (pid %d)" % (unit, row["pid"]))
    if len(polled) > 1:
        raise KillSwitchError("the running traders poll different kill files: %s; give path, or use method=env" % "; ".join(
            "%s by %s" % (f, ", ".join(u)) for f, u in sorted(polled.items())))
    if polled:
        path, who = next(iter(polled.items()))
        return path, "AI_QUANT_KILL_SWITCH_FILE of the running %s" % ", ".join(who)
    configured = unit_kill_files(module, target, [_units.service_name(u) for u in units])
    if len(set(configured.values())) > 1:
        raise KillSwitchError("the trader units set different kill files: %s; give path" % "; ".join(
            "%s by %s" % (f, u) for u, f in sorted(configured.items())))
    if configured:
        unit, path = sorted(configured.items())[0]
        return path, "AI_QUANT_KILL_SWITCH_FILE of %s (no trader with a kill switch runs)" % unit
    return DEFAULT_KILL_FILE, "the default: no trader unit sets AI_QUANT_KILL_SWITCH_FILE, and a trader without it polls no file"


def resolve_target(p):
    """The systemd manager of the traders; None when there is none and the request does not need one."""
    try:
        return SystemdTarget(p["scope"], p["user"])
    except SystemdTargetError as e:
        if p["method"] == "env" or p["verify"] or p["restart"]:
            raise KillSwitchError(to_native(e)) from None
        return None


def resolve_kill_file(module, target, p, rows=None):
    """(path, how it was found): the one given, else the one the traders use (see resolve_path; ``rows``, a snapshot
    of the trader units already taken, saves reading them again)."""
    if p["path"] is None:
        path, path_source = resolve_path(module, target, p["units"], rows)
        _safefile.check_path(path, "the traders' AI_QUANT_KILL_SWITCH_FILE")
        if path != DEFAULT_KILL_FILE:
            check_trader_named_dir(path, target)
        return path, path_source
    return p["path"], "given"


def check_trader_named_dir(path, target):
    """A path the trader named (its environment, its unit files: all the trader user's to change) is written as root
    only where the trader could write it itself: a directory of that user, or a shared sticky one such as /tmp. Else a
    trader could make an emergency stop create /etc/nologin or replace a file of root."""
    if os.geteuid() != 0 or target is None or target.scope != "user":
        return
    directory = os.path.dirname(path)
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return  # check_kill_path says so
    if st.st_uid == target.uid or st.st_mode & 0o1002 == 0o1002:
        return
    raise KillSwitchError(
        "the traders name %s as their kill file, in %s, a directory of %s that %s cannot write: refusing to write "
        "there as root. If it really is the kill file, give it as path (kill_file)" % (
            path, directory, _safefile.owner_name(st.st_uid), target.user))


def kill_file_owners(target):
    """Who may own a kill file we rely on: root, the user of a user manager, and whoever we run as."""
    return (0,) + ((target.uid,) if target is not None and target.scope == "user" else ()) + \
        ((os.geteuid(),) if os.geteuid() != 0 else ())


class KillSwitchRun:
    """One run of the module, in steps: resolve what to act on, read the sources, decide, act, verify, report."""

    def __init__(self, module):
        self.started = time.time()
        self.module = module
        self.p = module.params
        self.method, self.requested = self.p["method"], self.p["mode"]
        self.desired = None  # method=env: what our drop-in is to hold

    def resolve(self):
        """The manager, the kill file and the unit whose environment is read (and, for method=env, changed)."""
        p, method = self.p, self.method
        self.target = resolve_target(p)
        # the trader units are read once: for the kill file's path, and again only after a restart for the proofs
        self.verifier = Verifier(self.module, self.target, p["units"]) if self.target is not None else None
        needed = p["path"] is None or ((p["verify"] or p["restart"]) and not self.module.check_mode)
        self.rows = self.verifier.snapshot() if self.verifier is not None and needed else None
        self.path, self.path_source = resolve_kill_file(self.module, self.target, p, self.rows)
        if method == "file":
            check_kill_path(self.path)
        self.env = EnvSource(self.module, self.target, p["unit"]) if self.target is not None else None
        self.props = self.env.read_props() if self.env is not None else None
        if self.props is None and method == "env":
            raise KillSwitchError(self.env.error)
        self.unit_found = self.props is not None and self.props.get("LoadState") not in ("not-found", "", None)
        if method == "env" and not self.unit_found:
            raise KillSwitchError("unit %s not found in the %s manager: check unit, scope and user" % (self.env.unit, self.env.manager()))

    def read_sources(self):
        """The mode each source sets now: the kill file, and the unit's environment (our drop-in, else its own)."""
        content, self.odd = read_kill_file(self.path, kill_file_owners(self.target))
        file_mode = ks.file_mode(content)
        if self.odd:
            self.module.warn("%s is %s, not a kill file the trader can rely on: it is replaced by a regular file" % (self.path, self.odd))
        self.dropin_mode, self.unit_own = self.env.modes(self.props) if self.unit_found else ("off", "off")
        env_now = self.dropin_mode if self.dropin_mode != "off" else self.unit_own
        self.sources = {"file": file_mode, "env": env_now}

    def decide(self):
        """What is to be written (self.write) and what the sources will say after it (self.after)."""
        requested, method = self.requested, self.method
        decision = ks.plan(requested, method, self.sources, self.p["force"])
        for warning in decision["warnings"]:
            self.module.warn(warning)
        self.target_mode = decision["target"]
        kept = decision["target"] != requested  # a relaxation that was refused
        if method == "file":
            self.write = decision["write"] or (self.odd is not None and decision["target"] != "off")
            self.after = dict(self.sources, file=decision["target"])
        else:
            # what we own is the drop-in: it holds the target, or is absent for off
            self.desired = self.dropin_mode if kept else decision["target"]
            self.write = self.desired != self.dropin_mode
            self.after = dict(self.sources, env=self.desired if self.desired != "off" else self.unit_own)
            if requested == "off" and self.unit_own != "off":
                self.module.warn("the unit's own files set %s=%s, which stays in force: remove it there" % (ks.ENV_VAR, self.unit_own))
            overriding = env_files_values(self.props) if self.unit_found else {}
            if ks.ENV_VAR in overriding and requested != "off":
                # systemd applies EnvironmentFile= after Environment=: the shipped ai-quant-live.env.example sets 0
                self.module.warn(
                    "an EnvironmentFile of %s sets %s=%s, which overrides our drop-in's Environment=: the restarted trader "
                    "runs with %s. Remove it from that file, or engage with method=file" % (
                        self.env.unit, ks.ENV_VAR, overriding[ks.ENV_VAR], ks.env_mode(overriding[ks.ENV_VAR])))

    def act(self):
        """Write the decision (not in check mode); self.written is when, for the proofs to come after it."""
        self.written = time.time()
        if not self.write or self.module.check_mode:
            return
        if self.method == "file" and self.target_mode == "off":
            remove_kill_file(self.path)
        elif self.method == "file":
            write_kill_file(self.path, ks.file_content(self.target_mode))
        else:
            self.env.apply(self.desired)

    def result(self):
        """The module's result before verification: modes before and after, and what was done."""
        # the running process keeps what it read at start: our change (a file, a drop-in) does not alter it
        after, sources = self.after, self.sources
        running = self.env.running_mode(self.props) if self.unit_found else None
        if running is not None:
            after["env_running"] = running
        self.effective = ks.in_force(after["file"], ks.most_restrictive(after["env"], running))
        self.previous = ks.in_force(sources["file"], ks.most_restrictive(sources["env"], running))
        return dict(
            changed=self.write,
            previous_mode=self.previous,
            mode=after[self.method],
            effective_mode=self.effective,
            sources=after,
            restart_required=self.write and self.method == "env",
            unit_found=self.unit_found,
            started=self.started,
            kill_file=self.path,  # not "path": AnsibleModule.exit_json would add that file's attributes, "mode" among them
            kill_file_source=self.path_source,
        )

    def report_check_mode(self, result):
        verb = "WOULD_CLEAR" if self.requested == "off" else "WOULD_ENGAGE"
        result["status"] = verb if self.write else "UNCHANGED"
        result["summary"] = "%s %s (now %s)" % (verb.replace("_", " "), self.requested, self.previous) if self.write else \
            "%s already in force (%s)" % (self.effective, ", ".join("%s=%s" % kv for kv in sorted(self.sources.items())))

    def stale_traders(self, rows):
        """Running traders that keep the old mode until restarted: all of them for a clear, else those whose
        environment differs from our drop-in (method=env)."""
        return [u for u, r in rows.items() if r["running"] and r["reads_kill_switch"]
                and (self.requested == "off" or (self.method == "env" and ks.env_mode(r["_facts"].env_value) != self.desired))]

    def verify(self, result):
        """Restart the traders that need it (restart=true), then wait for each one's proof and judge it."""
        p = self.p
        verifier, rows = self.verifier, self.rows
        if p["restart"]:
            stale = self.stale_traders(rows)
            if stale:
                verifier.restart(stale)
                rows = verifier.snapshot()
                result["restarted"] = stale
                if self.unit_found and self.env.unit in stale:
                    self.reread_after_restart(result)
        proofs = verifier.wait(rows, self.written, p["verify_timeout"] if p["verify"] else 0, p["heartbeat_pattern"], p["proof_pattern"])
        judge(rows, proofs, self.requested, self.path, self.written)
        result["status"], result["summary"] = ks.host_status(rows, self.requested)
        result["traders"] = [dict((k, v) for k, v in rows[u].items() if not k.startswith("_")) for u in verifier.units]

    def reread_after_restart(self, result):
        """The restarted process read the sources afresh: report its mode, not the old process's (found against
        the real engine: a clear after an env halt_all said 'CLEARED halt_all')."""
        self.props = self.env.read_props() or self.props
        running = self.env.running_mode(self.props)
        self.after.pop("env_running", None)
        if running is not None:
            self.after["env_running"] = running
        self.effective = ks.in_force(self.after["file"], ks.most_restrictive(self.after["env"], running))
        result.update(effective_mode=self.effective, sources=self.after)

    def report_unverified(self, result):
        result["status"] = ("CLEARED" if self.requested == "off" else "ENGAGED") if self.write else "UNCHANGED"
        result["summary"] = "%s in force by the sources (not verified)" % self.effective

    def diff(self):
        return dict(
            before="file: %s\nenv: %s\n" % (self.sources["file"], self.sources["env"]),
            after="file: %s\nenv: %s\n" % (self.after["file"], self.after["env"]),
            before_header="kill switch",
            after_header="kill switch",
        )

    def audit(self, status):
        p = self.p
        audit(p["audit_log"], dict(
            time=datetime.datetime.now(datetime.timezone.utc).isoformat(), host=socket.gethostname(), user=getpass.getuser(),
            method=self.method, mode=self.requested, previous_mode=self.previous, effective_mode=self.effective, changed=self.write,
            reason=p["reason"], status=status))


def run(module):
    r = KillSwitchRun(module)
    p = module.params
    check_request(p)
    r.resolve()
    r.read_sources()
    r.decide()
    r.act()
    result = r.result()
    if module.check_mode:
        r.report_check_mode(result)
    elif p["verify"] or p["restart"]:
        r.verify(result)
    else:
        r.report_unverified(result)
    if module._diff:
        result["diff"] = r.diff()
    if p["audit_log"] and p["reason"] and not module.check_mode:
        r.audit(result["status"])
    return result


def main():
    argument_spec = dict(
        mode=dict(type="str", required=True, choices=["close_only", "halt_all", "off"]),
        method=dict(type="str", default="file", choices=["file", "env"]),
        path=dict(type="path"),
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
        fast=dict(type="bool", default=False),
    )
    argument_spec.update(systemd_argument_spec())
    argument_spec["unit"]["no_log"] = False
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except (KillSwitchError, JournalError, _units.UnitsError, _safefile.UnsafePathError, OSError, ValueError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
