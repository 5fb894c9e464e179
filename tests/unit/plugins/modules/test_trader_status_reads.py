"""trader_status's reads, on real files: the strategy YAML's hash as the trader computes it (disk_sha1), the kill
mode its sources give now (read_kill), the newest order of its SQLite database (newest_order), and one trader
read whole from a real process's environment and working directory, with systemctl and journalctl answered.

A kill file or YAML that is a symlink or a FIFO is reported, never followed or read: another user may have made it,
and a FIFO nobody writes would hang the module."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _trader
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import SystemdTarget
from ansible_collections.quantops.runbooks.plugins.modules import trader_status as ts

EMPTY_SHA1 = hashlib.sha1(b"{}").hexdigest()[:8]
YAML = b"global:\n  trade:\n    leverage: 3\n    allocation_pct: 0.2\n  engine:\n    interval: 3m\n"


@pytest.fixture
def alarm():
    """Fail instead of hanging when a read blocks (a FIFO opened without O_NONBLOCK)."""
    def timeout(signum, frame):
        raise AssertionError("the read blocked")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ---- disk_sha1 ----------------------------------------------------------------------------------------------------

def test_disk_sha1_is_the_traders_hash_of_the_parsed_yaml(tmp_path):
    path = tmp_path / "strategy_overrides.yaml"
    path.write_bytes(YAML)
    expected = hashlib.sha1(json.dumps(yaml.safe_load(YAML), sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:8]
    assert ts.disk_sha1(str(path)) == expected
    # formatting and comments do not change what the trader loads, so not the hash either
    path.write_bytes(b"# comment\nglobal: {engine: {interval: 3m}, trade: {allocation_pct: 0.2, leverage: 3}}\n")
    assert ts.disk_sha1(str(path)) == expected


@pytest.mark.parametrize("content", [b"", b"# only a comment\n", b"[1, 2]\n", b"just a string\n", b"{}\n"])
def test_yaml_that_is_no_mapping_hashes_as_the_defaults(tmp_path, content):
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    assert ts.disk_sha1(str(path)) == EMPTY_SHA1


def test_a_missing_yaml_is_the_defaults(tmp_path):
    """The trader runs on its defaults without the file, and its heartbeat shows the hash of {}."""
    assert ts.disk_sha1(str(tmp_path / "nope.yaml")) == EMPTY_SHA1


@pytest.mark.parametrize("content", [b"global: [1, 2\n", b"a: b: c\n", b"\tkey: value\n", b"key: 'unterminated\n"])
def test_a_yaml_that_does_not_parse_raises_yaml_error(tmp_path, content):
    """Not a hash of something else: trader() reports it as a problem ("cannot hash ...")."""
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    with pytest.raises(yaml.YAMLError):
        ts.disk_sha1(str(path))


def test_a_yaml_of_invalid_utf8_is_read_as_the_trader_would_not_crash(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"global:\n  note: \xff\xfe\n")
    assert len(ts.disk_sha1(str(path))) == 8


def test_a_symlinked_yaml_is_not_followed(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_bytes(YAML)
    link = tmp_path / "s.yaml"
    link.symlink_to(real)
    with pytest.raises(ValueError, match="symbolic link"):
        ts.disk_sha1(str(link))


def test_a_fifo_yaml_is_refused_without_blocking(tmp_path, alarm):
    path = tmp_path / "s.yaml"
    os.mkfifo(path)
    with pytest.raises(ValueError, match="FIFO"):
        ts.disk_sha1(str(path))


def test_a_directory_or_a_relative_path_is_refused(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        ts.disk_sha1(str(tmp_path))
    with pytest.raises(ValueError, match="relative"):
        ts.disk_sha1("config/strategy_overrides.yaml")


# ---- read_kill ----------------------------------------------------------------------------------------------------

def facts(tmp_path, mode="live", env=None, kill_file="kill"):
    environ = {"AI_QUANT_MODE": mode}
    if kill_file is not None:
        environ["AI_QUANT_KILL_SWITCH_FILE"] = kill_file
    if env is not None:
        environ["AI_QUANT_KILL_SWITCH"] = env
    return _trader.TraderFacts(environ, str(tmp_path))


def test_a_paper_trader_has_no_kill_switch(tmp_path):
    (tmp_path / "kill").write_bytes(b"halt_all\n")
    assert ts.read_kill(facts(tmp_path, mode="paper")) is None
    assert ts.read_kill(_trader.TraderFacts({}, str(tmp_path))) is None  # AI_QUANT_MODE unset: paper


@pytest.mark.parametrize(("env", "content", "mode"), [
    (None, None, "off"),
    ("close_only", None, "close_only"),
    ("halt", None, "halt_all"),
    ("nonsense", None, "off"),
    (None, b"", "close_only"),          # any existing file
    (None, b"close_only\n", "close_only"),
    (None, b"HALT everything\n", "halt_all"),
    (None, b"full\n", "halt_all"),
    ("halt_all", b"close_only\n", "close_only"),  # the file is applied after the env value
    ("close_only", b"halt_all\n", "halt_all"),
])
def test_kill_mode_from_the_env_and_the_file(tmp_path, env, content, mode):
    if content is not None:
        (tmp_path / "kill").write_bytes(content)
    for trader_mode in ("live", "dry_live"):
        assert ts.read_kill(facts(tmp_path, mode=trader_mode, env=env)) == mode


def test_no_kill_file_set_is_the_env_alone(tmp_path):
    assert ts.read_kill(facts(tmp_path, env="1", kill_file=None)) == "close_only"


def test_a_symlinked_kill_file_is_not_followed(tmp_path):
    """Even pointing at a real kill file: the module says what it found rather than read through a link."""
    (tmp_path / "elsewhere").write_bytes(b"halt_all\n")
    (tmp_path / "kill").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match=r"cannot read the kill file .*/kill: a symbolic link"):
        ts.read_kill(facts(tmp_path))


def test_a_dangling_symlink_kill_file_is_reported_not_taken_for_no_file(tmp_path):
    (tmp_path / "kill").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="symbolic link"):
        ts.read_kill(facts(tmp_path))


def test_a_fifo_kill_file_is_refused_without_blocking(tmp_path, alarm):
    os.mkfifo(tmp_path / "kill")
    with pytest.raises(ValueError, match="a FIFO"):
        ts.read_kill(facts(tmp_path))


def test_a_symlink_to_a_fifo_is_neither_followed_nor_blocks(tmp_path, alarm):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "kill").symlink_to(tmp_path / "fifo")
    with pytest.raises(ValueError, match="symbolic link"):
        ts.read_kill(facts(tmp_path))


def test_a_kill_file_that_is_a_directory_is_reported(tmp_path):
    (tmp_path / "kill").mkdir()
    with pytest.raises(ValueError, match="a directory"):
        ts.read_kill(facts(tmp_path))


@pytest.mark.skipif(os.geteuid() != 0, reason="root against another user's directory link")
def test_a_kill_file_behind_another_users_directory_link_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "kill").write_bytes(b"halt_all\n")
    (tmp_path / "dir").symlink_to(tmp_path / "real")
    os.lchown(tmp_path / "dir", 65534, 65534)
    with pytest.raises(ValueError, match="cannot read the kill file"):
        ts.read_kill(facts(tmp_path, kill_file="dir/kill"))


# ---- newest_order -------------------------------------------------------------------------------------------------

def newest(path):
    return sq.ReadOnly(str(path), 1000).read(ts.newest_order)


def make_db(path, *statements):
    conn = sqlite3.connect(str(path))
    for statement in statements:
        conn.execute(*statement) if isinstance(statement, tuple) else conn.execute(statement)
    conn.commit()
    conn.close()


def test_an_empty_database_has_no_order(tmp_path):
    make_db(tmp_path / "t.db", "CREATE TABLE unrelated (x INTEGER)")
    assert newest(tmp_path / "t.db") is None


def test_empty_tables_have_no_order(tmp_path):
    make_db(tmp_path / "t.db", "CREATE TABLE oms_intents (intent_id TEXT, created_ts_ms INTEGER)", "CREATE TABLE orders (ts_ms INTEGER)",
            "CREATE TABLE trades (id INTEGER, timestamp TEXT)")
    assert newest(tmp_path / "t.db") is None


def test_the_newest_of_the_three_tables(tmp_path):
    make_db(tmp_path / "t.db",
            "CREATE TABLE oms_intents (intent_id TEXT, created_ts_ms INTEGER)",
            "INSERT INTO oms_intents VALUES ('a', 1795981000000), ('b', 1795981088123)",
            "CREATE TABLE orders (ts_ms INTEGER)",
            "INSERT INTO orders VALUES (1795981050000)",
            "CREATE TABLE trades (id INTEGER, timestamp TEXT)",
            "INSERT INTO trades VALUES (1, '2026-11-29T19:30:00+00:00')")
    assert newest(tmp_path / "t.db") == 1795981088123
    make_db(tmp_path / "t.db", "INSERT INTO trades VALUES (2, '2026-11-29T19:40:00.654321+00:00')")
    # trades.timestamp is text; read to the second (rfc3339_epoch drops the fraction)
    assert newest(tmp_path / "t.db") == 1795981200000


@pytest.mark.parametrize("text", ["2026-11-29T19:40:00Z", "2026-11-29 19:40:00", "2026-11-29T19:40:00.5+00:00"])
def test_trade_times_the_bot_writes(tmp_path, text):
    make_db(tmp_path / "t.db", "CREATE TABLE trades (id INTEGER, timestamp TEXT)", ("INSERT INTO trades VALUES (1, ?)", (text,)))
    assert newest(tmp_path / "t.db") == 1795981200000


def test_values_that_are_no_time_are_skipped_not_crashed_on(tmp_path):
    make_db(tmp_path / "t.db",
            "CREATE TABLE orders (ts_ms)",  # no type: anything goes in
            "INSERT INTO orders VALUES ('yesterday')",
            "CREATE TABLE trades (timestamp TEXT)",
            "INSERT INTO trades VALUES ('not a time'), (NULL)",
            "CREATE TABLE oms_intents (created_ts_ms INTEGER)",
            "INSERT INTO oms_intents VALUES (1795981000000.7)")
    # MAX over mixed types is the text (SQLite orders text after numbers): no number, so orders gives nothing
    assert newest(tmp_path / "t.db") == 1795981000000


def test_a_table_without_the_column_is_skipped(tmp_path):
    make_db(tmp_path / "t.db", "CREATE TABLE orders (id INTEGER, created INTEGER)", "INSERT INTO orders VALUES (1, 99)",
            "CREATE TABLE oms_intents (intent_id TEXT, created_ts_ms INTEGER)", "INSERT INTO oms_intents VALUES ('a', 5)")
    assert newest(tmp_path / "t.db") == 5


def test_a_view_named_like_a_table_is_read(tmp_path):
    make_db(tmp_path / "t.db", "CREATE TABLE o (ts_ms INTEGER)", "INSERT INTO o VALUES (42)", "CREATE VIEW orders AS SELECT ts_ms FROM o")
    assert newest(tmp_path / "t.db") == 42


def test_the_database_is_not_changed_by_the_read(tmp_path):
    make_db(tmp_path / "t.db", "PRAGMA journal_mode=WAL", "CREATE TABLE orders (ts_ms INTEGER)", "INSERT INTO orders VALUES (7)")
    before = sorted(os.listdir(tmp_path)), (tmp_path / "t.db").read_bytes()
    assert newest(tmp_path / "t.db") == 7
    assert (sorted(os.listdir(tmp_path)), (tmp_path / "t.db").read_bytes()) == before


def test_a_file_that_is_no_database_is_a_database_error(tmp_path):
    (tmp_path / "t.db").write_bytes(b"this is not SQLite\n" * 100)
    with pytest.raises(sq.DatabaseError):
        newest(tmp_path / "t.db")


# ---- one trader, whole --------------------------------------------------------------------------------------------

HEARTBEAT = ("engine ok. loops=41 errors=0 symbols=3 open_pos=1 loop=0.37s ws_connected=True strategy_sha1=%s version=n/a")


class Systemd(object):
    """systemctl show and journalctl, answered for one running trader (a real process: its /proc is read)."""

    def __init__(self, pid, messages):
        self.pid, self.messages, self.calls = pid, messages, []

    def run_command(self, argv, environ_update=None):
        self.calls.append(list(argv))
        if argv[0] == "journalctl":
            if any(a.startswith("--after-cursor") for a in argv):
                return 0, "", ""
            return 0, "".join(json.dumps(dict(__CURSOR="c%d" % i, MESSAGE=m, __REALTIME_TIMESTAMP="1795981088000000")) + "\n"
                              for i, m in enumerate(self.messages)), ""
        names = argv[argv.index("--") + 1:]
        return 0, "\n\n".join("Id=%s\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=%d\nInvocationID=abc\n" % (n, self.pid)
                              for n in names), ""


@pytest.fixture
def process(tmp_path):
    """A stand-in trader: a real process with the trader's environment and working directory."""
    started = []

    def start(**environ):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=str(tmp_path), env=dict(environ, PATH=os.defpath))
        started.append(proc)
        return proc.pid
    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def run_trader(pid, messages, tmp_path):
    module = Systemd(pid, messages)
    target = SystemdTarget("system")
    props = {"Id": "openclaw-ai-quant-live.service", "LoadState": "loaded", "ActiveState": "active", "MainPID": str(pid), "InvocationID": "abc"}
    return ts.trader(module, target, "openclaw-ai-quant-live", props, "-15min") + (module,)


