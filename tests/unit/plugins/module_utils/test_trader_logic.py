"""The real trader's rules (engine/risk.py, engine/daemon.py, engine/core.py, engine/utils.py at 9603e63) as
module_utils._trader states them, and the proof they allow."""

import datetime
import hashlib
import json
import os
import time

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _trader as tr

HEARTBEAT = ("\U0001fac0 engine ok. loops=41 errors=0 symbols=3 open_pos=1 loop=0.37s ws_connected=True ws_thread_alive=True "
             "ws_restarts=0 signal_on_close=1 entry_iv=3m exit_iv=3m reanalyze_s=180 exit_reanalyze_s=180 breadth=n/a "
             "auto_rev=OFF strategy_sha1=1a2b3c4d version=n/a")


@pytest.mark.parametrize(("value", "mode"), [
    ("1", "close_only"), ("TRUE", "close_only"), (" on ", "close_only"), ("close", "close_only"),
    ("halt", "halt_all"), ("2", "halt_all"), ("stop", "halt_all"), ("full", "halt_all"),
    ("0", None), ("", None), (None, None), ("off", None), ("closeonly", None),
])
def test_env_words(value, mode):
    assert tr.env_kill_mode(value) == mode


def test_the_file_is_applied_after_the_env_and_the_mode_is_sticky():
    assert tr.after_refresh("off", "halt_all", b"close_only\n") == "close_only"  # file last
    assert tr.after_refresh("off", "close_only", b"halt_all\n") == "halt_all"
    assert tr.after_refresh("off", "halt_all", None) == "halt_all"
    assert tr.after_refresh("halt_all", "", None) == "halt_all"  # clear_kill has no caller
    assert tr.after_refresh("close_only", "0", None) == "close_only"
    assert tr.after_refresh("off", None, b"") == "close_only"  # any existing file


def test_heartbeat_parse():
    assert tr.parse_heartbeat(HEARTBEAT) == (0.37, "1a2b3c4d")
    assert tr.parse_heartbeat(HEARTBEAT, tr.HEARTBEAT_LOOP) == (0.37, None)
    assert tr.parse_heartbeat("\U0001f680 Unified engine started. mode=dry_live") is None


@pytest.mark.parametrize(("heartbeat_at", "loop_s", "started", "proves"), [
    (100.5, 0.3, 50.0, False),   # that loop began before the write
    (111.0, 0.3, 50.0, True),    # began 10.7 s after the write, state sync 10 s
    (110.2, 0.1, 50.0, False),   # began 10.1 s after: inside the margin
    (101.0, 0.9, 100.5, True),   # a process started after the write refreshed in its first loop
])
def test_refresh_after(heartbeat_at, loop_s, started, proves):
    assert tr.refresh_after(100.0, heartbeat_at, loop_s, started, 10.0) is proves


def test_sha1_is_the_traders():
    parsed = {"global": {"engine": {"interval": "1h"}, "trade": {"leverage": 3.0, "name": "\u00e9"}}}
    expected = hashlib.sha1(json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()
    assert tr.strategy_sha1(parsed) == expected[:8]
    assert tr.strategy_sha1(None) == tr.strategy_sha1([1, 2]) == hashlib.sha1(b"{}").hexdigest()[:8]
    # not JSON-able (a YAML date): repr, as the trader does

    odd = {"d": datetime.date(2026, 1, 2)}
    assert tr.strategy_sha1(odd) == hashlib.sha1(repr(odd).encode("utf-8")).hexdigest()[:8]


def test_facts_from_the_process_environment():
    env = tr.parse_environ(b"AI_QUANT_MODE=dry_live\0AI_QUANT_KILL_SWITCH_FILE=kill\0AI_QUANT_LIVE_STATE_SYNC_SECS=1\0X=a=b\0")
    facts = tr.TraderFacts(env, "/home/trader/app")
    assert (facts.trader_mode, facts.reads_kill_switch, facts.kill_file, facts.state_sync) == ("dry_live", True, "/home/trader/app/kill", 1.0)
    assert env["X"] == "a=b"
    paper = tr.TraderFacts({}, "/")
    assert (paper.trader_mode, paper.reads_kill_switch, paper.kill_file, paper.state_sync) == ("paper", False, None, 10.0)


def test_process_start_of_this_process():
    started = tr.process_start(os.getpid())
    assert time.time() - 3600 < started <= time.time()
