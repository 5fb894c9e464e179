"""kill_switch against the lab's traders, which follow the real trader's contract (engine/risk.py at 9603e63): a
paper trader has no kill switch, a dry_live/live one re-reads it once per loop, logs nothing when its mode changes,
never clears in-process, and an entry it blocks writes a RISK_BLOCK audit event. Checked on the host: the file's
bytes, the drop-in, the process's environment, the trading database."""

import datetime
import json
import os
import time

import testinfra.utils.ansible_runner
from labtools import adhoc

# h1 a paper host, h2 the live host (dry_live); h3 is another paper host, for the fleet tests
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw")[:2]

APP = "/home/trader/openclaw-ai-quant"
DROPIN = "/home/trader/.config/systemd/user/{unit}.service.d/50-quantops-kill-switch.conf"
KILL = "/tmp/ai-quant-kill"
LIVE = "openclaw-ai-quant-live"


def name(host):
    return host.backend.get_hostname()


def is_live(host):
    return "openclaw_live" in host.ansible.get_variables()["group_names"]


def trader(host):
    return LIVE if is_live(host) else "openclaw-ai-quant-trader"


def sql(host, query, database=f"{APP}/trading_engine_live.db"):
    return host.check_output(f"sqlite3 -readonly {database} \"{query}\"")


def risk_blocks_since(host, epoch):
    """RISK_BLOCK audit events the live trader wrote after ``epoch``. Its timestamp column is ISO 8601 UTC with
    microseconds, so the comparison keeps them: a row of the same second but before ``epoch`` does not count."""
    iso = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    rows = sql(host, f"SELECT data_json FROM audit_events WHERE event = 'RISK_BLOCK' AND timestamp >= '{iso}'")
    return [json.loads(r) for r in rows.splitlines() if r.strip()]


def ks(host, check=False, diff=False, connect_as=None, **args):
    """The module, connected as root (module option user=trader) or as connect_as (the module's user defaults to it)."""
    args.setdefault("unit", trader(host))
    if connect_as is None:
        args.setdefault("user", "trader")
    return adhoc(name(host), "quantops.runbooks.kill_switch", args, user=connect_as, check=check, diff=diff)[name(host)]


def main_pid(host, unit):
    return int(host.check_output(f"systemctl --user -M trader@ show -p MainPID --value {unit}"))


def environ(host, pid):
    return host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()


def test_check_mode_changes_nothing_and_says_what_it_would_do(host, clean_kill_state):
    result = ks(host, mode="close_only", verify=True, check=True, diff=True)
    assert result["changed"] and result["_rc"] == 0 and result["status"] == "WOULD_ENGAGE"
    assert "+file: close_only" in result["_output"]
    assert not host.file(KILL).exists


def test_file_method_engages_and_proves_it_by_the_traders_heartbeat(host, clean_kill_state):
    result = ks(host, mode="close_only", verify=True, reason="molecule drill", audit_log="/var/log/quantops-kill-switch.jsonl")
    assert result["changed"] and result["_rc"] == 0
    kill = host.file(KILL)
    assert kill.content == b"close_only\n" and kill.mode == 0o644
    rows = {r["unit"]: r for r in result["traders"]}
    if not is_live(host):
        # a paper trader reads no kill switch: never PROTECTED on the strength of a file it ignores
        assert result["status"] == "NO_KILL_SWITCH", result["summary"]
        assert rows["openclaw-ai-quant-trader.service"]["trader_mode"] == "paper"
        assert rows["openclaw-ai-quant-trader.service"]["verified"] is None
        return
    live = rows[LIVE + ".service"]
    assert result["status"] == "PROTECTED", result["summary"]
    assert (live["trader_mode"], live["in_force"], live["kill_file"], live["verified"]) == ("dry_live", "close_only", KILL, True)
    assert "engine ok." in live["proof"] and live["pid"] == main_pid(host, LIVE)
    assert 0 < live["seconds_to_proof"] < 10
    # the trader's own record: the entries it tries are blocked with the file's reason
    deadline = time.time() + 20
    while not risk_blocks_since(host, result["started"]) and time.time() < deadline:
        time.sleep(1)
    blocks = risk_blocks_since(host, result["started"])
    assert blocks and blocks[-1]["kill_mode"] == "close_only" and blocks[-1]["kill_reason"] == f"file:{KILL}"
    assert ks(host, mode="close_only")["changed"] is False
    trail = host.file("/var/log/quantops-kill-switch.jsonl").content_string.splitlines()
    assert '"reason": "molecule drill"' in trail[-1] and '"user": "root"' in trail[-1] and '"status": "PROTECTED"' in trail[-1]


