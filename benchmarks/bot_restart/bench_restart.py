"""Wall time of quantops.runbooks.bot_restart on one host against the runbook's own sequence (issue 13).

    python benchmarks/bot_restart/bench_restart.py [--repeats 5] [--diagnose 3] [--keep] [--out FILE] [--lab-inventory PATH]

Run as root with `make venv` done and the venv's bin/ on PATH. It boots its own lab of one host (LAB_PREFIX=rlab,
LAB_SUBNET=10.213.83.0/24, LAB_STATE=/var/lib/quantops-rlab unless set in the environment), seeds it and deploys
openclaw-ai-quant as a paper bot (sidecar, paper trader, monitor), and measures warm and cold, alternating the order
each round, after one untimed pass:

  ssh       runbook section 5 as plain ssh, one per step: restart the sidecar, sleep 5 (on the controller), restart
            the paper trader, restart the monitor; no verification (the floor)
  play_sd   the same steps as a playbook: ansible.builtin.systemd_service scope=user, become_user trader, and
            ansible.builtin.pause 5 s
  play_cmd  the same with `command: systemctl --user -M trader@ restart ...` as root (no become)
  coll_s0   ansible-playbook quantops.runbooks.bot_restart -l h1 -e settle=0: every gate proven, no settle window
  coll_s10  the same with the default -e settle=10: each trader watched 10 s after its proof, by design

Before every timed run (untimed) it waits until the bot is steady: the three units active, the sidecar's current
invocation has logged `ws connected`, the trader's a heartbeat. For each collection run a callback records when each
task started and returned on the controller and the unit_gate results; the sidecar's gate latency is its proven_at
less the journal's time of the `ws connected: attempt=N` line of the invocation it proved. Prints Markdown tables
(medians, ratios, the gate latency, the per-step profile, the targets) and writes them to benchmarks/bot_restart/
results-<date>.md. --diagnose N then runs the collection N more times, untimed, with a probe on the host reading
the sidecar's forming bars every 20 ms: how much of the gate latency is the sidecar's own work. Tears the lab down
at the end, also on Ctrl-C or an error, unless --keep.
"""

import argparse
import datetime
import json
import re
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from labbench import BenchError, HostBench, fmt, framed, gap, gate_of, header, loadavg, log, measure, med, profile_of, ratio  # noqa: E402

LAB_DEFAULTS = {"LAB_PREFIX": "rlab", "LAB_SUBNET": "10.213.83.0/24", "LAB_STATE": "/var/lib/quantops-rlab"}
HOST = "h1"
USER = "trader"
SYSTEMCTL = "systemctl --user -M %s@" % USER
SIDECAR = "openclaw-ai-quant-ws-sidecar"
TRADER = "openclaw-ai-quant-trader"
MONITOR = "openclaw-ai-quant-monitor"
RUNBOOK_SLEEP = 5           # s, runbook section 5 step 2
CONNECTED = re.compile(r"\bws connected: attempt=\d+")   # module_utils._sidecar.CONNECTED
STEADY_TIMEOUT = 90         # s for the bot to be steady again between runs

COLUMNS = {"ssh": "ssh (b)", "play_sd": "playbook (a), systemd_service", "play_cmd": "playbook (a), command",
           "coll_s0": "collection, settle=0", "coll_s10": "collection, settle=10 (default)"}
BASELINES = ("ssh", "play_sd", "play_cmd")
COLLECTION = ("coll_s0", "coll_s10")
TEMPS = ("warm", "cold")
# playbooks/bot_restart.yml runs its four gated steps in one unit_gate task (steps); their names, in order.
GATE_STEPS = ("traders stop", "sidecar", "traders", "monitor")


def _runbook_play(task):
    """Runbook section 5 as an operator writes it in a playbook, each restart done by `task` (YAML lines)."""
    steps = []
    for i, unit in enumerate((SIDECAR, TRADER, MONITOR)):
        steps.append("    - name: Restart %s\n%s" % (unit, task % unit))
        if i == 0:
            steps.append("    - name: Wait for the sidecar to connect (the runbook's sleep 5)\n      ansible.builtin.pause:\n"
                         "        seconds: %d" % RUNBOOK_SLEEP)
    return ("---\n- name: Runbook section 5, Restart Services, unverified\n  hosts: all\n  gather_facts: false\n"
            "  tasks:\n%s\n" % "\n".join(steps))


