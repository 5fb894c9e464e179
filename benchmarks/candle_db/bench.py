"""candle_db_info against the runbook's own sqlite3 queries on a large candle database, side by side in one run.

    python benchmarks/candle_db/bench.py [--dir /tmp/bench-candles] [--repeats 5] [--skip-4x]

Needs the databases of generate.py (it makes them when they are missing: --dir/candles_3m.db, 100 symbols x one
year of 3m bars, and --dir/candles_3m_x4.db, four years) and the venv's bin/ on PATH (make venv). Each round, in
alternating order, for each database:

- runbook: the three queries of runbook section 3 as it runs them, one `sqlite3` process each: the freshness query
  (COUNT, MIN/MAX t, MAX t_close over the table), the per-symbol COUNT ... GROUP BY symbol, and the duplicate
  GROUP BY symbol, interval, t;
- module: quantops.runbooks.candle_db_info's own work (its `elapsed`), run in a process of its own (peak RSS of that
  process measured by /usr/bin/time), doing the full check: freshness of every series, gaps in the last 24 h,
  duplicates (proved by the primary key), the AQC-203 retention of 5,000 bars;
- ad-hoc: `ansible localhost -m quantops.runbooks.candle_db_info -a ...` end to end, Ansible's start-up included, with
  stock Ansible (no ansible.cfg) and with the repository's ansible.cfg (whose YAML result format costs time).

It also checks the module's answer: the gaps it reports in the last 24 h are exactly the gaps the generator planted
there. Prints a Markdown table of medians and ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"
RUNBOOK = [
    "SELECT COUNT(*) AS rows, datetime(MIN(t)/1000, 'unixepoch') AS earliest, datetime(MAX(t)/1000, 'unixepoch') AS latest, "
    "datetime(MAX(t_close)/1000, 'unixepoch') AS latest_close FROM candles;",
    "SELECT symbol, COUNT(*) AS rows FROM candles GROUP BY symbol ORDER BY rows DESC LIMIT 10;",
    "SELECT COUNT(*) AS dupes FROM (SELECT symbol, interval, t, COUNT(*) AS c FROM candles GROUP BY symbol, interval, t HAVING c > 1);",
]
HARNESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.modules import candle_db_info
with patch_module_args(json.loads(sys.argv[2])):
    try:
        candle_db_info.main()
    except SystemExit:
        pass
"""


