"""The bad-input table of issue 11: for every module, at least ten bad argument sets, each with the words its error
message must hold. One source for tests/unit/plugins/modules/test_bad_inputs.py (which asserts each one fails
cleanly, quickly and changes nothing) and for tests/render_bad_inputs.py (which writes docs/bad-inputs.md).

A case runs the module's main() in this process, as Ansible's unit tests do, inside a fresh directory made by
make_fixtures() (real SQLite databases, a real git checkout, a kill file directory), with systemctl and journalctl
replaced by a recorder that answers "no such unit". Placeholders {tmp} in the arguments name that directory."""

import contextlib
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import time
import traceback
from unittest import mock

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.modules import (
    app_release,
    bbo_db_info,
    candle_db_info,
    config_known_good,
    config_rollback,
    funding_db_info,
    http_health,
    journal_check,
    kill_switch,
    log_bundle,
    ml_run,
    quantlab_probe,
    sidecar_status,
    sqlite_integrity,
    trader_status,
    unit_gate,
    units_info,
)

MODULES = dict(
    app_release=app_release, bbo_db_info=bbo_db_info, candle_db_info=candle_db_info, config_known_good=config_known_good,
    config_rollback=config_rollback, funding_db_info=funding_db_info, http_health=http_health, journal_check=journal_check,
    kill_switch=kill_switch, log_bundle=log_bundle, ml_run=ml_run, quantlab_probe=quantlab_probe, sqlite_integrity=sqlite_integrity,
    unit_gate=unit_gate, units_info=units_info, sidecar_status=sidecar_status, trader_status=trader_status,
)
NOW = 1795273930000
# Modules that talk to systemd: their commands are recorded and answered, never run.
SYSTEMD = ("journal_check", "kill_switch", "unit_gate", "units_info", "sidecar_status", "trader_status", "quantlab_probe")
DROP = object()  # a case's value that removes the base argument
NOBODY = 65534
SECONDS = 10.0  # a guard against hangs and endless loops (nan timeouts), not a performance claim: the machine may be busy


class Case(object):
    # PLR0913: keyword-only case options with defaults
    def __init__(self, module, title, args, words, *, xfail=None, euid=None):  # noqa: PLR0913
        self.module, self.title, self.args, self.words, self.xfail, self.euid = module, title, args, words, xfail, euid

    @property
    def id(self):
        return "%s: %s" % (self.module, self.title)


BASE = dict(
    bbo_db_info=dict(paths=["{tmp}/db/bbo_snapshots.db"], now=NOW),
    candle_db_info=dict(paths=["{tmp}/db/candles_3m.db"], now=NOW),
    funding_db_info=dict(paths=["{tmp}/db/funding_rates.db"], now=NOW),
    sqlite_integrity=dict(paths=["{tmp}/db/trading_engine.db"]),
    journal_check=dict(unit="openclaw-ai-quant-live", pattern="kill switch", scope="system", timeout=0),
    kill_switch=dict(mode="close_only", path="{tmp}/kill/ai-quant-kill", unit="openclaw-ai-quant-live", scope="system"),
    config_rollback=dict(repo="{tmp}/bot", to="HEAD~1", validate=None),
    config_known_good=dict(repo="{tmp}/bot"),
    unit_gate=dict(names=["openclaw-ai-quant-live"], state="restarted", scope="system", timeout=1),
    units_info=dict(units=["openclaw-ai-quant-trader", "openclaw-ai-quant-ws-sidecar"], scope="system"),
    sidecar_status=dict(unit="openclaw-ai-quant-ws-sidecar", scope="system", symbols=["BTC"], socket="{tmp}/run/ws.sock",
                        candles_db="{tmp}/db/candles_1m.db"),
    trader_status=dict(units=["openclaw-ai-quant-trader"], scope="system"),
    # loopback only, and never reached: every case is refused before a connection
    app_release=dict(app_dir="{tmp}/deploy/app", releases_dir="{tmp}/deploy/releases", shared_dir="{tmp}/deploy/shared",
                     repo="{tmp}/bot", version="HEAD", shared=["core/.env"]),
    http_health=dict(endpoints=[dict(name="replayd", port=3030, token=dict(env_file="{tmp}/etc/replayd.env", var="REPLAYD_TOKEN"))]),
    quantlab_probe=dict(services=[dict(name="replayd", unit="quantlab-replayd", port=3030, env_file="{tmp}/etc/replayd.env",
                                       token_var="REPLAYD_TOKEN", health=dict(port=3030, path="/health"))]),
    log_bundle=dict(system_units=["quantlab-replayd"], files=[dict(name="ml", path="{tmp}/kill/ml.log")], since="1h", max_mb=1, tmp_dir="{tmp}"),
    # a checkout that is not there: every case is refused before it would be looked for, but the one that asks
    ml_run=dict(app_dir="{tmp}/app", user="root", log="{tmp}/kill/ml.log", lock_file="{tmp}/run/ml_run.lock", env_dir="{tmp}/etc",
                symbol="btcusdt", date="20260115"),
)


def _qp(title, service, words, **args):
    """A quantlab_probe case: its one service (merged over the base's, None removes a key) or other options."""
    if service is not None:
        base = dict(BASE["quantlab_probe"]["services"][0])
        base.update(service)
        args["services"] = [dict((k, x) for k, x in base.items() if x is not None)]
    return Case("quantlab_probe", title, args, words)


def _hh(title, endpoint, words, **args):
    """An http_health case: one endpoint (merged over the base's, None removes a key) or other options."""
    if endpoint is not None:
        base = dict(BASE["http_health"]["endpoints"][0])
        base.update(endpoint)
        args["endpoints"] = [dict((k, x) for k, x in base.items() if x is not None)]
    return Case("http_health", title, args, words)


HUGE_REF = "a" * 1000000
HUGE_LIST = ["k%d" % i for i in range(100000)]