def test_removing_the_file_lifts_nothing_until_a_restart(host, clean_kill_state):
    if not is_live(host):
        return
    ks(host, mode="close_only", verify=True)
    pid = main_pid(host, LIVE)
    host.run_expect([0], f"rm -f {KILL}")  # the runbook's "no restart needed"
    removed = time.time()
    time.sleep(4)
    assert main_pid(host, LIVE) == pid
    assert any(b["kill_mode"] == "close_only" for b in risk_blocks_since(host, removed))  # still killed, in-process
    cleared = ks(host, mode="off", verify=True, restart=True)
    assert cleared["status"] == "CLEARED", cleared["summary"]
    assert cleared["restarted"] == [LIVE + ".service"] and main_pid(host, LIVE) != pid
    after = time.time()
    time.sleep(4)
    assert risk_blocks_since(host, after) == []


def test_env_method_restarts_and_proves_and_never_relaxes(host, clean_kill_state):
    unit = trader(host)
    result = ks(host, mode="halt_all", method="env", units=[unit], restart=True, verify=True)
    assert result["changed"] and result["sources"]["env"] == "halt_all"
    dropin = host.file(DROPIN.format(unit=unit))
    assert dropin.user == "trader" and "Environment=AI_QUANT_KILL_SWITCH=halt_all" in dropin.content_string.splitlines()
    pid = main_pid(host, unit)
    if is_live(host):
        assert result["status"] == "PROTECTED" and result["restarted"] == [LIVE + ".service"], result["summary"]
        assert "AI_QUANT_KILL_SWITCH=halt_all" in environ(host, pid)
    else:  # a paper trader reads no kill switch: not restarted for one
        assert result["status"] == "NO_KILL_SWITCH" and "restarted" not in result
    again = ks(host, mode="halt_all", method="env", units=[unit], restart=True, verify=True)
    assert again["changed"] is False and "restarted" not in again and main_pid(host, unit) == pid
    # close_only in either source would relax halt_all: refused, nothing written
    for method in ("file", "env"):
        refused = ks(host, mode="close_only", method=method)
        assert refused["changed"] is False and refused["effective_mode"] == "halt_all"
        assert "would relax it" in refused["_output"]
    assert not host.file(KILL).exists


def test_env_method_connected_as_the_user(host, clean_kill_state):
    unit = trader(host)
    result = ks(host, mode="close_only", method="env", units=[unit], restart=True, verify=True, connect_as="trader")
    assert result["changed"] and host.file(DROPIN.format(unit=unit)).user == "trader"
    assert result["status"] == ("PROTECTED" if is_live(host) else "NO_KILL_SWITCH"), result["summary"]
    if is_live(host):
        assert "AI_QUANT_KILL_SWITCH=close_only" in environ(host, main_pid(host, unit))