def test_a_healthy_live_trader(tmp_path, process):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "strategy_overrides.yaml").write_bytes(YAML)
    make_db(tmp_path / "trading_engine.db", "CREATE TABLE orders (ts_ms INTEGER)", "INSERT INTO orders VALUES (1795981088123)")
    sha1 = _trader.strategy_sha1(yaml.safe_load(YAML))
    pid = process(AI_QUANT_MODE="live", AI_QUANT_KILL_SWITCH_FILE="kill")
    out, problems, module = run_trader(pid, [HEARTBEAT % "00000000", "some line", HEARTBEAT % sha1], tmp_path)
    assert problems == []
    assert out["main_pid"] == pid and out["trader_mode"] == "live" and out["kill_mode"] == "off"
    assert out["kill_file"] == str(tmp_path / "kill")
    assert out["strategy_yaml"] == str(tmp_path / "config" / "strategy_overrides.yaml")
    assert out["disk_sha1"] == out["loaded_sha1"] == sha1 and out["config_in_force"] is True  # the last heartbeat counts
    assert out["last_order_ms"] == 1795981088123 and out["last_order"] == "2026-11-29T19:38:08Z"
    journal = [c for c in module.calls if c[0] == "journalctl"]
    assert len(journal) == 1 and "_SYSTEMD_INVOCATION_ID=abc" in journal[0] and journal[0][-2:] == ["--since", "-15min"]


