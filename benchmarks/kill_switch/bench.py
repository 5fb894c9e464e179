"""Time-to-safe of quantops.runbooks.emergency_stop against its floors, warm and cold (issue 12 section 2).

    python benchmarks/kill_switch/bench.py [--sizes 1,5,10,20] [--repeats 3] [--keep] [--out FILE]

Run as root with `make venv` done and the venv's bin/ on PATH. It boots its own lab of max(sizes) hosts
(LAB_PREFIX=blab, LAB_SUBNET=10.213.79.0/24, LAB_STATE=/var/lib/quantops-blab unless set in the environment, so it
never touches the lab of the tests), deploys openclaw-ai-quant with every host in openclaw_live (the live trader in
dry_live, re-reading /tmp/ai-quant-kill every second; paper trader and monitor off to spare the cores), and for
each fleet size measures every column below warm and cold, alternating the order each round:

  startup   ansible-playbook of a one-task play on localhost (the controller's start-up)
  raw_true  ansible -m raw -a true (connection floor)         ping  ansible -m ping (a Python module per host)
  ssh_a     parallel raw ssh writing the kill file (mktemp + printf + mv)
  ssh_b     the same, then a POSIX sh loop on the host proving the trader took it (its heartbeat)
  fast_a/b  ansible-playbook quantops.runbooks.emergency_stop (-e kill_verify=false for a): the default path
  mod_a/b   the same with -e kill_fast=false: the Python module quantops.runbooks.kill_switch

Warm: a warm-up run right before each timed run, so both sides' ControlPersist masters are alive. Cold: before
each timed run every master of both sides is closed and its socket removed. After each engage run the kill is
cleared (file removed, live trader restarted, its new process has logged a heartbeat), untimed. Prints Markdown
tables (medians, ratios to -m ping), the profile and the targets, and writes them to benchmarks/kill_switch/
results-<date>.md. Tears the lab down at the end, also on Ctrl-C or an error, unless --keep.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from labbench import REPO, BenchError, Lab, Masters, fmt, header, loadavg, log, med, must, run  # noqa: E402

LAB_DEFAULTS = {"LAB_PREFIX": "blab", "LAB_SUBNET": "10.213.79.0/24", "LAB_STATE": "/var/lib/quantops-blab"}
KILL = "/tmp/ai-quant-kill"
UNIT = "openclaw-ai-quant-live.service"
SYSTEMCTL = "systemctl --user -M trader@"
PROOF_TIMEOUT = 30     # s, the raw proof loop's deadline (the collection's: openclaw_kill_verify_timeout, 20 in the lab)
POLL = 0.2             # s between journal reads, as kill_switch's Verifier.wait
MARGIN = 0.25          # s, _trader.MARGIN: slack for the journal's receive time against the trader's clock
CLEAR_TIMEOUT = 90     # s for a restarted trader's first heartbeat

# Column key -> label. Floors first, then the collection.
FLOORS = {"startup": "localhost play", "raw_true": "-m raw true", "ping": "-m ping", "ssh_a": "ssh (a)", "ssh_b": "ssh (b)"}
COLLECTION = {"fast_a": "fast (a)", "fast_b": "fast (b)", "mod_a": "module (a)", "mod_b": "module (b)"}
ENGAGES = ("ssh_a", "ssh_b", "fast_a", "fast_b", "mod_a", "mod_b")
# --extras: the same verified stop under other settings, warm, at the largest size (issue 12: strategy, forks,
# ansible.cfg, and Mitogen as an opt-in that the collection does not depend on)
MITOGEN = "mitogen==0.3.54"
VARIANTS = ("fast_b[strategy=ansible.builtin.linear]", "mod_b[strategy=ansible.builtin.linear]", "fast_b[forks=5]",
            "fast_b[forks=10]", "fast_b[forks=50]", "mod_b[pipelining=False]", "fast_b[strategy=mitogen_free]",
            "mod_b[strategy=mitogen_free]")
TEMPS = ("warm", "cold")

# (a) on a host: the kill file written as kill_switch writes it (a 0644 file, replaced atomically).
ENGAGE = ("t=$(mktemp /tmp/.ai-quant-kill.XXXXXX) && printf 'close_only\\n' > \"$t\" && chmod 644 \"$t\" "
          "&& mv -f \"$t\" %s" % KILL)

# (b) on a host: the MainPID and its state sync period, the write time, the write, then the proof kill_switch waits
# for (_trader.refresh_after): a heartbeat `engine ok. ... loop=X.XXs` of that PID received at T with
# T - loop >= written + state_sync + MARGIN, i.e. from a loop that began after the trader re-read the switch.
# Prints `proof SECONDS` (T - written).
ENGAGE_VERIFY = r"""
unit=%(unit)s
pid=$(%(systemctl)s show -p MainPID --value "$unit")
[ "${pid:-0}" -gt 0 ] || { echo "$unit is not running" >&2; exit 3; }
sync=$(tr '\0' '\n' < "/proc/$pid/environ" | sed -n 's/^AI_QUANT_LIVE_STATE_SYNC_SECS=//p' | tail -n 1)
w=$(date +%%s.%%N)
%(engage)s || exit 4
deadline=$(( ${w%%.*} + %(timeout)d ))
while :; do
  journalctl --no-pager -q -o short-unix _SYSTEMD_USER_UNIT="$unit" _PID="$pid" --since "@$w" |
    awk -v w="$w" -v s="${sync:-10}" -v m=%(margin)s '
      /engine ok\. / && match($0, / loop=[0-9]+(\.[0-9]+)?s/) {
        loop = substr($0, RSTART + 6, RLENGTH - 7)
        if ($1 - loop >= w + s + m) { printf "proof %%.3f\n", $1 - w; found = 1; exit }
      }
      END { exit !found }' && exit 0
  [ "$(date +%%s)" -lt "$deadline" ] || { echo "no heartbeat of pid $pid proved the kill within %(timeout)d s" >&2; exit 1; }
  sleep %(poll)s
