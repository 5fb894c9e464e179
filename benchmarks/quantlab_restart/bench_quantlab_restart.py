"""Wall time of quantops.runbooks.quantlab_restart (a full restart of QuantLab) against two baselines (issue 14).

    python benchmarks/quantlab_restart/bench_quantlab_restart.py [--repeats 5] [--keep] [--out FILE] [--lab-inventory PATH]

Run as root with `make venv` done and the venv's bin/ on PATH. It boots its own lab (LAB_PREFIX=qbench,
LAB_SUBNET=10.213.89.0/24, LAB_STATE=/var/lib/quantops-qbench unless set in the environment; three hosts, h3 the
QuantLab host), seeds it, deploys QuantLab with the role, and measures warm and cold connections, alternating the
order each round, after one untimed pass of each column:

  seq   the runbook's way as a playbook: the ten services one after another in the runbook's order (its groups
        flattened), each `systemctl restart` followed by a manual health poll (ansible.builtin.uri until 200, every
        second); the order is kept by waiting for each service in turn
  all   every unit restarted at once by one `systemctl restart` over ssh, then polled until every health endpoint
        answers (the floor; it breaks the order: the units' After= orders their start, not their readiness)
  coll  ansible-playbook quantops.runbooks.quantlab_restart: stops in reverse order, starts group by group, each
        service gated on its health endpoint, in one unit_gate run

Warm: the ControlPersist masters alive; cold: none (sockets removed before each run). Before every timed run
(untimed) every unit is active and every health endpoint answers. During every run a poller on the host asks every
health endpoint every 25 ms (each request from its own 127.x address: the services rate-limit /health per
address) and writes when the answer changes; after the run, each unit's ActiveEnterTimestamp and those answers give
the order violations: a service that became active before one of its dependencies (`after` of the graph,
roles/quantlab/vars/main.yml) first answered healthy in its new process.
The collection's critical path is its own: the sum over start groups of the slowest service's readiness, from its
unit_gate result. Target: its wall time within 1.2 x critical path + 3 s, with no violation. Prints Markdown tables
(medians, ratios, violations, the target per run) and writes them to benchmarks/quantlab_restart/results-<date>.md.
Tears the lab down at the end, also on Ctrl-C or an error, unless --keep or --lab-inventory.
"""

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from labbench import REPO, BenchError, HostBench, fmt, framed, gap, gate_of, header, loadavg, measure, med, profile_of, ratio  # noqa: E402

sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph as graph  # noqa: E402

LAB_DEFAULTS = {"LAB_PREFIX": "qbench", "LAB_SUBNET": "10.213.89.0/24", "LAB_STATE": "/var/lib/quantops-qbench"}
HOST = "h3"
STEADY_TIMEOUT = 120
COLUMNS = {"seq": "runbook, one by one + health poll", "all": "all at once (ssh)", "coll": "quantlab_restart"}
TEMPS = ("warm", "cold")
POLL_PATH = "/tmp/qbench-poll"
POLL_UNIT = "qbench-poll"

