"""QuantLab as the role deployed it, checked from outside: units, ports, auth, start order, env files, cron.

The contracts checked are the real services' (alisitki/quantlab-backend@115a7dd, see
tests/lab/apps/quantlab-backend/FIDELITY.md), not the runbook's where the two disagree.
"""

import json
import os
import time

import pytest
import testinfra.utils.ansible_runner
from conftest import wait_for

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("quantlab")

APP = "/home/deploy/quantlab-backend"  # a link to the current release (quantops.runbooks.app_release)
SHARED = "/home/deploy/quantlab-shared"
UNITS = ["quantlab-replayd", "quantlab-collector", "quantlab-featurexd", "quantlab-strategyd", "quantlab-labeld",
         "quantlab-backtestd", "quantlab-worker", "quantlab-observer-core", "quantlab-observer", "quantlab-console-ui"]
JOB = "0" * 64
# service -> (port, open health path, body status)
OPEN_HEALTH = {
    "replayd": (3030, "/health", "ok"),
    "collector": (9100, "/health", "ok"),
    "featurexd": (3051, "/health", "ok"),
    "strategyd": (3031, "/health", "ok"),
    "labeld": (3061, "/health", "ok"),
    "backtestd": (3041, "/health", "ok"),
    "observer-api": (3000, "/ping", "pong"),
}
# service -> (port, a read-only path that needs the token, token variable, status with the token)
AUTH = {
    "replayd": (3030, "/metrics", "quantlab_replayd_token", 200),
    "strategyd": (3031, "/runs", "quantlab_strategyd_token", 200),
    "backtestd": (3041, f"/backtests/{JOB}", "quantlab_backtestd_token", 404),
    "featurexd": (3051, f"/features/{JOB}", "quantlab_featurexd_token", 404),
    "labeld": (3061, f"/labels/{JOB}", "quantlab_labeld_token", 404),
    "observer-api": (3000, "/api/runs", "quantlab_observer_token", 200),
    "observer": (9150, "/observer/health", "quantlab_observer_token", 200),
}
# unit -> the units it is ordered after
ORDER = {
    "quantlab-featurexd": ["quantlab-replayd"],
    "quantlab-strategyd": ["quantlab-replayd"],
    "quantlab-labeld": ["quantlab-featurexd"],
    "quantlab-backtestd": ["quantlab-replayd", "quantlab-strategyd"],
    "quantlab-worker": ["quantlab-strategyd"],
    "quantlab-observer-core": ["quantlab-strategyd"],
    "quantlab-observer": ["quantlab-strategyd"],
    "quantlab-console-ui": ["quantlab-observer", "quantlab-replayd", "quantlab-strategyd", "quantlab-backtestd"],
}
# unit -> the line it logs once it listens (None: it logs to a file, not the journal)
LISTENING = {
    "quantlab-replayd": "replayd v1.2 running on 0.0.0.0:3030",
    "quantlab-collector": "Multi-Exchange Futures Data Collector",
    "quantlab-featurexd": "[FEATUREXD] Started. PID=",
    "quantlab-strategyd": "Strategyd API running on port 3031",
    "quantlab-labeld": "[LABELD] Started. PID=",
    "quantlab-backtestd": "[BACKTESTD] Started. PID=",
    "quantlab-observer-core": "[observer] listening on 9150",
    "quantlab-observer": None,
}


def get(host, port, path, token=None):
    """(status, body) of GET http://127.0.0.1:port/path on the host, with a Bearer token if given."""
    header = f"-H 'Authorization: Bearer {token}' " if token else ""
    out = host.check_output(f"curl -s -o /tmp/.body -w '%{{http_code}}' {header}'http://127.0.0.1:{port}{path}'; echo; cat /tmp/.body")
    code, body = out.split("\n", 1)
    return int(code), body


def token(host, var):
    return host.ansible.get_variables()[var]


def show(host, unit, prop):
    return host.check_output(f"systemctl show -p {prop} --value {unit}")


