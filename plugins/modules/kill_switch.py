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
  - It never relaxes by accident. Asking for V(close_only) while V(halt_all) is in force in either source (file or
    env) keeps V(halt_all), changes nothing and warns, unless O(force=true). V(off) is explicit and clears the
    chosen method's source only; RV(effective_mode) tells when the other source still holds a kill.
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
import socket
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.quantops.runbooks.plugins.module_utils import _kill_switch as ks
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)


class KillSwitchError(Exception):
    pass


def read_file_mode(path):
    if os.path.isdir(path):
        raise KillSwitchError("%s is a directory, not a kill file: set path to the trader's AI_QUANT_KILL_SWITCH_FILE" % path)
    try:
        with open(path, "rb") as f:
            return ks.parse_mode(f.read(4096).decode("utf-8", "replace"))
    except FileNotFoundError:
        return "off"


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
        rc, out, err = self.systemctl("show", "-p", "LoadState", "-p", "FragmentPath", "-p", "DropInPaths", "-p", "MainPID", self.unit)
        if rc != 0:
            self.error = "cannot reach the %s manager to read %s: %s" % (self.manager(), self.unit, (err or out).strip())
            return None
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def manager(self):
        return "system" if self.target.scope == "system" else "%s's user" % self.target.user

    def running_mode(self, props):
        """AI_QUANT_KILL_SWITCH of the unit's running process (what it read at start), None when it is not running."""
        pid = props.get("MainPID", "0")
        if not pid.isdigit() or pid == "0":
            return None
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                environ = f.read().split(b"\0")
        except (IOError, OSError):
            return None
        prefix = (ks.ENV_VAR + "=").encode("ascii")
        values = [v[len(prefix):].decode("utf-8", "replace") for v in environ if v.startswith(prefix)]
        return ks.parse_mode(values[-1]) if values else "off"

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

    try:
        target = SystemdTarget(p["scope"], p["user"])
    except SystemdTargetError as e:
        if method == "env":
            raise KillSwitchError(to_native(e)) from None
        target = None
    env = EnvSource(module, target, p["unit"]) if target is not None else None
    props = env.read_props() if env is not None else None
    if props is None and method == "env":
        raise KillSwitchError(env.error)
    unit_found = props is not None and props.get("LoadState") not in ("not-found", "", None)
    if method == "env" and not unit_found:
        raise KillSwitchError("unit %s not found in the %s manager: check unit, scope and user" % (env.unit, env.manager()))

    file_mode = read_file_mode(path)
    dropin_mode, unit_own = env.modes(props) if unit_found else ("off", "off")
    env_now = dropin_mode if dropin_mode != "off" else unit_own
    sources = {"file": file_mode, "env": env_now}
    decision = ks.plan(requested, method, sources, p["force"])
    for warning in decision["warnings"]:
        module.warn(warning)
    kept = decision["target"] != requested  # a relaxation that was refused

    if method == "file":
        write = decision["write"]
        after = dict(sources, file=decision["target"])
    else:
        # what we own is the drop-in: it holds the target, or is absent for off
        desired = dropin_mode if kept else decision["target"]
        write = desired != dropin_mode
        after = dict(sources, env=desired if desired != "off" else unit_own)
        if requested == "off" and unit_own != "off":
            module.warn("the unit's own files set %s=%s, which stays in force: remove it there" % (ks.ENV_VAR, unit_own))
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
    # what the trader enforces now or after its restart, whichever is stricter
    effective = ks.most_restrictive(after["file"], after["env"], running)
    previous = ks.most_restrictive(decision["previous_mode"], running)
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
            reason=p["reason"]))
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
    )
    argument_spec.update(systemd_argument_spec())
    argument_spec["unit"]["no_log"] = False
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except (KillSwitchError, OSError, ValueError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