done
""" % dict(unit=UNIT, systemctl=SYSTEMCTL, engage=ENGAGE, timeout=PROOF_TIMEOUT, margin=MARGIN, poll=POLL)

# Clearing, untimed: the kill is sticky in the trader's process, so remove the file, restart the trader and wait for
# the new process's first heartbeat.
CLEAR = r"""
unit=%(unit)s
rm -f %(kill)s
t=$(date +%%s.%%N)
%(systemctl)s restart "$unit" || exit 2
deadline=$(( ${t%%.*} + %(timeout)d ))
while [ "$(date +%%s)" -lt "$deadline" ]; do
  pid=$(%(systemctl)s show -p MainPID --value "$unit")
  if [ "${pid:-0}" -gt 0 ] && journalctl --no-pager -q -o cat _SYSTEMD_USER_UNIT="$unit" _PID="$pid" --since "@$t" |
      grep -q 'engine ok\. '; then
    exit 0
  fi
  sleep 0.2
done
echo "the restarted $unit logged no heartbeat within %(timeout)d s" >&2
exit 1
""" % dict(unit=UNIT, kill=KILL, systemctl=SYSTEMCTL, timeout=CLEAR_TIMEOUT)

BENCH_GROUP_VARS = """---
# The benchmark's fleet: every host a live bot (dry_live), nothing else running but the sidecar it needs.
openclaw_live_enabled: true
openclaw_paper_enabled: false
openclaw_monitor_enabled: false
"""

ONE_TASK_PLAY = """---
- name: One task on localhost (the controller's start-up)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.debug:
        msg: ok
"""


class RawSSH:
    """ssh to the lab hosts as root; one ssh per host in parallel. control_dir None: no connection sharing."""

    def __init__(self, key, addresses, control_dir=None):
        self.addresses = addresses
        self.opts = ["-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]
        if control_dir:
            self.opts += ["-o", "ControlMaster=auto", "-o", "ControlPersist=300s", "-o", "ControlPath=%s/%%C" % control_dir]
        else:
            self.opts += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]

    def one(self, host, script):
        argv = ["ssh", *self.opts, "root@" + self.addresses[host], "sh -c %s" % shlex.quote(script)]
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=PROOF_TIMEOUT + CLEAR_TIMEOUT)

    def fleet(self, hosts, script):
        """stdout of each host; raises when any host failed."""
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            results = list(pool.map(lambda h: self.one(h, script), hosts))
        bad = ["%s: exit %d %s" % (h, r.returncode, (r.stderr or r.stdout).strip()) for h, r in zip(hosts, results, strict=True) if r.returncode]
        if bad:
            raise BenchError("raw ssh failed on %d of %d host(s): %s" % (len(bad), len(hosts), "; ".join(bad)))
        return [r.stdout for r in results]


SUMMARY_LINE = re.compile(r"(?m)^\s*-?\s*['\"]?(\S+)\s+([A-Z][A-Z_]+)\s")
PROOF_SECONDS = re.compile(r"heartbeat ([0-9]+(?:\.[0-9]+)?) s after the write")


def check_summary(output, hosts, verify):
    """Seconds to proof of each host from emergency_stop's summary; every host PROTECTED when verify, else listed."""
    statuses = {h: s for h, s in SUMMARY_LINE.findall(output) if h in hosts}
    missing = [h for h in hosts if h not in statuses]
    if missing:
        raise BenchError("emergency_stop's summary names no status for %s:\n%s" % (", ".join(missing), output[-4000:]))
    if verify:
        bad = {h: s for h, s in statuses.items() if s != "PROTECTED"}
        if bad:
            raise BenchError("emergency_stop left hosts not PROTECTED: %s\n%s" % (bad, output[-4000:]))
        proofs = [float(x) for x in PROOF_SECONDS.findall(" ".join(output.split()))]
        if len(proofs) != len(hosts):
            raise BenchError("expected %d 'heartbeat N s after the write', found %d:\n%s" % (len(hosts), len(proofs), output[-4000:]))
        return proofs
    return []


class Bench:
    def __init__(self, work, lab_inventory):
        self.work = work
        lab = yaml.safe_load(Path(lab_inventory).read_text())
        self.host_vars = lab["all"]["vars"]
        self.addresses = {h: v["ansible_host"] for h, v in lab["all"]["children"]["lab"]["hosts"].items()}
        self.inventory = work / "inventory" / "hosts.yml"
        self.ansible_cp = Masters(work / "cp")
        self.raw_cp = Masters(work / "rcp")
        key = self.host_vars["ansible_ssh_private_key_file"]
        self.raw = RawSSH(key, self.addresses, self.raw_cp.dir)
        self.maint = RawSSH(key, self.addresses)  # clearing: no master left behind
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                        ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.ansible_cp.dir), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        self.noop = work / "one_task.yml"
        self.noop.write_text(ONE_TASK_PLAY)

    def write_inventory(self):
        inv = self.inventory.parent
        shutil.copytree(REPO / "inventories/lab/group_vars", inv / "group_vars")
        (inv / "group_vars" / "openclaw_live.yml").write_text(BENCH_GROUP_VARS)
        hosts = {h: {"ansible_host": a} for h, a in self.addresses.items()}
        data = {"all": {"vars": self.host_vars, "children": {"openclaw": {"children": {"openclaw_live": {"hosts": hosts}}}}}}
        self.inventory.write_text(yaml.safe_dump(data, sort_keys=False))

    def deploy(self, bundles):
        must(["ansible-playbook", "-i", str(self.inventory), "tests/lab/seed.yml", "-e", "lab_bundles=%s" % bundles], env=self.env)
        must(["ansible-playbook", "-i", str(self.inventory), "tests/lab/stacks.yml"], env=self.env, timeout=3600)

    # --- the columns: each returns the seconds to proof it saw (empty when it proves nothing)

    def adhoc(self, hosts, *module):
        must(["ansible", "-i", str(self.inventory), ",".join(hosts), *module], env=self.env)
        return []

    def collection(self, hosts, verify, fast, variant=None):
        playbook, extra, env = "quantops.runbooks.emergency_stop", [], self.env
        if variant:
            playbook, extra, env = self.variant(variant)
        argv = ["ansible-playbook", "-i", str(self.inventory), playbook, "-e", "kill_hosts=%s" % ",".join(hosts), *extra]
        argv += [] if verify else ["-e", "kill_verify=false"]
        argv += [] if fast else ["-e", "kill_fast=false"]
        rc, output = run(argv, env=env)
        if rc != 0:
            raise BenchError("%s exited %d:\n%s" % (" ".join(argv), rc, output[-4000:]))
        return check_summary(output, hosts, verify)

    def variant(self, variant):
        """(playbook, extra arguments, environment) of a settings variant (see VARIANTS)."""
        kind, _sep, value = variant.partition("=")
        if kind == "forks":
            return "quantops.runbooks.emergency_stop", ["--forks", value], self.env
        if kind == "pipelining":
            return "quantops.runbooks.emergency_stop", [], dict(self.env, ANSIBLE_PIPELINING=value)
        # strategy: a copy of the playbooks with the play's strategy replaced (the play names its own)
        copy = self.work / ("playbooks-%s" % value)
        if not copy.exists():
            shutil.copytree(REPO / "playbooks", copy)
            path = copy / "emergency_stop.yml"
            path.write_text(path.read_text().replace("strategy: ansible.builtin.free", "strategy: %s" % value))
        env = self.env
        if value.startswith("mitogen"):
            env = dict(self.env, ANSIBLE_STRATEGY_PLUGINS=str(self.mitogen() / "ansible_mitogen/plugins/strategy"))
        return str(copy / "emergency_stop.yml"), [], env

    def mitogen(self):
        """Mitogen, installed for this run only (opt-in measurement; the collection never depends on it)."""
        target = self.work / "mitogen"
        if not target.exists():
            must([sys.executable, "-m", "pip", "install", "-q", "--target", str(target), MITOGEN])
        return target

    def column(self, key, hosts):
        floors = {
            "startup": lambda: must(["ansible-playbook", "-i", str(self.inventory), str(self.noop)], env=self.env) and [],
            "raw_true": lambda: self.adhoc(hosts, "-m", "raw", "-a", "true"),
            "ping": lambda: self.adhoc(hosts, "-m", "ping"),
            "ssh_a": lambda: self.raw.fleet(hosts, ENGAGE) and [],
            "ssh_b": lambda: [float(out.split()[1]) for out in self.raw.fleet(hosts, ENGAGE_VERIFY)],
        }
        if key in floors:
            return floors[key]() or []
        base, _sep, variant = key.rstrip("]").partition("[")
        return self.collection(hosts, verify=base.endswith("_b"), fast=base.startswith("fast"), variant=variant or None)

    # --- around the timed runs (untimed)

    def prepare(self, temp, hosts):
        if temp == "warm":
            self.adhoc(hosts, "-m", "raw", "-a", "true")
            self.raw.fleet(hosts, "true")
        else:
            self.ansible_cp.close()
            self.raw_cp.close()

    def clear(self, hosts):
        self.maint.fleet(hosts, CLEAR)

    def timed(self, key, temp, hosts):
        self.prepare(temp, hosts)
        t0 = time.monotonic()
        proofs = self.column(key, hosts)
        elapsed = time.monotonic() - t0
        if key in ENGAGES or "[" in key:
            self.clear(hosts)
        return elapsed, proofs