def _db_cases(module):
    return [
        Case(module, "paths: []", dict(paths=[]), ["paths", "at least 1"]),
        Case(module, "paths: [''] (empty path)", dict(paths=[""]), ["paths[0]", "empty"]),
        Case(module, "a path with a newline", dict(paths=["{tmp}/db/x\n.db"]), ["paths[0]", "newline"]),
        Case(module, "a path of 5000 characters", dict(paths=["/" + "x" * 5000]), ["paths[0]", "at most 4096"]),
        Case(module, "5000 paths", dict(paths=["{tmp}/db/x%d.db" % i for i in range(5000)]), ["paths", "at most 1000"]),
        Case(module, "busy_timeout=-1", dict(busy_timeout=-1), ["busy_timeout", "from 0 to 600000"]),
        Case(module, "busy_timeout=10**12", dict(busy_timeout=10 ** 12), ["busy_timeout", "from 0 to 600000"]),
    ]


def _now_cases(module):
    return [
        Case(module, "now=-1", dict(now=-1), ["now", "from 0 to 253402300799999"]),
        Case(module, "now=10**20 (after year 9999)", dict(now=10 ** 20), ["now", "from 0 to 253402300799999"]),
        Case(module, "now=nan", dict(now="nan"), ["now", "int"]),
        Case(module, "now=1.5", dict(now=1.5), ["now", "int"]),
    ]


