#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ml_run
short_description: The runbook's forced ML training run, as the deploy user, refused while another run is active
version_added: 1.2.0
description:
  - Runs C(node scheduler/run_daily_ml.js [--symbol S] [--date YYYYMMDD] [--dry-run]) in the checkout's C(core/)
    directory as O(user) (an argv list, never a shell), with the cron line's minimal environment, its output (stdout
    and stderr) appended to O(log) as the cron line does. The log is opened with O(user)'s permissions, never
    through a symbolic link, and must be a regular file.
  - Refuses (fails, runs nothing) while another run of the scheduler is active. Another C(ml_run) is found by the
    lock it holds (C(flock) on O(lock_file)) during its whole run. The cron's run, or a manual one, takes no lock (the
    real scheduler has none), so every process is looked at in C(/proc) as well. A node process whose script
    argument, resolved against its working directory, is this checkout's C(core/scheduler/run_daily_ml.js) counts.
  - A run that started at the same moment as ours (the cron at 00:15) is not seen. Do not force a run around the
    cron's time.
  - Returns the exit code, the duration and the last lines of the output. Any value of a token, secret, password or
    key variable of the env files in O(env_dir) and of C(core/.env) is masked in them.
  - After O(timeout) seconds the run gets SIGTERM (the real scheduler then destroys its GPU instance and exits 143),
    and SIGKILL 30 seconds later.
  - Needs root (become), or to be connected as O(user).
author:
  - Quant Ops (@quantops)
attributes:
  check_mode:
    support: full
    description: Says what would run and whether it would be refused; runs nothing and takes no lock.
  diff_mode:
    support: none
    description: An ML run is an action, not a state; there is nothing to compare.
  idempotent:
    support: none
    description: Each run trains (or, with O(dry_run), plans) again.
options:
  symbol:
    description: C(--symbol), 2 to 20 lowercase letters or digits. Omitted, the scheduler trains every configured symbol.
    type: str
  date:
    description: C(--date), a real past day as YYYYMMDD. Omitted, the scheduler takes yesterday.
    type: str
  dry_run:
    description: C(--dry-run), which generates the job specs without launching a GPU.
    type: bool
    default: true
  app_dir:
    description: The quantlab-backend checkout; the run's working directory is its C(core/).
    type: path
    default: /home/deploy/quantlab-backend
  user:
    description: Who runs it (the checkout's owner, the cron line's user).
    type: str
    default: deploy
  log:
    description: The ML log the output is appended to. It must exist (the role creates it).
    type: path
    default: /var/log/quantlab-ml.log
  lock_file:
    description: The lock held during the run; its directory is made root-owned, mode 0755, when missing.
    type: path
    default: /run/quantops/ml_run.lock
  env_dir:
    description: The directory of the units' env files (C(*.env)) whose secret values are masked in the output.
    type: path
    default: /etc/quantlab
  dotenv:
    description:
      - The C(core/.env) whose secret values are masked in the output too. Default C(<app_dir>/core/.env). With the
        release layout of the P(quantops.runbooks.quantlab#role) role that path is a link to the shared directory,
        which root does not follow; give the shared file (C(quantlab_dotenv)).
    type: path
  timeout:
    description: Seconds the run may take (from 1 to 86400).
    type: float
    default: 10800
"""

EXAMPLES = r"""
- name: The runbook's "Force ML Training Run"
  quantops.runbooks.ml_run:
    symbol: btcusdt
    date: "20260115"
    dry_run: true
  become: true
  register: ml
"""

RETURN = r"""
status:
  description: V(succeeded), V(failed) (non-zero exit), V(timed out), V(refused), V(would run) or V(would be refused).
  returned: always
  type: str
  sample: succeeded
cmd:
  description: The argv run, from RV(cwd).
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/node, scheduler/run_daily_ml.js, --symbol, btcusdt, --date, "20260115", --dry-run]
user:
  description: Who runs it.
  returned: always
  type: str
  sample: deploy
cwd:
  description: Its working directory.
  returned: always
  type: str
  sample: /home/deploy/quantlab-backend/core