def ensure(db, scale):
    if db.exists() and Path(str(db) + ".gaps.json").exists():
        return json.loads(Path(str(db) + ".gaps.json").read_text())
    print("generating %s (scale %d) ..." % (db, scale), file=sys.stderr, flush=True)
    out = subprocess.run([sys.executable, str(REPO / "benchmarks/candle_db/generate.py"), "--out", str(db), "--scale", str(scale)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def module_args(db, now, lookback):
    return dict(paths=[str(db)], now=now, lookback_hours=lookback, min_bars={"3m": 5000})


def run_runbook(db):
    started = time.perf_counter()
    answers = [subprocess.run(["sqlite3", "-readonly", str(db), q], check=True, capture_output=True, text=True).stdout.strip() for q in RUNBOOK]
    return time.perf_counter() - started, answers


def run_module(db, now, lookback):
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        out = subprocess.run(["/usr/bin/time", "-o", rss.name, "-f", "%M", sys.executable, "-c", HARNESS, str(COLLECTIONS),
                              json.dumps(module_args(db, now, lookback))], check=True, capture_output=True, text=True).stdout
        peak_kib = int(rss.read().strip().splitlines()[-1])
    result = json.loads(out)
    return result["elapsed"], peak_kib / 1024.0, result


def run_adhoc(db, now, lookback, repo_cfg):
    """Stock Ansible (no ansible.cfg, only the collection's path), or with the repository's ansible.cfg (YAML results)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.pop("ANSIBLE_CONFIG", None)
    if repo_cfg:
        env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    started = time.perf_counter()
    subprocess.run(["ansible", "localhost", "-m", "quantops.runbooks.candle_db_info", "-a", json.dumps(module_args(db, now, lookback))],
                   check=True, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    return time.perf_counter() - started


def planted_in_window(summary, now, lookback):
    start = now - lookback * 3600 * 1000
    return sorted((g["symbol"], g["start"], g["end"], g["missing"]) for g in summary["gaps"] if g["start"] >= start)


def found(result):
    return sorted((s["symbol"], g["start"], g["end"], g["missing"]) for d in result["databases"] for s in d["series"] for g in s["gaps"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/bench-candles")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-4x", action="store_true")
    args = parser.parse_args()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    cases = [("1x", directory / "candles_3m.db", 1, 24), ("1x, 96 h lookback", directory / "candles_3m.db", 1, 96)]
    if not args.skip_4x:
        cases.append(("4x", directory / "candles_3m_x4.db", 4, 24))
    summaries = {str(db): ensure(db, scale) for _name, db, scale, _hours in cases}
    timings = {name: dict(runbook=[], module=[], adhoc=[], adhoc_cfg=[], rss=[]) for name, _db, _scale, _hours in cases}
    checks = {}
    for round_no in range(args.repeats + 1):  # round 0 warms the page cache and is not counted
        for name, db, _scale, lookback in (cases if round_no % 2 else list(reversed(cases))):
            summary = summaries[str(db)]
            now = summary["last_t"] + 10_000  # 10 s into the newest (forming) bar
            order = ["runbook", "module", "adhoc", "adhoc_cfg"] if round_no % 2 else ["adhoc_cfg", "adhoc", "module", "runbook"]
            for side in order:
                if side == "runbook" and lookback != 24:
                    continue  # the runbook's queries have no lookback: measured once per database
                if side == "runbook":
                    seconds, answers = run_runbook(db)
                    checks.setdefault(name, {})["runbook_dupes"] = answers[2]
                elif side == "module":
                    seconds, peak, result = run_module(db, now, lookback)
                    expected = planted_in_window(summary, now, lookback)
                    checks.setdefault(name, {}).update(gaps_found=len(found(result)), gaps_planted=len(expected), gaps_match=found(result) == expected,
                                                       healthy=result["healthy"], problems=len(result["problems"]),
                                                       duplicates=result["databases"][0]["duplicates_method"], series=result["totals"]["series"])
                    if round_no:
                        timings[name]["rss"].append(peak)
                else:
                    seconds = run_adhoc(db, now, lookback, side == "adhoc_cfg")
                if round_no:
                    timings[name][side].append(seconds)
            print("round %d %s done" % (round_no, name), file=sys.stderr, flush=True)

    base = statistics.median(timings["1x"]["runbook"])
    print("| rows | lookback | runbook's 3 queries | module's own work | ratio runbook / module | ad-hoc `ansible localhost -m`, stock | "
          "ad-hoc, repo's ansible.cfg (YAML output) | module peak RSS | gaps found / planted in window |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, db, _scale, lookback in cases:
        t = timings[name]
        runbook = statistics.median(t["runbook"]) if t["runbook"] else None
        module, adhoc, adhoc_cfg, rss = (statistics.median(t["module"]), statistics.median(t["adhoc"]), statistics.median(t["adhoc_cfg"]),
                                         max(t["rss"]))
        c = checks[name]
        print("| %s (%.1f M) | %d h | %s | %.3f s | %.0fx | %.2f s | %.2f s | %.0f MB | %d / %d %s |" % (
            name.split(",", maxsplit=1)[0], summaries[str(db)]["rows"] / 1e6, lookback, "%.2f s" % runbook if runbook else "(same)",
            module, (runbook or base) / module, adhoc, adhoc_cfg, rss, c["gaps_found"], c["gaps_planted"], "exact" if c["gaps_match"] else "MISMATCH"))
    print()
    for name, c in checks.items():
        print("%s: %s" % (name, json.dumps(c)))
    print("runs per cell: %d (medians); runbook's duplicate query answered: %s" % (args.repeats, checks["1x"]["runbook_dupes"]))


if __name__ == "__main__":
    main()