CASES = (
    _db_cases("bbo_db_info") + _now_cases("bbo_db_info") + [
        Case("bbo_db_info", "max_age_seconds=nan", dict(max_age_seconds="nan"), ["max_age_seconds", "above 0 to"]),
        Case("bbo_db_info", "max_age_seconds=inf", dict(max_age_seconds="inf"), ["max_age_seconds", "above 0 to"]),
        Case("bbo_db_info", "max_age_seconds=-1", dict(max_age_seconds=-1), ["max_age_seconds", "above 0 to"]),
        Case("bbo_db_info", "retention_hours=nan", dict(retention_hours="nan"), ["retention_hours", "above 0 to 87600"]),
        Case("bbo_db_info", "retention_hours=1e999", dict(retention_hours="1e999"), ["retention_hours", "above 0 to 87600"]),
        Case("bbo_db_info", "integrity=fast", dict(integrity="fast"), ["integrity", "one of"]),
    ]
    + _db_cases("candle_db_info") + _now_cases("candle_db_info") + [
        Case("candle_db_info", "lookback_hours=nan", dict(lookback_hours="nan"), ["lookback_hours", "above 0 to 87600"]),
        Case("candle_db_info", "lookback_hours=inf", dict(lookback_hours="inf"), ["lookback_hours", "above 0 to 87600"]),
        Case("candle_db_info", "lookback_hours=0", dict(lookback_hours=0), ["lookback_hours", "above 0 to 87600"]),
        Case("candle_db_info", "max_bars_behind=-1", dict(max_bars_behind=-1), ["max_bars_behind", "from 0 to"]),
        Case("candle_db_info", "max_bars_behind=10**15", dict(max_bars_behind=10 ** 15), ["max_bars_behind", "from 0 to"]),
        Case("candle_db_info", "min_bars={3m: inf}", dict(min_bars={"3m": float("inf")}), ["min_bars[3m]", "whole number"]),
        Case("candle_db_info", "min_bars={3m: nan}", dict(min_bars={"3m": "nan"}), ["min_bars[3m]", "whole number"]),
        Case("candle_db_info", "min_bars={3m: -5}", dict(min_bars={"3m": -5}), ["min_bars[3m]", "whole number"]),
        Case("candle_db_info", "min_bars={3m: 1e30}", dict(min_bars={"3m": 1e30}), ["min_bars[3m]", "whole number"]),
        Case("candle_db_info", "min_bars={3m: 2.5}", dict(min_bars={"3m": 2.5}), ["min_bars[3m]", "whole number"]),
        Case("candle_db_info", "min_bars={2m: 10} (no such interval)", dict(min_bars={"2m": 10}), ["2m", "not a hyperliquid candle interval"]),
    ]
    + _db_cases("funding_db_info") + _now_cases("funding_db_info") + [
        Case("funding_db_info", "lookback_hours=nan", dict(lookback_hours="nan"), ["lookback_hours", "above 0 to 87600"]),
        Case("funding_db_info", "lookback_hours=-72", dict(lookback_hours=-72), ["lookback_hours", "above 0 to 87600"]),
        Case("funding_db_info", "max_gap_hours=inf", dict(max_gap_hours="inf"), ["max_gap_hours", "above 0 to 87600"]),
        Case("funding_db_info", "max_gap_hours=0", dict(max_gap_hours=0), ["max_gap_hours", "above 0 to 87600"]),
        Case("funding_db_info", "max_abs_rate=nan", dict(max_abs_rate="nan"), ["max_abs_rate", "from 0 to 100"]),
        Case("funding_db_info", "max_abs_rate=-0.01", dict(max_abs_rate=-0.01), ["max_abs_rate", "from 0 to 100"]),
        Case("funding_db_info", "max_abs_rate=inf", dict(max_abs_rate="inf"), ["max_abs_rate", "from 0 to 100"]),
    ]
    + _db_cases("sqlite_integrity") + [
        Case("sqlite_integrity", "max_errors=0", dict(max_errors=0), ["max_errors", "from 1 to 1000000"]),
        Case("sqlite_integrity", "max_errors=-1", dict(max_errors=-1), ["max_errors", "from 1 to 1000000"]),
        Case("sqlite_integrity", "max_errors=10**12", dict(max_errors=10 ** 12), ["max_errors", "from 1 to 1000000"]),
        Case("sqlite_integrity", "max_errors=nan", dict(max_errors="nan"), ["max_errors", "int"]),
        Case("sqlite_integrity", "mode=deep", dict(mode="deep"), ["mode", "one of"]),
    ]
    + [
        Case("journal_check", "timeout=nan", dict(timeout="nan"), ["timeout", "from 0 to 86400"]),
        Case("journal_check", "timeout=inf", dict(timeout="inf"), ["timeout", "from 0 to 86400"]),
        Case("journal_check", "timeout=-1", dict(timeout=-1), ["timeout", "from 0 to 86400"]),
        Case("journal_check", "timeout=1e9", dict(timeout=1e9), ["timeout", "from 0 to 86400"]),
        Case("journal_check", "poll=0 (a busy loop)", dict(poll=0), ["poll", "from 0.05 to 60"]),
        Case("journal_check", "poll=nan", dict(poll="nan"), ["poll", "from 0.05 to 60"]),
        Case("journal_check", "poll=-1", dict(poll=-1), ["poll", "from 0.05 to 60"]),
        Case("journal_check", "pattern '(' (bad regex)", dict(pattern="("), ["pattern", "regular expression"]),
        Case("journal_check", "pattern: []", dict(pattern=[]), ["pattern", "non-empty"]),
        Case("journal_check", "pattern: ''", dict(pattern=""), ["pattern", "non-empty"]),
        Case("journal_check", "state=gone", dict(state="gone"), ["state", "one of"]),
        Case("journal_check", "unit '--host=x'", dict(unit="--host=x"), ["unit"]),
        Case("journal_check", "unit 'a/b'", dict(unit="a/b"), ["unit"]),
        Case("journal_check", "unit '-x'", dict(unit="-x"), ["unit"]),
        Case("journal_check", "unit '' (empty)", dict(unit=""), ["unit"]),
        Case("journal_check", "unit with a newline", dict(unit="a\nb"), ["unit"]),
    ]
    + [
        Case("kill_switch", "unit '--host=x'", dict(unit="--host=x"), ["unit"]),
        Case("kill_switch", "unit 'a/b'", dict(unit="a/b"), ["unit"]),
        Case("kill_switch", "unit '-x'", dict(unit="-x"), ["unit"]),
        Case("kill_switch", "unit '' (empty)", dict(unit=""), ["unit"]),
        Case("kill_switch", "unit with a newline", dict(unit="a\nb"), ["unit"]),
        Case("kill_switch", "units: ['a/b']", dict(units=["a/b"], verify=True), ["unit"]),
        Case("kill_switch", "path '' (empty)", dict(path=""), ["path", "empty"]),
        Case("kill_switch", "path with a newline", dict(path="{tmp}/kill/a\nb"), ["path", "newline"]),
        Case("kill_switch", "path relative (ai-quant-kill)", dict(path="ai-quant-kill"), ["path", "relative"]),
        Case("kill_switch", "path a directory", dict(path="{tmp}/kill"), ["directory"]),
        Case("kill_switch", "path with '..'", dict(path="{tmp}/kill/../kill/ai-quant-kill"), ["path", ".."]),
        Case("kill_switch", "path in a missing directory", dict(path="{tmp}/nope/ai-quant-kill"), ["does not exist"]),
        Case("kill_switch", "kill file of root in sticky /tmp-like dir, run as uid 65534",
             dict(path="{tmp}/sticky/ai-quant-kill", mode="halt_all"), ["uid"], euid=NOBODY),
        Case("kill_switch", "verify_timeout=nan", dict(verify_timeout="nan"), ["verify_timeout", "3600"]),
        Case("kill_switch", "verify_timeout=inf", dict(verify_timeout="inf"), ["verify_timeout", "3600"]),
        Case("kill_switch", "verify_timeout=-1", dict(verify_timeout=-1), ["verify_timeout", "3600"]),
        Case("kill_switch", "mode=stop", dict(mode="stop"), ["mode", "one of"]),
        Case("kill_switch", "method=shell", dict(method="shell"), ["method", "one of"]),
        Case("kill_switch", "heartbeat_pattern '(' (bad regex)", dict(heartbeat_pattern="("), ["regular expression"]),
        Case("kill_switch", "proof_pattern '[' (bad regex)", dict(proof_pattern="["), ["regular expression"]),
    ]
    + [
        Case("config_rollback", "to: '' (empty)", dict(to=""), ["to", "empty"]),
        Case("config_rollback", "to: '   ' (blank)", dict(to="   "), ["to", "empty"]),
        Case("config_rollback", "to: ' -x' (an option after strip)", dict(to=" -x"), ["to", "starts with '-'"]),
        Case("config_rollback", "to: '--output=/tmp/x'", dict(to="--output=/tmp/x"), ["to", "starts with '-'"]),
        Case("config_rollback", "to with a newline", dict(to="HEAD\nmain"), ["to", "newline"]),
        Case("config_rollback", "to: a 1 MB ref", dict(to=HUGE_REF), ["to", "at most 1024"]),
        Case("config_rollback", "to: a commit that does not exist", dict(to="0" * 40), ["names no commit"]),
        Case("config_rollback", "path: '' (empty)", dict(path=""), ["path", "empty"]),
        Case("config_rollback", "path with a newline", dict(path="config/strategy_overrides.yaml\n"), ["path", "newline"]),
        Case("config_rollback", "path absolute (/etc/passwd)", dict(path="/etc/passwd"), ["path", "absolute"]),
        Case("config_rollback", "path ../outside.yaml", dict(path="../outside.yaml"), ["path", "outside repo"]),
        Case("config_rollback", "path ' -x.yaml' (an option after strip)", dict(path=" -x.yaml"), ["path", "'-'"]),
        Case("config_rollback", "path of 5000 characters", dict(path="c/" * 2500), ["path", "at most 4096"]),
        Case("config_rollback", "path a directory (config)", dict(path="config"), ["path", "directory"]),
        Case("config_rollback", "repo missing", dict(repo="{tmp}/nope"), ["repo", "not a directory"]),
        Case("config_rollback", "repo '' (empty)", dict(repo=""), ["repo", "empty"]),
        Case("config_rollback", "history=-1", dict(history=-1), ["history", "from 0 to 10000"]),
        Case("config_rollback", "history=10**12", dict(history=10 ** 12), ["history", "from 0 to 10000"]),
        Case("config_rollback", "restart_keys: 100k items", dict(restart_keys=HUGE_LIST), ["restart_keys", "at most 1000"]),
        Case("config_rollback", "validate: a 100k-argument list", dict(validate=HUGE_LIST), ["validate", "at most 1000"]),
        Case("config_rollback", "validate: a mapping", dict(validate={"cmd": "x"}), ["validate", "command line"]),
    ]
    + [
        Case("config_known_good", "path: '' (empty)", dict(path=""), ["path", "empty"]),
        Case("config_known_good", "path with a newline", dict(path="config/strategy_overrides.yaml\n"), ["path", "newline"]),
        Case("config_known_good", "path absolute (/etc/passwd)", dict(path="/etc/passwd"), ["path", "absolute"]),
        Case("config_known_good", "path ../outside.yaml", dict(path="../outside.yaml"), ["path", "outside repo"]),
        Case("config_known_good", "path '-x.yaml'", dict(path="-x.yaml"), ["path", "'-'"]),
        Case("config_known_good", "path ' -x.yaml' (an option after strip)", dict(path=" -x.yaml"), ["path", "'-'"]),
        Case("config_known_good", "path of 5000 characters", dict(path="c/" * 2500), ["path", "at most 4096"]),
        Case("config_known_good", "path inside .git", dict(path=".git/config"), ["path", ".git"]),
        Case("config_known_good", "path a directory (config)", dict(path="config"), ["path", "directory"]),
        Case("config_known_good", "repo missing", dict(repo="{tmp}/nope"), ["repo", "not a directory"]),
        Case("config_known_good", "note of 1 MB", dict(note="n" * 1000000), ["note", "at most 10000"]),
        Case("config_known_good", "note with a NUL byte", dict(note="ok\0bad"), ["note", "nul"]),
        Case("config_known_good", "state=gone", dict(state="gone"), ["state", "one of"]),
    ]
    + [
        Case("unit_gate", "names: []", dict(names=[]), ["names", "empty"]),
        Case("unit_gate", "names ['--host=x']", dict(names=["--host=x"]), ["names", "not an option"]),
        Case("unit_gate", "names ['a/b']", dict(names=["a/b"]), ["names", "not a systemd unit name"]),
        Case("unit_gate", "names with a newline", dict(names=["a\nb"]), ["names", "not a systemd unit name"]),
        Case("unit_gate", "related ['-x']", dict(related=["-x"]), ["related", "not an option"]),
        Case("unit_gate", "state=gone", dict(state="gone"), ["state", "one of"]),
        Case("unit_gate", "proof=magic", dict(proof="magic"), ["proof", "one of"]),
        Case("unit_gate", "proof=journal without pattern", dict(proof="journal"), ["proof=journal needs pattern"]),
        Case("unit_gate", "pattern '(' (bad regex)", dict(pattern="("), ["pattern", "regular expression"]),
        Case("unit_gate", "fail_pattern ['']", dict(fail_pattern=[""]), ["fail_pattern", "non-empty"]),
        Case("unit_gate", "settle=-1", dict(settle=-1), ["settle", "from 0 to 3600"]),
        Case("unit_gate", "settle=nan", dict(settle="nan"), ["settle", "from 0 to 3600"]),
        Case("unit_gate", "timeout=0", dict(timeout=0), ["timeout", "from 1 to 3600"]),
        Case("unit_gate", "timeout=inf", dict(timeout="inf"), ["timeout", "from 1 to 3600"]),
        Case("unit_gate", "poll=0 (a busy loop)", dict(poll=0), ["poll", "from 0.05 to 10"]),
        Case("unit_gate", "max_mids_age=nan", dict(max_mids_age="nan"), ["max_mids_age", "from 0.1 to 3600"]),
        Case("unit_gate", "kill_modes {live: maybe}", dict(kill_modes={"live": "maybe"}), ["kill_modes", "close_only"]),
        Case("unit_gate", "poll=nan", dict(poll="nan"), ["poll", "from 0.05 to 10"]),
        Case("unit_gate", "user '' (an undefined variable)", dict(scope="user", user=""), ["user", "empty"]),
        Case("unit_gate", "steps: [] ", dict(names=DROP, state=DROP, steps=[]), ["steps", "empty"]),
        Case("unit_gate", "names and steps", dict(steps=[dict(names=["a"], state="started")]), ["mutually exclusive", "names", "steps"]),
        Case("unit_gate", "steps[0].settle=nan", dict(names=DROP, state=DROP, steps=[dict(names=["a"], state="started", settle="nan")]),
             ["steps[0]", "settle", "from 0 to 3600"]),
        Case("unit_gate", "steps[1] a bad unit name", dict(names=DROP, state=DROP, steps=[
            dict(names=["a"], state="stopped"), dict(names=["--host=x"], state="started")]), ["steps[1]", "not an option"]),
        Case("unit_gate", "steps[0] without state", dict(names=DROP, state=DROP, steps=[dict(names=["a"])]), ["state", "steps"]),
    ]
    + [
        Case("units_info", "units: []", dict(units=[]), ["units", "at least 1"]),
        Case("units_info", "units: 101 names", dict(units=["u%d" % i for i in range(101)]), ["units", "at most 100"]),
        Case("units_info", "units ['--host=x']", dict(units=["--host=x"]), ["units", "not an option"]),
        Case("units_info", "units ['-x']", dict(units=["-x"]), ["units", "not an option"]),
        Case("units_info", "units ['a/b']", dict(units=["a/b"]), ["units", "not a systemd unit name"]),
        Case("units_info", "units ['../x']", dict(units=["../x"]), ["units", "not a systemd unit name"]),
        Case("units_info", "units with a newline", dict(units=["a\nb"]), ["units", "not a systemd unit name"]),
        Case("units_info", "units with a NUL byte", dict(units=["a\0b"]), ["units", "not a systemd unit name"]),
        Case("units_info", "units [''] (empty)", dict(units=[""]), ["units", "empty"]),
        Case("units_info", "units: a name of 300 characters", dict(units=["u" * 300]), ["units", "at most 255"]),
        Case("units_info", "the second of units bad", dict(units=["openclaw-ai-quant-trader", "a b"]), ["units", "'a b'"]),
        Case("units_info", "scope=session", dict(scope="session"), ["scope", "one of"]),
        Case("units_info", "user that does not exist", dict(scope="user", user="nosuchuser-qo"), ["user", "does not exist"]),
        Case("units_info", "user '' (empty)", dict(scope="user", user=""), ["user", "empty"]),
        Case("units_info", "user with a newline", dict(scope="user", user="trader\nroot"), ["user", "newline"]),
    ]
    + [
        Case("sidecar_status", "unit '--host=x'", dict(unit="--host=x"), ["unit", "not an option"]),
        Case("sidecar_status", "unit 'a/b'", dict(unit="a/b"), ["unit", "not a systemd unit name"]),
        Case("sidecar_status", "unit '' (empty)", dict(unit=""), ["unit", "empty"]),
        Case("sidecar_status", "unit with a newline", dict(unit="a\nb"), ["unit", "not a systemd unit name"]),
        Case("sidecar_status", "socket relative (ws.sock)", dict(socket="ws.sock"), ["socket", "relative"]),
        Case("sidecar_status", "socket with a newline", dict(socket="{tmp}/run/ws\n.sock"), ["socket", "newline"]),
        Case("sidecar_status", "socket '' (empty)", dict(socket=""), ["socket", "empty"]),
        Case("sidecar_status", "socket of 5000 characters", dict(socket="/" + "s" * 5000), ["socket", "at most 4096"]),
        Case("sidecar_status", "socket a directory", dict(socket="{tmp}/db"), ["socket", "directory"]),
        Case("sidecar_status", "candles_db a directory", dict(candles_db="{tmp}/db"), ["candles_db", "directory"]),
        Case("sidecar_status", "candles_db relative", dict(candles_db="candles_1m.db"), ["candles_db", "relative"]),
        Case("sidecar_status", "candles_db with a NUL byte", dict(candles_db="{tmp}/db/c\0.db"), ["candles_db", "nul"]),
        Case("sidecar_status", "symbols ['BTC/USD']", dict(symbols=["BTC/USD"]), ["symbols", "not a symbol"]),
        Case("sidecar_status", "symbols [''] (empty)", dict(symbols=[""]), ["symbols[0]", "empty"]),
        Case("sidecar_status", "symbols ['BTC', 'ETH\\n'] (a newline)", dict(symbols=["BTC", "ETH\n"]), ["symbols[1]", "newline"]),
        Case("sidecar_status", "symbols: a 1 MB symbol", dict(symbols=["B" * 1000000]), ["symbols[0]", "at most 64"]),
        Case("sidecar_status", "symbols: 100k items", dict(symbols=HUGE_LIST), ["symbols", "at most 1000"]),
        Case("sidecar_status", "max_mids_age=nan", dict(max_mids_age="nan"), ["max_mids_age", "from 0.1 to 86400"]),
        Case("sidecar_status", "max_mids_age=0", dict(max_mids_age=0), ["max_mids_age", "from 0.1 to 86400"]),
        Case("sidecar_status", "max_candle_age=inf", dict(max_candle_age="inf"), ["max_candle_age", "from 1 to 86400"]),
        Case("sidecar_status", "max_candle_age=-1", dict(max_candle_age=-1), ["max_candle_age", "from 1 to 86400"]),
        Case("sidecar_status", "wait=-1", dict(wait=-1), ["wait", "from 0 to 3600"]),
        Case("sidecar_status", "wait=1e9", dict(wait=1e9), ["wait", "from 0 to 3600"]),
        Case("sidecar_status", "wait=nan (an endless wait)", dict(wait="nan"), ["wait", "from 0 to 3600"]),
        Case("sidecar_status", "poll=0 (a busy loop)", dict(poll=0), ["poll", "from 0.1 to 60"]),
        Case("sidecar_status", "timeout=nan", dict(timeout="nan"), ["timeout", "from 0.1 to 60"]),
        Case("sidecar_status", "timeout=0", dict(timeout=0), ["timeout", "from 0.1 to 60"]),
        Case("sidecar_status", "fail_on_problems=maybe", dict(fail_on_problems="maybe"), ["fail_on_problems", "bool"]),
        Case("sidecar_status", "scope=session", dict(scope="session"), ["scope", "one of"]),
        Case("sidecar_status", "user '' (empty)", dict(scope="user", user=""), ["user", "empty"]),
    ]
    + [
        Case("trader_status", "units: []", dict(units=[]), ["units", "at least 1"]),
        Case("trader_status", "units: 21 names", dict(units=["t%d" % i for i in range(21)]), ["units", "at most 20"]),
        Case("trader_status", "units ['--host=x']", dict(units=["--host=x"]), ["units", "not an option"]),
        Case("trader_status", "units ['a/b']", dict(units=["a/b"]), ["units", "not a systemd unit name"]),
        Case("trader_status", "units with a newline", dict(units=["a\nb"]), ["units", "not a systemd unit name"]),
        Case("trader_status", "units [''] (empty)", dict(units=[""]), ["units", "empty"]),
        Case("trader_status", "units ['.service']", dict(units=[".service"]), ["units", "not a systemd unit name"]),
        Case("trader_status", "since '' (empty)", dict(since=""), ["since", "empty"]),
        Case("trader_status", "since '   ' (blank)", dict(since="   "), ["since", "empty"]),
        Case("trader_status", "since '--until=now' (an option)", dict(since="--until=now"), ["since", "not a time"]),
        Case("trader_status", "since ' --x' (an option after strip)", dict(since=" --x"), ["since", "not a time"]),
        Case("trader_status", "since with a newline", dict(since="-15min\n--until=now"), ["since", "newline"]),
        Case("trader_status", "since with a NUL byte", dict(since="-15min\0"), ["since", "nul"]),
        Case("trader_status", "since of 1 MB", dict(since="1" * 1000000), ["since", "at most 100"]),
        Case("trader_status", "scope=session", dict(scope="session"), ["scope", "one of"]),
        Case("trader_status", "user that does not exist", dict(scope="user", user="nosuchuser-qo"), ["user", "does not exist"]),
        Case("trader_status", "user '' (empty)", dict(scope="user", user=""), ["user", "empty"]),
    ]
    + [
        _hh("endpoints [] (empty)", None, ["endpoints", "at least 1"], endpoints=[]),
        _hh("101 endpoints", None, ["endpoints", "at most 100"], endpoints=[dict(name="e%d" % i, port=3030) for i in range(101)]),
        _hh("neither url nor port", dict(port=None), ["neither url nor port"]),
        _hh("url and port", dict(url="http://127.0.0.1:3030/health"), ["gives both url and port", "either url or host"]),
        _hh("url ftp://", dict(port=None, url="ftp://127.0.0.1/health"), ["scheme must be http or https"]),
        _hh("url with user:password@", dict(port=None, url="http://u:p@127.0.0.1:3030/health"), ["credentials", "by reference"]),
        _hh("url with a space", dict(port=None, url="http://127.0.0.1:3030/a b"), ["url", "space"]),
        _hh("url port 99999", dict(port=None, url="http://127.0.0.1:99999/"), ["port", "1 to 65535"]),
        _hh("port 0", dict(port=0), ["port", "from 1 to 65535"]),
        _hh("port 70000", dict(port=70000), ["port", "from 1 to 65535"]),
        _hh("host with a newline", dict(host="127.0.0.1\nHost: x"), ["host", "newline"]),
        _hh("host 'a b'", dict(host="a b"), ["host", "not a host name"]),
        _hh("path without /", dict(path="health"), ["path", "must start with /"]),
        _hh("path with CRLF (header injection)", dict(path="/health\r\nX-Evil: 1"), ["path", "printable characters only"]),
        _hh("status [99]", dict(status=[99]), ["status[0]", "from 100 to 599"]),
        _hh("status [] (empty)", dict(status=[]), ["status", "at least 1 item"]),
        _hh("endpoint timeout 0", dict(timeout=0), ["timeout", "above 0 to 3600"]),
        _hh("timeout=nan", None, ["timeout", "above 0 to 3600"], timeout="nan"),
        _hh("wait_timeout=inf", None, ["wait_timeout", "from 0 to 86400"], wait_timeout="inf"),
        _hh("poll=0", None, ["poll", "from 0.05 to 60"], poll=0),
        _hh("max_body=10**12", None, ["max_body", "from 1 to 16777216"], max_body=10 ** 12),
        _hh("token.var 'A-B'", dict(token=dict(env_file="/etc/quantlab/replayd.env", var="A-B")), ["token.var", "not a variable name"]),
        _hh("token.var missing", dict(token=dict(env_file="/etc/quantlab/replayd.env")), ["var", "missing"]),
        _hh("token.env_file relative", dict(token=dict(env_file="etc/replayd.env", var="REPLAYD_TOKEN")), ["env_file", "relative"]),
        _hh("token.env_file with ..", dict(token=dict(env_file="/etc/../etc/replayd.env", var="REPLAYD_TOKEN")), ["env_file", "'..'"]),
        _hh("token.env_file with a newline", dict(token=dict(env_file="/etc/replayd.env\n", var="REPLAYD_TOKEN")), ["env_file", "newline"]),
        _hh("two endpoints named alike", None, ["two endpoints are named 'a'"], endpoints=[dict(name="a", port=1), dict(name="a", port=2)]),
    ] + [
        Case("app_release", "version '--upload-pack=x' (an option)", dict(version="--upload-pack=x"), ["version", "not a git branch"]),
        Case("app_release", "version 'a..b' (a range)", dict(version="a..b"), ["version", "without '..'"]),
        Case("app_release", "version with a newline", dict(version="main\nx"), ["version", "not a git branch"]),
        Case("app_release", "version 'main@{1}'", dict(version="main@{1}"), ["version", "'@{'"]),
        Case("app_release", "version of 300 characters", dict(version="a" * 300), ["version", "at most 255"]),
        Case("app_release", "version missing", dict(version=DROP), ["version"]),
        Case("app_release", "repo '--upload-pack=touch x'", dict(repo="--upload-pack=touch x"), ["repo", "no leading '-'"]),
        Case("app_release", "repo 'ext::sh -c x' (remote helper)", dict(repo="ext::sh"), ["repo", "remote helper"]),
        Case("app_release", "shared ['/etc/passwd']", dict(shared=["/etc/passwd"]), ["shared[0]", "relative path"]),
        Case("app_release", "shared ['../x']", dict(shared=["../x"]), ["shared[0]", "'..'"]),
        Case("app_release", "shared ['.git/config']", dict(shared=[".git/config"]), ["shared[0]", "'.git'"]),
        Case("app_release", "shared ['a/', 'a/b'] (nested)", dict(shared=["a/", "a/b"]), ["shared[1]", "overlaps"]),
        Case("app_release", "keep=0", dict(keep=0), ["keep", "from 1 to 100"]),
        Case("app_release", "keep=1000", dict(keep=1000), ["keep", "from 1 to 100"]),
        Case("app_release", "npm_timeout=0", dict(npm_timeout=0), ["npm_timeout", "from 1 to 86400"]),
        Case("app_release", "app_dir relative", dict(app_dir="deploy/app"), ["app_dir", "absolute"]),
        Case("app_release", "releases_dir inside app_dir", dict(releases_dir="{tmp}/deploy/app/releases"), ["inside", "apart"]),
        Case("app_release", "rolled_back to release 'HEAD~1'", dict(state="rolled_back", release="HEAD~1"), ["release", "full commit id"]),
    ]
    + [
        _qp("services [] (empty)", None, ["services is empty"], services=[]),
        _qp("a service without a name", dict(name=None), ["name", "missing"]),
        _qp("a service named '@x'", dict(name="@x"), ["services[0]", "starts with @"]),
        _qp("unit '--host=x'", dict(unit="--host=x"), ["services[0].unit", "not an option"]),
        _qp("unit 'a/b'", dict(unit="a/b"), ["services[0].unit", "not a systemd unit name"]),
        _qp("a service listed twice", None, ["'a' is listed twice"], services=[dict(name="a", unit="a"), dict(name="a", unit="b")]),
        _qp("after names an unknown service", dict(after=["nosuch"]), ["depends on nosuch", "not in services"]),
        _qp("env_file relative", dict(env_file="etc/replayd.env"), ["services[0].env_file", "relative"]),
        _qp("env_file with '..'", dict(env_file="/etc/../etc/replayd.env"), ["services[0].env_file", "'..'"]),
        _qp("health path with CRLF (header injection)", dict(health=dict(port=3030, path="/health\r\nX: 1")), ["printable characters only"]),
        _qp("health port 0", dict(health=dict(port=0, path="/health")), ["port", "from 1 to 65535"]),
        _qp("troubleshoot an unknown service", None, ["troubleshoot='nosuch' is not a service", "replayd"], troubleshoot="nosuch"),
        _qp("collector.service unknown", None, ["collector.service 'nosuch' is not one of services"],
            collector=dict(service="nosuch", spool_dir="/opt/quantlab/spool")),
        _qp("collector without spool_dir", None, ["collector needs spool_dir"], collector=dict(service="replayd")),
        _qp("collector.spool_dir relative", None, ["collector.spool_dir", "relative"], collector=dict(service="replayd", spool_dir="spool")),
        _qp("runs.service without a token_var", dict(token_var=None), ["runs.service 'replayd' needs", "token_var"], runs=dict(service="replayd")),
        _qp("cron without match", None, ["cron needs match"], cron=dict(path="/etc/cron.d/quantlab-ml")),
        _qp("ml_log with a newline", None, ["ml_log", "control character"], ml_log="/var/log/q.log\n"),
        _qp("env_files[0].path missing", None, ["env_files[0].path", "empty"], env_files=[dict(owner="deploy")]),
        _qp("timeout=0", None, ["timeout", "above 0 to 60"], timeout=0),
        _qp("timeout=nan", None, ["timeout", "above 0 to 60"], timeout="nan"),
        _qp("journal_lines=0", None, ["journal_lines", "from 1 to 1000"], journal_lines=0),
        _qp("journal_lines=10**9", None, ["journal_lines", "from 1 to 1000"], journal_lines=10 ** 9),
        _qp("max_body=0", None, ["max_body", "from 1 to 16777216"], max_body=0),
        _qp("limits.max_write_age=nan", None, ["limits.max_write_age", "from 1 to"], limits=dict(max_write_age=float("nan"))),
        _qp("limits.min_free_mb=-1", None, ["limits.min_free_mb", "from 0 to"], limits=dict(min_free_mb=-1)),
        _qp("limits.bogus", None, ["limits.bogus is not a limit"], limits=dict(bogus=1)),
        _qp("service_user '' (empty)", None, ["service_user", "empty"], service_user=""),
        Case("log_bundle", "since '1 hour; rm -rf /'", dict(since="1 hour; rm -rf /"), ["since", "not understood", "1h, 30min"]),
        Case("log_bundle", "since in the future", dict(since="2999-01-01"), ["since", "in the future"]),
        Case("log_bundle", "since 400d", dict(since="400d"), ["since", "366 days"]),
        Case("log_bundle", "since 2026-02-30", dict(since="2026-02-30"), ["since", "not a real date"]),
        Case("log_bundle", "since with a newline", dict(since="1h\n--until=now"), ["since", "newline"]),
        Case("log_bundle", "max_mb=0", dict(max_mb=0), ["max_mb", "from 0.1 to 10240"]),
        Case("log_bundle", "max_mb=nan", dict(max_mb="nan"), ["max_mb", "from 0.1 to 10240"]),
        Case("log_bundle", "max_mb=1e9", dict(max_mb=1e9), ["max_mb", "from 0.1 to 10240"]),
        Case("log_bundle", "system_units ['--all']", dict(system_units=["--all"]), ["system_units", "not an option"]),
        Case("log_bundle", "system_units ['a/b']", dict(system_units=["a/b"]), ["system_units", "not a systemd unit name"]),
        Case("log_bundle", "101 system_units", dict(system_units=["u%d" % i for i in range(101)]), ["system_units", "at most 100"]),
        Case("log_bundle", "user_units without user", dict(user_units=["openclaw-ai-quant-trader"]), ["user_units needs user"]),
        Case("log_bundle", "user_units of a user that does not exist", dict(user_units=["x"], user="nosuchuser-qo"), ["nosuchuser-qo", "does not exist"]),
        Case("log_bundle", "files name '../x'", dict(files=[dict(name="../x", path="/var/log/x.log")]), ["files[0].name", "letters, digits"]),
        Case("log_bundle", "files path relative", dict(files=[dict(name="x", path="x.log")]), ["files[0].path", "relative"]),
        Case("log_bundle", "files path with ..", dict(files=[dict(name="x", path="/var/log/../x.log")]), ["files[0].path", "'..'"]),
        Case("log_bundle", "files named alike", dict(files=[dict(name="x", path="/a.log"), dict(name="x", path="/b.log")]), ["files[1].name", "twice"]),
        Case("log_bundle", "nothing to collect", dict(system_units=[], files=[]), ["nothing to collect"]),
        Case("ml_run", "symbol 'BTCUSDT'", dict(symbol="BTCUSDT"), ["symbol", "lowercase letters or digits"]),
        Case("ml_run", "symbol 'btc;rm -rf /'", dict(symbol="btc;rm -rf /"), ["symbol", "lowercase letters or digits"]),
        Case("ml_run", "symbol '--help'", dict(symbol="--help"), ["symbol", "lowercase letters or digits"]),
        Case("ml_run", "symbol with a newline", dict(symbol="btc\nusdt"), ["symbol", "newline"]),
        Case("ml_run", "date '2026-01-15'", dict(date="2026-01-15"), ["date", "not YYYYMMDD"]),
        Case("ml_run", "date 20260230", dict(date="20260230"), ["date", "not a real day"]),
        Case("ml_run", "date in the future", dict(date="29990101"), ["date", "in the future"]),
        Case("ml_run", "date '--dry-run'", dict(date="--dry-run"), ["date", "not YYYYMMDD"]),
        Case("ml_run", "timeout=0", dict(timeout=0), ["timeout", "from 1 to 86400"]),
        Case("ml_run", "timeout=nan", dict(timeout="nan"), ["timeout", "from 1 to 86400"]),
        Case("ml_run", "user that does not exist", dict(user="nosuchuser-qo"), ["nosuchuser-qo", "does not exist"]),
        Case("ml_run", "app_dir relative", dict(app_dir="app"), ["app_dir", "relative"]),
        Case("ml_run", "log with a newline", dict(log="{tmp}/kill/ml\n.log"), ["log", "control character"]),
        Case("ml_run", "lock_file with ..", dict(lock_file="/run/../etc/x.lock"), ["lock_file", "'..'"]),
        Case("ml_run", "app_dir without the scheduler", dict(), ["run_daily_ml.js does not exist", "app_dir"]),
    ]
)