def measure(bench, sizes, repeats):
    """{(n, temp, key): [seconds]}, {(n, temp, key): [seconds to proof]}."""
    samples, proofs = {}, {}
    keys = list(FLOORS) + list(COLLECTION)
    # One untimed pass first: the controller compiles and caches the collection's plugins, the hosts' page caches
    # fill, and whatever the deploy left running (the sidecars' backfill) settles.
    first = ["h%d" % i for i in range(1, sizes[0] + 1)]
    bench.clear(first)
    for key in keys:
        elapsed, _seen = bench.timed(key, "warm", first)
        log("untimed   %s %-9s %6.2f s" % ("warm", key, elapsed))
    for n in sizes:
        hosts = ["h%d" % i for i in range(1, n + 1)]
        bench.clear(hosts)
        for r in range(repeats):
            temps = TEMPS if r % 2 == 0 else TEMPS[::-1]
            order = keys if r % 2 == 0 else keys[::-1]
            for temp in temps:
                for key in order:
                    elapsed, seen = bench.timed(key, temp, hosts)
                    samples.setdefault((n, temp, key), []).append(elapsed)
                    proofs.setdefault((n, temp, key), []).extend(seen)
                    log("%2d host(s) %s %-9s %6.2f s%s" % (n, temp, key, elapsed, "  (proof median %.2f s)" % statistics.median(seen) if seen else ""))
    return samples, proofs


