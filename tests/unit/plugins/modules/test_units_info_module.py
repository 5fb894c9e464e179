"""units_info as a whole, with systemctl answered: every unit of one manager in one call, the answer keyed by the
names as given (with or without .service), missing units listed and never a failure, a timestamp it cannot read a
clean failure."""

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.modules import units_info

TRADER = """Id=openclaw-ai-quant-trader.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=4242
InvocationID=f497578df8b9495fb52ea33d9e5a08e5
ActiveEnterTimestamp=Sun 2026-11-29 19:38:08.123456 UTC
NRestarts=1
Result=success
ExecMainStatus=0
UnitFileState=enabled
"""
MISSING = """Id=nosuch.service
LoadState=not-found
ActiveState=inactive
SubState=dead
MainPID=0
InvocationID=
ActiveEnterTimestamp=
NRestarts=0
Result=success
ExecMainStatus=0
UnitFileState=
"""


def run(monkeypatch, capsys, args, answer):
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(list(argv))
        return answer(argv)
    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    with patch_module_args(dict(args, scope="system")), pytest.raises(SystemExit) as e:
        units_info.main()
    return e.value.code, json.loads(capsys.readouterr().out), calls


def test_names_as_given_one_call_and_the_missing_listed(monkeypatch, capsys):
    rc, result, calls = run(monkeypatch, capsys, dict(units=["openclaw-ai-quant-trader", "nosuch", "openclaw-ai-quant-trader.service"]),
                            lambda argv: (0, TRADER + "\n" + MISSING, ""))
    assert rc == 0 and result["changed"] is False and not result.get("failed")
    assert len(calls) == 1 and calls[0][-3:] == ["--", "openclaw-ai-quant-trader.service", "nosuch.service"]  # each unit once
    assert "--timestamp=us+utc" in calls[0]
    assert sorted(result["units"]) == ["nosuch", "openclaw-ai-quant-trader", "openclaw-ai-quant-trader.service"]
    assert result["units"]["openclaw-ai-quant-trader"] == result["units"]["openclaw-ai-quant-trader.service"]
    trader = result["units"]["openclaw-ai-quant-trader"]
    assert trader["main_pid"] == 4242 and trader["active_enter"] == "2026-11-29T19:38:08.123456+00:00" and trader["n_restarts"] == 1
    assert trader["since_s"] == pytest.approx(max(0.0, result["now"] - 1795981088.123456), abs=1e-3)
    assert result["missing"] == ["nosuch"]
    assert result["units"]["nosuch"]["load_state"] == "not-found"


def test_only_missing_units_is_no_failure(monkeypatch, capsys):
    rc, result, _calls = run(monkeypatch, capsys, dict(units=["nosuch"]), lambda argv: (0, MISSING, ""))
    assert rc == 0 and result["missing"] == ["nosuch"]


def test_a_timestamp_it_cannot_read_fails_cleanly(monkeypatch, capsys):
    """A systemd that ignored --timestamp=us+utc would print the local zone: refused, not read as UTC."""
    odd = TRADER.replace("19:38:08.123456 UTC", "20:38:08 CET")
    rc, result, _calls = run(monkeypatch, capsys, dict(units=["openclaw-ai-quant-trader"]), lambda argv: (0, odd, ""))
    assert rc == 1 and result["failed"] and "cannot read the timestamp 'Sun 2026-11-29 20:38:08 CET'" in result["msg"]


def test_systemctl_failing_fails_the_task_with_its_message(monkeypatch, capsys):
    rc, result, _calls = run(monkeypatch, capsys, dict(units=["openclaw-ai-quant-trader"]),
                             lambda argv: (1, "", "Unknown assignment: --timestamp=us+utc\n"))
    assert rc == 1 and "from the system manager: Unknown assignment" in result["msg"]