def test_a_trader_with_a_broken_yaml_a_fifo_kill_file_and_errors(tmp_path, process, alarm):
    (tmp_path / "s.yaml").write_bytes(b"global: [1, 2\n")
    os.mkfifo(tmp_path / "kill")
    pid = process(AI_QUANT_MODE="dry_live", AI_QUANT_KILL_SWITCH_FILE=str(tmp_path / "kill"), AI_QUANT_STRATEGY_YAML="s.yaml",
                  AI_QUANT_DB_PATH="nope.db")
    out, problems, _module = run_trader(pid, [HEARTBEAT % "1a2b3c4d", "Traceback (most recent call last):\n  File x", "ERROR: boom"], tmp_path)
    text = "\n".join(problems)
    assert "cannot hash %s" % (tmp_path / "s.yaml") in text
    assert "cannot read the kill file %s: a FIFO" % (tmp_path / "kill") in text
    assert "2 error line(s) since -15min, the last: ERROR: boom" in text
    assert out["disk_sha1"] is None and out["config_in_force"] is None and out["kill_mode"] is None
    assert out["errors"] == 2 and out["last_order_ms"] is None  # no database: no order, no problem


def test_a_trader_running_another_config_and_without_heartbeat(tmp_path, process):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "strategy_overrides.yaml").write_bytes(YAML)
    pid = process(AI_QUANT_MODE="paper")
    out, problems, _module = run_trader(pid, [HEARTBEAT % "1a2b3c4d"], tmp_path)
    assert out["config_in_force"] is False and out["kill_mode"] is None and out["kill_file"] is None
    assert problems == ["loaded config 1a2b3c4d is not the one on disk (%s)" % out["disk_sha1"]]
    _out, problems, _module = run_trader(pid, ["no heartbeat here"], tmp_path)
    assert problems == ["no heartbeat with strategy_sha1 since -15min"]