def measure_extras(bench, n, repeats):
    """{variant: [seconds]} of the verified stop on n hosts, warm, beside fast_b and mod_b of the same rounds; a
    variant that cannot run (Mitogen on this ansible-core) records its error instead."""
    hosts = ["h%d" % i for i in range(1, n + 1)]
    samples, errors = {}, {}
    keys = ["fast_b", "mod_b", *VARIANTS]
    bench.clear(hosts)
    for r in range(repeats):
        for key in (keys if r % 2 == 0 else keys[::-1]):
            if key in errors:
                continue
            try:
                elapsed, _seen = bench.timed(key, "warm", hosts)
            except BenchError as e:
                errors[key] = " ".join(str(e).split())[:600]
                log("extras %s failed: %s" % (key, errors[key][:200]))
                bench.clear(hosts)
                continue
            samples.setdefault(key, []).append(elapsed)
            log("extras %2d host(s) %-45s %6.2f s" % (n, key, elapsed))
    return samples, errors


def extras_table(samples, errors, n):
    base = {"fast": med(samples.get("fast_b", [])), "mod": med(samples.get("mod_b", []))}
    lines = ["", "### Settings, %d hosts, warm, engage + verified (medians)" % n, "",
             "| path | setting | median | against the default |", "| --- | --- | ---: | ---: |"]
    for key in ["fast_b", "mod_b", *VARIANTS]:
        path = "fast" if key.startswith("fast") else "module"
        setting = key.partition("[")[2].rstrip("]") or "default (free, forks 25, pipelining)"
        if key in errors:
            lines.append("| %s | %s | failed | %s |" % (path, setting, errors[key][:200].replace("|", "/")))
            continue
        m, b = med(samples.get(key, [])), base[key[:4].rstrip("_")]
        lines.append("| %s | %s | %s | %s |" % (path, setting, fmt(m), ratio(m, b) if "[" in key else ""))
    return lines + [""]


