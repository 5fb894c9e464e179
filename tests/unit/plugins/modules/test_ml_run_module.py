"""ml_run as a whole, on the lab's stand-in checkout (tests/lab/apps/quantlab-backend) run by the real node: the dry
run's output appended to the log and its exit code returned, check mode running nothing, and a refusal (changing
nothing) while another ml_run holds the lock or the scheduler runs from the same checkout."""

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _ml_run
from ansible_collections.quantops.runbooks.plugins.modules import ml_run

STAND_IN = Path(__file__).resolve().parents[3] / "lab" / "apps" / "quantlab-backend"
pytestmark = pytest.mark.skipif(not shutil.which("node") or os.geteuid() != 0, reason="needs node, and root (the module's become)")


@pytest.fixture
def app(tmp_path):
    """A copy of the stand-in's core/ (its scheduler and lib), a log, a lock path, an env dir with a token."""
    shutil.copytree(str(STAND_IN / "core" / "scheduler"), str(tmp_path / "app" / "core" / "scheduler"))
    shutil.copytree(str(STAND_IN / "core" / "lib"), str(tmp_path / "app" / "core" / "lib"))
    (tmp_path / "ml.log").write_text("before\n")
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "x.env").write_text("X_TOKEN=tok-abcdef\n")
    return tmp_path


def run(capsys, app, check=False, **args):
    params = dict(app_dir=str(app / "app"), user="root", log=str(app / "ml.log"), lock_file=str(app / "run" / "ml_run.lock"),
                  env_dir=str(app / "env"), symbol="btcusdt", date="20260115", _ansible_check_mode=check)
    params.update(args)
    with patch_module_args(params), pytest.raises(SystemExit) as e:
        ml_run.main()
    return e.value.code, json.loads(capsys.readouterr().out)


def test_the_dry_run_appends_its_output_and_returns_its_exit_code(capsys, app):
    rc, result = run(capsys, app)
    assert rc == 0 and result["status"] == "succeeded" and result["rc"] == 0 and result["changed"] is True, result
    assert result["cmd"][1:] == ["scheduler/run_daily_ml.js", "--symbol", "btcusdt", "--date", "20260115", "--dry-run"]
    log = (app / "ml.log").read_text()
    assert log.startswith("before\n") and "Mode: DRY RUN" in log and len(log) - len("before\n") == result["log_bytes"]
    assert result["output_tail"][-1].endswith("[run_daily_ml] done") and result["duration_s"] > 0


def test_check_mode_runs_nothing(capsys, app):
    rc, result = run(capsys, app, check=True)
    assert rc == 0 and result["status"] == "would run" and result["rc"] is None and not result["changed"]
    assert (app / "ml.log").read_text() == "before\n" and not (app / "run").exists()


def test_refused_while_another_ml_run_holds_the_lock(capsys, app):
    (app / "run").mkdir()
    fd = os.open(str(app / "run" / "ml_run.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"4242\n")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        rc, result = run(capsys, app)
        assert rc == 1 and result["status"] == "refused" and "another ml_run (pid 4242)" in result["msg"], result
        rc, result = run(capsys, app, check=True)
        assert rc == 1 and result["status"] == "would be refused", result
    finally:
        os.close(fd)
    assert (app / "ml.log").read_text() == "before\n"


def test_refused_while_the_scheduler_runs_from_the_same_checkout(capsys, app):
    core = app / "app" / "core"
    env = dict(os.environ, ML_STUB_HOLD_S="30")
    other = subprocess.Popen(["node", "scheduler/run_daily_ml.js", "--dry-run"], cwd=str(core), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _ml_run.find_runs(str(core / "scheduler" / "run_daily_ml.js")) and time.monotonic() < deadline:
            time.sleep(0.02)
        rc, result = run(capsys, app)
        assert rc == 1 and result["status"] == "refused" and [a["pid"] for a in result["active"]] == [other.pid], result
        assert "the scheduler is already running (pid %d as root" % other.pid in result["msg"]
    finally:
        other.terminate()
        other.wait()
    assert (app / "ml.log").read_text() == "before\n"


def test_a_failed_run_fails_with_its_exit_code_and_a_token_is_masked(capsys, app):
    script = app / "app" / "core" / "scheduler" / "run_daily_ml.js"
    script.write_text("console.log('using tok-abcdef'); process.exit(3);\n")
    rc, result = run(capsys, app)
    assert rc == 1 and result["status"] == "failed" and result["rc"] == 3, result
    assert result["output_tail"] == ["using ********"] and "tok-abcdef" not in json.dumps(result)
    assert "tok-abcdef" in (app / "ml.log").read_text()  # the log is the operator's: it is written as is


def test_a_symlink_at_the_log_is_refused(capsys, app):
    (app / "ml.log").unlink()
    os.symlink("/etc/shadow", str(app / "ml.log"))
    rc, result = run(capsys, app)
    assert rc == 1 and "symbolic link" in result["msg"], result