# On the host, during a timed run: every endpoint asked every 25 ms; a JSON line whenever its answer changes.
POLL = r"""
import http.client, json, sys, threading, time
end = time.time() + float(sys.argv[1])
endpoints = json.loads(sys.argv[2])
out = open(sys.argv[3], "w", buffering=1)
lock = threading.Lock()

def watch(n, name, port, path):
    last, i = None, 0
    while time.time() < end:
        # each request from its own loopback address: the services rate-limit /health per address (60 or 120 a
        # minute), and the poller must not be what makes them answer 429
        i += 1
        source = "127.%d.%d.%d" % (n + 1, (i // 250) % 250, i % 250 + 1)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5, source_address=(source, 0))
            conn.request("GET", path)
            ok = conn.getresponse().status == 200
            conn.close()
        except Exception:
            ok = False
        if ok != last:
            with lock:
                out.write(json.dumps({"at": time.time(), "name": name, "ok": ok}) + "\n")
            last = ok
        time.sleep(0.025)

threads = [threading.Thread(target=watch, args=(n, name, port, path), daemon=True) for n, (name, (port, path)) in enumerate(endpoints.items())]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def load_graph():
    services = yaml.safe_load((REPO / "roles/quantlab/vars/main.yml").read_text())["quantlab_services"]
    ports = yaml.safe_load((REPO / "roles/quantlab/defaults/main.yml").read_text())["quantlab_ports"]
    return services, ports


def runbook_play(services, ports):
    """The runbook's way: each service restarted, then polled by hand until it answers, one after another."""
    tasks = []
    for name in (n for group in graph.groups(services) for n in group):
        svc = next(s for s in services if s["name"] == name)
        tasks.append("    - name: Restart %s\n      ansible.builtin.command: systemctl restart %s\n      changed_when: true" % (name, svc["unit"]))
        if svc.get("health") and svc.get("port"):
            # the core observer's health path needs its token: the operator's curl sends it (the lab's, from group_vars)
            token = ("        headers:\n          Authorization: Bearer {{ quantlab_%s_token }}\n" % svc["health_token"]
                     if svc.get("health_token") else "")
            tasks.append("    - name: Wait for %s to answer\n      ansible.builtin.uri:\n        url: http://127.0.0.1:%d%s\n%s"
                         "      no_log: true\n      register: answer\n      until: answer.status == 200\n      retries: 120\n      delay: 1"
                         % (name, ports[svc["port"]], svc["health"], token))
    return "---\n- name: The runbook's restart, one service after another\n  hosts: all\n  gather_facts: false\n  tasks:\n%s\n" % "\n".join(tasks)