def journal(host, unit):
    """The current invocation's journal of a unit, as (monotonic usec, message) pairs."""
    inv = show(host, unit, "InvocationID")
    out = host.check_output(f"journalctl -u {unit}.service _SYSTEMD_INVOCATION_ID={inv} -o json --no-pager")
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [(int(e["__MONOTONIC_TIMESTAMP"]), e["MESSAGE"]) for e in entries if isinstance(e.get("MESSAGE"), str)]


@pytest.mark.parametrize("unit", UNITS)
def test_unit_enabled_and_running(host, unit):
    svc = host.service(unit)
    assert svc.is_running and svc.is_enabled


@pytest.mark.parametrize("service", sorted(OPEN_HEALTH))
def test_health_is_open_and_ok(host, service):
    port, path, status = OPEN_HEALTH[service]
    code, body = get(host, port, path)
    assert code == 200, body
    assert json.loads(body)["status"] == status


def test_observer_api_has_no_health_route(host):
    assert get(host, 3000, "/health")[0] == 404


@pytest.mark.parametrize("service", sorted(AUTH))
def test_routes_but_health_need_the_token(host, service):
    port, path, var, status = AUTH[service]
    assert get(host, port, path)[0] == 401
    assert get(host, port, path, "not-the-token")[0] == 401
    assert get(host, port, path, token(host, var))[0] == status


def test_fastify_services_also_take_the_token_as_a_query_parameter(host):
    assert get(host, 3031, f"/runs?token={token(host, 'quantlab_strategyd_token')}")[0] == 200
    assert get(host, 3031, "/runs?token=not-the-token")[0] == 401


@pytest.mark.parametrize("port", [3030, 3031, 3041, 3051, 3061, 9100, 3000, 9150, 8080])
def test_services_listen_on_every_address(host, port):
    """As the real ones do (0.0.0.0, or node's default): the operator's firewall decides who reaches them."""
    listeners = host.check_output(f"ss -ltnH 'sport = :{port}'")
    assert any(f"{a}:{port}" in listeners for a in ("0.0.0.0", "*", "[::]")), listeners


@pytest.mark.parametrize("unit", sorted(ORDER))
def test_started_after_its_dependencies_answered(host, unit):
    """No service checks another, so the order is the role's: each unit's process started only after every unit it
    depends on had logged that it listens (observer-api logs to a file: there, only the start times are compared)."""
    started = int(show(host, unit, "ExecMainStartTimestampMonotonic"))
    for dep in ORDER[unit]:
        line = LISTENING[dep]
        if line is None:
            assert started > int(show(host, dep, "ExecMainStartTimestampMonotonic")), dep
            continue
        when = [t for t, msg in journal(host, dep) if line in msg]
        assert when, f"{dep} never logged {line!r} in its current invocation"
        assert started > when[0], f"{unit} started before {dep} listened"


@pytest.mark.parametrize(("unit", "line"), [(u, w) for u, w in LISTENING.items() if w])
def test_startup_line_in_the_journal(host, unit, line):
    assert any(line in entry[1] for entry in journal(host, unit))


def test_observer_api_logs_to_its_server_log(host):
    unit = host.check_output("systemctl cat quantlab-observer").splitlines()
    log_path = f"{SHARED}/core/observer-api/server.log"
    assert {f"StandardOutput=append:{log_path}", f"StandardError=append:{log_path}"} <= set(unit)
    # the runbook's path is the same file, through the release's link
    assert host.check_output(f"readlink -f {APP}/core/observer-api/server.log") == log_path
    log = host.file(log_path).content_string
    # the code resolves core/.env from its own (real) location: the release's, a link to the shared file
    release = host.check_output(f"readlink {APP}")
    assert f"[CONFIG] Loaded .env from: {release}/core/.env" in log
    assert host.check_output(f"readlink {release}/core/.env") == f"{SHARED}/core/.env"
    assert "Listening on http://0.0.0.0:3000" in log


def test_the_app_dir_is_a_link_to_a_release_checked_out_at_the_deployed_commit(host):
    release = host.check_output(f"readlink {APP}")
    assert release.startswith("/home/deploy/quantlab-releases/")
    assert host.check_output(f"sudo -u deploy git -C {release} rev-parse HEAD") == release.rsplit("/", 1)[1]
    for rel in ("core/.env", "core/research/jobs.jsonl", "services/strategyd/runs", "services/labeld/datasets"):
        assert host.check_output(f"readlink {release}/{rel}") == f"{SHARED}/{rel}"
    assert host.file(f"{SHARED}/services/strategyd/runs").user == "deploy"