PLAY_SD = _runbook_play("      ansible.builtin.systemd_service:\n        name: %%s\n        state: restarted\n        scope: user\n"
                        "      become: true\n      become_user: %s" % USER)
PLAY_CMD = _runbook_play("      ansible.builtin.command: %s restart %%s\n      changed_when: true" % SYSTEMCTL)

# Untimed, between runs: the bot is steady again (units active, the sidecar's current invocation connected, the
# trader's current invocation beating), so that every run starts from the same state.
STEADY = r"""
deadline=$(( $(date +%%s) + %(timeout)d ))
sc=%(sidecar)s.service; tr=%(trader)s.service; mo=%(monitor)s.service
while :; do
  if %(systemctl)s is-active -q "$sc" "$tr" "$mo"; then
    si=$(%(systemctl)s show -p InvocationID --value "$sc")
    ti=$(%(systemctl)s show -p InvocationID --value "$tr")
    if journalctl --no-pager -q -o cat _SYSTEMD_USER_UNIT="$sc" _SYSTEMD_INVOCATION_ID="$si" | grep -q 'ws connected: attempt=' &&
       journalctl --no-pager -q -o cat _SYSTEMD_USER_UNIT="$tr" _SYSTEMD_INVOCATION_ID="$ti" | grep -q 'engine ok\. '; then
      exit 0
    fi
  fi
  [ "$(date +%%s)" -lt "$deadline" ] || { echo "the bot is not steady after %(timeout)d s" >&2; %(systemctl)s status --no-pager "$sc" "$tr" "$mo" >&2; exit 1; }
  sleep 0.2
done
""" % dict(timeout=STEADY_TIMEOUT, sidecar=SIDECAR, trader=TRADER, monitor=MONITOR, systemctl=SYSTEMCTL)

# --diagnose, on the host, untimed runs only: every 20 ms, the newest 1m bar of each symbol in the sidecar's
# candles_1m.db, one JSON line each time they change, so the time its new process first wrote every forming bar (the
# last thing the sidecar's gate waits for) is known to 20 ms (the bars' own updated_at has whole seconds).
PROBE = r"""
import json, sqlite3, sys, time
end, db, symbols = time.time() + float(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
sql = "SELECT t, updated_at, c, v, n FROM candles WHERE symbol = ? AND interval = '1m' ORDER BY t DESC LIMIT 1"
last, conn = None, None
with open(sys.argv[4], "w") as out:
    while time.time() < end:
        try:
            conn = conn or sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
            rows = {s: conn.execute(sql, (s,)).fetchone() for s in symbols}
        except sqlite3.Error as e:
            rows, conn = {"error": str(e)}, None
        if rows != last:
            out.write(json.dumps({"at": time.time(), "rows": rows}) + "\n")
            out.flush()
            last = rows
        time.sleep(0.02)
"""
PROBE_PATH = "/tmp/rbench-probe"
SIDECAR_ENV = ("tr '\\0' '\\n' < /proc/$(%s show -p MainPID --value %s)/environ | "
               "grep -E '^AI_QUANT_(CANDLES_DB_DIR|SIDECAR_SYMBOLS)='" % (SYSTEMCTL, SIDECAR))

# The sidecar's journal of one invocation, as JSON lines (__REALTIME_TIMESTAMP: when journald received the line).
WS_LINES = "journalctl --no-pager -q -o json _SYSTEMD_USER_UNIT=%s.service _SYSTEMD_INVOCATION_ID=%%s" % SIDECAR


