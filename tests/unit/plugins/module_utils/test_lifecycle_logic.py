"""unit_gate's pure decisions: which kill-switch mode a running trader holds, heartbeat proofs, fail patterns."""

import json

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _lifecycle as lc


def test_a_kill_engaged_since_the_start_holds_even_when_its_file_is_gone():
    lines = [json.dumps(dict(time="2026-11-29T10:00:00+00:00", effective_mode="halt_all")),  # before the start: ignored
             json.dumps(dict(time="2026-11-29T12:00:00+00:00", effective_mode="close_only")),
             json.dumps(dict(time="2026-11-29T12:05:00+00:00", effective_mode="off")), "not json", "[1]"]
    start = lc.iso_epoch("2026-11-29T11:00:00Z")
    engaged = lc.audit_modes(lines, start)
    assert engaged == ["close_only"]
    assert lc.kill_hold("off", engaged) == dict(held="close_only", after_restart="off", lost=True)
    assert lc.kill_hold("close_only", engaged)["lost"] is False
    assert lc.kill_hold("halt_all", engaged) == dict(held="halt_all", after_restart="halt_all", lost=False)
    assert lc.kill_hold("off", [])["lost"] is False


def test_risk_blocks_since_the_start_count_with_their_kill_mode():
    rows = [("2026-11-29T12:00:01.5", json.dumps({"kill_mode": "halt_all"})), ("2026-11-29T09:00:00", json.dumps({"kill_mode": "close_only"})),
            ("2026-11-29T12:00:02", "{bad"), (None, "{}"), ("2026-11-29T12:00:03Z", json.dumps({"kill_mode": "off"}))]
    assert lc.risk_block_modes(rows, lc.iso_epoch("2026-11-29T11:00:00")) == ["halt_all"]


def test_a_heartbeat_proves_only_the_config_on_disk():
    line = "🫀 engine ok. loops=3 errors=0 loop=0.01s ws_connected=True strategy_sha1=dbd57e32 version=n/a"
    assert lc.heartbeat_proof(line, "dbd57e32") == dict(heartbeat=True, proves=True, sha1="dbd57e32")
    assert lc.heartbeat_proof(line, "0badc0de")["proves"] is False
    assert lc.heartbeat_proof(line, None)["proves"] is True
    assert lc.heartbeat_proof("🚀 OPEN LONG BTC", "dbd57e32")["heartbeat"] is False


def test_fail_patterns_do_not_match_the_heartbeats_own_error_count():
    fail = lc.compile_patterns([r"(?i)\berror\b", "Traceback", r"(?i)\bexception\b"], "fail_pattern")
    assert lc.first_match(fail, "engine ok. loops=3 errors=0 loop=0.01s") is None
    assert lc.first_match(fail, "🔥 Engine loop error") == r"(?i)\berror\b"
    assert lc.first_match(fail, "Traceback (most recent call last):") == "Traceback"
    assert lc.first_match(fail, "Unhandled Exception in thread") == r"(?i)\bexception\b"
    with pytest.raises(lc.LifecycleError, match="not a valid regular expression"):
        lc.compile_patterns(["(unclosed"], "pattern")
    with pytest.raises(lc.LifecycleError, match="non-empty"):
        lc.compile_patterns([""], "pattern")


def test_times_and_tails():
    assert lc.iso_epoch("1970-01-01T00:01:00Z") == 60.0
    assert lc.iso_epoch("1970-01-01 00:01:00") == 60.0
    assert lc.iso_epoch("yesterday") is None and lc.iso_epoch(None) is None
    assert lc.tail(["a  b", "c"] * 10, 2) == ["a b", "c"]
    assert lc.strongest("off", "halt_all", None, "close_only") == "halt_all"