def _fill(value, tmp):
    if isinstance(value, str):
        return value.replace("{tmp}", tmp)
    if isinstance(value, list):
        return [_fill(v, tmp) for v in value]
    if isinstance(value, dict):
        return dict((k, _fill(v, tmp)) for k, v in value.items())
    return value


def arguments(case, tmp):
    args = dict(BASE[case.module])
    args.update(case.args)
    return dict((k, _fill(v, tmp)) for k, v in args.items() if v is not DROP)


def _git(repo, *args):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"] + list(args),
                   check=True, capture_output=True, env=env)


def make_fixtures(tmp):
    """Real files the modules would touch if a bad input got through."""
    os.chmod(tmp, 0o755)  # the case run as uid 65534 must reach its directory
    os.makedirs(os.path.join(tmp, "db"))
    db = os.path.join(tmp, "db")
    conn = sqlite3.connect(os.path.join(db, "candles_3m.db"))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE candles (symbol TEXT, interval TEXT, t INTEGER, t_close INTEGER, o REAL, h REAL, l REAL, c REAL, "
                 "v REAL, n INTEGER, PRIMARY KEY (symbol, interval, t))")
    conn.execute("INSERT INTO candles VALUES ('BTC', '3m', ?, ?, 1, 1, 1, 1, 1, 1)", (NOW - NOW % 180000, NOW - NOW % 180000 + 179999))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(os.path.join(db, "bbo_snapshots.db"))
    conn.execute("CREATE TABLE bbo_snapshots (symbol TEXT NOT NULL, ts_ms INTEGER NOT NULL, bid REAL, ask REAL, mid REAL, "
                 "PRIMARY KEY (symbol, ts_ms))")
    conn.execute("INSERT INTO bbo_snapshots VALUES ('BTC', ?, 1, 2, 1.5)", (NOW,))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(os.path.join(db, "funding_rates.db"))
    conn.execute("CREATE TABLE funding_rates (symbol TEXT, time INTEGER, funding_rate REAL, premium REAL, PRIMARY KEY (symbol, time))")
    conn.execute("INSERT INTO funding_rates VALUES ('BTC', ?, 0.0001, 0)", (NOW - NOW % 3600000,))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(os.path.join(db, "trading_engine.db"))
    conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, symbol TEXT)")
    conn.commit()
    conn.close()
    repo = os.path.join(tmp, "bot")
    os.makedirs(os.path.join(repo, "config"))
    _git(repo, "init", "-q")
    for version in (b"global:\n  trade:\n    leverage: 3\n", b"global:\n  trade:\n    leverage: 5\n"):
        with open(os.path.join(repo, "config", "strategy_overrides.yaml"), "wb") as f:
            f.write(version)
        _git(repo, "add", "config/strategy_overrides.yaml")
        _git(repo, "commit", "-q", "-m", "config")
    os.makedirs(os.path.join(tmp, "kill"))
    sticky = os.path.join(tmp, "sticky")
    os.makedirs(sticky)
    os.chmod(sticky, 0o1777)
    with open(os.path.join(sticky, "ai-quant-kill"), "wb") as f:
        f.write(b"close_only\n")


