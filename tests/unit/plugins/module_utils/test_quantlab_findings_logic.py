"""quantlab_health's verdict and quantlab_troubleshoot's findings (module_utils._quantlab_findings): the real
collector's shapes (milliseconds, an empty `writer`, failures only in its journal), the causes named, and the
outcomes the flows print."""

import copy

from ansible_collections.quantops.runbooks.plugins.module_utils import _quantlab_findings as qf

NOW = 1795000000.0

SS = """State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process
LISTEN 0      5            0.0.0.0:3051      0.0.0.0:*    users:(("python3",pid=4242,fd=3))
LISTEN 0      511                *:3030            *:*    users:(("node",pid=17,fd=19),("node",pid=18,fd=19))
LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=1,fd=4))
"""


def _unit(name, pid=100, state="active", sub="running"):
    return dict(unit="quantlab-%s" % name, load_state="loaded", active_state=state, sub_state=sub, main_pid=pid, since_s=60.0,
                n_restarts=0, result="success")


def _ok(path="/health"):
    return dict(healthy=True, status=200, latency_s=0.004, error=None, path=path)


def healthy_facts():
    services = dict(
        replayd=dict(unit=_unit("replayd", 10), health=_ok(), critical=True, after=[], port=3030, env_file="/etc/quantlab/replayd.env"),
        collector=dict(unit=_unit("collector", 11), health=_ok(), critical=True, after=[], port=9100, env_file="/etc/quantlab/collector.env"),
        featurexd=dict(unit=_unit("featurexd", 12), health=_ok(), critical=True, after=["replayd"], port=3051,
                       env_file="/etc/quantlab/featurexd.env"),
        console=dict(unit=_unit("console", 13), health=_ok("/"), critical=False, after=[], port=8080, env_file=None),
    )
    env_files = [dict(path=s["env_file"], exists=True, kind="a regular file", mode="0600", owner="root (uid 0)", problem=None)
                 for s in services.values() if s["env_file"]]
    collector = dict(qf.collector_facts(dict(status="ok", uptime=500.0, last_write_ts=(NOW - 2) * 1000),
                                        dict(queue_size=3, queue_maxsize=100000, queue_utilization_pct=0.0, dropped_events_total=0, writer={}),
                                        dict(state="READY"), [], NOW),
                     service="collector", metrics_error=None,
                     spool=dict(path="/opt/quantlab/spool", exists=True, mode="0750", owner="deploy (uid 1000)", writable_by_user=True,
                                read_only_fs=False, free_bytes=50 * 1024 ** 3, free_pct=40.0, problem=None))
    return dict(now=NOW, service_user="deploy", services=services, env_files=env_files, collector=collector,
                runs=dict(status=200, error=None, count=2, active=0, newest_run_id="r2", newest_age_s=30.0),
                cron=dict(path="/etc/cron.d/quantlab-ml", present=True, line="15 0 * * * deploy cd ... run_daily_ml.js", match="run_daily_ml.js"),
                ml_log=dict(path="/var/log/quantlab-ml.log", exists=True, size=0, age_s=99999999.0, last_line=None, problem=None))


def test_a_healthy_host_has_no_cause_and_an_empty_ml_log_is_no_warning():
    out = qf.health(healthy_facts())
    assert out == dict(healthy=True, causes=[], notices=[])


def test_the_real_collector_gives_milliseconds_and_seconds_are_taken_as_they_are():
    assert qf.epoch_of_ts(1795000000123) == 1795000000.123
    assert qf.epoch_of_ts(1795000000.5) == 1795000000.5
    assert qf.epoch_of_ts(0) is None and qf.epoch_of_ts(None) is None and qf.epoch_of_ts(True) is None and qf.epoch_of_ts("1") is None


def test_the_writer_stats_come_from_the_journal_when_metrics_leave_writer_empty():
    journal = [dict(epoch=NOW - 40, line="[Writer] Stats: {'total_written': 120, 'files_written': 3, 'pending_events': 0, "
                                         "'active_buffers': 2, 'write_failures': 4, 'verification_failures': 1, 'drain_mode': 'normal'}"),
               dict(epoch=NOW - 5, line="[Writer] Stats: {'write_failures': __import__('os').system('id')}")]  # never evaluated
    col = qf.collector_facts({}, dict(writer={}), None, journal, NOW)
    assert (col["write_failures"], col["verification_failures"], col["total_written"]) == (4, 1, 120)
    assert col["writer_stats_source"] == "journal [Writer] Stats"
    col = qf.collector_facts({}, dict(writer=dict(write_failures=2, verification_failures=0)), None, journal, NOW)
    assert (col["write_failures"], col["writer_stats_source"]) == (2, "metrics")
    assert qf.collector_facts({}, {}, None, [], NOW)["writer_stats_source"] is None