def test_units_not_found_or_not_running_read_nothing(tmp_path):
    module = Systemd(0, [])
    target = SystemdTarget("system")
    out, problems = ts.trader(module, target, "x", {"LoadState": "not-found", "MainPID": "0"}, "-15min")
    assert problems == ["unit not found"] and out["main_pid"] is None
    out, problems = ts.trader(module, target, "x", {"LoadState": "loaded", "ActiveState": "failed", "MainPID": "0"}, "-15min")
    assert problems == ["failed, not running"]
    assert module.calls == []


def test_the_module_reports_every_unit(tmp_path, process, capsys):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "strategy_overrides.yaml").write_bytes(YAML)
    pid = process(AI_QUANT_MODE="paper")
    module = Systemd(pid, [HEARTBEAT % _trader.strategy_sha1(yaml.safe_load(YAML))])
    with patch_module_args(dict(units=["openclaw-ai-quant-trader", "openclaw-ai-quant-trader.service"], scope="system")):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(AnsibleModule, "run_command", lambda self, argv, **kw: module.run_command(argv, **kw))
            with pytest.raises(SystemExit) as e:
                ts.main()
    result = json.loads(capsys.readouterr().out)
    assert e.value.code == 0 and result["healthy"] is True and result["problems"] == []
    assert sorted(result["traders"]) == ["openclaw-ai-quant-trader", "openclaw-ai-quant-trader.service"]
    shows = [c for c in module.calls if c[0] == "systemctl"]
    assert len(shows) == 1 and shows[0][-2:] == ["--", "openclaw-ai-quant-trader.service"]  # one name, asked once