def snapshot(top):
    """Every entry under top: type, mode, owner, size, mtime and content hash (symlinks: their target)."""
    out = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            full = os.path.join(root, name)
            st = os.lstat(full)
            entry = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
            if os.path.islink(full):
                entry += (os.readlink(full),)
            elif os.path.isfile(full):
                with open(full, "rb") as f:
                    entry += (hashlib.sha256(f.read()).hexdigest(),)
            out[os.path.relpath(full, top)] = entry
    return out


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout("no answer within the limit")


class Recorder(object):
    """systemctl and journalctl, recorded and answered: every unit is not found, every journal empty."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, *args, **kwargs):  # set on the class, so called without the module
        self.calls.append(list(argv))
        if argv and argv[0] == "journalctl":
            return 0, "", ""
        names = argv[argv.index("--") + 1:] if "--" in argv else []
        return 0, "\n\n".join("Id=%s\nLoadState=not-found\nActiveState=inactive\nMainPID=0\nInvocationID=" % n for n in names), ""


def run_case(case, tmp, limit=5.0):
    """Run one case in tmp (made by make_fixtures). Returns a dict: rc, result (the module's JSON), seconds, error (a
    traceback or a timeout, when main() did not end with exit_json/fail_json), commands (systemd argv run) and
    changed (paths whose entry differs before and after)."""
    args = arguments(case, tmp)
    before = snapshot(tmp)
    recorder = Recorder()
    out = io.StringIO()
    rc, error = None, None
    cwd = os.getcwd()
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    patcher = mock.patch.object(AnsibleModule, "run_command", recorder) if case.module in SYSTEMD else contextlib.nullcontext()
    env = mock.patch.dict(os.environ, dict(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull))
    started = time.monotonic()
    try:
        os.chdir(tmp)  # a relative path must not land in the caller's directory unseen
        with env, patcher, patch_module_args(args), contextlib.redirect_stdout(out):
            signal.setitimer(signal.ITIMER_REAL, limit)
            if case.euid is not None:
                os.setegid(case.euid)
                os.seteuid(case.euid)
            try:
                MODULES[case.module].main()
            finally:
                if case.euid is not None:
                    os.seteuid(0)
                    os.setegid(0)
                signal.setitimer(signal.ITIMER_REAL, 0)
    except SystemExit as e:
        rc = e.code
    except Timeout:
        error = "did not return within %g s" % limit
    except BaseException:  # noqa: B036 - the table reports any crash, KeyboardInterrupt excepted below
        error = traceback.format_exc(limit=-3)
    finally:
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(cwd)
    seconds = time.monotonic() - started
    text = out.getvalue()
    try:
        result = json.loads(text) if text.strip() else {}
    except ValueError:
        result = dict(unparsable=text[:500])
    after = snapshot(tmp)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return dict(rc=rc, result=result, seconds=seconds, error=error, commands=recorder.calls, changed=changed)


def problems(case, outcome):
    """What is wrong with the outcome of a case: [] when it failed cleanly, quickly, with the words, touching nothing."""
    out = []
    if outcome["error"]:
        out.append("crashed or hung: %s" % outcome["error"].strip().splitlines()[-1])
        return out
    msg = str(outcome["result"].get("msg", ""))
    if outcome["rc"] != 1 or not outcome["result"].get("failed"):
        out.append("did not fail (rc=%r, changed=%r)" % (outcome["rc"], outcome["result"].get("changed")))
    if msg == "Error executing command." or "Traceback" in msg or "exception" in outcome["result"]:
        out.append("unclear failure: %r" % msg[:200])
    missing = [w for w in case.words if w.lower() not in msg.lower()]
    if missing:
        out.append("message lacks %s: %r" % (missing, msg[:300]))
    if outcome["seconds"] > SECONDS:
        out.append("took %.1f s" % outcome["seconds"])
    if outcome["changed"]:
        out.append("changed on disk: %s" % outcome["changed"][:5])
    if outcome["commands"]:
        out.append("ran %s before refusing" % [" ".join(c)[:80] for c in outcome["commands"][:2]])
    return out
