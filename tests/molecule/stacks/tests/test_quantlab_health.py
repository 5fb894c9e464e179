"""quantlab_health on the QuantLab host: healthy with values that match what the host itself says (each unit's MainPID,
the collector's own /metrics, the spool's mode, the run manifests on disk, the env files' modes), the JSON report on
the control node, unhealthy with the cause named once the collector's spool directory is read-only (then put back and
healthy again), and no token of the env files in the output at -vvv."""

import json
import os
import tempfile

import testinfra.utils.ansible_runner
from conftest import tokens, wait_for
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("quantlab")[:1]
SPOOL = "/opt/quantlab/spool"
RUNS = "/home/deploy/quantlab-backend/services/strategyd/runs"


def health(host, *extra):
    """(exit code, output with its whitespace folded: the YAML callback wraps long lines)."""
    rc, out = playbook("quantlab_health", "--limit", host.backend.host, *extra)
    return rc, " ".join(out.split())


def test_a_healthy_host_is_reported_with_the_hosts_own_values_and_a_json_report(host):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "health.json")
        rc, out = health(host, "-e", "report=%s" % path)
        assert rc == 0, out
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        with open(path, encoding="utf-8") as f:
            report = json.load(f)[host.backend.host]
    assert "HEALTHY: healthy" in out and "all 1 host(s) OK" in out
    assert report["status"] == "HEALTHY" and report["causes"] == []
    # what the host says itself, read in one command: MainPIDs, the collector's /metrics, the spool's mode, the run
    # manifests on disk, the cron line, the ML log's size and the env files' modes
    units = [svc["unit"]["unit"] for svc in report["services"].values()]
    env_files = dict((f["path"], f["mode"]) for f in report["env_files"])
    said = host.check_output(" && echo @@ && ".join([
        "systemctl show -p MainPID --value %s | xargs" % " ".join(units), "curl -fsS http://127.0.0.1:9100/metrics",
        f"stat -c 0%a {SPOOL}", f"ls {RUNS} | grep -c '[.]json$'", "grep -c run_daily_ml.js /etc/cron.d/quantlab-ml",
        "stat -c %s /var/log/quantlab-ml.log", "stat -c '%%n 0%%a' %s | xargs" % " ".join(env_files)])).split("@@")
    pids, metrics, spool_mode, runs, cron, ml_size, modes = [part.strip() for part in said]
    assert [svc["unit"]["main_pid"] for svc in report["services"].values()] == [int(pid) for pid in pids.split()]
    assert all(int(pid) > 0 for pid in pids.split())
    assert report["services"]["observer-api"]["health"]["path"] == "/ping"
    col = report["collector"]
    assert col["queue_maxsize"] == json.loads(metrics)["queue_maxsize"]
    assert col["last_write_age_s"] is not None and col["last_write_age_s"] < 60
    assert col["spool"]["mode"] == spool_mode and col["spool"]["writable_by_user"]
    # observer-api lists the newest 50 runs unless asked for more (/api/runs?limit=N): a lab that ran long has more
    assert report["runs"]["count"] == min(int(runs), 50) and report["cron"]["present"] and int(cron) == 1
    assert report["ml_log"]["size"] == int(ml_size)
    assert len(env_files) == 11
    words = modes.split()
    assert dict(zip(words[::2], words[1::2], strict=True)) == env_files == dict((path, "0600") for path in env_files)


def test_a_read_only_spool_makes_the_host_unhealthy_with_the_cause_named(host):
    mode = host.check_output(f"stat -c %a {SPOOL}")
    try:
        host.run_expect([0], f"chmod 0550 {SPOOL}")
        rc, out = health(host)
        assert rc != 0, out
        assert f"UNHEALTHY: collector spool directory {SPOOL} is not writable by deploy (mode 0550" in out
        assert "1 of 1 host(s) not OK" in out
    finally:
        host.run_expect([0], f"chmod {mode} {SPOOL}")
    wait_for(lambda: health(host)[0] == 0, timeout=60, interval=2, what="quantlab_health healthy again")


def test_no_token_reaches_the_output_even_at_vvv(host):
    rc, out = health(host, "-vvv")
    assert rc == 0, out
    assert "writable_by_user" in out  # the module's whole result is in the output at -vvv
    for token in tokens(host):
        assert token not in out