def test_a_trader_polling_another_file_is_named(host, clean_kill_state):
    if not is_live(host):
        return
    # an env file after the role's one: EnvironmentFile= values override Environment=, and a later file an earlier one
    other = f"/home/trader/.config/systemd/user/{LIVE}.service.d/60-lab-other-kill.conf"
    env_file = "/home/trader/.config/lab-other-kill.env"
    host.run_expect([0], f"printf 'AI_QUANT_KILL_SWITCH_FILE=/tmp/other-kill\\n' > {env_file}")
    host.run_expect([0], f"install -D -o trader -g trader -m 0644 /dev/null {other}")
    host.run_expect([0], f"printf '[Service]\\nEnvironmentFile={env_file}\\n' > {other}")
    try:
        host.run_expect([0], f"systemctl --user -M trader@ daemon-reload && systemctl --user -M trader@ restart {LIVE}")
        # told another file than the trader's: never PROTECTED, and it says what it saw
        result = ks(host, mode="close_only", path=KILL, verify=True, verify_timeout=5)
        assert result["status"] == "UNPROTECTED"
        assert f"kill written to {KILL}; the trader polls /tmp/other-kill" in result["summary"]
        host.run_expect([0], f"rm -f {KILL}")
        # by default the kill goes where the running trader looks (issue 12)
        result = ks(host, mode="close_only", verify=True)
        assert result["status"] == "PROTECTED" and result["kill_file"] == "/tmp/other-kill", result
        assert "AI_QUANT_KILL_SWITCH_FILE of the running" in result["kill_file_source"]
        assert host.file("/tmp/other-kill").content == b"close_only\n" and not host.file(KILL).exists
    finally:
        host.run(f"rm -f {other} {env_file} /tmp/other-kill")
        host.run(f"systemctl --user -M trader@ daemon-reload && systemctl --user -M trader@ restart {LIVE}")


def test_an_env_file_that_sets_the_switch_beats_the_dropin_and_is_named(host, clean_kill_state):
    """The shipped ai-quant-live.env.example sets AI_QUANT_KILL_SWITCH=0, and EnvironmentFile= overrides the drop-in's
    Environment=: the env method warns before it restarts, and never calls the host PROTECTED."""
    if not is_live(host):
        return
    other = f"/home/trader/.config/systemd/user/{LIVE}.service.d/60-lab-live-env.conf"
    env_file = "/home/trader/.config/lab-live.env"
    host.run_expect([0], f"printf 'AI_QUANT_KILL_SWITCH=0\\n' > {env_file}")
    host.run_expect([0], f"install -D -o trader -g trader -m 0644 /dev/null {other}")
    host.run_expect([0], f"printf '[Service]\\nEnvironmentFile={env_file}\\n' > {other}")
    try:
        host.run_expect([0], "systemctl --user -M trader@ daemon-reload")
        result = ks(host, mode="close_only", method="env", units=[LIVE], restart=True, verify=True, verify_timeout=5)
        assert result["status"] == "UNPROTECTED", result
        # the warning is shown, not kept in the result the tree callback stores
        assert "sets AI_QUANT_KILL_SWITCH=0, which overrides our drop-in" in " ".join(result["_output"].split()), result["_output"][-2000:]
        assert "AI_QUANT_KILL_SWITCH=0" in environ(host, main_pid(host, LIVE))  # what the restarted trader really got
    finally:
        host.run(f"rm -f {other} {env_file}")
        host.run(f"systemctl --user -M trader@ daemon-reload && systemctl --user -M trader@ restart {LIVE}")


def test_bad_input_fails_and_changes_nothing(host, clean_kill_state):
    missing_unit = ks(host, mode="halt_all", method="env", unit="no-such-unit")
    assert missing_unit["_rc"] != 0 and "not found" in missing_unit["msg"]
    assert not host.file("/home/trader/.config/systemd/user/no-such-unit.service.d").exists
    no_dir = ks(host, mode="halt_all", path="/nonexistent/kill")
    assert no_dir["_rc"] != 0 and "does not exist" in no_dir["msg"]
    bad_pattern = ks(host, mode="halt_all", verify=True, heartbeat_pattern="(")
    assert bad_pattern["_rc"] != 0 and "not a valid regular expression" in bad_pattern["msg"]
    assert not host.file(KILL).exists
