# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's forced ML run (module ml_run): its inputs checked, its argv, and the running schedulers found in
/proc. Pure parts take plain values so unit tests call them directly.

The real scheduler (core/scheduler/run_daily_ml.js at alisitki/quantlab-backend@115a7dd) takes ``--symbol S``,
``--date YYYYMMDD`` and ``--dry-run`` (and more flags this flow does not use), ignores unknown arguments, checks
neither value, takes no lock and writes no PID file; the cron line runs it as ``node scheduler/run_daily_ml.js`` from
``core/``. So another run is found by its process: a node whose script argument, resolved against the process's
working directory, is that file."""

import calendar
import datetime
import os
import re
import signal
import subprocess
import time
from typing import Dict, Iterable, List, Optional

from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile
from ansible_collections.quantops.runbooks.plugins.module_utils._trader import parse_env_file

SCRIPT = "scheduler/run_daily_ml.js"
SYMBOL = re.compile(r"^[a-z0-9]{2,20}$")
DATE = re.compile(r"^\d{8}$")
NODE = re.compile(r"^node(?:js)?(?:\d+(?:\.\d+)*)?$")
SECRET_NAME = re.compile(r"(?i)(token|secret|password|passwd|key|credential)")
MASK = "********"
# The cron line's environment: its PATH and the user's identity, nothing of ours
PATH = "/usr/local/bin:/usr/bin:/bin"
KILL_AFTER = 30.0


class MlRunInputError(ValueError):
    """A value the run cannot take; the message names the option and what it accepts."""


def check_symbol(symbol: Optional[str]) -> Optional[str]:
    if symbol is None:
        return None
    if not isinstance(symbol, str) or not SYMBOL.match(symbol):
        raise MlRunInputError("symbol %r is not a symbol: give 2 to 20 lowercase letters or digits, like btcusdt" % (str(symbol)[:60],))
    return symbol


def check_date(date: Optional[str], today: Optional[datetime.date] = None) -> Optional[str]:
    """A real calendar day as YYYYMMDD, not after today (UTC)."""
    if date is None:
        return None
    text = str(date)
    if not DATE.match(text):
        raise MlRunInputError("date %r is not YYYYMMDD: give a day like 20260115" % text[:60])
    try:
        day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise MlRunInputError("date %s is not a real day: give a day like 20260115" % text) from None
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    if day > today:
        raise MlRunInputError("date %s is in the future: the scheduler trains on a past day's features" % text)
    return text


def command(node: str, symbol: Optional[str], date: Optional[str], dry_run: bool) -> List[str]:
    """The runbook's command as an argv list, run from core/: without symbol or date the script's own defaults
    apply (every configured symbol, yesterday), as in the cron line."""
    argv = [node, SCRIPT]
    if symbol:
        argv += ["--symbol", symbol]
    if date:
        argv += ["--date", date]
    if dry_run:
        argv.append("--dry-run")
    return argv


def is_scheduler(args: List[str], cwd: Optional[str], scripts: Iterable[str]) -> bool:
    """Whether a process of argv ``args`` and working directory ``cwd`` runs the scheduler: a node whose first
    non-option argument, resolved against ``cwd``, is one of ``scripts`` (the file's path and its real path)."""
    if not args or not NODE.match(os.path.basename(args[0])):
        return False
    script = next((a for a in args[1:] if not a.startswith("-")), None)
    if not script:
        return False
    if not os.path.isabs(script):
        if not cwd:
            return False
        script = os.path.join(cwd, script)
    return os.path.normpath(script) in set(os.path.normpath(s) for s in scripts)


def _boot_time(proc: str) -> float:
    try:
        with open(os.path.join(proc, "stat")) as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def find_runs(script: str, proc: str = "/proc", exclude: Iterable[int] = (), now: Optional[float] = None) -> List[Dict[str, object]]:
    """Every running process of the scheduler ``script``: pid, uid, how long it has run, its arguments after the
    script (the scheduler's own flags)."""
    scripts = {script}
    try:
        scripts.add(os.path.realpath(script))
    except OSError:
        pass
    exclude = set(exclude)
    ticks = os.sysconf("SC_CLK_TCK")
    boot = _boot_time(proc)
    found = []
    for name in os.listdir(proc):
        if not name.isdigit() or int(name) in exclude:
            continue
        base = os.path.join(proc, name)
        try:
            with open(os.path.join(base, "cmdline"), "rb") as f:
                raw = f.read(65536)
            args = [a.decode("utf-8", "replace") for a in raw.split(b"\0")]
            if args and args[-1] == "":
                args.pop()
            try:
                cwd = os.readlink(os.path.join(base, "cwd"))
            except OSError:
                cwd = None
            uid = os.stat(base).st_uid
        except OSError:
            continue  # gone meanwhile
        if not is_scheduler(args, cwd, scripts):
            continue
        row = dict(pid=int(name), uid=uid, user=_safefile.owner_name(uid), args=" ".join(args)[:300])
        try:
            with open(os.path.join(base, "stat")) as f:
                start = int(f.read().rsplit(")", 1)[1].split()[19]) / ticks
            row["running_s"] = round((now or _now()) - (boot + start), 1) if boot else None
        except (OSError, IndexError, ValueError):
            row["running_s"] = None
        found.append(row)
    return found


def _now():
    return calendar.timegm(datetime.datetime.now(datetime.timezone.utc).timetuple())


def secrets_of(paths: Iterable[str]) -> List[str]:
    """The values of the secret-looking variables (token, secret, password, key) of these env files, read as root
    without following a user's link; a file that cannot be read safely gives none."""
    values = set()
    for path in paths:
        try:
            data, odd, _st = _safefile.read_path(path, limit=1024 * 1024)
        except (OSError, _safefile.UnsafePathError):
            continue
        if not data or odd:
            continue
        for name, value in parse_env_file(data.decode("utf-8", "replace")).items():
            if SECRET_NAME.search(name) and len(value) >= 4:
                values.add(value)
    return sorted(values, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def tail_lines(data: bytes, n: int = 40, limit: int = 6000) -> List[str]:
    """The last ``n`` lines of ``data``, at most ``limit`` characters together."""
    lines = data.decode("utf-8", "replace").splitlines()[-n:]
    while lines and sum(len(x) + 1 for x in lines) > limit:
        lines.pop(0)
    return lines


def execute(argv: List[str], cwd: str, pw, log_fd: int, timeout: float):
    """Run ``argv`` from ``cwd`` as the user ``pw`` (when we are root), with the cron line's environment, stdout and
    stderr going straight to ``log_fd`` as the cron line's ``>> LOG 2>&1`` does (so the log has each line as it comes,
    even if this process is lost). After ``timeout`` seconds SIGTERM (the real scheduler then destroys its GPU
    instance and exits 143), SIGKILL KILL_AFTER seconds later. Returns (rc, seconds, timed out, pid).

    module.run_command can do none of this (another user, output to a file descriptor, a deadline), hence Popen."""
    env = dict(HOME=pw.pw_dir, LOGNAME=pw.pw_name, USER=pw.pw_name, SHELL="/bin/sh", PATH=PATH, LANG="C.UTF-8")
    kwargs = {}
    if os.geteuid() == 0 and pw.pw_uid != 0:
        kwargs = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=os.getgrouplist(pw.pw_name, pw.pw_gid))
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
                            close_fds=True, start_new_session=True, **kwargs)
    timed_out = False
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            rc = proc.wait(timeout=KILL_AFTER)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
    return rc, round(time.monotonic() - t0, 3), timed_out, proc.pid
