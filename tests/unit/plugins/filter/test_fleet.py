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


def test_detail_lines_are_not_counted_as_hosts():
    outcomes = [dict(status="EXPORTED", summary="x", details=["a", "b"]), dict(status="FAILED", summary="y")]
    out = fleet.fleet_summary(["h1", "h2"], outcomes, ["EXPORTED"])
    assert len(out["lines"]) == 4 and out["msg"] == "1 of 2 host(s) not OK: h2"
    assert fleet.fleet_summary(["h1"], outcomes[:1], ["EXPORTED"])["msg"] == "all 1 host(s) OK"


def test_an_unreachable_host_is_named_so_not_unprotected():
    results = [dict(unreachable=True, msg="Failed to connect to the host via ssh: ssh: connect to host 10.0.0.3 port 22: No route"),
               dict(unreachable=True, msg="again")]
    out = fleet.kill_outcome(results)
    assert out["status"] == "UNREACHABLE" and "No route" in out["summary"]


def test_a_flow_can_say_what_a_host_without_outcome_means():
    out = fleet.fleet_summary(["h1", "h2"], [dict(status="ROLLED_BACK", summary="x"), {}], ["ROLLED_BACK"],
                              "NOT DONE: not attempted, the run stopped at an earlier host")
    assert out["lines"][1].split()[:3] == ["h2", "NOT", "DONE"] and "not attempted" in out["lines"][1]
    assert out["failed"] == ["h2"]


def test_rollback_outcome_in_check_mode_says_what_it_would_do():
    result = dict(changed=True, to_commit="32140ea72efb0000", from_commit="aaaabbbbcccc1111", changed_keys=["global.trade.leverage"])
    out = fleet.rollback_outcome(result, ["openclaw-ai-quant-trader"], None, True)
    assert out["status"] == "WOULD_ROLL_BACK" and out["summary"].startswith("to 32140ea72efb (now aaaabbbbcccc)")


def test_rollback_outcome_names_each_proof_and_the_unchanged_case():
    result = dict(changed=True, to_commit="32140ea72efb0000", changed_keys=["global.trade.leverage"], restart_required=False)
    proofs = dict(results=[dict(item="openclaw-ai-quant-trader", matches=[dict(message="engine ok. strategy_sha1=0123abcd")])])
    out = fleet.rollback_outcome(result, ["openclaw-ai-quant-trader"], proofs)
    assert out["status"] == "ROLLED_BACK" and "openclaw-ai-quant-trader: engine ok. strategy_sha1=0123abcd" in out["summary"]
    assert fleet.rollback_outcome(dict(changed=False, to_commit="x"))["status"] == "UNCHANGED"
    assert "no trader running" in fleet.rollback_outcome(result, [], None)["summary"]


def test_db_outcome_tallies_and_lists_every_problem():
    candles = dict(totals=dict(databases=5, series=15, stale=1, gaps=0, missing_in_lookback=0, duplicates=0, below_min_bars=0),
                   problems=["candles_1m.db BTC: stale"])
    funding = dict(totals=dict(symbols=3, stale=0, gaps=0), problems=[])
    trading = dict(databases=[dict(path="/x/trading_engine.db")], healthy=True, problems=[])
    out = fleet.db_outcome(candles, funding, None, trading, ["ws sidecar restarted"])
    assert out["status"] == "UNHEALTHY" and out["details"] == ["candles_1m.db BTC: stale"]
    assert out["summary"] == ("candles: 5 DBs 15 series 1 stale 0 gaps (0 bars missing) 0 dupes | funding: 3 symbols 0 stale 0 gaps"
                              " | trading: trading_engine.db ok | remediated: ws sidecar restarted")
    lines = fleet.fleet_summary(["h1"], [out], ["HEALTHY"])["lines"]
    assert lines[1] == "    candles_1m.db BTC: stale"


def test_kill_outcome_names_a_kill_file_that_is_not_the_runbooks():
    out = fleet.kill_outcome([dict(status="PROTECTED", summary="live ok", kill_file="/tmp/other-kill")])
    assert out["summary"] == "live ok | kill file /tmp/other-kill"
    assert fleet.kill_outcome([dict(status="PROTECTED", summary="ok", kill_file="/tmp/ai-quant-kill")])["summary"] == "ok"


def test_kill_outcome_of_a_host_from_its_registered_results():
    ok = dict(results=[dict(status="PROTECTED", effective_mode="close_only", summary="live ok")])
    assert fleet.kill_outcome_of({"es_engage": ok})["status"] == "PROTECTED"
    assert fleet.kill_outcome_of({}) == {}  # registered nothing: the summary says it left no outcome
    failed = dict(results=[dict(failed=False, msg="value of mode must be one of: close_only, halt_all, off, got: x")])
    out = fleet.kill_outcome_of({"es_engage": failed})
    assert out["status"] == "UNPROTECTED" and "must be one of" in out["summary"]
    stopped = dict(results=[dict(state="stopped", changed=True), dict(state="stopped")])
    assert fleet.kill_outcome_of({"es_engage": ok, "es_stopped": stopped}, stopped=True)["status"] == "STOPPED"
    left = dict(results=[dict(state="stopped"), dict(msg="Unable to stop service x", failed=False)])
    out = fleet.kill_outcome_of({"es_engage": ok, "es_stopped": left}, stopped=True)
    assert out["status"] == "UNPROTECTED" and "option C failed: Unable to stop service x" in out["summary"]
