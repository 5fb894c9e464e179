"""openclaw-ai-quant as the role deployed it, checked from outside: units, environment, data, kill switch."""

import json
import os

import pytest
import testinfra.utils.ansible_runner
from conftest import wait_for

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw")

APP = "/home/trader/openclaw-ai-quant"
UNITS = ["openclaw-ai-quant-ws-sidecar", "openclaw-ai-quant-trader", "openclaw-ai-quant-live", "openclaw-ai-quant-monitor"]
INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}


def is_live(host):
    return "openclaw_live" in host.ansible.get_variables()["group_names"]


def trader_unit(host):
    return "openclaw-ai-quant-live" if is_live(host) else "openclaw-ai-quant-trader"


def trading_db(host):
    return f"{APP}/trading_engine_live.db" if is_live(host) else f"{APP}/trading_engine.db"


def user_systemctl(host, *args):
    return host.run("systemctl --user -M trader@ " + " ".join(args))


def sql(host, db, query):
    return host.check_output(f"sqlite3 -readonly {db} \"{query}\"")


def test_trader_lingers(host):
    assert host.file("/var/lib/systemd/linger/trader").exists


def test_units_installed_with_the_runbook_names(host):
    for unit in UNITS:
        f = host.file(f"/home/trader/.config/systemd/user/{unit}.service")
        assert f.exists and f.user == "trader", unit


def test_running_units_are_the_ones_asked_for(host):
    running = {"openclaw-ai-quant-ws-sidecar", "openclaw-ai-quant-monitor", trader_unit(host)}
    for unit in UNITS:
        state = user_systemctl(host, "is-active", unit).stdout.strip()
        enabled = user_systemctl(host, "is-enabled", unit).stdout.strip()
        if unit in running:
            assert (state, enabled) == ("active", "enabled"), unit
        else:
            assert state != "active" and enabled != "enabled", unit


def test_traders_are_shaped_like_the_bots_example_units(host):
    """systemd/openclaw-ai-quant-{trader,live}.service.example at 9603e63: After= and Requires= the sidecar,
    Restart=always, KillMode=process, python3 -u -m engine.daemon, AI_QUANT_MODE per unit."""
    modes = {"openclaw-ai-quant-trader": "paper", "openclaw-ai-quant-live": "dry_live"}
    for unit, mode in modes.items():
        props = dict(line.split("=", 1) for line in user_systemctl(
            host, "show", "-p", "After", "-p", "Requires", "-p", "Restart", "-p", "KillMode", "-p", "Environment", unit).stdout.splitlines())
        assert "openclaw-ai-quant-ws-sidecar.service" in props["After"].split()
        assert "openclaw-ai-quant-ws-sidecar.service" in props["Requires"].split()
        assert (props["Restart"], props["KillMode"]) == ("always", "process")
        assert f"AI_QUANT_MODE={mode}" in props["Environment"].split()
        exec_start = host.file(f"/home/trader/.config/systemd/user/{unit}.service").content_string
        assert "ExecStart=/usr/bin/python3 -u -m engine.daemon" in exec_start.splitlines()


def test_environment_file_is_private_and_complete(host):
    env_file = host.file("/home/trader/.config/openclaw-ai-quant/openclaw.env")
    assert (env_file.user, env_file.mode) == ("trader", 0o600)
    content = env_file.content_string
    for line in ('AI_QUANT_KILL_SWITCH_FILE="/tmp/ai-quant-kill"', 'AI_QUANT_RISK_MAX_ENTRY_ORDERS_PER_MIN="30"',
                 'AI_QUANT_RISK_MAX_ENTRY_ORDERS_PER_MIN_PER_SYMBOL="6"', 'AI_QUANT_CANDLE_PRUNE_DISABLE_INTERVALS="3m,5m"',
                 'AI_QUANT_WS_ENABLE_BBO="1"', 'AI_QUANT_BBO_SNAPSHOTS_ENABLE="1"', 'AI_QUANT_SIDECAR_SYMBOLS="BTC,ETH,SOL"',
                 'AI_QUANT_BBO_SNAPSHOTS_RETENTION_SWEEP_SECS="600"', 'AI_QUANT_SIDECAR_INTERVALS="1m,3m,5m,15m,1h"'):
        assert line in content.splitlines()
    # and the running trader really got it
    pid = user_systemctl(host, "show", "-p", "MainPID", "--value", trader_unit(host)).stdout.strip()
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
    assert "AI_QUANT_KILL_SWITCH_FILE=/tmp/ai-quant-kill" in environ.splitlines()


