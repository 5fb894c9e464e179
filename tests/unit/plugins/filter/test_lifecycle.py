"""The lifecycle flows' decisions: a host's outcome from its steps, and what an exported state holds."""

import pytest
from ansible_collections.quantops.runbooks.plugins.filter import fleet, lifecycle

SIDECAR_OK = dict(changed=True, units={"openclaw-ai-quant-ws-sidecar.service": dict(action="restarted", ready_s=0.61, active_state="active")})
TRADER_OK = dict(changed=True, units={"openclaw-ai-quant-live.service": dict(
    action="started", ready_s=0.4, strategy_sha1="dbd57e32", kill_mode_held="close_only", kill_mode_after="close_only")})


def test_a_clean_restart_names_every_unit_its_proof_time_and_the_kill_kept():
    out = lifecycle.bot_outcome({"stop": dict(units={"openclaw-ai-quant-live.service": dict(action="stopped")}),
                                 "sidecar": SIDECAR_OK, "traders": TRADER_OK, "monitor": dict(skipped=True)},
                                "restart", quiet=["stop"])
    assert out["status"] == "RESTARTED"
    assert out["summary"] == "sidecar ready 0.61s | live ready 0.40s sha1 dbd57e32 kill close_only kept"
    assert lifecycle.bot_outcome({"sidecar": SIDECAR_OK}, "restart", check_mode=True)["status"] == "WOULD_RESTART"
    assert lifecycle.bot_outcome({}, "stop")["status"] == "STOPPED"


def test_the_first_failed_step_fails_the_host_with_its_journal_and_what_it_left():
    failed = dict(failed=True, msg="openclaw-ai-quant-ws-sidecar.service: its process ended right after systemctl restart",
                  journal={"openclaw-ai-quant-ws-sidecar.service": ["Traceback (most recent call last):", "FileNotFoundError: x"]},
                  related={"openclaw-ai-quant-trader.service": dict(active_state="inactive", sub_state="dead")})
    out = lifecycle.bot_outcome({"stop": dict(units={}), "sidecar": failed, "traders": {}, "monitor": {}}, "restart")
    assert out["status"] == "FAILED"
    assert "left DOWN: paper inactive/dead" in out["summary"] and "not done: traders, monitor" in out["summary"]
    assert out["details"] == ["sidecar journal: Traceback (most recent call last):", "sidecar journal: FileNotFoundError: x"]


def test_the_monitor_only_warns_and_unreachable_is_named():
    out = lifecycle.bot_outcome({"sidecar": SIDECAR_OK, "monitor": dict(failed=True, msg="no proof within 60 s")}, "restart")
    assert out["status"] == "RESTARTED" and out["summary"].endswith("WARNING monitor: no proof within 60 s")
    out = lifecycle.bot_outcome({"monitor": dict(failed=True, msg="boom")}, "stop", warn_only=[])
    assert out["status"] == "FAILED"
    assert lifecycle.bot_outcome({"sidecar": dict(unreachable=True, msg="ssh: no route")}, "start")["status"] == "UNREACHABLE"


def test_a_refusal_of_the_flow_itself_is_a_failure():
    out = lifecycle.bot_outcome({"live": {}}, "stop", failed_result=dict(failed=True, msg="refused: the live trader holds 1 open position(s)"))
    assert out == dict(status="FAILED", summary="refused: the live trader holds 1 open position(s)")
    refused = dict(failed=True, refused=True, msg="refused: a restart would clear a kill switch in force")
    assert lifecycle.bot_outcome({"stop": refused}, "restart")["summary"].endswith("| nothing changed")


def test_a_kill_the_sources_no_longer_give_is_said():
    out = lifecycle.bot_outcome({"live": dict(units={"openclaw-ai-quant-live.service": dict(
        action="stopped", kill_mode_held="close_only", kill_mode_sources="off")})}, "stop")
    assert "kill close_only held, but its sources give off: a start runs without it" in out["summary"]


