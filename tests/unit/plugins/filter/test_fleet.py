"""The fleet decisions: a host's outcome from its kill_switch results, and the summary of every targeted host."""

from ansible_collections.quantops.runbooks.plugins.filter import fleet


def test_the_worst_result_is_the_hosts():
    results = [dict(status="NO_KILL_SWITCH", summary="paper", effective_mode="close_only"),
               dict(status="UNPROTECTED", summary="no heartbeat", effective_mode="close_only")]
    out = fleet.kill_outcome(results)
    assert out["status"] == "UNPROTECTED" and out["summary"] == "no heartbeat"  # the verdict, not the paper line
    assert fleet.kill_outcome([dict(status="PROTECTED", summary="a"), dict(status="NO_KILL_SWITCH", summary="b")])["status"] == "PROTECTED"
    assert fleet.kill_outcome([])["status"] == "UNPROTECTED"
    assert fleet.kill_outcome(results, stopped=True)["status"] == "STOPPED"
    env = fleet.kill_outcome([dict(status="NOT_RUNNING", summary="no trader runs"), dict(status="PROTECTED", summary="live ok")])
    assert (env["status"], env["summary"]) == ("PROTECTED", "live ok")


def test_every_targeted_host_has_a_line_and_a_missing_one_fails():
    outcomes = [dict(status="PROTECTED", summary="ok", effective_mode="close_only"), {}, dict(status="NO_KILL_SWITCH", summary="paper")]
    out = fleet.fleet_summary(["h1", "h2", "h3"], outcomes, ["PROTECTED", "NO_KILL_SWITCH"])
    assert len(out["lines"]) == 3 and out["failed"] == ["h2"]
    assert out["lines"][1].split()[:2] == ["h2", "UNREACHABLE"]
    assert out["msg"] == "1 of 3 host(s) not OK: h2"
    assert fleet.fleet_summary(["h1"], [dict(status="PROTECTED")], ["PROTECTED"])["failed"] == []
    assert fleet.fleet_summary(["h1"], [dict(status="UNPROTECTED")], ["PROTECTED"])["failed"] == ["h1"]
