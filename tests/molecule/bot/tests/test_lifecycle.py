"""The bot's lifecycle flows on the lab (h1 paper, h2 live): bot_restart in the runbook's order with every gate proven
by the journal and the units' own timestamps, a kill switch that survives it (or a refusal when it would not), a
sidecar that cannot start, a trader that logs a Traceback while it settles, bot_stop refusing with open positions,
and bot_start bringing everything back in order. Every claim is read on the hosts: systemctl show, the journal,
the trading database."""

import base64
import datetime
import json
import os
import re
import shlex
import time
from pathlib import Path

import testinfra
import testinfra.utils.ansible_runner
from labtools import adhoc, playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
PAPER_HOST = RUNNER.get_hosts("openclaw_paper")[0]
LIVE_HOST = RUNNER.get_hosts("openclaw_live")[0]
testinfra_hosts = [PAPER_HOST]
SIDECAR, PAPER, LIVE, MONITOR = ("openclaw-ai-quant-ws-sidecar", "openclaw-ai-quant-trader", "openclaw-ai-quant-live",
                                 "openclaw-ai-quant-monitor")
TRADER = {PAPER_HOST: PAPER, LIVE_HOST: LIVE}
APP = "/home/trader/openclaw-ai-quant"
KILL = "/tmp/ai-quant-kill"
DROPIN = "/home/trader/.config/systemd/user/%s.service.d/99-molecule-broken.conf" % SIDECAR
PLAYBOOKS = Path(__file__).resolve().parents[4] / "playbooks"


