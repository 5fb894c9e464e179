"""quantlab_ml_run on the QuantLab host, run from the control node as an operator runs it: the runbook's forced dry run
succeeds as the deploy user, its exit code and duration in the summary, its output appended to the ML log on the host
(read there: the bytes it says it added, the scheduler's own header, the log still the deploy user's); and while another
run of the scheduler is active (started here as the deploy user with the cron's command line, held by the stand-in's
lab-only ML_STUB_HOLD_S), the flow refuses, names its pid, and runs nothing. Both at -vvv without any token of
/etc/quantlab/*.env in the output."""

import os
import re
import subprocess
from pathlib import Path

import testinfra.utils.ansible_runner
from conftest import token_values, wait_for

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = Path(__file__).resolve().parents[4]
PLAYBOOK = REPO / "playbooks" / "quantlab_ml_run.yml"
QL = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("quantlab")[0]
testinfra_hosts = [QL]
ML_LOG = "/var/log/quantlab-ml.log"
CORE = "/home/deploy/quantlab-backend/core"
HOLD_UNIT = "qo-test-ml-hold"


def run_flow(*extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    argv = ["ansible-playbook", "-vvv", "-i", INVENTORY, str(PLAYBOOK), "-e", "quantlab_hosts=%s" % QL]
    for e in extra:
        argv += ["-e", e]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    return out.returncode, out.stdout + out.stderr, " ".join((out.stdout + out.stderr).split())


def test_the_forced_dry_run_succeeds_as_deploy_and_appends_its_output_to_the_ml_log(host):
    size, env_files = host.check_output(f"stat -c %s {ML_LOG}; cat /etc/quantlab/*.env").split("\n", 1)
    rc, out, flat = run_flow("symbol=btcusdt", "date=20260115")
    assert rc == 0, out[-3000:]
    m = re.search(r"%s +SUCCEEDED +exit 0 after ([0-9.]+)s: `/usr/bin/node scheduler/run_daily_ml.js --symbol btcusdt --date 20260115 "
                  r"--dry-run` as deploy, (\d+) bytes appended to %s" % (QL, ML_LOG), flat)
    assert m, flat[-3000:]
    for token in token_values(env_files):
        assert token not in out
    # what the run appended, read on the host, and the log's owner and mode; the lock's directory removed (as found)
    owner, new = host.check_output(f"stat -c %U:%a {ML_LOG}; tail -c +{int(size) + 1} {ML_LOG}; rm -rf /run/quantops").split("\n", 1)
    assert owner == "deploy:640", owner
    assert len(new.encode()) + 1 >= int(m.group(2)) > 0  # check_output drops the last newline
    assert "ML Daily Training Orchestrator v1" in new and "Mode: DRY RUN" in new and "Symbols: btcusdt" in new, new
    assert "Date: 20260115" in new and "[DRY RUN] No GPU instance launched." in new, new


def test_refused_while_another_scheduler_run_is_active(host):
    # the cron's command line, as the deploy user from core/, held for 300 s (the stand-in's lab-only knob)
    host.run_expect([0], f"systemd-run --quiet --unit={HOLD_UNIT} --uid=deploy --gid=deploy --working-directory={CORE} "
                         f"-E ML_STUB_HOLD_S=300 node scheduler/run_daily_ml.js --symbol ethusdt --dry-run")
    try:
        pid = wait_for(lambda: int(host.check_output(f"systemctl show -p MainPID --value {HOLD_UNIT}") or 0), timeout=20, what="the held run")
        size, env_files = host.check_output(f"stat -c %s {ML_LOG}; cat /etc/quantlab/*.env").split("\n", 1)
        rc, out, flat = run_flow("symbol=btcusdt", "date=20260115")
        assert rc != 0, out[-3000:]
        assert re.search(r"%s +REFUSED +the scheduler is already running \(pid %d as deploy" % (QL, pid), flat), flat[-3000:]
        for token in token_values(env_files):
            assert token not in out
        # nothing ran: the log did not grow, and the other run goes on
        assert host.check_output(f"stat -c %s {ML_LOG}; systemctl show -p MainPID --value {HOLD_UNIT}").split() == [size, str(pid)]
    finally:
        host.run(f"systemctl stop {HOLD_UNIT}; systemctl reset-failed {HOLD_UNIT}; rm -rf /run/quantops")
