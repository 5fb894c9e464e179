"""What the benchmarks share: the lab of their own (tests/lab/lab.sh), ssh with and without ControlPersist masters,
a timing callback for ansible-playbook, and the statistics and cells of their Markdown tables.

Import it from a benchmark script in a directory below this one:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import labbench
"""

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "tests" / "lab" / "lab.sh"

# TIMING_CALLBACK: a callback that writes, per run, when each task started and when each host's result came back (controller clock),
# and the unit_gate results, to $QBENCH_TIMING.
TIMING_CALLBACK = '''
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "qbench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.data = dict(playbook_start=None, tasks=[])

    def v2_playbook_on_start(self, playbook):
        self.data["playbook_start"] = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.data["tasks"].append(dict(name=task.get_name(), action=task.action, start=time.time(), end=None, status=None,
                                       result=None))

    def _done(self, result, status):
        now = time.time()
        task = self.data["tasks"][-1] if self.data["tasks"] else None
        if task is None:
            return
        task["end"], task["status"] = now, status
        if task["action"].endswith("unit_gate"):
            r = result._result
            task["result"] = dict(elapsed=r.get("elapsed"), acted_at=r.get("acted_at"), units=r.get("units"), msg=r.get("msg"),
                                  steps=[dict(name=x.get("name"), elapsed=x.get("elapsed"), acted_at=x.get("acted_at"), units=x.get("units"))
                                         for x in r.get("steps") or []])

    def v2_runner_on_ok(self, result):
        self._done(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._done(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self.data["stats_at"] = time.time()
        with open(os.environ["QBENCH_TIMING"], "w") as f:
            json.dump(self.data, f)
'''


def timing_env(work, env):
    """ansible environment with TIMING_CALLBACK enabled; returns (env, the JSON file each run writes)."""
    callbacks = Path(work) / "callbacks"
    callbacks.mkdir(exist_ok=True)
    (callbacks / "qbench_timing.py").write_text(TIMING_CALLBACK)
    timing = Path(work) / "timing.json"
    return dict(env, ANSIBLE_CALLBACK_PLUGINS=str(callbacks), ANSIBLE_CALLBACKS_ENABLED="qbench_timing", QBENCH_TIMING=str(timing)), timing


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


def run(argv, *, env=None, timeout=900):
    """Run argv from the repository root; (exit code, stdout + stderr)."""
    out = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return out.returncode, out.stdout + out.stderr


def must(argv, *, env=None, timeout=900):
    rc, output = run(argv, env=env, timeout=timeout)
    if rc != 0:
        raise BenchError("%s exited %d:\n%s" % (" ".join(argv), rc, output[-4000:]))
    return output


class Lab:
    """tests/lab/lab.sh with the benchmark's own prefix, subnet, state and inventory (defaults: LAB_PREFIX,
    LAB_SUBNET, LAB_STATE; the environment's values win)."""

    def __init__(self, inventory, defaults):
        self.env = dict(os.environ, LAB_INVENTORY=str(inventory))
        self.keys = tuple(defaults)
        for name, value in defaults.items():
            self.env.setdefault(name, value)
        self.inventory = inventory

    def describe(self):
        return " ".join("%s=%s" % (k, self.env[k]) for k in self.keys)

    def up(self, n):
        must([str(LAB), "up", str(n)], env=self.env, timeout=600)

    def destroy(self):
        subprocess.run([str(LAB), "destroy"], cwd=REPO, env=self.env, check=False)
        out = subprocess.run([str(LAB), "leftovers"], cwd=REPO, env=self.env, capture_output=True, text=True, check=False)
        log(out.stdout.strip() or out.stderr.strip())
        return out.returncode == 0


class Masters:
    """The ControlPersist masters of one side: all live in one directory of sockets."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def sockets(self):
        return sorted(p for p in self.dir.iterdir() if p.is_socket())

    def processes(self):
        """PIDs of the ssh masters serving sockets here (their process title is `ssh: SOCKET [mux]`)."""
        out = subprocess.run(["pgrep", "-f", "^ssh: %s/" % re.escape(str(self.dir))], capture_output=True, text=True, check=False)
        return [int(p) for p in out.stdout.split()]

    def close(self):
        for sock in self.sockets():
            subprocess.run(["ssh", "-o", "ControlPath=%s" % sock, "-O", "exit", "closing"], capture_output=True, check=False)
        for pid in self.processes():  # a master whose socket is gone, or that ignored exit: ours, by its pid
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        for p in self.dir.iterdir():
            p.unlink()
        left = self.processes()
        if left or any(self.dir.iterdir()):
            raise BenchError("ControlPersist masters of %s still alive: pids %s, files %s" % (self.dir, left, list(self.dir.iterdir())))


class RawSSH:
    """ssh to the lab host as root. control_dir None: no connection sharing."""

    def __init__(self, key, address, control_dir=None, timeout=120):
        self.address = address
        self.timeout = timeout
        self.opts = ["-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]
        if control_dir:
            self.opts += ["-o", "ControlMaster=auto", "-o", "ControlPersist=300s", "-o", "ControlPath=%s/%%C" % control_dir]
        else:
            self.opts += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]

    def __call__(self, command):
        """stdout of `command` run by the host's shell; raises when it fails."""
        argv = ["ssh", *self.opts, "root@" + self.address, command]
        r = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=self.timeout)
        if r.returncode:
            raise BenchError("ssh %s %r: exit %d %s" % (self.address, command[:80], r.returncode, (r.stderr or r.stdout).strip()[-2000:]))
        return r.stdout


def profile_of(timing, t0, t1):
    """Split one playbook run into: start-up (t0 to the first task), each task (its start to its result), the gaps
    between tasks, and the end (the last result to the process's exit). Times on the controller's clock."""
    tasks = timing["tasks"]
    out = {"start-up": tasks[0]["start"] - t0 if tasks else t1 - t0, "tasks": []}
    gaps = 0.0
    for i, t in enumerate(tasks):
        end = t["end"] or (tasks[i + 1]["start"] if i + 1 < len(tasks) else t1)
        if i + 1 < len(tasks):
            gaps += tasks[i + 1]["start"] - end
        r = t["result"] or {}
        out["tasks"].append(dict(name=t["name"], action=t["action"], status=t["status"], wall=end - t["start"], elapsed=r.get("elapsed"),
                                 steps=dict((x["name"], x.get("elapsed")) for x in r.get("steps") or [])))
    out["gaps"] = gaps
    last = (tasks[-1]["end"] or tasks[-1]["start"]) if tasks else t0
    out["end"] = t1 - last
    return out


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(x, unit=" s", digits=2):
    return "-" if x is None else "%.*f%s" % (digits, x, unit)


def ratio(a, b):
    return "-" if a is None or not b else "%.2fx" % (a / b)


def gap(value, limit):
    if value is None:
        return "-"
    d = value - limit
    return "met, %.2f s under" % -d if d <= 0 else "**missed** by %.2f s" % d


def loadavg():
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])
