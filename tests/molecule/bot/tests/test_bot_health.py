"""bot_health on the two bot hosts (h1 paper, h2 live): HEALTHY on both, its JSON report checked against what the
hosts say themselves (systemctl show, the sidecar's socket); then UNHEALTHY on the host whose sidecar is stopped
(its trader Requires= the sidecar, so it stops too), named on that host's line, with a non-zero exit, while the
other host stays HEALTHY."""

import json
import os
import re
import time

import pytest
import testinfra.utils.ansible_runner
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw")
testinfra_hosts = HOSTS
USER_SYSTEMCTL = "systemctl --user -M trader@"
SIDECAR = "openclaw-ai-quant-ws-sidecar"
TRADERS = ("openclaw-ai-quant-trader", "openclaw-ai-quant-live")
ASK = ("python3 -c 'import json,socket; s=socket.socket(socket.AF_UNIX); s.connect(\"/run/user/1000/openclaw-ai-quant-ws.sock\"); "
       "s.sendall(b\"{\\\"id\\\":1,\\\"method\\\":\\\"ws_stats\\\",\\\"params\\\":{}}\\n\"); print(s.makefile().readline())'")


def line(output, host):
    """The summary line of one host, folded back into one line (the YAML callback wraps it)."""
    flat = " ".join(output.split())
    m = re.search(r"['\"]?%s\s+(HEALTHY|UNHEALTHY|UNREACHABLE)\s(.*?)(?=['\"]?\s*-\s*['\"]?h\d+\s+(?:HEALTHY|UNHEALTHY|UNREACHABLE)|TASK \[)" % host, flat)
    assert m, "no summary line for %s in:\n%s" % (host, output[-3000:])
    return m.group(1), m.group(2)


def show(host, unit, prop):
    return host.check_output("%s show -p %s --value %s" % (USER_SYSTEMCTL, prop, unit))


def running_traders(host):
    return [u for u in TRADERS if show(host, u, "ActiveState") == "active"]


def wait_heartbeat(host, unit, since, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = host.run("journalctl _SYSTEMD_USER_UNIT=%s.service --since @%s -o cat --no-pager | grep -c 'engine ok'" % (unit, since))
        if out.stdout.strip() not in ("", "0"):
            return
        time.sleep(1)
    raise AssertionError("no heartbeat of %s since %s" % (unit, since))


@pytest.fixture(scope="module")
def healthy_run(tmp_path_factory):
    report = tmp_path_factory.mktemp("health") / "health.json"
    rc, output = playbook("bot_health", "-e", "report=%s" % report)
    return rc, output, report


def test_healthy_on_every_host_and_the_report_matches_the_hosts(host, healthy_run):
    rc, output, report = healthy_run
    name = host.backend.get_hostname()
    assert rc == 0, output[-3000:]
    status, text = line(output, name)
    assert status == "HEALTHY", text
    assert "sidecar connected" in text and "0 disconnects" in text
    assert oct(os.stat(str(report)).st_mode & 0o777) == "0o600"
    data = json.loads(report.read_text())[name]
    assert data["status"] == "HEALTHY" and data["problems"] == []
    # every running unit's process and invocation, as systemd itself gives them
    for unit in (SIDECAR, "openclaw-ai-quant-monitor", *running_traders(host)):
        assert data["units"][unit]["main_pid"] == int(show(host, unit, "MainPID")), unit
        assert data["units"][unit]["invocation_id"] == show(host, unit, "InvocationID"), unit
    # the sidecar's socket answers on the host, and said what the report holds
    stats = json.loads(host.check_output(ASK))
    assert stats["ok"] is True and stats["result"]["connected"] is True
    assert data["sidecar"]["socket"] == "/run/user/1000/openclaw-ai-quant-ws.sock"
    assert data["sidecar"]["ws_connect_attempt"] == stats["result"]["ws_connect_attempt"]
    assert data["sidecar"]["main_pid"] == int(show(host, SIDECAR, "MainPID"))
    # the config each running trader shows is the one on disk
    for unit in running_traders(host):
        assert data["traders"][unit]["config_in_force"] is True, data["traders"][unit]


def test_a_stopped_sidecar_makes_its_host_unhealthy_and_only_it(host):
    name = host.backend.get_hostname()
    if name != HOSTS[0]:
        pytest.skip("the sidecar of %s is the one stopped" % HOSTS[0])
    traders = running_traders(host)
    host.check_output("%s stop %s" % (USER_SYSTEMCTL, SIDECAR))
    try:
        assert show(host, traders[0], "ActiveState") != "active"  # Requires= took the trader down with it
        rc, output = playbook("bot_health")
        assert rc != 0
        status, text = line(output, name)
        assert status == "UNHEALTHY"
        assert "%s is inactive" % SIDECAR in text and "%s.service is inactive, not running" % SIDECAR in text, text
        assert "%s: inactive, not running" % traders[0] in text, text
        for other in HOSTS[1:]:
            assert line(output, other)[0] == "HEALTHY", output[-3000:]
        assert "1 of %d host(s) not OK: %s" % (len(HOSTS), name) in output
    finally:
        since = host.check_output("date +%s")
        host.check_output("%s start %s %s" % (USER_SYSTEMCTL, SIDECAR, " ".join(traders)))
        for unit in traders:
            wait_heartbeat(host, unit, since)