def ratio(a, b):
    return "-" if a is None or not b else "%.1fx" % (a / b)


def tables(samples, proofs, sizes):
    m = {k: med(v) for k, v in samples.items()}
    p = {k: med(v) for k, v in proofs.items()}
    lines = ["### Floors", "", "| hosts | connections | %s |" % " | ".join(FLOORS.values()),
             "| ---: | --- |%s" % (" ---: |" * len(FLOORS))]
    for n in sizes:
        for temp in TEMPS:
            lines.append("| %d | %s | %s |" % (n, temp, " | ".join(fmt(m.get((n, temp, k))) for k in FLOORS)))
    lines += ["", "### Collection, and its ratio to `-m ping` of the same hosts", "",
              "| hosts | connections | %s | %s |" % (" | ".join(COLLECTION.values()), " | ".join("%s / ping" % v for v in COLLECTION.values())),
              "| ---: | --- |%s" % (" ---: |" * (2 * len(COLLECTION)))]
    for n in sizes:
        for temp in TEMPS:
            ping = m.get((n, temp, "ping"))
            values = " | ".join(fmt(m.get((n, temp, k))) for k in COLLECTION)
            ratios = " | ".join(ratio(m.get((n, temp, k)), ping) for k in COLLECTION)
            lines.append("| %d | %s | %s | %s |" % (n, temp, values, ratios))
    lines += ["", "### Profile: where the time of (b) goes", ""]
    for n in sizes:
        lines += profile(n, m, p)
    return lines


def profile(n, m, p):
    """Collection (b) = controller start-up + connection + module start + the wait for the trader's poll + the rest."""
    out = ["%d host(s), medians:" % n, "",
           "| part | how | warm | cold |", "| --- | --- | ---: | ---: |"]

    def row(part, how, f):
        vals = []
        for temp in TEMPS:
            try:
                vals.append(f(temp))
            except TypeError:  # a None in the arithmetic: not measured
                vals.append(None)
        out.append("| %s | %s | %s | %s |" % (part, how, fmt(vals[0]), fmt(vals[1])))

    def g(t, key):
        return m.get((n, t, key))

    row("controller start-up", "one-task localhost play", lambda t: g(t, "startup"))
    row("+ connection", "`-m raw true` - start-up", lambda t: g(t, "raw_true") - g(t, "startup"))
    row("+ module start", "`-m ping` - `-m raw true`", lambda t: g(t, "ping") - g(t, "raw_true"))
    row("= `-m ping`", "", lambda t: g(t, "ping"))
    for key, name in (("fast_b", "fast path"), ("mod_b", "module path"), ("ssh_b", "raw ssh")):
        row("wait for the trader's poll, %s" % name, "median seconds to proof", lambda t, k=key: p.get((n, t, k)))
    for key, name in (("fast_b", "fast path"), ("mod_b", "module path")):
        row("rest, %s" % name, "(b) - `-m ping` - wait", lambda t, k=key: g(t, k) - g(t, "ping") - p.get((n, t, k)))
        row("= collection (b), %s" % name, "", lambda t, k=key: g(t, k))
    out.append("")
    return out


