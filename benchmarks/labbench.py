"""What the benchmarks share: the lab of their own (tests/lab/lab.sh), ssh with and without ControlPersist masters,
a timing callback for ansible-playbook, and the statistics and cells of their Markdown tables.

Import it from a benchmark script in a directory below this one:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import labbench
"""

import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

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


def header(title, script, *, figures, deploy, load):
    """The lines a results file starts with: what ran, on what machine, how the figures are made, the lab, the load."""
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "?")
    head = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False).stdout.strip()
    core = subprocess.run(["ansible", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[:1]
    return ["## %s, %s" % (title, datetime.date.today().isoformat()), "",
            "- command: `python %s %s`" % (script, " ".join(shlex.quote(a) for a in sys.argv[1:])),
            "- machine: %s, %d cores, %d MiB; %s; collection at %s" % (
                platform.node(), os.cpu_count(), int(mem) // 1024, core[0] if core else "ansible ?", head or "?"),
            "- figures: %s" % figures, "- lab: %s" % deploy,
            "- load average (1, 5, 15 min) at the start of the measurement: %s, at its end: %s" % load, ""]


# PLR0913: the frame's parts, keyword-only
def framed(*, out, keep, lab_defaults, hosts, lab_inventory, make_bench, report):  # noqa: PLR0913
    """The frame of a benchmark run; returns its exit code. A lab of `hosts` hosts booted, seeded and deployed
    (bench.deploy(bundles)) unless lab_inventory names one already deployed (left as it is); make_bench(work,
    inventory) gives the bench (with .ansible_cp and .raw_cp, its ControlPersist masters); report(bench, deploy)
    measures and returns the Markdown, printed and written to out. SIGTERM and SIGHUP end the run like Ctrl-C:
    the lab, the masters and the work directory are removed whatever happens, unless keep."""
    if not (REPO / ".collections/ansible_collections/quantops/runbooks").exists():
        sys.exit("%s/.collections has no quantops.runbooks: run `make venv` first" % REPO)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="quantops-bench-"))
    lab = bench = None
    ok = False
    try:
        if lab_inventory:
            inventory = Path(lab_inventory).resolve()
            deploy = "an already deployed lab, %s" % inventory
        else:
            # the lab writes its inventory beside the lab's group_vars
            (work / "inventory").mkdir()
            (work / "inventory" / "group_vars").symlink_to(REPO / "inventories" / "lab" / "group_vars")
            inventory = work / "inventory" / "hosts.yml"
            lab = Lab(inventory, lab_defaults)
            log("work directory %s; lab %s" % (work, lab.describe()))
            t0 = time.monotonic()
            lab.up(hosts)
            t_up = time.monotonic() - t0
            must([str(REPO / "tests/lab/app-repos.sh"), str(work / "bundles")])
        bench = make_bench(work, inventory)
        if lab:
            t0 = time.monotonic()
            bench.deploy(work / "bundles")
            deploy = "%d host(s) up in %.0f s, seeded and deployed in %.0f s (%s)" % (hosts, t_up, time.monotonic() - t0, lab.describe())
            log(deploy)
        text = report(bench, deploy)
        print(text)
        Path(out).write_text(text)
        log("written to %s" % out)
        ok = True
    except KeyboardInterrupt:
        log("interrupted")
    except BenchError as e:
        log("FAILED: %s" % e)
    finally:
        if bench:
            for masters in (bench.ansible_cp, bench.raw_cp):
                try:
                    masters.close()
                except BenchError as e:
                    log(str(e))
        if keep:
            log("kept %s%s" % ("the lab (%s) and " % lab.describe() if lab else "", work))
        else:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the lab half removed
            if lab:
                ok = lab.destroy() and ok
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


class HostBench:
    """One host of a lab measured from the controller: its ssh as root with ControlPersist masters (raw) and without
    (maint: the untimed reads, no master left behind), ansible with its own masters and TIMING_CALLBACK, and its
    seeding and deploy (stacks.yml, limited to `deploy_limit` when set)."""

    deploy_limit = None

    def __init__(self, work, inventory, host, timeout):
        self.work = work
        self.host = host
        self.inventory = Path(inventory)
        lab = yaml.safe_load(self.inventory.read_text())
        key = lab["all"]["vars"]["ansible_ssh_private_key_file"]
        address = lab["all"]["children"]["lab"]["hosts"][host]["ansible_host"]
        self.ansible_cp = Masters(work / "cp")
        self.raw_cp = Masters(work / "rcp")
        self.raw = RawSSH(key, address, self.raw_cp.dir, timeout=timeout)
        self.maint = RawSSH(key, address, timeout=timeout)
        self.env, self.timing = timing_env(work, dict(
            os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.ansible_cp.dir), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))

    def deploy(self, bundles):
        must(["ansible-playbook", "-i", str(self.inventory), "tests/lab/seed.yml", "-e", "lab_bundles=%s" % bundles], env=self.env)
        limit = ["--limit", self.deploy_limit] if self.deploy_limit else []
        must(["ansible-playbook", "-i", str(self.inventory), "tests/lab/stacks.yml", *limit], env=self.env, timeout=3600)

    def playbook(self, *args):
        """ansible-playbook ARGS -l HOST; (the timing callback's record, the output); raises when it fails."""
        if self.timing.exists():
            self.timing.unlink()
        argv = ["ansible-playbook", "-i", str(self.inventory), *args, "-l", self.host]
        rc, output = run(argv, env=self.env)
        if rc != 0:
            raise BenchError("%s exited %d:\n%s" % (" ".join(argv), rc, output[-4000:]))
        return json.loads(self.timing.read_text()), output

    def warm_or_cold(self, temp):
        """warm: a master of each side alive; cold: none."""
        if temp == "warm":
            must(["ansible", "-i", str(self.inventory), self.host, "-m", "raw", "-a", "true"], env=self.env)
            self.raw("true")
        else:
            self.ansible_cp.close()
            self.raw_cp.close()


def measure(bench, keys, repeats, describe, temps=("warm", "cold")):
    """{(temp, key): [record]} of bench.timed(key, temp). One untimed warm pass of every key first (the controller
    compiles and caches the collection's plugins, the host's caches fill, what the deploy left running settles), then
    `repeats` rounds, the order of the temps and of the keys reversed every other round. describe(record) is the tail
    of each run's log line."""
    samples = {}
    width = max(len(k) for k in keys)
    for key in keys:
        log("untimed   warm %-*s %s" % (width, key, describe(bench.timed(key, "warm"))))
    for r in range(repeats):
        for temp in temps if r % 2 == 0 else temps[::-1]:
            for key in keys if r % 2 == 0 else keys[::-1]:
                rec = bench.timed(key, temp)
                samples.setdefault((temp, key), []).append(rec)
                log("round %d %s %-*s %s" % (r + 1, temp, width, key, describe(rec)))
    return samples


def gate_of(timing):
    """The result of the (one) unit_gate task the timing callback recorded."""
    return next(t for t in timing["tasks"] if t["action"].endswith("unit_gate"))["result"]