def test_repo_is_checked_out_with_its_history(host):
    head = host.check_output(f"sudo -u trader git -C {APP} log -1 --format=%s")
    assert head == "config: lower leverage to 3x"
    assert host.run(f"sudo -u trader git -C {APP} status --porcelain --untracked-files=no").stdout == ""


@pytest.mark.parametrize("interval", sorted(INTERVAL_MS))
def test_candles_are_fresh_aligned_and_growing(host, interval):
    db = f"{APP}/candles_dbs/candles_{interval}.db"
    query = "SELECT MAX(t), SUM(n), COUNT(*) FROM candles"
    first = [int(x) for x in sql(host, db, query).split("|")]
    now_ms = int(host.check_output("date +%s%3N"))
    latest = first[0]
    assert latest % INTERVAL_MS[interval] == 0
    assert now_ms - latest < 2 * INTERVAL_MS[interval]
    wait_for(lambda: int(sql(host, db, query).split("|")[1]) > first[1], timeout=10, what=f"{interval} candles to grow")


def test_bbo_and_funding_are_written(host):
    assert int(sql(host, f"{APP}/candles_dbs/bbo_snapshots.db", "SELECT COUNT(*) FROM bbo_snapshots")) > 0
    assert int(sql(host, f"{APP}/candles_dbs/funding_rates.db", "SELECT COUNT(DISTINCT symbol) FROM funding_rates")) == 3


def test_monitor_answers_on_loopback(host):
    """monitor/server.py on its real port (AIQ_MONITOR_PORT, 61010), bound to loopback only."""
    health = host.check_output("curl -fsS http://127.0.0.1:61010/api/health")
    assert '"ok": true' in health.replace('"ok":true', '"ok": true')
    assert host.socket("tcp://127.0.0.1:61010").is_listening and not host.socket("tcp://0.0.0.0:61010").is_listening


def test_close_only_by_hand(host):
    """Runbook option B, by hand: `echo close_only > /tmp/ai-quant-kill`. A live/dry_live trader blocks its entries
    with RISK_BLOCK audit events (and logs nothing about it); a paper trader has no kill switch and goes on. Removing
    the file lifts nothing until the trader restarts."""
    unit, db = trader_unit(host), trading_db(host)
    host.run("rm -f /tmp/ai-quant-kill")
    since = host.check_output("date -u +%Y-%m-%dT%H:%M:%S.%6N")  # as precise as the DB's ISO timestamps
    try:
        host.run_expect([0], "echo close_only > /tmp/ai-quant-kill")
        if is_live(host):
            query = f"SELECT COUNT(*) FROM audit_events WHERE event = 'RISK_BLOCK' AND timestamp >= '{since}'"
            wait_for(lambda: int(sql(host, db, query)) > 0, timeout=15, what="RISK_BLOCK audit events")
            block = json.loads(sql(host, db, "SELECT data_json FROM audit_events WHERE event = 'RISK_BLOCK' ORDER BY id DESC LIMIT 1"))
            assert (block["kill_mode"], block["kill_reason"]) == ("close_only", "file:/tmp/ai-quant-kill")
        else:
            # it goes on trading: positions open and close (it holds each for a few loops)
            query = f"SELECT COUNT(*) FROM runtime_logs WHERE (message LIKE '%OPEN %' OR message LIKE '%CLOSE %') AND ts >= '{since}'"
            wait_for(lambda: int(sql(host, db, query)) > 0, timeout=60, what="paper trades despite the kill file")
            assert int(sql(host, db, "SELECT COUNT(*) FROM audit_events WHERE event = 'RISK_BLOCK'")) == 0
        journal = f"journalctl _SYSTEMD_USER_UNIT={unit}.service --since '{since[:19].replace('T', ' ')} UTC' -o cat --no-pager"
        assert "kill" not in host.check_output(journal).lower()
    finally:
        host.run("rm -f /tmp/ai-quant-kill")
        user_systemctl(host, "restart", unit)  # the only way a real trader lets go of a kill