def test_writer_failures_after_the_last_good_write_are_a_cause_and_before_it_are_not():
    failing = [dict(epoch=NOW - 3, line="[Writer] SPOOL WRITE FAILED: binance/bbo/btcusdt - [Errno 13] Permission denied")]
    col = qf.collector_facts(dict(last_write_ts=(NOW - 10) * 1000), {}, None, failing, NOW)
    causes = qf.collector_causes(col, qf.DEFAULT_LIMITS)
    assert causes == ["collector writer failing since its last good write (1 failure line(s) in its journal, last: "
                      "[Writer] SPOOL WRITE FAILED: binance/bbo/btcusdt - [Errno 13] Permission denied)"]
    recovered = qf.collector_facts(dict(last_write_ts=(NOW - 1) * 1000), {}, None, failing, NOW)
    assert qf.collector_causes(recovered, qf.DEFAULT_LIMITS) == []
    assert recovered["journal_write_failures"] == 1


def test_an_old_last_write_a_full_queue_and_a_bad_state_are_causes():
    metrics = dict(queue_size=95000, queue_maxsize=100000, queue_utilization_pct=95.0)
    col = qf.collector_facts(dict(last_write_ts=(NOW - 400) * 1000, uptime=1000), metrics, dict(state="ERROR"), [], NOW)
    causes = qf.collector_causes(col, qf.DEFAULT_LIMITS)
    assert causes == ["collector's last write was 7min ago (more than 300s)",
                      "collector queue 95.0% full (95000 of 100000)", "collector /status state ERROR"]
    never = qf.collector_facts(dict(last_write_ts=0, uptime=1000), {}, None, [], NOW)
    assert qf.collector_causes(never, qf.DEFAULT_LIMITS) == ["collector has written nothing in 17min of uptime"]
    young = qf.collector_facts(dict(last_write_ts=0, uptime=10), {}, None, [], NOW)
    assert qf.collector_causes(young, qf.DEFAULT_LIMITS) == []


def test_a_read_only_spool_makes_the_host_unhealthy_with_the_cause_named():
    facts = healthy_facts()
    facts["collector"]["spool"].update(mode="0550", writable_by_user=False)
    out = qf.health(facts)
    assert not out["healthy"]
    assert out["causes"] == ["collector spool directory /opt/quantlab/spool is not writable by deploy (mode 0550, owner deploy (uid 1000)): "
                             "the writer cannot write"]
    facts["collector"]["spool"].update(writable_by_user=False, read_only_fs=True, free_bytes=1024)
    causes = qf.health(facts)["causes"]
    assert "collector spool /opt/quantlab/spool is on a read-only filesystem" in causes
    assert "collector spool /opt/quantlab/spool has 1.0 KB free, below 100 MB" in causes
    facts["collector"]["spool"] = dict(path="/opt/quantlab/spool", exists=False)
    assert qf.health(facts)["causes"][0].startswith("collector spool directory /opt/quantlab/spool is missing")


def test_a_critical_service_down_is_a_cause_and_a_non_critical_one_a_notice():
    facts = healthy_facts()
    facts["services"]["featurexd"]["unit"].update(active_state="activating", sub_state="auto-restart", result="exit-code")
    facts["services"]["console"]["health"] = dict(healthy=False, status=None, latency_s=0.001, path="/",
                                                  error="connection refused (nothing listens on the port)")
    out = qf.health(facts)
    assert out["causes"] == ["featurexd: unit quantlab-featurexd is activating (auto-restart), result exit-code"]
    assert out["notices"] == ["console: / answers connection refused (nothing listens on the port)"]


def test_env_files_cron_runs_and_the_ml_log_are_judged():
    facts = healthy_facts()
    facts["env_files"][0].update(mode="0644", problem="mode 0644, not 0600: a file with a token must be readable by its owner only")
    facts["env_files"].append(dict(path="/home/deploy/quantlab-backend/core/.env", exists=False))
    facts["cron"] = dict(path="/etc/cron.d/quantlab-ml", present=False, problem="/etc/cron.d/quantlab-ml does not exist")
    facts["runs"] = dict(status=401, error="status 401, expected 200")
    facts["ml_log"].update(size=100, age_s=30 * 3600)
    out = qf.health(facts)
    assert out["causes"] == [
        "observer-api /api/runs: status 401, expected 200",
        "env file /etc/quantlab/replayd.env: mode 0644, not 0600: a file with a token must be readable by its owner only",
        "env file /home/deploy/quantlab-backend/core/.env is missing",
        "cron entry missing: /etc/cron.d/quantlab-ml does not exist"]
    assert out["notices"] == ["ML log /var/log/quantlab-ml.log last written 30.0h ago: the daily ML run may not be running"]


