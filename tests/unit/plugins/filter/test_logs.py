"""collect_logs' and quantlab_ml_run's decisions: where a host's bundle goes, and each host's outcome line."""

import os

import pytest
from ansible_collections.quantops.runbooks.plugins.filter import logs

MANIFEST = dict(since="2026-11-29T21:47:48.140086Z", sources=[
    dict(kind="journal", unit="quantlab-replayd.service", scope="system", status="collected", lines=24, bytes=2208, cut=None),
    dict(kind="journal", unit="quantlab-worker.service", scope="system", status="collected", lines=1, bytes=95,
         cut=dict(dropped_lines=None, older_not_read=True)),
    dict(kind="file", path="/home/deploy/quantlab-backend/core/observer-api/server.log", status="refused",
         reason="refused: /home/deploy/quantlab-backend/core/observer-api/server.log is a symbolic link; root does not follow it"),
    dict(kind="file", path="/var/log/quantlab-ml.log", status="collected", lines=480, bytes=45000,
         cut=dict(dropped_lines=2845, dropped_bytes=259375))])


def test_the_directory_is_absolute_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert logs.log_dir("logs", "h3", "20261129T224746Z") == os.path.join(str(tmp_path), "logs", "h3", "20261129T224746Z")
    assert logs.log_dir("/srv/x", "h3", "20261129T224746Z") == "/srv/x/h3/20261129T224746Z"
    for dest, host, stamp in (("", "h3", "20261129T224746Z"), ("logs", "../etc", "20261129T224746Z"), ("logs", "h/3", "20261129T224746Z"),
                              ("logs", "..", "20261129T224746Z"), ("logs", "h3", "now"), ("lo\ngs", "h3", "20261129T224746Z")):
        with pytest.raises(ValueError, match="log_dir"):
            logs.log_dir(dest, host, stamp)


def test_collected_says_where_how_much_and_what_was_cut_or_refused():
    out = logs.collect_logs_outcome(dict(manifest=MANIFEST, archive="/var/tmp/x/logs.tar.gz", archive_bytes=3588), False,
                                    dict(changed=True), "/srv/logs/h3/20261129T224746Z")
    assert out["status"] == "COLLECTED"
    assert out["summary"] == ("/srv/logs/h3/20261129T224746Z/logs.tar.gz (3.5 KiB); 2 journals, 25 lines; files: quantlab-ml.log 480 lines; "
                              "cut to max_mb, oldest lines dropped: quantlab-worker.service (older entries), quantlab-ml.log (2845 lines); "
                              "not collected: server.log refused: /home/deploy/quantlab-backend/core/observer-api/server.log is a "
                              "symbolic link; root does not follow it")


def test_unreachable_failed_fetch_failed_and_check_mode():
    assert logs.collect_logs_outcome(dict(unreachable=True, msg="ssh: timeout"))["status"] == "UNREACHABLE"
    assert logs.collect_logs_outcome(dict(failed=True, msg="since 'x' is not understood"))["summary"] == "log_bundle: since 'x' is not understood"
    assert logs.collect_logs_outcome(None)["status"] == "FAILED"
    out = logs.collect_logs_outcome(dict(manifest=MANIFEST, archive="/a"), False, dict(failed=True, msg="checksum mismatch"), "/d")
    assert out == dict(status="FAILED", summary="fetch of /a: checksum mismatch")
    out = logs.collect_logs_outcome(dict(manifest=dict(MANIFEST, sources=MANIFEST["sources"][:2])), True)
    assert out == dict(status="WOULD_COLLECT", summary="would read 2 journals since 2026-11-29T21:47:48.140086Z and 0 files")
    bad = dict(MANIFEST, sources=[dict(kind="journal", unit="u.service", status="error", reason="journalctl failed")])
    assert logs.collect_logs_outcome(dict(manifest=bad, archive="/a", archive_bytes=1), False, {}, "/d")["status"] == "FAILED"


def test_ml_run_outcomes():
    cmd = ["/usr/bin/node", "scheduler/run_daily_ml.js", "--dry-run"]
    ok = dict(status="succeeded", cmd=cmd, user="deploy", rc=0, duration_s=0.22, log_bytes=662, log="/var/log/quantlab-ml.log")
    summary = "exit 0 after 0.22s: `/usr/bin/node scheduler/run_daily_ml.js --dry-run` as deploy, 662 bytes appended to /var/log/quantlab-ml.log"
    assert logs.ml_run_outcome(ok) == dict(status="SUCCEEDED", summary=summary)
    failed = dict(ok, status="failed", rc=1, output_tail=["a", "[FATAL] No jobs remaining after feature validation."])
    assert logs.ml_run_outcome(failed)["summary"].endswith("last line: [FATAL] No jobs remaining after feature validation.")
    refused = dict(status="refused", failed=True, msg="the scheduler is already running (pid 7 as deploy, 3.0s): wait for it to end")
    assert logs.ml_run_outcome(refused) == dict(status="REFUSED", summary=refused["msg"])
    assert logs.ml_run_outcome(dict(refused, status="would be refused"), True)["status"] == "WOULD_BE_REFUSED"
    assert logs.ml_run_outcome(dict(status="would run", cmd=cmd, cwd="/c", user="deploy"), True)["status"] == "WOULD_RUN"
    assert logs.ml_run_outcome(dict(unreachable=True))["status"] == "UNREACHABLE"
    assert logs.ml_run_outcome(dict(failed=True, msg="date 20260230 is not a real day"))["summary"] == "ml_run: date 20260230 is not a real day"