def test_state_exposure_counts_positions_and_open_orders():
    out = lifecycle.state_exposure({"positions": [{"symbol": "BTC", "side": "long", "size": 0.1, "entry_price": 50000}],
                                    "open_orders": [{"symbol": "ETH", "side": "buy", "qty": 1, "price": 3000}, "junk"]})
    assert (out["positions"], out["open_orders"]) == (1, 1)
    assert out["lines"] == ["position BTC long size 0.1 entry 50000", "open order ETH buy 1 @ 3000"]
    assert lifecycle.state_exposure(None) == dict(positions=0, open_orders=0, lines=[])


def test_the_summary_counts_hosts_not_detail_lines():
    out = fleet.fleet_summary(["h1", "h2"], [dict(status="FAILED", summary="x", details=["a", "b", "c"]), dict(status="OK")], ["OK"])
    assert out["msg"] == "1 of 2 host(s) not OK: h1" and len(out["lines"]) == 5


def test_one_unit_gate_run_with_steps_is_read_step_by_step():
    result = dict(failed=True, msg="step sidecar failed", steps=[
        dict(name="traders stop", failed=False, units={"openclaw-ai-quant-trader.service": dict(action="stopped")}),
        dict(name="sidecar", failed=True, critical=True, msg="its process ended", journal={}, related={
            "openclaw-ai-quant-trader.service": dict(active_state="inactive", sub_state="dead")}),
        dict(name="traders", skipped=True, msg="not done: step sidecar failed"),
        dict(name="monitor", skipped=True, msg="not done: step sidecar failed")])
    out = lifecycle.bot_outcome(result, "restart", quiet=["traders stop"])
    assert out["status"] == "FAILED"
    assert out["summary"] == "sidecar: its process ended | left DOWN: paper inactive/dead | not done: traders, monitor"
    ok = dict(steps=[dict(name="sidecar", **SIDECAR_OK), dict(name="monitor", failed=True, critical=False, msg="no proof within 60 s")])
    out = lifecycle.bot_outcome(ok, "restart")
    assert out == dict(status="RESTARTED", summary="sidecar ready 0.61s | WARNING monitor: no proof within 60 s")
    assert lifecycle.bot_outcome(dict(unreachable=True, msg="ssh: no route"), "restart")["status"] == "UNREACHABLE"


def test_steps_skipped_before_the_failure_are_not_called_not_done():
    out = lifecycle.bot_outcome({"traders stop": dict(skipped=True), "sidecar": dict(skipped=True),
                                 "traders": dict(failed=True, msg="logged Traceback"), "monitor": {}}, "restart")
    assert out["summary"] == "traders: logged Traceback | not done: monitor"


def test_the_restart_plan_follows_the_runbook_and_the_units():
    kw = dict(traders=["openclaw-ai-quant-live"], sidecar="openclaw-ai-quant-ws-sidecar", monitor="openclaw-ai-quant-monitor",
              settle=10, timeout=60, fail_patterns=["Traceback"], monitor_ready="listening")
    plan = lifecycle.restart_plan("all", **kw)
    expected = [("traders stop", "stopped"), ("sidecar", "restarted"), ("traders", "started"), ("monitor", "restarted")]
    assert [(s["name"], s["state"]) for s in plan] == expected
    assert plan[1]["related"] == ["openclaw-ai-quant-live"] and plan[2]["settle"] == 10.0 and plan[2]["timeout"] == 70.0
    assert plan[3]["critical"] is False and plan[3]["pattern"] == "listening"
    assert [s["name"] for s in lifecycle.restart_plan("sidecar", **kw)] == ["traders stop", "sidecar", "traders"]
    assert [(s["name"], s["state"]) for s in lifecycle.restart_plan("traders", **kw)] == [("traders", "restarted")]
    assert [s["name"] for s in lifecycle.restart_plan("monitor", **kw)] == ["monitor"]
    assert lifecycle.restart_plan("monitor", monitor_on=False, **kw) == []
    no_traders = dict(kw)
    no_traders["traders"] = []
    assert [s["name"] for s in lifecycle.restart_plan("all", **no_traders)] == ["sidecar", "monitor"]
    with pytest.raises(ValueError, match="restart=everything"):
        lifecycle.restart_plan("everything", **kw)