class Bench(HostBench):
    def __init__(self, work, inventory):
        super().__init__(work, inventory, HOST, STEADY_TIMEOUT + 30)
        self.plays = {"play_sd": work / "runbook_systemd_service.yml", "play_cmd": work / "runbook_command.yml"}
        self.plays["play_sd"].write_text(PLAY_SD)
        self.plays["play_cmd"].write_text(PLAY_CMD)

    # --- the columns; each returns the callback's record of the run (None for ssh)

    def column(self, key):
        if key == "ssh":
            self.raw("%s restart %s" % (SYSTEMCTL, SIDECAR))
            time.sleep(RUNBOOK_SLEEP)
            self.raw("%s restart %s" % (SYSTEMCTL, TRADER))
            self.raw("%s restart %s" % (SYSTEMCTL, MONITOR))
            return None
        if key in self.plays:
            timing, _out = self.playbook(str(self.plays[key]))
            return timing
        settle = {"coll_s0": "0", "coll_s10": "10"}[key]
        timing, output = self.playbook("quantops.runbooks.bot_restart", "-e", "settle=%s" % settle)
        if not re.search(r"\b%s\s+RESTARTED\b" % HOST, output):
            raise BenchError("bot_restart did not report %s RESTARTED:\n%s" % (HOST, output[-4000:]))
        gates = [t for t in timing["tasks"] if t["action"].endswith("unit_gate")]
        if len(gates) != 1 or gates[0]["status"] != "ok" or [x["name"] for x in gates[0]["result"]["steps"]] != list(GATE_STEPS):
            raise BenchError("expected one unit_gate task with the steps %s: %s" % (GATE_STEPS, [(t["name"], t["status"]) for t in gates]))
        return timing

    # --- around the timed runs (untimed)

    def prepare(self, temp):
        self.maint("sh -c %s" % shlex.quote(STEADY))
        self.warm_or_cold(temp)

    def ws_connected_at(self, invocation):
        """Journal times (epoch s) of the first line of the sidecar's invocation (its process runs, the one before it
        has exited) and of its first `ws connected` line."""
        deadline = time.monotonic() + 10
        while True:
            first = None
            for line in self.maint(WS_LINES % shlex.quote(invocation)).splitlines():
                entry = json.loads(line)
                at = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
                first = at if first is None else first
                message = entry.get("MESSAGE")
                if isinstance(message, list):  # journald gives non-UTF-8 messages as bytes
                    message = bytes(message).decode("utf-8", "replace")
                if isinstance(message, str) and CONNECTED.search(message):
                    return first, at
            if time.monotonic() > deadline:
                raise BenchError("no `ws connected` line in the journal of %s invocation %s" % (SIDECAR, invocation))
            time.sleep(0.5)

    def probe_start(self, seconds):
        """Start PROBE on the host in the background; returns its pid there."""
        env = dict(line.split("=", 1) for line in self.maint(SIDECAR_ENV).split())
        db = env["AI_QUANT_CANDLES_DB_DIR"].rstrip("/") + "/candles_1m.db"
        self.maint("cat > %s.py <<'EOF'\n%s\nEOF" % (PROBE_PATH, PROBE))
        pid = self.maint("nohup python3 %s.py %d %s %s %s.jsonl >/dev/null 2>&1 </dev/null & echo $!" % (
            PROBE_PATH, seconds, shlex.quote(db), shlex.quote(env["AI_QUANT_SIDECAR_SYMBOLS"]), PROBE_PATH)).strip()
        time.sleep(0.5)  # its first sample: the bars before the restart
        return int(pid)

    def probe_read(self, pid):
        out = self.maint("kill %d 2>/dev/null; cat %s.jsonl; rm -f %s.py %s.jsonl" % (pid, PROBE_PATH, PROBE_PATH, PROBE_PATH))
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def diagnose(self, n):
        """n untimed runs of the collection (settle=0, warm) with PROBE on the host: {ws_to_bars, bars_to_proof}."""
        found = []
        for i in range(n):
            pid = self.probe_start(40)
            rec = self.timed("coll_s0", "warm")
            samples = self.probe_read(pid)
            g = rec["gate"]
            # the old process may still write a bar after acted_at, while it stops: count only the new process's writes,
            # after its first journal line
            before = [x for x in samples if x["at"] < g["first_line_at"]]
            if not before or "error" in before[-1]["rows"]:
                raise BenchError("the probe saw no bars before the new sidecar started: %s" % samples[:3])
            old = before[-1]["rows"]
            written = {}
            for x in samples:
                if x["at"] < g["first_line_at"] or "error" in x["rows"]:
                    continue
                for sym, row in x["rows"].items():
                    if sym not in written and row != old.get(sym):
                        written[sym] = x["at"]
            if len(written) != len(old):
                raise BenchError("the probe did not see every forming bar written after the restart: %s" % written)
            bars = max(written.values())
            found.append(dict(to_first=g["first_line_at"] - g["acted_at"], first_to_ws=g["ws_at"] - g["first_line_at"],
                              ws_to_bars=bars - g["ws_at"], bars_to_proof=g["proven_at"] - bars, latency_s=g["latency_s"]))
            log("diagnose %d: ws connected -> bars written %.3f s, bars -> proven %.3f s" % (i + 1, found[-1]["ws_to_bars"], found[-1]["bars_to_proof"]))
        return found

    def timed(self, key, temp):
        self.prepare(temp)
        t0 = time.time()
        timing = self.column(key)
        t1 = time.time()
        record = dict(elapsed=t1 - t0)
        if timing:
            record["profile"] = profile_of(timing, t0, t1)
        if key in COLLECTION:
            gate = gate_of(timing)
            sidecar = next(x for x in gate["steps"] if x["name"] == "sidecar")
            unit = sidecar["units"][SIDECAR + ".service"]
            first, ws = self.ws_connected_at(unit["invocation_id"])
            record["gate"] = dict(acted_at=sidecar["acted_at"], first_line_at=first, ws_at=ws, proven_at=unit["proven_at"], ready_s=unit["ready_s"],
                                  connect_s=ws - sidecar["acted_at"], latency_s=unit["proven_at"] - ws)
        return record