def lab(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def user_systemctl(host, *args):
    return host.run("systemctl --user -M trader@ %s" % " ".join(shlex.quote(a) for a in args))


def show(host, unit):
    """The unit's state, invocation, main PID and start time (microseconds, UTC), from systemd itself."""
    out = user_systemctl(host, "show", "--timestamp=us+utc", "-p", "ActiveState,InvocationID,MainPID,ActiveEnterTimestamp", unit + ".service").stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    stamp = props.get("ActiveEnterTimestamp", "")  # "Sun 2026-11-29 19:38:08.123456 UTC"
    props["active_enter"] = datetime.datetime.strptime(stamp[4:30], "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp() if stamp else None
    return props


def states(host, units):
    return {u: show(host, u) for u in units}


def first_line(host, unit, invocation, pattern):
    """(seconds since the epoch, message) of the first line of the invocation matching pattern, else None."""
    out = host.check_output("journalctl --no-pager -o json _SYSTEMD_USER_UNIT=%s.service _SYSTEMD_INVOCATION_ID=%s" % (unit, invocation))
    for line in out.splitlines():
        entry = json.loads(line)
        message = entry.get("MESSAGE")
        if isinstance(message, str) and re.search(pattern, message):
            return int(entry["__REALTIME_TIMESTAMP"]) / 1e6, message
    return None


def summary_line(output, name):
    """The fleet summary's line of a host (with its continuation lines joined), from the debug output."""
    text = re.sub(r"\n {8}(?=\S)", " ", output)  # the yaml callback folds long items
    lines = [line for line in text.splitlines() if re.match(r"\s*- '?%s\s+[A-Z]" % re.escape(name), line)]
    assert lines, "no summary line for %s in:\n%s" % (name, output[-3000:])
    return lines[-1]


def everything_up(host, units):
    for unit in units:
        assert show(host, unit)["ActiveState"] == "active", unit


def test_the_flows_sleep_nowhere():
    for name in ("bot_restart.yml", "bot_stop.yml", "bot_start.yml"):
        text = (PLAYBOOKS / name).read_text()
        assert not re.search(r"\b(sleep|pause|wait_for)\b", re.sub(r"(?m)^\s*#.*$", "", text)), name


def test_restart_goes_sidecar_traders_monitor_each_gated_and_host_by_host():
    hosts = {name: lab(name) for name in (PAPER_HOST, LIVE_HOST)}
    units = {name: [SIDECAR, TRADER[name], MONITOR] for name in hosts}
    before = {name: states(h, units[name]) for name, h in hosts.items()}
    rc, output = playbook("bot_restart", "-e", "settle=2")
    assert rc == 0, output[-3000:]
    after = {name: states(h, units[name]) for name, h in hosts.items()}
    for name, host in hosts.items():
        side, trader, monitor = (after[name][u] for u in units[name])
        for unit in units[name]:  # every unit runs a new invocation
            assert after[name][unit]["InvocationID"] != before[name][unit]["InvocationID"], (name, unit)
            assert after[name][unit]["ActiveState"] == "active"
        assert side["active_enter"] < trader["active_enter"] < monitor["active_enter"], (name, after[name])
        # the trader started only after the sidecar's new invocation was connected, and proved the config on disk
        connected = first_line(host, SIDECAR, side["InvocationID"], r"ws connected: attempt=")
        assert connected and connected[0] < trader["active_enter"], (name, connected, trader)
        beat = first_line(host, TRADER[name], trader["InvocationID"], r"engine ok\. .*strategy_sha1=[0-9a-f]{8}")
        assert beat, "no heartbeat from %s's new trader invocation" % name
        assert "RESTARTED" in summary_line(output, name) and "sha1 %s" % beat[1].split("strategy_sha1=")[1][:8] in output
    # one host at a time: the second host's sidecar restarted after the first host's monitor was up
    first, second = sorted(hosts, key=lambda n: after[n][SIDECAR]["active_enter"])
    assert after[second][SIDECAR]["active_enter"] > after[first][MONITOR]["active_enter"]


def test_check_mode_restarts_stops_and_starts_nothing():
    hosts = {name: lab(name) for name in (PAPER_HOST, LIVE_HOST)}
    units = {name: [SIDECAR, TRADER[name], MONITOR] for name in hosts}
    before = {name: states(h, units[name]) for name, h in hosts.items()}
    for flow, word in (("bot_restart", "WOULD_RESTART"), ("bot_stop", "WOULD_STOP"), ("bot_start", "WOULD_START")):
        rc, output = playbook(flow, "--check")
        assert rc == 0, output[-3000:]
        for name in hosts:
            assert word in summary_line(output, name)
    assert "traders: would be started %s.service" % PAPER in summary_line(playbook("bot_restart", "--check")[1], PAPER_HOST)
    assert {name: states(h, units[name]) for name, h in hosts.items()} == before


def test_a_kill_switch_in_force_survives_the_restart_and_a_removed_one_is_refused():
    live = lab(LIVE_HOST)
    res = adhoc(LIVE_HOST, "quantops.runbooks.kill_switch", dict(mode="close_only", user="trader", verify=True, verify_timeout=30))
    assert res[LIVE_HOST]["status"] == "PROTECTED", res[LIVE_HOST]["_output"][-2000:]
    try:
        rc, output = playbook("bot_restart", "-l", LIVE_HOST, "-e", "settle=1")
        assert rc == 0, output[-3000:]
        assert "kill close_only kept" in summary_line(output, LIVE_HOST)
        new = show(live, LIVE)
        # proved by the trader itself: it blocks entries as close_only in its new process
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(new["active_enter"]))
        query = ("SELECT COUNT(*) FROM audit_events WHERE event = 'RISK_BLOCK' AND timestamp >= '%s' "
                 "AND json_extract(data_json, '$.kill_mode') = 'close_only'" % since)
        deadline = time.time() + 30
        while int(live.check_output("sqlite3 -readonly %s/trading_engine_live.db %s" % (APP, shlex.quote(query)))) == 0:
            assert time.time() < deadline, "no RISK_BLOCK close_only from the restarted live trader"
            time.sleep(1)
        # the file removed by hand: the trader still holds close_only in-process, a restart would drop it -> refused
        live.check_output("rm -f %s" % KILL)
        rc, output = playbook("bot_restart", "-l", LIVE_HOST, "-e", "settle=1")
        assert rc != 0
        line = summary_line(output, LIVE_HOST)
        assert "FAILED" in line and "would clear a kill switch in force" in line and "nothing changed" in line, line
        assert show(live, LIVE)["InvocationID"] == new["InvocationID"]  # untouched
        assert show(live, SIDECAR)["ActiveState"] == "active"
    finally:
        live.run("rm -f %s" % KILL)
        rc, output = playbook("kill_switch_clear", "-l", LIVE_HOST)
        assert rc == 0, output[-3000:]


def test_a_sidecar_that_cannot_start_fails_its_host_and_leaves_the_next_untouched():
    paper, live = lab(PAPER_HOST), lab(LIVE_HOST)
    before_live = states(live, [SIDECAR, LIVE, MONITOR])
    paper.check_output("install -d -o trader -g trader %s && printf '[Service]\\nEnvironment=AI_QUANT_WS_SIDECAR_SOCK=/proc/molecule-broken/ws.sock\\n'"
                       " > %s && chown trader: %s" % (os.path.dirname(DROPIN), DROPIN, DROPIN))
    user_systemctl(paper, "daemon-reload")
    try:
        rc, output = playbook("bot_restart", "-e", "settle=1", "-e", "serial=1")
        assert rc != 0
        line = summary_line(output, PAPER_HOST)
        assert "FAILED" in line and "sidecar" in line and "left DOWN: paper inactive" in line, output[-3000:]
        assert re.search(r"sidecar journal: .*(FileNotFoundError|No such file)", output), output[-3000:]
        assert "NOT DONE" in summary_line(output, LIVE_HOST)
        assert states(live, [SIDECAR, LIVE, MONITOR]) == before_live  # the next host untouched
        assert show(paper, PAPER)["ActiveState"] == "inactive"  # what the summary said
    finally:
        paper.run("rm -rf %s" % os.path.dirname(DROPIN))
        user_systemctl(paper, "daemon-reload")
        rc, output = playbook("bot_start", "-l", PAPER_HOST, "-e", "settle=1")
        assert rc == 0, output[-3000:]


def test_a_trader_that_logs_a_traceback_while_it_settles_fails_its_host():
    paper = lab(PAPER_HOST)
    config = APP + "/config/strategy_overrides.yaml"
    original = paper.file(config).content
    # a value the strategy cannot use: every analysis raises, and the engine prints the traceback
    paper.check_output("runuser -u trader -- sed -i 's/ema_fast_window: .*/ema_fast_window: not-a-number/' %s" % config)
    try:
        assert b"not-a-number" in paper.file(config).content
        rc, output = playbook("bot_restart", "-l", PAPER_HOST, "-e", "restart=traders", "-e", "settle=15")
        assert rc != 0
        line = summary_line(output, PAPER_HOST)
        assert "FAILED" in line and re.search(r"logged '.*(error|Traceback)", line, re.I), output[-3000:]
    finally:
        paper.check_output("echo %s | base64 -d | runuser -u trader -- tee %s > /dev/null" % (base64.b64encode(original).decode(), config))
        assert paper.file(config).content == original
        rc, output = playbook("bot_restart", "-l", PAPER_HOST, "-e", "restart=traders", "-e", "settle=2")
        assert rc == 0, output[-3000:]


def test_bot_stop_refuses_with_open_positions_then_stops_and_bot_start_brings_it_back_in_order():
    live = lab(LIVE_HOST)
    db = APP + "/trading_engine_live.db"
    insert = ("INSERT OR REPLACE INTO positions (symbol, side, qty, entry_price, opened_ts_ms) "
              "VALUES ('BTC', 'long', 0.25, 50000, %d)" % int(time.time() * 1000))
    live.check_output("runuser -u trader -- sqlite3 %s %s" % (db, shlex.quote(insert)))
    try:
        before = states(live, [SIDECAR, LIVE, MONITOR])
        rc, output = playbook("bot_stop", "-l", LIVE_HOST)
        assert rc != 0
        assert "1 open position(s)" in output and "position BTC long" in output
        assert "FAILED" in summary_line(output, LIVE_HOST) and "allow_open_positions" in output
        assert states(live, [SIDECAR, LIVE, MONITOR]) == before  # nothing stopped
        assert live.check_output("ls /tmp | grep -c quantops-stop || true") == "0"  # the export left nothing
        rc, output = playbook("bot_stop", "-l", LIVE_HOST, "-e", "allow_open_positions=true")
        assert rc == 0, output[-3000:]
        assert "STOPPED" in summary_line(output, LIVE_HOST)
        for unit in (LIVE, PAPER, MONITOR, SIDECAR):
            assert show(live, unit)["ActiveState"] in ("inactive", "failed"), unit
    finally:
        live.check_output("runuser -u trader -- sqlite3 %s \"DELETE FROM positions WHERE symbol = 'BTC' AND qty = 0.25\"" % db)
    rc, output = playbook("bot_start", "-l", LIVE_HOST, "-e", "settle=2")
    assert rc == 0, output[-3000:]
    assert "STARTED" in summary_line(output, LIVE_HOST)
    now = states(live, [SIDECAR, LIVE, MONITOR])
    assert now[SIDECAR]["active_enter"] < now[LIVE]["active_enter"] < now[MONITOR]["active_enter"]
    connected = first_line(live, SIDECAR, now[SIDECAR]["InvocationID"], r"ws connected: attempt=")
    assert connected and connected[0] < now[LIVE]["active_enter"]
    everything_up(live, [SIDECAR, LIVE, MONITOR])
