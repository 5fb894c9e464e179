"""The forced ML run's pure parts: symbol and date checked, the runbook's argv, a running scheduler recognised from
its argv and working directory (as /proc gives them), and secret values masked in the output returned."""

import datetime
import os
import subprocess
import sys
import time

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _ml_run

SCRIPT = "/home/deploy/quantlab-backend/core/scheduler/run_daily_ml.js"
CORE = "/home/deploy/quantlab-backend/core"


def test_symbol_and_date_are_checked():
    assert _ml_run.check_symbol("btcusdt") == "btcusdt" and _ml_run.check_symbol(None) is None
    assert _ml_run.check_date("20260115", datetime.date(2026, 11, 29)) == "20260115" and _ml_run.check_date(None) is None
    for bad in ("BTCUSDT", "btc-usdt", "b", "--help", "btc usdt", "x" * 21, ""):
        with pytest.raises(_ml_run.MlRunInputError, match="lowercase letters or digits"):
            _ml_run.check_symbol(bad)
    for bad, words in (("2026-01-15", "not YYYYMMDD"), ("20260230", "not a real day"), ("20261130", "in the future"),
                       ("2026011", "not YYYYMMDD"), ("--dry-run", "not YYYYMMDD")):
        with pytest.raises(_ml_run.MlRunInputError, match=words):
            _ml_run.check_date(bad, datetime.date(2026, 11, 29))


def test_the_runbooks_command_as_argv():
    assert _ml_run.command("/usr/bin/node", "btcusdt", "20260115", True) == [
        "/usr/bin/node", "scheduler/run_daily_ml.js", "--symbol", "btcusdt", "--date", "20260115", "--dry-run"]
    assert _ml_run.command("/usr/bin/node", None, None, False) == ["/usr/bin/node", "scheduler/run_daily_ml.js"]


@pytest.mark.parametrize("args, cwd, found", [
    (["node", "scheduler/run_daily_ml.js"], CORE, True),  # the cron's run
    (["/usr/bin/node", "scheduler/run_daily_ml.js", "--symbol", "btcusdt", "--dry-run"], CORE, True),
    (["node", "--max-old-space-size=4096", "scheduler/run_daily_ml.js"], CORE, True),
    (["node", SCRIPT, "--date", "20260115"], "/", True),
    (["nodejs", "core/scheduler/run_daily_ml.js"], "/home/deploy/quantlab-backend", True),
    (["node", "./scheduler/../scheduler/run_daily_ml.js"], CORE, True),
    (["node", "scheduler/run_daily_ml.js"], "/tmp/elsewhere", False),  # another copy is not this checkout's scheduler
    (["node", "scheduler/run_daily_prod.js"], CORE, False),
    (["vim", "scheduler/run_daily_ml.js"], CORE, False),
    (["sh", "-c", "cd core && node scheduler/run_daily_ml.js"], CORE, False),  # the cron's shell: its node child counts
    (["node"], CORE, False), ([], CORE, False), (["node", "scheduler/run_daily_ml.js"], None, False)])
def test_a_running_scheduler_is_recognised_by_its_script_resolved_against_its_cwd(args, cwd, found):
    assert _ml_run.is_scheduler(args, cwd, [SCRIPT]) is found


def test_find_runs_sees_a_real_process_of_the_script(tmp_path):
    core = tmp_path / "core"
    (core / "scheduler").mkdir(parents=True)
    script = core / "scheduler" / "run_daily_ml.js"
    script.write_text("import time\ntime.sleep(30)\n")  # run by a python named "node": what matters is argv and cwd
    node = tmp_path / "node"
    os.symlink(sys.executable, str(node))
    proc = subprocess.Popen([str(node), "scheduler/run_daily_ml.js", "--dry-run"], cwd=str(core))
    try:
        runs = []
        deadline = time.monotonic() + 10
        while not runs and time.monotonic() < deadline:
            runs = _ml_run.find_runs(str(script))
            time.sleep(0.02)
        assert [r["pid"] for r in runs] == [proc.pid]
        assert runs[0]["args"] == "%s scheduler/run_daily_ml.js --dry-run" % node and runs[0]["uid"] == os.getuid()
        assert _ml_run.find_runs(str(script), exclude=[proc.pid]) == []
    finally:
        proc.kill()
        proc.wait()
    assert _ml_run.find_runs(str(script)) == []


def test_find_runs_on_a_fake_proc(tmp_path):
    proc = tmp_path / "proc"
    (proc / "sys").mkdir(parents=True)
    (proc / "stat").write_text("cpu 1 2 3\nbtime 1795990000\n")
    for pid, argv, cwd in ((101, ["node", "scheduler/run_daily_ml.js", "--dry-run"], CORE), (102, ["node", "server.js"], CORE),
                           (103, ["node", "scheduler/run_daily_ml.js"], "/tmp")):
        d = proc / str(pid)
        d.mkdir()
        (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        os.symlink(cwd, str(d / "cwd"))
        (d / "stat").write_text("%d (node) S " % pid + " ".join(["0"] * 18) + " 500 0 0\n")
    runs = _ml_run.find_runs(SCRIPT, proc=str(proc), now=1795990100.0)
    assert [r["pid"] for r in runs] == [101]
    assert runs[0]["args"] == "node scheduler/run_daily_ml.js --dry-run" and runs[0]["running_s"] == 100.0 - 500 / os.sysconf("SC_CLK_TCK")
    assert _ml_run.find_runs(SCRIPT, proc=str(proc), exclude=[101]) == []


def test_secret_values_are_masked(tmp_path):
    (tmp_path / "a.env").write_text("REPLAYD_TOKEN=tok-123456\nREPLAYD_PORT=3030\nS3_COMPACT_SECRET_KEY='s3cr3t-v'\nX=abc\n")
    secrets = _ml_run.secrets_of([str(tmp_path / "a.env"), str(tmp_path / "missing.env")])
    assert secrets == ["tok-123456", "s3cr3t-v"]
    assert _ml_run.scrub("auth tok-123456 and s3cr3t-v on 3030", secrets) == "auth ******** and ******** on 3030"


def test_the_tail_is_bounded():
    data = b"".join(b"line %d\n" % i for i in range(100))
    assert _ml_run.tail_lines(data) == ["line %d" % i for i in range(60, 100)]
    assert sum(len(x) for x in _ml_run.tail_lines(b"x" * 5000 + b"\n" + b"y" * 5000 + b"\n")) <= 6000
