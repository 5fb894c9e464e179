"""The kill_switch module's file method driven through main(), on a real file in a temporary directory.
(The env method and the trader's reaction are tested on the lab.)"""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.modules import kill_switch


def run(capsys, **args):
    args.setdefault("unit", "no-such-unit-here")
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        kill_switch.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


def test_check_mode_then_apply_then_idempotent(tmp_path, capsys):
    kill = tmp_path / "ai-quant-kill"
    result = run(capsys, mode="close_only", path=str(kill), _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and not kill.exists()
    assert result["diff"]["before"] == "file: off\nenv: off\n" and result["diff"]["after"] == "file: close_only\nenv: off\n"
    result = run(capsys, mode="close_only", path=str(kill))
    assert result["changed"] and kill.read_bytes() == b"close_only\n"
    assert (result["previous_mode"], result["mode"], result["effective_mode"]) == ("off", "close_only", "close_only")
    assert oct(kill.stat().st_mode & 0o777) == "0o644"
    assert not run(capsys, mode="close_only", path=str(kill))["changed"]
    assert [p.name for p in tmp_path.iterdir()] == ["ai-quant-kill"]  # no temporary file left behind


def test_never_relaxes_halt_all_unless_forced(tmp_path, capsys):
    kill = tmp_path / "ai-quant-kill"
    kill.write_bytes(b"halt_all\n")
    result = run(capsys, mode="close_only", path=str(kill))
    assert not result["changed"] and result["mode"] == "halt_all" and kill.read_bytes() == b"halt_all\n"
    assert any("halt_all is in force" in json.dumps(w) for w in result["warnings"])  # 2.19: structured warnings
    result = run(capsys, mode="close_only", path=str(kill), force=True)
    assert result["changed"] and kill.read_bytes() == b"close_only\n"


def test_off_removes_the_file(tmp_path, capsys):
    kill = tmp_path / "ai-quant-kill"
    kill.write_bytes(b"close_only\n")
    result = run(capsys, mode="off", path=str(kill))
    assert result["changed"] and not kill.exists() and result["effective_mode"] == "off"
    assert not run(capsys, mode="off", path=str(kill))["changed"]


def test_reason_goes_to_the_audit_trail_not_the_kill_file(tmp_path, capsys):
    kill, trail = tmp_path / "ai-quant-kill", tmp_path / "audit.jsonl"
    run(capsys, mode="halt_all", path=str(kill), reason="INC-1: exchange down", audit_log=str(trail))
    run(capsys, mode="halt_all", path=str(kill), reason="again", audit_log=str(trail))
    assert kill.read_bytes() == b"halt_all\n"
    records = [json.loads(line) for line in trail.read_text().splitlines()]
    assert [(r["mode"], r["previous_mode"], r["changed"], r["reason"]) for r in records] == [
        ("halt_all", "off", True, "INC-1: exchange down"), ("halt_all", "halt_all", False, "again")]
    assert all(r["user"] and r["time"] for r in records)


@pytest.mark.parametrize(("args", "message"), [
    ({"mode": "close_only", "path": "/nonexistent-dir/kill"}, "does not exist"),
    ({"mode": "stop"}, "value of mode must be one of"),
])
def test_bad_input_fails_and_writes_nothing(tmp_path, capsys, args, message):
    result = run(capsys, **args)
    assert result["rc"] == 1 and result["failed"] and message in result["msg"]


def test_a_directory_is_not_a_kill_file(tmp_path, capsys):
    result = run(capsys, mode="close_only", path=str(tmp_path))
    assert result["failed"] and "is a directory" in result["msg"]


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_an_odd_file_at_the_path_is_replaced_without_blocking_or_following(tmp_path, capsys, kind):
    kill, victim = tmp_path / "ai-quant-kill", tmp_path / "victim"
    victim.write_bytes(b"keep\n")
    if kind == "fifo":
        os.mkfifo(kill)
    else:
        kill.symlink_to(victim)
    result = run(capsys, mode="close_only", path=str(kill))
    assert result["changed"] and kill.is_file() and not kill.is_symlink() and kill.read_bytes() == b"close_only\n"
    assert victim.read_bytes() == b"keep\n"
    assert any(("a FIFO" if kind == "fifo" else "a symbolic link") in json.dumps(w) for w in result["warnings"])


def test_check_mode_says_what_it_would_do(tmp_path, capsys):
    result = run(capsys, mode="halt_all", path=str(tmp_path / "k"), verify=True, _ansible_check_mode=True)
    assert (result["status"], result["summary"]) == ("WOULD_ENGAGE", "WOULD ENGAGE halt_all (now off)")
    assert "traders" not in result


class FakeHost(object):
    """systemctl show / restart and journalctl of one host, with one running process (this test's own pid)."""

    def __init__(self, environ, lines):
        self.environ, self.lines, self.calls = environ, lines, []

    def run_command(self, argv, environ_update=None):
        self.calls.append(argv)
        if argv[0] == "journalctl":
            if any(a.startswith("--after-cursor") for a in argv):
                return 0, "", ""
            entries = [json.dumps(dict(__CURSOR="c%d" % i, MESSAGE=m, __REALTIME_TIMESTAMP=str(int(t * 1e6))))
                       for i, (t, m) in enumerate(self.lines)]
            return 0, "".join(e + "\n" for e in entries), ""
        units = list(argv[argv.index("--") + 1:]) if "--" in argv else []
        block = "Id=%s\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=%d\nInvocationID=x\n"
        return 0, "\n".join(block % (u, os.getpid()) for u in units), ""


def test_verify_needs_a_loop_begun_after_the_write(tmp_path, monkeypatch):
    kill = tmp_path / "ai-quant-kill"
    kill.write_bytes(b"close_only\n")
    monkeypatch.setattr(kill_switch._units, "Process", lambda pid: type("P", (), dict(
        pid=pid, environ={"AI_QUANT_MODE": "dry_live", "AI_QUANT_KILL_SWITCH_FILE": str(kill), "AI_QUANT_LIVE_STATE_SYNC_SECS": "1"},
        cwd="/", started=0.0))())
    written = 1000.0
    beat = "engine ok. loops=9 errors=0 loop=%.2fs ws_connected=True strategy_sha1=abcdef12 version=n/a"
    host = FakeHost({}, [(1000.4, beat % 0.3), (1002.6, beat % 0.2)])
    verifier = kill_switch.Verifier(host, kill_switch.SystemdTarget("system"), ["openclaw-ai-quant-live"])
    rows = verifier.snapshot()
    proofs = verifier.wait(rows, written, 1.0, kill_switch._trader.HEARTBEAT_LOOP, None)
    assert proofs["openclaw-ai-quant-live.service"][1] == 1002.6  # not the one of the loop begun before the write
    kill_switch.judge(rows, proofs, "close_only", str(kill), written)
    row = rows["openclaw-ai-quant-live.service"]
    assert row["verified"] and row["in_force"] == "close_only" and row["seconds_to_proof"] == 2.6
    assert kill_switch.ks.host_status(rows, "close_only")[0] == "PROTECTED"
    # halt_all asked, close_only in the file: not verified, and it says why
    kill_switch.judge(rows, proofs, "halt_all", str(kill), written)
    assert not row["verified"] and "in force: close_only" in row["proof"]
    assert kill_switch.ks.host_status(rows, "halt_all")[0] == "UNPROTECTED"


def test_a_trader_polling_another_file_is_named(tmp_path, monkeypatch):
    ours, theirs = tmp_path / "ai-quant-kill", tmp_path / "other-kill"
    ours.write_bytes(b"close_only\n")
    monkeypatch.setattr(kill_switch._units, "Process", lambda pid: type("P", (), dict(
        pid=pid, environ={"AI_QUANT_MODE": "live", "AI_QUANT_KILL_SWITCH_FILE": str(theirs)}, cwd="/", started=0.0))())
    host = FakeHost({}, [])
    verifier = kill_switch.Verifier(host, kill_switch.SystemdTarget("system"), ["openclaw-ai-quant-live"])
    rows = verifier.snapshot()
    kill_switch.judge(rows, {}, "close_only", str(ours), 1000.0)
    status, summary = kill_switch.ks.host_status(rows, "close_only")
    assert status == "UNPROTECTED"
    assert "kill written to %s; the trader polls %s" % (ours, theirs) in summary


def test_paper_traders_have_no_kill_switch(monkeypatch):
    monkeypatch.setattr(kill_switch._units, "Process", lambda pid: type("P", (), dict(
        pid=pid, environ={"AI_QUANT_MODE": "paper"}, cwd="/", started=0.0))())
    verifier = kill_switch.Verifier(FakeHost({}, []), kill_switch.SystemdTarget("system"), ["openclaw-ai-quant-trader"])
    rows = verifier.snapshot()
    kill_switch.judge(rows, {}, "close_only", "/tmp/ai-quant-kill", 1000.0)
    assert kill_switch.ks.host_status(rows, "close_only")[0] == "NO_KILL_SWITCH"
    assert rows["openclaw-ai-quant-trader.service"]["verified"] is None


def test_the_kill_file_is_the_one_the_running_trader_polls(tmp_path, monkeypatch):
    """Issue 12: the path comes from the trader's own environment, not an inventory variable."""
    theirs = tmp_path / "their-kill"
    monkeypatch.setattr(kill_switch._units, "Process", lambda pid: type("P", (), dict(
        pid=pid, environ={"AI_QUANT_MODE": "live", "AI_QUANT_KILL_SWITCH_FILE": str(theirs)}, cwd="/", started=0.0))())
    path, source = kill_switch.resolve_path(FakeHost({}, []), kill_switch.SystemdTarget("system"), ["openclaw-ai-quant-live"])
    assert path == str(theirs) and "AI_QUANT_KILL_SWITCH_FILE of the running openclaw-ai-quant-live.service (pid" in source


class StoppedHost(FakeHost):
    """No trader runs; the units set the file in Environment= and in an EnvironmentFile."""

    def __init__(self, env_file):
        FakeHost.__init__(self, {}, [])
        self.env_file = env_file

    def run_command(self, argv, environ_update=None):
        units = list(argv[argv.index("--") + 1:])
        if "-pEnvironment" in argv:
            blocks = ["Environment=AI_QUANT_MODE=live AI_QUANT_KILL_SWITCH_FILE=/tmp/from-environment\n"
                      "EnvironmentFiles=/nonexistent (ignore_errors=yes)\nEnvironmentFiles=%s (ignore_errors=no)\n" % self.env_file
                      for _u in units]
            return 0, "\n".join(blocks), ""
        block = "Id=%s\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nInvocationID=\n"
        return 0, "\n".join(block % u for u in units), ""


def test_with_no_trader_running_the_units_environment_files_decide(tmp_path):
    env_file = tmp_path / "ai-quant-live.env"
    env_file.write_text('# live\nAI_QUANT_KILL_SWITCH_FILE="/run/trader/kill"\n')
    path, source = kill_switch.resolve_path(StoppedHost(str(env_file)), kill_switch.SystemdTarget("system"), ["openclaw-ai-quant-live"])
    assert path == "/run/trader/kill" and "of openclaw-ai-quant-live.service (no trader with a kill switch runs)" in source
    env_file.write_text("AI_QUANT_MODE=live\n")
    assert kill_switch.resolve_path(StoppedHost(str(env_file)), kill_switch.SystemdTarget("system"), ["x"])[0] == "/tmp/from-environment"


def test_traders_polling_different_files_are_refused(tmp_path, monkeypatch):
    files = iter([str(tmp_path / "a"), str(tmp_path / "b")])
    monkeypatch.setattr(kill_switch._units, "Process", lambda pid: type("P", (), dict(
        pid=pid, environ={"AI_QUANT_MODE": "live", "AI_QUANT_KILL_SWITCH_FILE": next(files)}, cwd="/", started=0.0))())
    with pytest.raises(kill_switch.KillSwitchError, match="poll different kill files"):
        kill_switch.resolve_path(FakeHost({}, []), kill_switch.SystemdTarget("system"), ["openclaw-ai-quant-trader", "openclaw-ai-quant-live"])


def test_a_path_the_trader_names_is_written_only_where_the_trader_could_write(tmp_path):
    """A trader's own environment could name /etc/nologin: root must not create it for an emergency stop."""
    target = type("Target", (), dict(scope="user", uid=4321, user="trader"))()
    with pytest.raises(kill_switch.KillSwitchError, match=r"in /etc, a directory of root \(uid 0\) that trader cannot write"):
        kill_switch.check_trader_named_dir("/etc/nologin", target)
    kill_switch.check_trader_named_dir("/tmp/ai-quant-kill", target)  # shared and sticky
    own = tmp_path / "run"
    own.mkdir()
    os.chown(own, 4321, 4321)
    kill_switch.check_trader_named_dir(str(own / "kill"), target)
