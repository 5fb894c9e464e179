"""The shared journal reader (module_utils._journal), as journal_check opens it: the first read from --since (or
the invocation), every later one from the cursor only, since journalctl refuses --since together with --after-cursor."""

import json

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