rc:
  description: Its exit code (null when it did not run; negative when a signal ended it).
  returned: always
  type: int
  sample: 0
duration_s:
  description: Seconds from its start to its end (null when it did not run).
  returned: always
  type: float
  sample: 1.42
log:
  description: The log the output went to.
  returned: always
  type: str
  sample: /var/log/quantlab-ml.log
log_bytes:
  description: The bytes the run appended to the log.
  returned: when it ran
  type: int
  sample: 1840
output_tail:
  description: The output's last 40 lines (secret values masked).
  returned: when it ran
  type: list
  elements: str
active:
  description: The other runs that refused this one (pid, uid, user, running_s, args), or that would.
  returned: always
  type: list
  elements: dict
"""

import errno
import fcntl
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _ml_run, _safefile
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

TIMEOUT = v.Range(1, 86400, "seconds")


class Refused(Exception):
    def __init__(self, msg, active):
        super().__init__(msg)
        self.active = active


def node_path(module):
    node = module.get_bin_path("node", opt_dirs=_ml_run.PATH.split(":"))
    if not node:
        raise _ml_run.MlRunInputError("node is not installed on this host (looked in %s): deploy QuantLab first" % _ml_run.PATH)
    return node


def lock_held_by(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
    except OSError:
        return "unknown"


def take_lock(path, check_mode):
    """The lock's fd, held; None in check mode (only tested). Refused when another run holds it."""
    _safefile.check_path(path, "lock_file")
    parent, name = os.path.split(path)
    if check_mode:
        dir_fd = _safefile.open_dir_if_exists(parent)
        if dir_fd is None:
            return None
        try:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Refused("another ml_run (pid %s) holds %s" % (lock_held_by(fd), path), [dict(pid=lock_held_by(fd), lock=path)]) from None
            finally:
                os.close(fd)
            return None
        finally:
            os.close(dir_fd)
    dir_fd = _safefile.open_dir(parent, create=(0, 0, 0o755))
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        os.close(fd)
        raise _safefile.UnsafePathError("%s is %s owned by %s: not our lock file; remove it" % (
            path, _safefile.kind(st.st_mode), _safefile.owner_name(st.st_uid)))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock_held_by(fd)
        os.close(fd)
        raise Refused("another ml_run (pid %s) holds %s: wait for it to end" % (holder, path), [dict(pid=holder, lock=path)]) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, ("%d\n" % os.getpid()).encode("ascii"), 0)
    return fd


def open_log_as(path, pw):
    """The log opened for appending and reading back with ``pw``'s permissions (root takes that user's identity
    for the open only), never through a symbolic link, and checked to be a regular file."""
    _safefile.check_path(path, "log")
    flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    if os.geteuid() == 0 and pw.pw_uid != 0:
        saved = os.getgroups()
        os.setgroups(os.getgrouplist(pw.pw_name, pw.pw_gid))
        os.setegid(pw.pw_gid)
        os.seteuid(pw.pw_uid)
        try:
            fd = _open_log(path, flags, pw)
        finally:
            os.seteuid(0)
            os.setegid(0)
            os.setgroups(saved)
    else:
        fd = _open_log(path, flags, pw)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _safefile.UnsafePathError("the ML log %s is %s, not a regular file: refusing to write into it" % (path, _safefile.kind(st.st_mode)))
    return fd


def _open_log(path, flags, pw):
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        raise _ml_run.MlRunInputError("the ML log %s does not exist: deploy QuantLab (the role creates it, owned by %s)" % (path, pw.pw_name)) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _safefile.UnsafePathError("the ML log %s is a symbolic link: refusing to write through it" % path) from None
        raise _ml_run.MlRunInputError("the ML log %s cannot be opened by %s: %s (the cron line could not write it either)" % (
            path, pw.pw_name, e.strerror or e)) from None