def describe(rec):
    gate = rec.get("gate")
    return "%6.2f s%s" % (rec["elapsed"], "  (sidecar gate %.3f s after ws connected)" % gate["latency_s"] if gate else "")


def tables(samples):
    m = {k: med([r["elapsed"] for r in v]) for k, v in samples.items()}
    ratio_names = ["%s / %s" % (c, b) for c in ("settle=0", "settle=10") for b in ("(a) sd", "(a) cmd", "(b)")]
    lines = ["### Wall time, one host (medians), and the collection's ratio to each baseline", "",
             "| connections | %s | %s |" % (" | ".join(COLUMNS.values()), " | ".join(ratio_names)),
             "| --- |%s" % (" ---: |" * (len(COLUMNS) + len(ratio_names)))]
    for temp in TEMPS:
        values = " | ".join(fmt(m.get((temp, k))) for k in COLUMNS)
        ratios = " | ".join(ratio(m.get((temp, c)), m.get((temp, b))) for c in COLLECTION for b in ("play_sd", "play_cmd", "ssh"))
        lines.append("| %s | %s | %s |" % (temp, values, ratios))
    lines += [""] + latency_table(samples) + profile_tables(samples) + targets(samples, m)
    return lines


def diagnose_table(found):
    if not found:
        return []
    lines = ["### What the sidecar's gate waits for after `ws connected` (--diagnose: %d untimed runs, settle=0, warm)" % len(found), "",
             "A probe on the host read the sidecar's candles_1m.db every 20 ms: *bars written* is when the new process had "
             "written the forming 1m bar of every symbol (the last of the gate's proofs), to 20 ms.", "",
             "| part | median | max | min |", "| --- | ---: | ---: | ---: |"]
    for key, label in (("to_first", "acted_at to the new process's first line (the old one stops, the new one starts)"),
                       ("first_to_ws", "first line to `ws connected`"),
                       ("ws_to_bars", "`ws connected` to bars written (the sidecar's own work)"),
                       ("bars_to_proof", "bars written to proven_at (the gate's poll and checks)"),
                       ("latency_s", "gate latency, proven_at - `ws connected`")):
        v = [x[key] for x in found]
        lines.append("| %s | %.3f s | %.3f s | %.3f s |" % (label, med(v), max(v), min(v)))
    return lines + [""]


