"""The shared journal reader (module_utils._journal), as journal_check opens it: the first read from --since (or
the invocation), every later one from the cursor only, since journalctl refuses --since together with --after-cursor."""

import json
import signal

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils._journal import Journal
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import SystemdTarget
from ansible_collections.quantops.runbooks.plugins.modules import journal_check


class FakeModule(object):
    def __init__(self, invocation="", batches=()):
        self.invocation = invocation
        self.batches = list(batches)
        self.calls = []

    def run_command(self, argv, environ_update=None):
        self.calls.append(argv)
        if argv[0] != "journalctl":
            return 0, "LoadState=loaded\nInvocationID=%s\n" % self.invocation, ""
        if "--since" in argv and any(a.startswith("--after-cursor") for a in argv):
            return 1, "", "Please specify only one of --since=, --cursor=, and --after-cursor=."
        batch = self.batches.pop(0) if self.batches else []
        return 0, "".join(json.dumps(dict(__CURSOR=c, MESSAGE=m)) + "\n" for c, m in batch), ""


def test_since_is_used_once_then_the_cursor():
    module = FakeModule(batches=[[("c1", "one")], [], [("c2", "two")]])
    journal = Journal(module, SystemdTarget("system", None), "x.service", since="@1795267829.5")
    assert [e["MESSAGE"] for e in journal.read_new()] == ["one"]
    assert journal.read_new() == []
    assert [e["MESSAGE"] for e in journal.read_new()] == ["two"]
    reads = [c for c in module.calls if c[0] == "journalctl"]
    assert reads[0][-2:] == ["--since", "@1795267829.5"]
    assert reads[1][-1] == "--after-cursor=c1" and "--since" not in reads[1]
    assert reads[2][-1] == "--after-cursor=c1" and reads[2].count("--after-cursor=c1") == 1


def test_empty_first_reads_keep_the_since():
    module = FakeModule(batches=[[], [("c1", "late")]])
    journal = journal_check.open_journal(module, SystemdTarget("system", None), "x.service", "-5min")[0]
    assert journal.read_new() == []
    assert [e["MESSAGE"] for e in journal.read_new()] == ["late"]
    assert all(c[-2:] == ["--since", "-5min"] for c in module.calls if c[0] == "journalctl")


def test_invocation_window_without_since():
    module = FakeModule(invocation="abc", batches=[[("c1", "x")], []])
    journal, invocation = journal_check.open_journal(module, SystemdTarget("system", None), "x.service", None)
    assert invocation == "abc"
    journal.read_new()
    journal.read_new()
    reads = [c for c in module.calls if c[0] == "journalctl"]
    assert "_SYSTEMD_INVOCATION_ID=abc" in reads[0] and "--since" not in reads[0]
    assert reads[1][-1] == "--after-cursor=c1"


def test_pid_and_float_since():
    module = FakeModule(batches=[[]])
    journal = Journal(module, SystemdTarget("system", None), "x.service", since=1795267829.25, pid=4242)
    journal.read_new()
    read = module.calls[0]
    assert "_PID=4242" in read and read[-2:] == ["--since", "@1795267829.250000"]


def _run_main_with_alarm(monkeypatch, capsys, args, seconds=3):
    """main() against a unit that exists and a journal that stays empty; SIGALRM ends a wait that never would."""
    module = FakeModule(invocation="abc", batches=[])
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kw: module.run_command(argv))

    def alarm(signum, frame):
        raise TimeoutError("journal_check did not return within %d s" % seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with patch_module_args(args), pytest.raises(SystemExit):
            journal_check.main()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return json.loads(capsys.readouterr().out), module.calls


def test_timeout_nan_is_refused_instead_of_waiting_forever(monkeypatch, capsys):
    """Finding 10 of issue 11: 'elapsed >= nan' is never true, so timeout=nan used to wait for ever."""
    for bad in ("nan", "inf", -1):
        result, calls = _run_main_with_alarm(monkeypatch, capsys, dict(unit="x", pattern="kill", scope="system", timeout=bad))
        assert result["failed"] and result["msg"].startswith("timeout must be a finite number from 0 to 86400 (seconds), not ")
        assert calls == []  # refused before systemctl or journalctl ran


def test_poll_zero_is_refused_instead_of_spinning(monkeypatch, capsys):
    result, calls = _run_main_with_alarm(monkeypatch, capsys, dict(unit="x", pattern="kill", scope="system", timeout=1, poll=0))
    assert result["failed"] and "poll must be a finite number from 0.05 to 60 (seconds), not 0" in result["msg"] and calls == []
