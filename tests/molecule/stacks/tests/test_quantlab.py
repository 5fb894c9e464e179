"""QuantLab as the role deployed it, checked from outside: units, ports, tokens, order, env files, cron."""

import json
import os

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("quantlab")

APP = "/home/deploy/quantlab-backend"
UNITS = ["quantlab-replayd", "quantlab-collector", "quantlab-featurexd", "quantlab-strategyd", "quantlab-labeld",
         "quantlab-backtestd", "quantlab-worker", "quantlab-observer-core", "quantlab-observer", "quantlab-console-ui"]
# service -> (port, health path, token variable or None)
HTTP = {
    "replayd": (3030, "/health", None),
    "collector": (9100, "/health", None),
    "featurexd": (3051, "/health", "quantlab_featurexd_token"),
    "strategyd": (3031, "/health", "quantlab_strategyd_token"),
    "labeld": (3061, "/health", "quantlab_labeld_token"),
    "backtestd": (3041, "/health", "quantlab_backtestd_token"),
    "observer-api": (3000, "/ping", None),
    "console-ui": (8080, "/health", None),
}


def get(host, port, path, token=None):
    """(status, body) of GET http://127.0.0.1:port/path on the host."""
    header = f"-H 'Authorization: Bearer {token}' " if token else ""
    out = host.check_output(f"curl -s -o /tmp/.body -w '%{{http_code}}' {header}http://127.0.0.1:{port}{path}; echo; cat /tmp/.body")
    code, body = out.split("\n", 1)
    return int(code), body


def token(host, var):
    return host.ansible.get_variables()[var]


@pytest.mark.parametrize("unit", UNITS)
def test_unit_enabled_and_running(host, unit):
    svc = host.service(unit)
    assert svc.is_running and svc.is_enabled


@pytest.mark.parametrize("service", sorted(HTTP))
def test_healthy_on_its_port_and_started_in_order(host, service):
    port, path, var = HTTP[service]
    code, body = get(host, port, path, token(host, var) if var else None)
    assert code == 200, body
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health.get("start_order_ok", True) is True, f"{service} started before its dependencies were healthy"


@pytest.mark.parametrize("service", [s for s, spec in HTTP.items() if spec[2]])
def test_health_refuses_without_or_with_a_wrong_token(host, service):
    port, path = HTTP[service][:2]
    assert get(host, port, path)[0] == 401
    assert get(host, port, path, "not-the-token")[0] == 401


def test_collector_metrics_and_observer_runs(host):
    metrics = json.loads(get(host, 9100, "/metrics")[1])
    assert isinstance(metrics["queue_size"], int) and "files_written" in metrics["writer"]
    runs = json.loads(get(host, 3000, "/api/runs")[1])
    assert runs["total"] >= 1


def test_units_are_ordered_by_the_runbook_dependencies(host):
    def after(unit):
        return host.check_output(f"systemctl show -p After --value {unit}").split()
    assert "quantlab-featurexd.service" in after("quantlab-labeld")
    assert {"quantlab-replayd.service", "quantlab-strategyd.service"} <= set(after("quantlab-backtestd"))
    assert "quantlab-observer.service" in after("quantlab-console-ui")


@pytest.mark.parametrize(("path", "owner"), [("/etc/quantlab/replayd.env", "root"), ("/etc/quantlab/worker.env", "root"),
                                             ("/etc/quantlab/console.env", "root"), (f"{APP}/core/.env", "deploy")])
def test_env_files_are_private(host, path, owner):
    f = host.file(path)
    assert (f.user, f.mode) == (owner, 0o600)


def test_env_files_carry_the_tokens_and_flags(host):
    replayd = host.file("/etc/quantlab/replayd.env").content_string.splitlines()
    assert f'REPLAYD_TOKEN="{token(host, "quantlab_replayd_token")}"' in replayd
    dotenv = host.file(f"{APP}/core/.env").content_string.splitlines()
    assert f'STRATEGYD_TOKEN="{token(host, "quantlab_strategyd_token")}"' in dotenv
    assert 'EXECUTION_STREAMING_MAXDD="1"' in host.file("/etc/quantlab/worker.env").content_string.splitlines()
    status = json.loads(get(host, 3041, "/health", token(host, "quantlab_backtestd_token"))[1])
    assert status["execution"]["streaming_maxdd"] is True


def test_daily_ml_cron_entry_and_its_command(host):
    cron = host.file("/etc/cron.d/quantlab-ml").content_string
    line = f"15 0 * * * deploy cd {APP}/core && node scheduler/run_daily_ml.js >> /var/log/quantlab-ml.log 2>&1"
    assert line in cron.splitlines()
    log = host.file("/var/log/quantlab-ml.log")
    assert log.user == "deploy"
    # what cron would run, as deploy, in dry-run mode
    host.run_expect([0], f"sudo -u deploy sh -c 'cd {APP}/core && node scheduler/run_daily_ml.js --symbol btcusdt --date 20260115 --dry-run'")