def targets(samples, sizes):
    m = {k: med(v) for k, v in samples.items()}

    def check(n, temp, key, limit, against=None):
        if n not in sizes:
            return "not measured (%d hosts not in --sizes)" % n, "-"
        value = m[(n, temp, key)]
        if against:
            base = m[(n, temp, against)]
            gap = value - limit * base
            return "%.2f s = %.1fx of %.2f s" % (value, value / base, base), ("met, %.2f s under" if gap <= 0 else "**missed** by %.2f s") % abs(gap)
        gap = value - limit
        return "%.2f s" % value, ("met, %.2f s under" if gap <= 0 else "**missed** by %.2f s") % abs(gap)

    lines = ["### Targets", "", "| target | fast path | gap | module path | gap |", "| --- | ---: | --- | ---: | --- |"]
    for label, n, temp, stem, limit, against in (
            ("(b) engage + verified, 20 hosts, warm: <= 5 s", 20, "warm", "b", 5.0, None),
            ("(b) engage + verified, 20 hosts, cold: <= 6 s", 20, "cold", "b", 6.0, None),
            ("(a) engage only, 20 hosts, warm: <= 3 s", 20, "warm", "a", 3.0, None),
            ("(a) engage only, 20 hosts, cold: within 2x of raw ssh (a) cold", 20, "cold", "a", 2.0, "ssh_a"),
            ("(b) engage + verified, 1 host, warm: <= 3 s", 1, "warm", "b", 3.0, None)):
        fast = check(n, temp, "fast_" + stem, limit, against)
        mod = check(n, temp, "mod_" + stem, limit, against)
        lines.append("| %s | %s | %s | %s | %s |" % (label, fast[0], fast[1], mod[0], mod[1]))
    return lines + [""]


def header_lines(args, deploy, load):
    return header("kill_switch: time-to-safe", "benchmarks/kill_switch/bench.py",
                  figures="medians of %d; (a) engage only, (b) engage + verified; warm: ControlPersist masters alive, cold: none" % args.repeats,
                  deploy=deploy, load=load)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1,5,10,20", help="fleet sizes, comma-separated (default 1,5,10,20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell; the figures are medians (default 3)")
    parser.add_argument("--keep", action="store_true", help="leave the lab and the work directory")
    parser.add_argument("--out", help="results file (default benchmarks/kill_switch/results-<date>.md)")
    parser.add_argument("--extras", action="store_true", help="also the settings variants (strategy, forks, pipelining, "
                        "Mitogen) at the largest size, warm")
    args = parser.parse_args()
    sizes = sorted({int(x) for x in args.sizes.split(",")})
    out = Path(args.out) if args.out else Path(__file__).parent / ("results-%s.md" % datetime.date.today().isoformat())
    if not (REPO / ".collections/ansible_collections/quantops/runbooks").exists():
        sys.exit("%s/.collections has no quantops.runbooks: run `make venv` first" % REPO)
    # SIGTERM and SIGHUP end the run like Ctrl-C: through the finally below, which removes the lab.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="quantops-bench-"))
    lab = Lab(work / "lab-hosts.yml", LAB_DEFAULTS)
    bench = None
    ok = False
    try:
        log("work directory %s; lab %s" % (work, lab.describe()))
        t0 = time.monotonic()
        lab.up(max(sizes))
        t_up = time.monotonic() - t0
        must([str(REPO / "tests/lab/app-repos.sh"), str(work / "bundles")])
        bench = Bench(work, lab.inventory)
        bench.write_inventory()
        t0 = time.monotonic()
        bench.deploy(work / "bundles")
        t_deploy = time.monotonic() - t0
        n = max(sizes)
        deploy = "%d host(s) up in %.0f s, seeded and deployed in %.0f s (%.1f s per host)" % (n, t_up, t_deploy, t_deploy / n)
        log(deploy)
        load_start = loadavg()
        samples, proofs = measure(bench, sizes, args.repeats)
        report = header_lines(args, deploy, (load_start, loadavg())) + tables(samples, proofs, sizes) + targets(samples, sizes)
        if args.extras:
            extra, errors = measure_extras(bench, max(sizes), args.repeats)
            report += extras_table(extra, errors, max(sizes))
        report += ["<details><summary>every sample (seconds)</summary>", "", "```",
                   *("%s %s %s: %s%s" % (k[0], k[1], k[2], json.dumps([round(x, 3) for x in v]),
                                         "  proofs %s" % json.dumps(sorted(proofs[k])) if proofs.get(k) else "")
                     for k, v in sorted(samples.items())),
                   "```", "", "</details>", ""]
        text = "\n".join(report)
        print(text)
        out.write_text(text)
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
        if args.keep:
            log("kept the lab (%s) and %s" % (lab.describe(), work))
        else:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the lab half removed
            ok = lab.destroy() and ok
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