def test_the_table_has_a_line_per_service_then_the_collector_runs_cron_log_and_env_files():
    lines = qf.table(healthy_facts())
    assert lines[0].split() == ["service", "unit", "state", "http", "latency", "/", "error"]
    assert lines[1].split() == ["replayd", "quantlab-replayd", "active/running", "200", "4", "ms", "/health"]
    assert lines[5].startswith("collector: queue 3/100000 (0.0%), writer errors - (not reported), failure lines 0, last write 2.0s ago, state READY")
    assert lines[6] == "spool: /opt/quantlab/spool 0750, 50.0 GB free, writable by deploy"
    assert lines[7] == "runs: 2 listed, 0 active, newest r2 (30.0s ago)"
    assert lines[-1] == "env files: 3 of 3 present with mode 0600"


def test_ss_output_is_read_into_ports_and_their_holders():
    rows = qf.listeners(SS)
    assert rows[0] == dict(address="0.0.0.0", port=3051, holders=[dict(name="python3", pid=4242)])
    assert rows[1]["holders"] == [dict(name="node", pid=17), dict(name="node", pid=18)]
    assert rows[2]["address"] == "[::]" and rows[2]["port"] == 22
    assert qf.listeners("") == [] and qf.listeners("garbage\nLISTEN x") == []


def test_the_start_findings_name_the_port_holder_as_the_likely_cause():
    deps = dict(endpoints=[dict(name="replayd", healthy=True)])
    out = qf.start_findings("featurexd", "quantlab-featurexd", port=3051, env_path="/etc/quantlab/featurexd.env",
                            env_stat=dict(exists=True, mode="0600", owner="root"), journal=["Error: listen EADDRINUSE: address already in use :::3051"],
                            socks=qf.listeners(SS), deps_health=deps)
    assert out["cause"] == "port 3051 is taken by another process, python3 (pid 4242): stop it or move it, then restart featurexd"
    assert "env file /etc/quantlab/featurexd.env present, mode 0600, owner root" in out["findings"]
    assert "dependency replayd healthy" in out["findings"]
    assert any("EADDRINUSE" in f for f in out["findings"])


def test_the_start_findings_without_a_port_holder_point_at_the_env_file_or_a_dependency():
    out = qf.start_findings("labeld", "quantlab-labeld", port=3061, env_path="/etc/quantlab/labeld.env", env_stat=dict(exists=False),
                            deps_health=dict(endpoints=[dict(name="featurexd", healthy=False, error="connection refused")]))
    assert "nothing listens on port 3061" in out["findings"]
    assert out["cause"] == ("its env file /etc/quantlab/labeld.env is missing: redeploy the role (quantops.runbooks.quantlab); "
                            "its dependency featurexd does not answer: restart it first")
    socks = qf.listeners("LISTEN 0 5 0.0.0.0:3061 0.0.0.0:* users:((\"node\",pid=77,fd=3))")
    out = qf.start_findings("labeld", "quantlab-labeld", port=3061, env_path="/etc/quantlab/labeld.env", socks=socks,
                            env_stat=dict(exists=True, mode="0644"), main_pid=77)
    assert "port 3061 is held by labeld itself (pid 77)" in out["findings"]
    assert "env file /etc/quantlab/labeld.env has mode 0644: a file with a token must be 0600" in out["findings"]
    assert out["cause"] == "its env file /etc/quantlab/labeld.env has mode 0644, open to others: chmod 0600 it (or redeploy the role)"
    out = qf.start_findings("labeld", "quantlab-labeld", port=3061, socks=socks, main_pid=77, journal=["Listening"])
    assert out["cause"] == "no probe explains it: read the last journal lines (journalctl -u quantlab-labeld -n 50)"


def _ts(facts, service, **more):
    facts = copy.deepcopy(facts)
    facts["troubleshoot"] = dict(dict(service=service, journal=["started"], listeners=[]), **more)
    return facts