def latency_table(samples):
    lines = ["### The sidecar's gate against its own `ws connected` line (every collection run, seconds)", "",
             "| column | connections | runs | restart to `ws connected` (median) | gate latency: proven_at - `ws connected`, median | max "
             "| min | sidecar ready_s (median) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    allg = []
    for key in COLLECTION:
        for temp in TEMPS:
            g = [r["gate"] for r in samples.get((temp, key), [])]
            allg += g
            lat = [x["latency_s"] for x in g]
            lines.append("| %s | %s | %d | %s | %s | %s | %s | %s |" % (
                COLUMNS[key], temp, len(g), fmt(med([x["connect_s"] for x in g]), "", 3), fmt(med(lat), "", 3), fmt(max(lat) if lat else None, "", 3),
                fmt(min(lat) if lat else None, "", 3), fmt(med([x["ready_s"] for x in g]), "", 3)))
    lat = [x["latency_s"] for x in allg]
    lines.append("| all | both | %d | %s | %s | %s | %s | %s |" % (
        len(allg), fmt(med([x["connect_s"] for x in allg]), "", 3), fmt(med(lat), "", 3), fmt(max(lat) if lat else None, "", 3),
        fmt(min(lat) if lat else None, "", 3), fmt(med([x["ready_s"] for x in allg]), "", 3)))
    return lines + [""]


def profile_tables(samples):
    lines = ["### Profile: where the collection's time goes (medians of the runs; controller clock)", "",
             "Per task: *wall* is from the task's start on the controller to its result; *elapsed* is unit_gate's own time on "
             "the host (its `elapsed`); *overhead* = wall - elapsed (templating, the worker, the module's transfer and "
             "Python start on the host, the result's return). *Other tasks* are the assert, end_host check, set_fact and "
             "the summary play; *gaps* the time between a result and the next task's start.", ""]
    for key in COLLECTION:
        lines += ["#### %s" % COLUMNS[key], "", "| part | warm wall | warm elapsed | warm overhead | cold wall | cold elapsed | cold overhead |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        rows = {}
        for temp in TEMPS:
            for rec in samples.get((temp, key), []):
                p = rec["profile"]
                parts = {"start-up (process start to the first task)": (p["start-up"], None)}
                other = 0.0
                for t in p["tasks"]:
                    if t["action"].endswith("unit_gate") and t["elapsed"] is not None:
                        parts["unit_gate, one run of the four steps"] = (t["wall"], t["elapsed"])
                        for name in GATE_STEPS:
                            parts["  step: %s (on the host)" % name] = (t["steps"].get(name), t["steps"].get(name))
                    else:
                        other += t["wall"]
                parts["other tasks"] = (other, None)
                parts["gaps between tasks"] = (p["gaps"], None)
                parts["end (last result to exit)"] = (p["end"], None)
                parts["**total**"] = (rec["elapsed"], None)
                for name, (wall, elapsed) in parts.items():
                    rows.setdefault(name, {}).setdefault(temp, []).append((wall, elapsed))
        for name, by_temp in rows.items():
            cells = []
            for temp in TEMPS:
                vals = by_temp.get(temp, [])
                wall, el = med([w for w, _e in vals]), med([e for _w, e in vals])
                over = med([w - e for w, e in vals if e is not None])
                cells += [fmt(wall), fmt(el), fmt(over)]
            lines.append("| %s | %s |" % (name, " | ".join(cells)))
        lines.append("")
    # the baseline playbook's restarts, for comparison of the per-task cost
    lines += ["#### The baseline playbooks' tasks (wall, medians)", "", "| task | %s |" % " | ".join(
        "%s %s" % (COLUMNS[k].split(", ")[1], t) for k in ("play_sd", "play_cmd") for t in TEMPS), "| --- |%s" % (" ---: |" * 4)]
    names = {}
    for k in ("play_sd", "play_cmd"):
        for temp in TEMPS:
            for rec in samples.get((temp, k), []):
                for i, t in enumerate(rec["profile"]["tasks"]):
                    names.setdefault(i, t["name"])
                    names.setdefault((i, k, temp), []).append(t["wall"])
                names.setdefault("start", {}).setdefault((k, temp), []).append(rec["profile"]["start-up"])
    lines.append("| start-up (process start to the first task) | %s |" % " | ".join(
        fmt(med(names.get("start", {}).get((k, t), []))) for k in ("play_sd", "play_cmd") for t in TEMPS))
    for i in sorted(x for x in names if isinstance(x, int)):
        lines.append("| %s | %s |" % (names[i], " | ".join(fmt(med(names.get((i, k, t), []))) for k in ("play_sd", "play_cmd") for t in TEMPS)))
    return lines + [""]


def targets(samples, m):
    lines = ["### Targets", "", "(1) the collection, every gate verified, within 1.5x of the runbook's unverified sequence:", "",
             "| collection | connections | median | baseline | 1.5x baseline | ratio | gap |", "| --- | --- | ---: | --- | ---: | ---: | --- |"]
    for c in COLLECTION:
        for temp in TEMPS:
            for b in ("play_sd", "play_cmd", "ssh"):
                v, base = m.get((temp, c)), m.get((temp, b))
                if v is None or base is None:
                    continue
                cells = (COLUMNS[c], temp, fmt(v), COLUMNS[b], fmt(base), fmt(1.5 * base), ratio(v, base), gap(v, 1.5 * base))
                lines.append("| %s | %s | %s | %s %s | %s | %s | %s |" % cells)
    lat = [r["gate"]["latency_s"] for c in COLLECTION for t in TEMPS for r in samples.get((t, c), [])]
    lines += ["", "(2) the sidecar's gate passes within 1 s of its own `ws connected: attempt=N` line (%d runs):" % len(lat), "",
              "| statistic | gate latency | gap to 1 s |", "| --- | ---: | --- |"]
    for name, value in (("median", med(lat)), ("max", max(lat) if lat else None)):
        lines.append("| %s | %s | %s |" % (name, fmt(value, " s", 3), gap(value, 1.0)))
    return lines + [""]


def samples_dump(samples):
    out = ["<details><summary>every sample (seconds)</summary>", "", "```"]
    for (temp, key), recs in sorted(samples.items()):
        out.append("%s %s: %s" % (temp, key, json.dumps([round(r["elapsed"], 3) for r in recs])))
        if key in COLLECTION:
            out.append("%s %s gate latency: %s" % (temp, key, json.dumps([round(r["gate"]["latency_s"], 3) for r in recs])))
            for label in GATE_STEPS:
                el = [t["steps"].get(label) for r in recs for t in r["profile"]["tasks"] if t["action"].endswith("unit_gate")]
                out.append("%s %s unit_gate step %s elapsed: %s" % (temp, key, label, json.dumps(el)))
    return out + ["```", "", "</details>", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell; the figures are medians (default 5)")
    parser.add_argument("--keep", action="store_true", help="leave the lab and the work directory")
    parser.add_argument("--out", help="results file (default benchmarks/bot_restart/results-<date>.md)")
    parser.add_argument("--diagnose", type=int, default=3, help="untimed runs at the end with a probe on the host: what the "
                        "sidecar's gate waits for after `ws connected` (default 3, 0: none)")
    parser.add_argument("--lab-inventory", help="measure an already deployed lab (its inventory, group_vars beside it, h1 a "
                        "paper bot) instead of booting one; it is left as it is")
    args = parser.parse_args()

    def report(bench, deploy):
        load_start = loadavg()
        samples = measure(bench, list(COLUMNS), args.repeats, describe, TEMPS)
        load_end = loadavg()
        found = bench.diagnose(args.diagnose)
        head = header("bot_restart: one host against the runbook's sequence", "benchmarks/bot_restart/bench_restart.py",
                      figures="medians of %d; warm: ControlPersist masters alive, cold: none (sockets removed before each run)" % args.repeats,
                      deploy=deploy, load=(load_start, load_end))
        return "\n".join(head + tables(samples) + diagnose_table(found) + samples_dump(samples))

    out = args.out or Path(__file__).parent / ("results-%s.md" % datetime.date.today().isoformat())
    # the lab's first host is a paper bot (openclaw_paper)
    sys.exit(framed(out=out, keep=args.keep, lab_defaults=LAB_DEFAULTS, hosts=1, lab_inventory=args.lab_inventory, make_bench=Bench,
                    report=report))


if __name__ == "__main__":
    main()