def run(module):
    p = module.params
    symbol = _ml_run.check_symbol(p["symbol"])
    date = _ml_run.check_date(p["date"])
    timeout = TIMEOUT.check("timeout", p["timeout"])
    for option in ("app_dir", "log", "lock_file", "env_dir"):
        _safefile.check_path(p[option], option)
    if p["dotenv"] is not None:
        _safefile.check_path(p["dotenv"], "dotenv")
    try:
        pw = pwd.getpwnam(p["user"])
    except KeyError:
        raise _ml_run.MlRunInputError("user %r does not exist on this host: give the owner of the checkout (deploy)" % p["user"]) from None
    if os.geteuid() not in (0, pw.pw_uid):
        raise _ml_run.MlRunInputError("ml_run must run as root (become) or as %s" % pw.pw_name)
    cwd = os.path.join(p["app_dir"], "core")
    script = os.path.join(cwd, _ml_run.SCRIPT)
    if not os.path.isfile(script):
        raise _ml_run.MlRunInputError("%s does not exist: is app_dir the quantlab-backend checkout?" % script)
    argv = _ml_run.command(node_path(module), symbol, date, p["dry_run"])
    result = dict(changed=False, cmd=argv, cwd=cwd, user=pw.pw_name, rc=None, duration_s=None, log=p["log"], active=[])
    lock_fd = take_lock(p["lock_file"], module.check_mode)
    try:
        active = _ml_run.find_runs(script)
        if active:
            raise Refused("the scheduler is already running (%s): wait for it to end" % ", ".join(
                "pid %d as %s, %ss" % (a["pid"], a["user"], a["running_s"]) for a in active), active)
        if module.check_mode:
            result["status"] = "would run"
            return result
        log_fd = open_log_as(p["log"], pw)
        try:
            before = os.fstat(log_fd).st_size
            rc, duration, timed_out, _pid = _ml_run.execute(argv, cwd, pw, log_fd, timeout)
            after = os.fstat(log_fd).st_size
            start = max(before, after - 65536)
            data = os.pread(log_fd, after - start, start) if after > start else b""
        finally:
            os.close(log_fd)
        secrets = _ml_run.secrets_of([os.path.join(p["env_dir"], n) for n in _env_files(p["env_dir"])] + [p["dotenv"] or os.path.join(cwd, ".env")])
        result.update(changed=True, rc=rc, duration_s=duration, log_bytes=after - before,
                      output_tail=[_ml_run.scrub(line, secrets) for line in _ml_run.tail_lines(data)],
                      status="timed out" if timed_out else ("succeeded" if rc == 0 else "failed"))
        return result
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _env_files(env_dir):
    dir_fd = _safefile.open_dir_if_exists(env_dir)
    if dir_fd is None:
        return []
    try:
        return sorted(n for n in os.listdir(dir_fd) if n.endswith(".env"))
    finally:
        os.close(dir_fd)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            symbol=dict(type="str"),
            date=dict(type="str"),
            dry_run=dict(type="bool", default=True),
            app_dir=dict(type="path", default="/home/deploy/quantlab-backend"),
            user=dict(type="str", default="deploy"),
            log=dict(type="path", default="/var/log/quantlab-ml.log"),
            lock_file=dict(type="path", default="/run/quantops/ml_run.lock"),
            env_dir=dict(type="path", default="/etc/quantlab"),
            dotenv=dict(type="path"),
            timeout=dict(type="float", default=10800),
        ),
        supports_check_mode=True,
    )
    v.check(module, texts=dict(user=v.Text(max_length=256), symbol=v.Text(max_length=100), date=v.Text(max_length=100)))
    try:
        result = run(module)
    except Refused as e:
        module.fail_json(msg=to_native(e), status="would be refused" if module.check_mode else "refused", active=e.active, rc=None)
    except (_ml_run.MlRunInputError, _safefile.UnsafePathError, v.InvalidInput) as e:
        module.fail_json(msg=to_native(e))
    if result["status"] in ("failed", "timed out"):
        module.fail_json(msg="run_daily_ml.js %s (exit code %s after %ss): see its output below and %s" % (
            result["status"], result["rc"], result["duration_s"], result["log"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
