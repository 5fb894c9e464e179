"""bot_health's decision (plugins/filter/health.py): one line per host from the five modules' results."""

import re
from pathlib import Path

import yaml
from ansible_collections.quantops.runbooks.plugins.filter import health
from ansible_collections.quantops.runbooks.plugins.module_utils import _sidecar

EXPECTED = ["openclaw-ai-quant-ws-sidecar", "openclaw-ai-quant-live", "openclaw-ai-quant-monitor"]


def unit(active="active", since=312.0, pid=449):
    return dict(active_state=active, load_state="loaded", since_s=since if active == "active" else None, main_pid=pid, n_restarts=0,
                invocation_id="abc")


def results(**over):
    r = dict(
        units=dict(units=dict((u, unit()) for u in EXPECTED)),
        sidecar=dict(healthy=True, problems=[], connected=True, mids_age_s=0.2, ticks={"BTC": dict(age_s=0.4)}, socket="/run/user/1000/s"),
        sidecar_journal=dict(failed=False, matches=[], count=0),
        traders=dict(healthy=True, problems=[], traders={"openclaw-ai-quant-live": dict(
            main_pid=464, loaded_sha1="dbd57e32", disk_sha1="dbd57e32", config_in_force=True, kill_mode="off", trader_mode="dry_live",
            errors=0, last_order="2026-11-29T19:49:44Z")}),
        candles=dict(databases=[dict(path="/x/candles_1m.db", last_write="2026-11-29T19:49:44Z", last_write_age_s=0.3)]),
    )
    r.update(over)
    return r


def outcome(**over):
    r = results(**over)
    return health.health_outcome(r["units"], r["sidecar"], r["sidecar_journal"], r["traders"], r["candles"], EXPECTED)


def test_healthy_line():
    out = outcome()
    assert out["status"] == "HEALTHY" and out["problems"] == []
    assert out["summary"] == ("ws-sidecar up 5m12s | live up 5m12s | monitor up 5m12s | sidecar connected mids 0.2s tick 0.4s | "
                              "0 disconnects 0 reconnects in 15m | live cfg dbd57e32=disk kill off err 0 last order 2026-11-29T19:49:44Z | "
                              "candles 1m 0.3s")
    assert out["report"]["units"]["openclaw-ai-quant-live"]["main_pid"] == 449


def test_a_stopped_sidecar_is_named():
    units = dict(units=dict((u, unit()) for u in EXPECTED))
    units["units"]["openclaw-ai-quant-ws-sidecar"] = unit("inactive")
    out = outcome(units=units, sidecar=dict(healthy=False, problems=["openclaw-ai-quant-ws-sidecar.service is inactive, not running"],
                                            connected=None, ticks={}))
    assert out["status"] == "UNHEALTHY"
    assert "ws-sidecar inactive" in out["summary"] and "sidecar no answer" in out["summary"]
    assert "openclaw-ai-quant-ws-sidecar is inactive (loaded)" in out["problems"]


def test_disconnects_are_counted_and_too_many_are_unhealthy():
    lines = ["ws read error: Connection reset", "ws connect: attempt=2 url=wss://x", "ws connected: attempt=2 status=101"]
    matches = [dict(message=m) for m in lines if re.search(_sidecar.DISCONNECT, m)]
    out = outcome(sidecar_journal=dict(failed=True, matches=matches, count=len(matches)))
    assert "1 disconnects 1 reconnects in 15m" in out["summary"] and out["status"] == "HEALTHY"  # lost it, got it back
    lines = ["ws read error: reset"] * 4 + ["ws connect: attempt=%d url=wss://x" % n for n in range(2, 6)]
    matches = [dict(message=m) for m in lines if re.search(_sidecar.DISCONNECT, m)]
    out = outcome(sidecar_journal=dict(failed=True, matches=matches, count=len(matches)))
    assert "4 disconnects 4 reconnects in 15m" in out["summary"] and out["status"] == "UNHEALTHY"
    assert any("4 disconnect(s) and 4 reconnect(s)" in p for p in out["problems"])


def test_config_not_in_force_errors_and_old_candles():
    traders = results()["traders"]
    traders["problems"] = ["openclaw-ai-quant-live: loaded config 1a2b3c4d is not the one on disk (dbd57e32)"]
    traders["traders"]["openclaw-ai-quant-live"].update(loaded_sha1="1a2b3c4d", config_in_force=False)
    out = outcome(traders=traders, candles=dict(databases=[dict(path="/x/candles_1m.db", last_write_age_s=400.0)]))
    assert "live cfg 1a2b3c4d!=disk dbd57e32" in out["summary"]
    assert any("is not the one on disk" in p for p in out["problems"])
    assert "/x/candles_1m.db last written 6m40s ago (at most 120s)" in out["problems"]


def test_failed_module_and_unreachable():
    out = outcome(sidecar=dict(failed=True, msg="cannot read openclaw-ai-quant-ws-sidecar.service from the trader's user manager"))
    assert out["status"] == "UNHEALTHY" and out["problems"][0].startswith("sidecar check failed: cannot read")
    out = outcome(units=dict(unreachable=True, msg="Failed to connect to the host via ssh"))
    assert out["status"] == "UNREACHABLE" and "ssh" in out["summary"]


def test_outcome_of_hostvars():
    r = results()
    host_vars = dict(bh_units=r["units"], bh_sidecar=r["sidecar"], bh_sidecar_journal=r["sidecar_journal"], bh_traders=r["traders"],
                     bh_candles=r["candles"], bh_expected=EXPECTED)
    assert health.health_outcome_of(host_vars)["status"] == "HEALTHY"
    assert health.health_outcome_of({}) == {}


def test_the_playbooks_pattern_is_the_module_utils_one():
    with open(Path(__file__).resolve().parents[4] / "playbooks/vars/openclaw_traders.yml") as f:
        assert yaml.safe_load(f)["qo_sidecar_disconnect_pattern"] == _sidecar.DISCONNECT
