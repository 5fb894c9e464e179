"""kill_switch and journal_check against the stand-in traders, checked on the host: the file's bytes, the drop-in,
the journal line, the trading database."""

import os
import time

import testinfra.utils.ansible_runner
from labtools import adhoc

# a paper host and the live host (h3 is another paper host, for the fleet tests)
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw")[:2]

APP = "/home/trader/openclaw-ai-quant"
DROPIN = "/home/trader/.config/systemd/user/{unit}.service.d/50-quantops-kill-switch.conf"
KILL = "/tmp/ai-quant-kill"


def name(host):
    return host.backend.get_hostname()


def trader(host):
    return "openclaw-ai-quant-live" if "openclaw_live" in host.ansible.get_variables()["group_names"] else "openclaw-ai-quant-trader"


def db(host):
    return f"{APP}/trading_engine_live.db" if trader(host) == "openclaw-ai-quant-live" else f"{APP}/trading_engine.db"


def sql(host, query, database=None):
    return host.check_output(f"sqlite3 -readonly {database or db(host)} \"{query}\"")


def ks(host, check=False, diff=False, connect_as=None, **args):
    """The module, connected as root (module option user=trader) or as connect_as (the module's user defaults to it)."""
    args.setdefault("unit", trader(host))
    if connect_as is None:
        args.setdefault("user", "trader")
    return adhoc(name(host), "quantops.runbooks.kill_switch", args, user=connect_as, check=check, diff=diff)[name(host)]


def journal(host, **args):
    args.setdefault("unit", trader(host))
    args.setdefault("user", "trader")
    return adhoc(name(host), "quantops.runbooks.journal_check", args)[name(host)]


def restart(host, unit):
    host.run_expect([0], f"systemctl --user -M trader@ restart {unit}")


def test_check_mode_changes_nothing_and_shows_the_diff(host, clean_kill_state):
    result = ks(host, mode="close_only", check=True, diff=True)
    assert result["changed"] and result["_rc"] == 0
    assert "+file: close_only" in result["_output"]
    assert not host.file(KILL).exists


def test_file_method_engages_idempotently_and_the_trader_stops_entries(host, clean_kill_state):
    result = ks(host, mode="close_only", reason="molecule drill", audit_log="/var/log/quantops-kill-switch.jsonl")
    assert (result["changed"], result["previous_mode"], result["effective_mode"]) == (True, "off", "close_only")
    kill = host.file(KILL)
    assert kill.content == b"close_only\n" and kill.mode == 0o644
    assert ks(host, mode="close_only")["changed"] is False
    seen = journal(host, pattern=r"kill switch: off -> close_only \(source=file:/tmp/ai-quant-kill\)", since=f"@{result['started']}", timeout=10)
    assert seen["count"] == 1
    switched = int(sql(host, "SELECT MAX(ts_ms) FROM kill_switch_events WHERE mode='close_only'"))
    time.sleep(3)
    assert int(sql(host, f"SELECT COUNT(*) FROM orders WHERE kind='entry' AND ts_ms > {switched}")) == 0
    trail = host.file("/var/log/quantops-kill-switch.jsonl").content_string.splitlines()
    assert '"reason": "molecule drill"' in trail[-1] and '"user": "root"' in trail[-1]
    assert "molecule drill" not in kill.content_string


