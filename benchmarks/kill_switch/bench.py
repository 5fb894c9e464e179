"""Time-to-safe of quantops.runbooks.emergency_stop against the floor, a parallel raw-ssh loop doing the same.

OUT OF DATE: it waits for a `kill switch:` journal line that only the first lab stand-in logged (see
benchmarks/README.md); to be rewritten against the real trader's heartbeat proof.

    python benchmarks/kill_switch/bench.py [--sizes 1,5,10,20] [--repeats 5]

Boots a lab of max(sizes) hosts, deploys openclaw-ai-quant on all of them (trader polling the kill file every
second), then for each fleet size measures, side by side and alternating, in one run:
  (a) engage only: the collection (emergency_stop -e kill_verify=false) vs raw ssh writing the file (temp + mv)
  (b) engage and verify: the collection (emergency_stop) vs raw ssh writing the file then polling the trader's
      journal until it logged the transition
Both sides reuse SSH connections (ControlPersist) and are warmed up first. Between runs every kill is cleared
and the traders are given time to log "-> off". Prints a Markdown table of medians and ratios. Tears the lab down.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "lab" / "lab.sh"
KEY = "/var/lib/quantops-lab/id_ed25519"
KILL = "/tmp/ai-quant-kill"
UNIT = "openclaw-ai-quant-trader.service"


def sh(argv, **kw):
    return subprocess.run(argv, check=True, cwd=REPO, **kw)


def hosts_of(n):
    return ["h%d" % i for i in range(1, n + 1)]


def ip(host, subnet):
    return "%s.%d" % (subnet, 10 + int(host[1:]))


class RawSSH:
    def __init__(self, subnet, control_dir):
        self.subnet = subnet
        self.opts = ["-i", KEY, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "LogLevel=ERROR", "-o", "ControlMaster=auto", "-o", "ControlPersist=300s",
                     "-o", "ControlPath=%s/%%h" % control_dir]

    def run(self, host, command):
        return subprocess.run(["ssh", *self.opts, "root@" + ip(host, self.subnet), command], capture_output=True, text=True, check=False)

    def fleet(self, hosts, command):
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            results = list(pool.map(lambda h: self.run(h, command), hosts))
        bad = [r for r in results if r.returncode != 0]
        if bad:
            raise RuntimeError("raw ssh failed: %s" % bad[0].stderr)


ENGAGE = "printf 'close_only\\n' > /tmp/.ai-quant-kill.$$ && mv /tmp/.ai-quant-kill.$$ %s" % KILL
ENGAGE_VERIFY = ("t=$(date +%%s.%%N); %s; until journalctl _SYSTEMD_USER_UNIT=%s --since @$t -o cat --no-pager "
                 "| grep -q 'kill switch: off -> close_only'; do sleep 0.05; done" % (ENGAGE, UNIT))


def collection(inventory, hosts, verify, env):
    argv = ["ansible-playbook", "-i", inventory, "quantops.runbooks.emergency_stop", "-e", "kill_hosts=%s" % ",".join(hosts)]
    if not verify:
        argv += ["-e", "kill_verify=false"]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if out.returncode != 0:
        raise RuntimeError("emergency_stop failed:\n%s" % out.stdout[-3000:])


def clear(raw, hosts):
    raw.fleet(hosts, "rm -f %s" % KILL)
    # the traders poll every second: wait until each logged it is off again, so the next run sees a transition
    # (a trader that never logged a kill line was never killed)
    raw.fleet(hosts, "for i in $(seq 50); do last=$(journalctl _SYSTEMD_USER_UNIT=%s -o cat -n 200 --no-pager | grep 'kill switch:' "
                     "| tail -1); [ -z \"$last\" ] && exit 0; echo \"$last\" | grep -q -- '-> off' && exit 0; sleep 0.1; done; exit 1" % UNIT)


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,5,10,20")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    subnet = os.environ.get("LAB_SUBNET", "10.213.77.0/24").split("/")[0].rsplit(".", 1)[0]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    work = Path(tempfile.mkdtemp(prefix="quantops-bench-"))
    try:
        sh([str(LAB), "up", str(max(sizes))])
        sh([str(REPO / "tests/lab/app-repos.sh"), str(work / "bundles")])
        inv_dir = work / "inventory"
        inv_dir.mkdir()
        shutil.copytree(REPO / "inventories/lab/group_vars", inv_dir / "group_vars")
        lab_inv = (REPO / "inventories/lab/hosts.yml").read_text()
        head = lab_inv.split("  children:")[0]
        (inv_dir / "hosts.yml").write_text(head + "  children:\n    openclaw:\n      children:\n        openclaw_paper:\n          hosts:\n"
                                           + "".join("            %s: {ansible_host: %s}\n" % (h, ip(h, subnet)) for h in hosts_of(max(sizes))))
        inventory = str(inv_dir / "hosts.yml")
        sh(["ansible-playbook", "-i", inventory, "tests/lab/seed.yml", "-e", "lab_bundles=%s" % (work / "bundles")], env=env,
           stdout=subprocess.DEVNULL)
        sh(["ansible-playbook", "-i", inventory, "tests/lab/stacks.yml"], env=env, stdout=subprocess.DEVNULL)
        raw = RawSSH(subnet, work)
        rows = []
        for n in sizes:
            hosts = hosts_of(n)
            clear(raw, hosts)
            raw.fleet(hosts, "true")  # warm both sides' connections
            collection(inventory, hosts, False, env)
            clear(raw, hosts)
            samples = {k: [] for k in ("raw_a", "col_a", "raw_b", "col_b")}
            for r in range(args.repeats):
                order = [("raw_a", lambda h=hosts: raw.fleet(h, ENGAGE)), ("col_a", lambda h=hosts: collection(inventory, h, False, env)),
                         ("raw_b", lambda h=hosts: raw.fleet(h, ENGAGE_VERIFY)), ("col_b", lambda h=hosts: collection(inventory, h, True, env))]
                if r % 2:
                    order = [order[1], order[0], order[3], order[2]]
                for key, fn in order:
                    samples[key].append(timed(fn))
                    clear(raw, hosts)
            med = {k: statistics.median(v) for k, v in samples.items()}
            rows.append((n, med))
            print("N=%d %s" % (n, {k: "%.2f" % v for k, v in med.items()}), file=sys.stderr, flush=True)
        print("| hosts | (a) raw ssh | (a) collection | (a) ratio | (b) raw ssh | (b) collection | (b) ratio |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, m in rows:
            print("| %d | %.2f s | %.2f s | %.1fx | %.2f s | %.2f s | %.1fx |" % (
                n, m["raw_a"], m["col_a"], m["col_a"] / m["raw_a"], m["raw_b"], m["col_b"], m["col_b"] / m["raw_b"]))
    finally:
        if not args.keep:
            subprocess.run([str(LAB), "destroy"], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