class Bench(HostBench):
    deploy_limit = "quantlab"

    def __init__(self, work, inventory):
        super().__init__(work, inventory, HOST, STEADY_TIMEOUT + 30)
        self.services, self.ports = load_graph()
        self.units = [s["unit"] for s in self.services]
        self.endpoints = dict((s["name"], (self.ports[s["port"]], s["health"]))
                              for s in self.services if s.get("health") and s.get("port") and not s.get("health_token"))
        self.play = work / "runbook_one_by_one.yml"
        self.play.write_text(runbook_play(self.services, self.ports))
        self.all_healthy = " && ".join("curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:%d%s" % (port, shlex.quote(path))
                                       for port, path in self.endpoints.values())

    def column(self, key):
        if key == "all":
            # polled every 0.2 s, as unit_gate polls (each new process counts /health requests from zero)
            self.raw("systemctl restart %s && until %s; do sleep 0.2; done" % (" ".join(self.units), self.all_healthy))
            return None, None
        if key == "seq":
            return self.playbook(str(self.play))
        return self.playbook("quantops.runbooks.quantlab_restart", "-e", "quantlab_hosts=quantlab")

    def steady(self):
        script = ("end=$(( $(date +%%s) + %d )); until systemctl is-active -q %s && %s; do "
                  "[ $(date +%%s) -lt $end ] || { systemctl --no-pager --lines=0 status %s >&2; exit 1; }; sleep 0.2; done"
                  % (STEADY_TIMEOUT, " ".join(self.units), self.all_healthy, " ".join(self.units)))
        self.maint(script)

    def prepare(self, temp):
        self.steady()
        time.sleep(1)  # no run starts in the second a service became healthy
        self.warm_or_cold(temp)

    def poll_start(self, seconds):
        self.maint("systemctl stop %s 2>/dev/null; systemctl reset-failed %s 2>/dev/null; cat > %s.py <<'EOF'\n%s\nEOF\n"
                   "systemd-run --quiet --collect --unit=%s python3 %s.py %d %s %s.jsonl" % (
                       POLL_UNIT, POLL_UNIT, POLL_PATH, POLL, POLL_UNIT, POLL_PATH, seconds, shlex.quote(json.dumps(self.endpoints)), POLL_PATH))
        self.maint("until [ -s %s.jsonl ] && [ $(wc -l < %s.jsonl) -ge %d ]; do sleep 0.05; done" % (POLL_PATH, POLL_PATH, len(self.endpoints)))

    def poll_read(self):
        out = self.maint("systemctl stop %s 2>/dev/null; cat %s.jsonl; rm -f %s.py %s.jsonl" % (POLL_UNIT, POLL_PATH, POLL_PATH, POLL_PATH))
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def active_enter(self):
        out = self.maint("systemctl show --timestamp=us+utc -p ActiveEnterTimestamp --value %s" % " ".join(self.units))
        values = [datetime.datetime.strptime(v.strip(), "%a %Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=datetime.timezone.utc).timestamp()
                  for v in out.split("\n\n")]
        return dict((s["name"], v) for s, v in zip(self.services, values, strict=True))

    def violations(self, t0, answers, entered):
        """Pairs (service, dependency) where the service became active before the dependency's new process first
        answered healthy; and each service's readiness (first healthy answer, or active for one without an endpoint)."""
        ready = {}
        for s in self.services:
            name = s["name"]
            if name not in self.endpoints:
                ready[name] = entered[name]
                continue
            ok = [a["at"] for a in answers if a["name"] == name and a["ok"] and a["at"] >= entered[name]]
            ready[name] = ok[0] if ok else None
        found = []
        for s in self.services:
            if entered[s["name"]] < t0:
                continue  # not restarted by this run
            for dep in s.get("after") or []:
                if ready.get(dep) is None or entered[s["name"]] < ready[dep]:
                    found.append("%s before %s" % (s["name"], dep))
        return found, ready

    def timed(self, key, temp):
        self.prepare(temp)
        self.poll_start(STEADY_TIMEOUT)
        t0 = time.time()
        timing, _output = self.column(key)
        t1 = time.time()
        answers = self.poll_read()
        entered = self.active_enter()
        not_restarted = sorted(n for n, at in entered.items() if at < t0)
        if not_restarted:
            raise BenchError("%s did not restart %s" % (key, not_restarted))
        bad, _ready = self.violations(t0, answers, entered)
        record = dict(elapsed=t1 - t0, violations=bad)
        if timing:
            record["profile"] = profile_of(timing, t0, t1)
        if key == "coll":
            gate = gate_of(timing)
            starts = [s for s in gate["steps"] if not s["name"].startswith("stop ")]
            record["critical"] = sum(max([u.get("ready_s") or 0.0 for u in (s.get("units") or {}).values()] or [0.0]) for s in starts)
            record["module"] = gate["elapsed"]
            record["stop"] = sum(s["elapsed"] or 0.0 for s in gate["steps"] if s["name"].startswith("stop "))
            record["killed"] = sorted(u for s in gate["steps"] for u, row in (s.get("units") or {}).items() if row.get("killed"))
        return record


def describe(rec):
    extra = ", critical path %.2f s" % rec["critical"] if "critical" in rec else ""
    return "%6.2f s, %d violation(s)%s" % (rec["elapsed"], len(rec["violations"]), extra)


def tables(samples, repeats):
    m = {k: med([r["elapsed"] for r in v]) for k, v in samples.items()}
    lines = ["### Wall time of a full restart, one QuantLab host (medians of %d)" % repeats, "",
             "| connections | %s | quantlab_restart / one by one | quantlab_restart / all at once |" % " | ".join(COLUMNS.values()),
             "| --- |%s ---: | ---: |" % (" ---: |" * len(COLUMNS))]
    for temp in TEMPS:
        cells = [fmt(m.get((temp, k))) for k in COLUMNS]
        lines.append("| %s | %s | %s | %s |" % (temp, " | ".join(cells), ratio(m.get((temp, "coll")), m.get((temp, "seq"))),
                                                ratio(m.get((temp, "coll")), m.get((temp, "all")))))
    lines += ["", "### Order violations (a service active before a dependency's new process answered healthy)", "",
              "| column | runs | runs with a violation | violations, median per run | seen |", "| --- | ---: | ---: | ---: | --- |"]
    for key, title in COLUMNS.items():
        recs = [r for t in TEMPS for r in samples.get((t, key), [])]
        seen = sorted(set(v for r in recs for v in r["violations"]))
        cells = (title, len(recs), sum(1 for r in recs if r["violations"]), med([len(r["violations"]) for r in recs]), ", ".join(seen) or "none")
        lines.append("| %s | %d | %d | %s | %s |" % cells)
    lines += ["", "### Target: quantlab_restart within 1.2 x its critical path + 3 s", "",
              "| connections | wall | module | stops | critical path | 1.2 x critical + 3 s | gap | killed at stop |",
              "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for temp in TEMPS:
        for r in samples.get((temp, "coll"), []):
            limit = 1.2 * r["critical"] + 3
            cells = (temp, fmt(r["elapsed"]), fmt(r["module"]), fmt(r["stop"]), fmt(r["critical"]), fmt(limit), gap(r["elapsed"], limit),
                     ", ".join(r["killed"]) or "-")
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % cells)
    recs = [r for t in TEMPS for r in samples.get((t, "coll"), [])]
    if recs:
        wall, crit = med([r["elapsed"] for r in recs]), med([r["critical"] for r in recs])
        lines.append("| **median, both** | %s | %s | %s | %s | %s | %s | |" % (
            fmt(wall), fmt(med([r["module"] for r in recs])), fmt(med([r["stop"] for r in recs])), fmt(crit), fmt(1.2 * crit + 3),
            gap(wall, 1.2 * crit + 3)))
    return lines + [""]


def profile_tables(samples):
    lines = ["### Where the collection's wall time goes (medians)", "", "| part | warm | cold |", "| --- | ---: | ---: |"]
    parts = {}
    for temp in TEMPS:
        for r in samples.get((temp, "coll"), []):
            p = r["profile"]
            parts.setdefault(("ansible start-up", temp), []).append(p["start-up"])
            for t in p["tasks"]:
                parts.setdefault((t["name"], temp), []).append(t["wall"])
            parts.setdefault(("between tasks", temp), []).append(p["gaps"])
            parts.setdefault(("after the last task", temp), []).append(p["end"])
    for name in dict.fromkeys(n for n, _t in parts):
        lines.append("| %s | %s | %s |" % (name, fmt(med(parts.get((name, "warm"), []))), fmt(med(parts.get((name, "cold"), [])))))
    return lines + [""]


def samples_dump(samples):
    out = ["<details><summary>every sample (seconds)</summary>", "", "```"]
    for (temp, key), recs in sorted(samples.items()):
        out.append("%s %s: %s" % (temp, key, json.dumps([round(r["elapsed"], 3) for r in recs])))
        if key == "coll":
            out.append("%s %s critical path: %s" % (temp, key, json.dumps([round(r["critical"], 3) for r in recs])))
    return out + ["```", "", "</details>", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell; the figures are medians (default 5)")
    parser.add_argument("--keep", action="store_true", help="leave the lab and the work directory")
    parser.add_argument("--out", help="results file (default benchmarks/quantlab_restart/results-<date>.md)")
    parser.add_argument("--lab-inventory", help="measure an already deployed lab (its inventory, group_vars beside it, h3 the "
                        "QuantLab host) instead of booting one; it is left as it is")
    args = parser.parse_args()

    def report(bench, deploy):
        load_start = loadavg()
        samples = measure(bench, list(COLUMNS), args.repeats, describe, TEMPS)
        head = header("quantlab_restart: a full restart against the runbook's one-by-one and an all-at-once restart",
                      "benchmarks/quantlab_restart/bench_quantlab_restart.py",
                      figures="medians of %d; warm: ControlPersist masters alive, cold: none (sockets removed before each run)" % args.repeats,
                      deploy=deploy, load=(load_start, loadavg()))
        return "\n".join(head + tables(samples, args.repeats) + profile_tables(samples) + samples_dump(samples))

    out = args.out or Path(__file__).parent / ("results-%s.md" % datetime.date.today().isoformat())
    # the lab's third host is the QuantLab one
    sys.exit(framed(out=out, keep=args.keep, lab_defaults=LAB_DEFAULTS, hosts=3, lab_inventory=args.lab_inventory, make_bench=Bench,
                    report=report))


if __name__ == "__main__":
    main()