def test_observer_api_refuses_to_start_without_observer_mode(host):
    cmd = host.run(f"cd {APP}/core/observer-api && sudo -u deploy env OBSERVER_MODE=0 OBSERVER_PORT=3999 timeout 10 node index.js")
    assert cmd.rc == 1
    assert "CRITICAL: OBSERVER_MODE=1 is required to start the API." in cmd.stderr


def test_strategyd_finished_its_replay_run(host):
    messages = [entry[1] for entry in journal(host, "quantlab-strategyd")]
    assert "[ReplayStreamClient] TERMINAL: EMPTY_STREAM received. Stopping." in messages
    assert any(m.startswith("[RuntimeAdapterV2] run_id=") and "action=manifest_saved" in m for m in messages)


def test_collector_metrics_and_runs(host):
    metrics = json.loads(get(host, 9100, "/metrics")[1])
    assert isinstance(metrics["queue_size"], int) and "files_written" in metrics["writer"]
    runs = json.loads(get(host, 3000, "/api/runs", token(host, "quantlab_observer_token"))[1])
    # every *.json of strategyd's runs/, its index.json (an array) included: pick the manifests by run_id
    manifests = [r for r in runs["runs"] if isinstance(r, dict) and "run_id" in r]
    assert runs["count"] == len(runs["runs"]) and manifests and manifests[0]["ended_reason"] == "finished"
    ids = json.loads(get(host, 3031, "/runs", token(host, "quantlab_strategyd_token"))[1])
    assert {m["run_id"] for m in manifests} <= set(ids["runs"])


def test_units_are_ordered_by_the_runbook_dependencies(host):
    def after(unit):
        return show(host, unit, "After").split()
    assert "quantlab-featurexd.service" in after("quantlab-labeld")
    assert {"quantlab-replayd.service", "quantlab-strategyd.service"} <= set(after("quantlab-backtestd"))
    assert "quantlab-observer.service" in after("quantlab-console-ui")


@pytest.mark.parametrize(("unit", "props"), [
    ("quantlab-replayd", {"WorkingDirectory": f"{APP}/services/replayd", "Restart": "always", "RestartUSec": "5s",
                          "EnvironmentFiles": "/etc/quantlab/replayd.env (ignore_errors=no)"}),
    ("quantlab-worker", {"WorkingDirectory": APP, "Restart": "always", "RestartUSec": "2s", "LimitNOFILE": "104857",
                         "EnvironmentFiles": "/etc/quantlab/worker.env (ignore_errors=no)"}),
    ("quantlab-console-ui", {"WorkingDirectory": f"{APP}/console-ui", "Restart": "always", "LimitNOFILE": "104857",
                             "EnvironmentFiles": "/etc/quantlab/console.env (ignore_errors=no)"}),
    ("quantlab-observer", {"WorkingDirectory": f"{APP}/core/observer-api", "Restart": "always",
                           "Environment": "OBSERVER_MODE=1 OBSERVER_PORT=3000", "StandardOutput": "append"}),
    ("quantlab-strategyd", {"WorkingDirectory": f"{APP}/services/strategyd", "TimeoutStopUSec": "10s", "SendSIGKILL": "yes"}),
])
def test_units_are_shaped_like_the_real_ones(host, unit, props):
    for prop, value in props.items():
        assert show(host, unit, prop) == value, prop


@pytest.mark.parametrize(("unit", "argv"), [
    ("quantlab-replayd", f"/usr/bin/node {APP}/services/replayd/server.js"),
    ("quantlab-worker", "/usr/bin/env node core/worker/job_worker.js --poll_ms 2000 --max_retries 3 --backoff_ms 2000"),
    ("quantlab-console-ui", "/usr/bin/env npm run start"),
])
def test_exec_start_is_the_real_units(host, unit, argv):
    assert f"argv[]={argv} ;" in show(host, unit, "ExecStart")