def test_env_method_as_root_restart_and_never_relax(host, clean_kill_state):
    unit = trader(host)
    result = ks(host, mode="halt_all", method="env")
    assert result["changed"] and result["restart_required"] and result["sources"]["env"] == "halt_all"
    dropin = host.file(DROPIN.format(unit=unit))
    assert dropin.user == "trader" and "Environment=AI_QUANT_KILL_SWITCH=halt_all" in dropin.content_string.splitlines()
    assert ks(host, mode="halt_all", method="env")["changed"] is False
    restart(host, unit)
    assert journal(host, pattern=r"kill switch: halt_all \(source=env\)", timeout=10)["count"] == 1
    # close_only in either source would relax halt_all: refused, nothing written
    for method in ("file", "env"):
        refused = ks(host, mode="close_only", method=method)
        assert refused["changed"] is False and refused["effective_mode"] == "halt_all"
        assert "halt_all is in force" in refused["_output"]
    assert not host.file(KILL).exists
    assert "halt_all" in host.file(DROPIN.format(unit=unit)).content_string
    time.sleep(2)
    last = int(sql(host, "SELECT COUNT(*) FROM orders"))
    time.sleep(3)
    assert int(sql(host, "SELECT COUNT(*) FROM orders")) == last  # halt_all: no orders at all
    cleared = ks(host, mode="off", method="env")
    assert cleared["changed"] and not host.file(DROPIN.format(unit=unit)).exists
    assert cleared["effective_mode"] == "halt_all" and cleared["sources"]["env_running"] == "halt_all"  # until restarted
    restart(host, unit)
    assert ks(host, mode="off", method="env")["effective_mode"] == "off"


def test_env_method_connected_as_the_user(host, clean_kill_state):
    unit = trader(host)
    result = ks(host, mode="close_only", method="env", connect_as="trader")
    assert result["changed"] and host.file(DROPIN.format(unit=unit)).user == "trader"
    restart(host, unit)
    check = {"unit": unit, "pattern": r"kill switch: close_only \(source=env\)", "timeout": 10}
    seen = adhoc(name(host), "quantops.runbooks.journal_check", check, user="trader")[name(host)]
    assert seen["count"] == 1 and seen["invocation_id"]


def test_system_scope(host):
    if trader(host) != "openclaw-ai-quant-trader":
        return  # the system-unit trader runs on the paper hosts
    unit = "openclaw-ai-quant-system-trader"
    dropin = f"/etc/systemd/system/{unit}.service.d/50-quantops-kill-switch.conf"
    try:
        result = ks(host, mode="close_only", method="env", scope="system", unit=unit)
        assert result["changed"] and host.file(dropin).user == "root"
        host.run_expect([0], f"systemctl restart {unit}")
        check = {"unit": unit, "scope": "system", "pattern": r"kill switch: close_only \(source=env\)", "timeout": 10}
        seen = adhoc(name(host), "quantops.runbooks.journal_check", check)
        assert seen[name(host)]["count"] == 1
        assert "AI_QUANT_KILL_SWITCH=close_only" in host.check_output(f"systemctl show -p Environment --value {unit}")
    finally:
        ks(host, mode="off", method="env", scope="system", unit=unit)
        host.run(f"systemctl restart {unit}")
    assert not host.file(dropin).exists


def test_journal_check_ignores_a_previous_invocation(host, clean_kill_state):
    """A transition logged before the unit's restart never satisfies a check of the new invocation."""
    unit = trader(host)
    ks(host, mode="close_only")
    assert journal(host, pattern="-> close_only", timeout=10)["count"] == 1
    ks(host, mode="off")
    restart(host, unit)
    result = journal(host, pattern="-> close_only", state="absent")
    assert result["count"] == 0 and result["_rc"] == 0


def test_bad_input_fails_and_changes_nothing(host, clean_kill_state):
    missing_unit = ks(host, mode="halt_all", method="env", unit="no-such-unit")
    assert missing_unit["_rc"] != 0 and "not found" in missing_unit["msg"]
    assert not host.file("/home/trader/.config/systemd/user/no-such-unit.service.d").exists
    no_dir = ks(host, mode="halt_all", path="/nonexistent/kill")
    assert no_dir["_rc"] != 0 and "does not exist" in no_dir["msg"]
    absent = journal(host, pattern="(", timeout=1)
    assert absent["_rc"] != 0 and "not a valid regular expression" in absent["msg"]
    assert not host.file(KILL).exists
