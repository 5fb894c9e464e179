"""The kill_switch module's file method driven through main(), on a real file in a temporary directory.
(The env method and the trader's reaction are tested on the lab.)"""

import json

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