@pytest.mark.parametrize(("path", "owner"), [
    *[(f"/etc/quantlab/{name}.env", "root")
      for name in ("replayd", "worker", "console", "collector", "featurexd", "strategyd", "labeld", "backtestd", "observer", "observer-api")],
    (f"{SHARED}/core/.env", "deploy")])
def test_env_files_are_private(host, path, owner):
    f = host.file(path)
    assert (f.user, f.mode) == (owner, 0o600)


def test_env_files_carry_the_tokens_and_flags_the_code_reads(host):
    def lines(path):
        return host.file(path).content_string.splitlines()
    assert f'REPLAYD_TOKEN="{token(host, "quantlab_replayd_token")}"' in lines("/etc/quantlab/replayd.env")
    assert f'STRATEGYD_TOKEN="{token(host, "quantlab_strategyd_token")}"' in lines("/etc/quantlab/strategyd.env")
    assert {'API_PORT="9100"', 'SPOOL_DIR="/opt/quantlab/spool"'} <= set(lines("/etc/quantlab/collector.env"))
    assert 'REPLAYD_URL="http://127.0.0.1:3030"' in lines("/etc/quantlab/strategyd.env")
    assert 'PORT="8080"' in lines("/etc/quantlab/console.env")
    assert 'EXECUTION_STREAMING_MAXDD="1"' in lines("/etc/quantlab/worker.env")
    assert f'OBSERVER_TOKEN="{token(host, "quantlab_observer_token")}"' in lines("/etc/quantlab/observer-api.env")
    # and the running processes really got them
    for unit, var in (("quantlab-strategyd", "EXECUTION_STREAMING_MAXDD=1"), ("quantlab-backtestd", "EXECUTION_STREAM_FILLS=1"),
                      ("quantlab-observer", f"OBSERVER_TOKEN={token(host, 'quantlab_observer_token')}")):
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{show(host, unit, 'MainPID')}/environ")
        assert var in environ.splitlines(), unit


def test_daily_ml_cron_entry_and_its_command(host):
    cron = host.file("/etc/cron.d/quantlab-ml").content_string
    line = f"15 0 * * * deploy cd {APP}/core && node scheduler/run_daily_ml.js >> /var/log/quantlab-ml.log 2>&1"
    assert line in cron.splitlines()
    log = host.file("/var/log/quantlab-ml.log")
    assert log.user == "deploy"
    # what cron would run, as deploy, in dry-run mode
    host.run_expect([0], f"sudo -u deploy sh -c 'cd {APP}/core && node scheduler/run_daily_ml.js --symbol btcusdt --date 20260115 --dry-run'")


def test_zz_strategyd_needs_sigkill_while_its_run_waits_for_replayd(host):
    """strategyd started with replayd down retries it; a stop then hangs in its SIGTERM handler until the unit's
    TimeoutStopSec sends SIGKILL. Runs last in this file: it restarts strategyd after the order checks."""
    try:
        host.run_expect([0], "systemctl stop quantlab-replayd")
        # --job-mode=ignore-dependencies: Wants= would start replayd again with strategyd
        host.run_expect([0], "systemctl restart --job-mode=ignore-dependencies quantlab-strategyd")
        wait_for(lambda: any("STREAM_RECONNECTING" in entry[1] for entry in journal(host, "quantlab-strategyd")), timeout=20,
                 what="strategyd retrying replayd")
        t0 = time.monotonic()
        host.run_expect([0], "systemctl stop quantlab-strategyd")
        took = time.monotonic() - t0
        assert took >= 9, f"strategyd stopped after {took:.1f} s: it should have hung until SIGKILL"
        assert show(host, "quantlab-strategyd", "Result") == "timeout"
        messages = host.check_output("journalctl -u quantlab-strategyd.service -n 30 -o cat --no-pager")
        assert "Shutting down..." in messages and "Killing" in messages
    finally:
        host.run("systemctl start quantlab-replayd")
        wait_for(lambda: get(host, 3030, "/health")[0] == 200, timeout=30, what="replayd back")
        host.run("systemctl start quantlab-strategyd")
        wait_for(lambda: get(host, 3031, "/health")[0] == 200, timeout=30, what="strategyd back")