def test_troubleshooting_a_healthy_service_finds_no_problem():
    facts = healthy_facts()
    socks = qf.listeners("LISTEN 0 5 0.0.0.0:3051 0.0.0.0:* users:((\"node\",pid=12,fd=3))")
    out = qf.troubleshoot(_ts(facts, "featurexd", listeners=socks))
    assert out["ok"] and out["cause"] == "no problem found: featurexd is active and healthy"
    assert out["findings"][:3] == ["unit quantlab-featurexd active/running, main pid 12, restarts 0, result success",
                                   "its health /health: healthy (200)", "port 3051 is held by featurexd itself (pid 12)"]
    assert "dependency replayd healthy" in out["findings"]


def test_troubleshooting_a_service_with_a_thief_on_its_port_and_a_wrong_env_mode():
    facts = healthy_facts()
    facts["services"]["featurexd"]["unit"].update(active_state="activating", sub_state="auto-restart", main_pid=None)
    facts["env_files"][2].update(mode="0644", problem="mode 0644, not 0600")
    out = qf.troubleshoot(_ts(facts, "featurexd", listeners=qf.listeners(SS)))
    assert not out["ok"]
    assert out["findings"][0] == "unit quantlab-featurexd activating/auto-restart, main pid -, restarts 0, result success"
    assert out["cause"] == ("port 3051 is taken by another process, python3 (pid 4242): stop it or move it, then restart featurexd; "
                            "its env file /etc/quantlab/featurexd.env has mode 0644, open to others: chmod 0600 it (or redeploy the role)")


def test_replay_not_returning_data_checks_the_names_only_and_says_what_it_skipped():
    facts = healthy_facts()
    names = dict(S3_COMPACT_ENDPOINT="empty", S3_COMPACT_ACCESS_KEY="absent", S3_COMPACT_SECRET_KEY="absent", S3_COMPACT_BUCKET="set",
                 LOCAL_DATA_DIR="absent")
    out = qf.troubleshoot(_ts(facts, "replayd", env_names=names))
    assert not out["ok"]
    assert out["cause"].startswith("replayd has neither LOCAL_DATA_DIR nor all of S3_COMPACT_ENDPOINT, S3_COMPACT_ACCESS_KEY, "
                                   "S3_COMPACT_SECRET_KEY set in /etc/quantlab/replayd.env")
    assert out["skipped"][0].startswith("S3 connectivity (core/replay/tools/verify-credentials.js) and the dataset listing")
    names["LOCAL_DATA_DIR"] = "set"
    assert qf.troubleshoot(_ts(facts, "replayd", env_names=names))["ok"]
    names.update(LOCAL_DATA_DIR="absent", S3_COMPACT_ENDPOINT="set", S3_COMPACT_ACCESS_KEY="set", S3_COMPACT_SECRET_KEY="set")
    assert qf.troubleshoot(_ts(facts, "replayd", env_names=names))["ok"]


def test_collector_not_writing_names_the_spool_and_the_writer():
    facts = healthy_facts()
    facts["collector"]["spool"].update(mode="0550", writable_by_user=False)
    out = qf.troubleshoot(_ts(facts, "collector"))
    assert not out["ok"]
    assert out["cause"].startswith("collector spool directory /opt/quantlab/spool is not writable by deploy (mode 0550")
    assert any(f.startswith("queue 3 of 100000 (0.0%)") for f in out["findings"])
    assert any(f.startswith("writer: None write failures") for f in out["findings"])


def test_the_outcomes_of_the_flows():
    assert qf.health_outcome(dict(unreachable=True, msg="ssh: timed out"))["status"] == "UNREACHABLE"
    bad = qf.health_outcome(dict(failed=True, msg="quantlab_probe: services is empty"))
    assert (bad["status"], bad["summary"]) == ("FAILED", "the probe failed: quantlab_probe: services is empty")
    result = dict(qf.health(healthy_facts()), **healthy_facts())
    result["table"] = qf.table(healthy_facts())
    good = qf.health_outcome(result)
    assert (good["status"], good["summary"]) == ("HEALTHY", "healthy")
    assert good["report"]["status"] == "HEALTHY" and good["report"]["collector"]["queue_size"] == 3
    result.update(healthy=False, causes=["a", "b"])
    assert qf.health_outcome(result)["summary"] == "a; b"
    ts = dict(ok=False, cause="port taken", findings=["x"], skipped=[], troubleshoot=dict(journal=["l%d" % i for i in range(50)]))
    out = qf.troubleshoot_outcome(ts)
    assert out["status"] == "PROBLEM" and out["lines"] == ["likely cause: port taken", "finding: x"] + ["journal: l%d" % i for i in range(45, 50)]
    ts.update(ok=True, cause="no problem found")
    assert qf.troubleshoot_outcome(ts)["lines"] == ["likely cause: no problem found", "finding: x"]
