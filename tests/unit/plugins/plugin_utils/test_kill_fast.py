"""The kill switch's fast path: the real POSIX sh script run with /bin/sh against a fake host (systemctl, journalctl,
id and /proc replaced by files in a temporary directory, everything else real), and the controller's judgement."""

import json
import os
import shlex
import stat
import subprocess
import time

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _trader
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _kill_fast as kf

LIVE = "openclaw-ai-quant-live"
PAPER = "openclaw-ai-quant-trader"
BASE = dict(mode="close_only", method="file", scope="user", user="trader", units=[PAPER, LIVE], verify=True,
            verify_timeout=3.0, heartbeat_pattern=_trader.HEARTBEAT_LOOP)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the fast path's script runs as root")


def write(path, text, mode=0o755):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class FakeHost:
    """A temporary root-owned tree with fake systemctl/journalctl/id in bin/ and a fake /proc."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        os.chmod(tmp_path, 0o755)
        self.bin = tmp_path / "bin"
        self.proc = tmp_path / "proc"
        self.shared = tmp_path / "shared"  # a sticky world-writable directory, as /tmp
        for d in (self.bin, self.proc, self.shared):
            d.mkdir()
        os.chmod(self.shared, 0o1777)
        self.kill = str(self.shared / "ai-quant-kill")
        self.units = {}
        self.heartbeat_after = 5.0  # the fake journal's heartbeat: this long after the read, loop 0.5 s
        write(self.bin / "id", '#!/bin/sh\n[ "$#" -eq 1 ] && { echo 0; exit 0; }\n[ "$3" = trader ] && { echo 1000; exit 0; }\nexit 1\n')

    def unit(self, name, pid=None, **environ):
        self.units[name + ".service"] = pid
        if pid:
            (self.proc / str(pid)).mkdir()
            data = b"".join(b"%s=%s\0" % (k.encode(), v.encode()) for k, v in environ.items())
            (self.proc / str(pid) / "environ").write_bytes(b"PATH=/usr/bin\0" + data)

    def run(self, params, check_mode=False):
        show = "".join("Id=%s\nActiveState=%s\nMainPID=%s\n\n" % (u, "active" if p else "inactive", p or 0)
                       for u, p in self.units.items())
        write(self.root / "show.txt", show, 0o644)
        write(self.bin / "systemctl", "#!/bin/sh\ncat %s\n" % shlex.quote(str(self.root / "show.txt")))
        pids = [p for p in self.units.values() if p]
        lines = "".join(
            'printf "%%s host python3[%d]: \\360\\237\\253\\200 engine ok. loops=3 loop=0.50s strategy_sha1=abcd1234\\n" '
            '"$(awk -v n="$(date +%%s.%%N)" \'BEGIN { printf "%%.6f", n + %f }\')"\n' % (pid, self.heartbeat_after)
            for pid in pids)
        write(self.bin / "journalctl", "#!/bin/sh\n%s" % lines)
        text = open(kf.SCRIPT_PATH).read().replace("PATH=/usr/sbin:", "PATH=%s:/usr/sbin:" % self.bin)
        script = kf.build_script(dict(BASE, **params), check_mode, '{"x": 1, ', script_text=text, proc=str(self.proc))
        t0 = time.monotonic()
        out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30, check=False)
        self.elapsed = time.monotonic() - t0
        assert out.returncode == 0, out.stderr
        return kf.parse(out.stdout), out


@pytest.fixture
def host(tmp_path):
    h = FakeHost(tmp_path)
    h.unit(PAPER, 4242, AI_QUANT_MODE="paper")
    h.unit(LIVE, 4343, AI_QUANT_MODE="dry_live", AI_QUANT_KILL_SWITCH_FILE=h.kill, AI_QUANT_LIVE_STATE_SYNC_SECS="1")
    return h


def test_engages_the_file_the_trader_polls_and_proves_it(host):
    report, out = host.run({})
    assert report["fallback"] is None and report["complete"], out.stdout
    assert report["kill_file"] == host.kill and report["kill_file_by"] == "traders"
    st = os.lstat(host.kill)
    assert open(host.kill, "rb").read() == b"close_only\n"
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == 0
    assert sorted(os.listdir(host.shared)) == ["ai-quant-kill"]  # no temporary file left
    result = kf.judge(report, dict(BASE))
    assert result["status"] == "PROTECTED" and result["changed"] is True and result["effective_mode"] == "close_only"
    live = [t for t in result["traders"] if t["unit"] == LIVE + ".service"][0]
    assert live["verified"] is True and live["seconds_to_proof"] > 4 and "engine ok." in live["proof"]
    assert host.elapsed < 3  # the proof came from the journal follower, not at the timeout


def test_never_relaxes_a_halt_all_file(host):
    write(host.kill, "halt_all\n", 0o644)
    report, _out = host.run({})
    assert report["write"] == "none" and open(host.kill).read() == "halt_all\n"
    result = kf.judge(report, dict(BASE))
    assert result["changed"] is False and result["mode"] == "halt_all" and result["status"] == "PROTECTED"
    assert "would relax it" in result["warnings"][0]


def test_never_relaxes_the_traders_env_halt_all(tmp_path):
    h = FakeHost(tmp_path)
    h.unit(LIVE, 77, AI_QUANT_MODE="live", AI_QUANT_KILL_SWITCH="halt", AI_QUANT_KILL_SWITCH_FILE=h.kill)
    report, _out = h.run({})
    assert report["write"] == "none" and not os.path.exists(h.kill)
    assert kf.judge(report, dict(BASE))["effective_mode"] == "halt_all"


def test_check_mode_writes_nothing_and_waits_for_nothing(host):
    report, _out = host.run({}, check_mode=True)
    assert report["write"] == "would" and not os.path.exists(host.kill) and report["proofs"] == {}
    result = kf.judge(report, dict(BASE, _check_mode=True))
    assert result["status"] == "WOULD_ENGAGE" and result["summary"] == "WOULD ENGAGE close_only (now off)"


def test_no_proof_within_the_timeout_is_unprotected(host):
    host.heartbeat_after = -1.0  # always a loop that began before the switch could have been re-read
    report, _out = host.run({"verify_timeout": 1.0})
    result = kf.judge(report, dict(BASE, verify_timeout=1.0))
    assert result["status"] == "UNPROTECTED" and "no heartbeat of pid 4343" in result["summary"]
    assert 1.0 <= host.elapsed < 4


def test_a_given_path_the_trader_does_not_poll_is_named(host, tmp_path):
    other = tmp_path / "etc"
    other.mkdir()
    given = str(other / "kill")
    report, _out = host.run({"path": given})
    result = kf.judge(report, dict(BASE, path=given))
    assert open(given).read() == "close_only\n" and result["status"] == "UNPROTECTED"
    assert "kill written to %s; the trader polls %s, which was not read" % (given, host.kill) in result["summary"]
    assert result["traders"][0]["in_force"] == "unknown" or result["traders"][1]["in_force"] == "unknown"
    assert host.elapsed < 2  # nothing to wait for: that trader cannot take this file


@pytest.mark.parametrize("plant", ["symlink", "fifo", "foreign", "directory"])
def test_anything_odd_at_the_path_goes_to_the_module_untouched(host, plant):
    if plant == "symlink":
        os.symlink("/etc/passwd", host.kill)
    elif plant == "fifo":
        os.mkfifo(host.kill)
    elif plant == "foreign":
        write(host.kill, "x", 0o644)
        os.chown(host.kill, 4321, 4321)
    else:
        os.mkdir(host.kill)
    before = os.lstat(host.kill)
    report, _out = host.run({})
    assert report["fallback"] and report["write"] is None
    after = os.lstat(host.kill)
    assert (after.st_ino, after.st_mode, after.st_uid) == (before.st_ino, before.st_mode, before.st_uid)


def test_a_trader_named_path_outside_a_shared_directory_goes_to_the_module(tmp_path):
    # a trader could name /etc/nologin: root writes a path the trader named only where the trader could write itself
    h = FakeHost(tmp_path)
    private = tmp_path / "private"
    private.mkdir()
    h.unit(LIVE, 99, AI_QUANT_MODE="live", AI_QUANT_KILL_SWITCH_FILE=str(private / "nologin"))
    report, _out = h.run({})
    assert "outside a shared sticky directory" in report["fallback"] and not (private / "nologin").exists()


def test_a_directory_another_user_can_change_goes_to_the_module(host, tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)  # writable by all, not sticky: anyone could swap the file
    report, _out = host.run({"path": str(d / "kill")})
    assert "not a chain of root's directories" in report["fallback"] and os.listdir(d) == []


def test_traders_polling_different_files_go_to_the_module(tmp_path):
    h = FakeHost(tmp_path)
    h.unit(PAPER, 10, AI_QUANT_MODE="live", AI_QUANT_KILL_SWITCH_FILE=h.kill)
    h.unit(LIVE, 11, AI_QUANT_MODE="live", AI_QUANT_KILL_SWITCH_FILE=h.kill + "2")
    report, _out = h.run({})
    assert "poll different kill files" in report["fallback"]


def test_environment_values_are_data_not_code(tmp_path):
    h = FakeHost(tmp_path)
    h.unit(LIVE, 12, AI_QUANT_MODE="live", AI_QUANT_KILL_SWITCH_FILE="/tmp/$(touch /pwned)`id`")
    report, _out = h.run({})
    assert "not a plain absolute path" in report["fallback"] and not os.path.exists("/pwned")


def test_audit_record_is_appended(host, tmp_path):
    log = tmp_path / "audit.jsonl"
    report, _out = host.run({"reason": "exchange incident", "audit_log": str(log)})
    assert report["complete"]
    record = json.loads(log.read_text())
    assert record["x"] == 1 and record["effective_mode"] == "close_only" and record["changed"] is True
    assert record["proofs"] == "1 of 1"


@pytest.mark.parametrize(("params", "why"), [
    ({}, None),
    ({"mode": "off"}, "mode off"),
    ({"method": "env"}, "method env"),
    ({"scope": "system"}, "system scope"),
    ({"force": True}, "force or restart"),
    ({"proof_pattern": "x"}, "a proof_pattern"),
    ({"heartbeat_pattern": "hb"}, "a heartbeat_pattern of its own"),
    ({"path": "/tmp/a b"}, "a path with more"),
    ({"path": "/tmp/../etc/x"}, "a path with more"),
    ({"path": "relative"}, "a path with more"),
    ({"user": "bad user"}, "no plain user name"),
    ({"units": ["-x"]}, "units"),
    ({"units": []}, "units"),
    ({"verify_timeout": "soon"}, "verify_timeout is not a number"),
])
def test_which_requests_the_fast_path_takes(params, why):
    got = kf.why_not_fast(dict(BASE, **params))
    assert (got is None) if why is None else got.startswith(why)


def test_inputs_are_quoted_assignments():
    script = kf.build_script(dict(BASE, reason="x'; rm -rf / #", audit_log="/var/log/a.jsonl"), False,
                             '{"reason": "x\'; rm -rf / #", ', script_text="")
    assigned = dict(line.split("=", 1) for line in script.splitlines())
    assert shlex.split(assigned["AUDIT_HEAD"]) == ['{"reason": "x\'; rm -rf / #", ']
    assert assigned["UNITS"] == "'openclaw-ai-quant-trader.service openclaw-ai-quant-live.service'"


def test_judge_refuses_a_script_decision_the_rules_do_not_make():
    report = kf.parse("sources file=halt_all env=off previous=halt_all target=close_only\nwrite done\nwritten 1.0\n"
                      "kill_file /tmp/k traders\nfinal close_only\nend\n")
    with pytest.raises(ValueError, match="a bug"):
        kf.judge(report, dict(BASE))
