"""kill_switch as root against what a hostile local user can plant at its paths (issue 11, findings 1-3 and 8).
The user is simulated by files owned by `nobody`; the same cases run on the lab as a real second user
(tests/molecule/emergency/tests/test_hostile.py)."""

import json
import os
import pwd
import signal
import stat
import threading
from types import SimpleNamespace

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.modules import kill_switch

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="plays root against another user's files")
NOBODY = pwd.getpwnam("nobody")


def run(capsys, **args):
    args.setdefault("unit", "no-such-unit-here")
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        kill_switch.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


@pytest.fixture
def alarm():
    """A hang is a failure of the test, not of the suite."""
    def handler(signum, frame):
        raise TimeoutError("blocked for 5 s")
    previous = signal.signal(signal.SIGALRM, handler)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_planted_foreign_kill_file_ends_up_ours_and_readable(tmp_path, capsys):
    """Finding 2: a 0600 file of another user with the right word stays theirs (the trader cannot read it, its
    owner can delete it). It must be replaced by a root-owned 0644 file, with a warning."""
    os.chmod(tmp_path, 0o1777)
    kill = tmp_path / "ai-quant-kill"
    kill.write_bytes(b"halt_all\n")
    os.chown(kill, NOBODY.pw_uid, NOBODY.pw_gid)
    os.chmod(kill, 0o600)
    result = run(capsys, mode="halt_all", path=str(kill))
    st = kill.lstat()
    assert result["changed"] and stat.S_ISREG(st.st_mode)
    assert (st.st_uid, stat.S_IMODE(st.st_mode), kill.read_bytes()) == (0, 0o644, b"halt_all\n")
    assert any("owned by nobody" in json.dumps(w) for w in result["warnings"])
    assert not run(capsys, mode="halt_all", path=str(kill))["changed"]  # and now it is right


def test_check_mode_reports_a_foreign_kill_file_and_leaves_it(tmp_path, capsys):
    kill = tmp_path / "ai-quant-kill"
    kill.write_bytes(b"close_only\n")
    os.chown(kill, NOBODY.pw_uid, NOBODY.pw_gid)
    result = run(capsys, mode="close_only", path=str(kill), _ansible_check_mode=True)
    assert result["changed"] and result["status"] == "WOULD_ENGAGE" and kill.stat().st_uid == NOBODY.pw_uid


def test_the_kill_files_directory_behind_a_users_symlink_is_refused(tmp_path, capsys):
    """Root never follows a link another user made: /tmp/x -> /etc would have root write /etc/ai-quant-kill."""
    victim = tmp_path / "victim"
    victim.mkdir()
    users = tmp_path / "users"
    users.mkdir()
    os.chown(users, NOBODY.pw_uid, NOBODY.pw_gid)
    (users / "run").symlink_to(victim)
    os.lchown(users / "run", NOBODY.pw_uid, NOBODY.pw_gid)
    result = run(capsys, mode="close_only", path=str(users / "run" / "ai-quant-kill"))
    assert result["failed"] and "symbolic link owned by nobody" in result["msg"]
    assert list(victim.iterdir()) == []


def test_the_audit_log_is_never_written_through_a_symlink(tmp_path, capsys):
    """Finding 8."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep\n")
    (tmp_path / "audit.jsonl").symlink_to(victim)
    result = run(capsys, mode="close_only", path=str(tmp_path / "kill"), reason="r", audit_log=str(tmp_path / "audit.jsonl"))
    assert victim.read_bytes() == b"keep\n"
    assert result["failed"] and "symbolic link" in result["msg"]


def test_the_kill_write_fsyncs_its_directory(tmp_path, capsys, monkeypatch):
    """Finding 8: after the rename, the directory entry itself is made durable."""
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    run(capsys, mode="close_only", path=str(tmp_path / "kill"))
    assert synced and synced[-1] is True


class FakeModule(object):
    def __init__(self):
        self.calls, self.warnings = [], []

    def run_command(self, argv, environ_update=None):
        self.calls.append(argv)
        return 0, "", ""

    def warn(self, message):
        self.warnings.append(message)

    def atomic_move(self, src, dest):  # what AnsibleModule.atomic_move does for a same-directory rename
        os.rename(src, dest)


def env_source(home, uid, gid):
    target = SimpleNamespace(scope="user", uid=uid, gid=gid, home=str(home), user="nobody",
                             unit_dir=lambda: os.path.join(str(home), ".config", "systemd", "user"),
                             systemctl=lambda *a: ["systemctl", "--user", "-M", "nobody@"] + list(a),
                             environ=lambda: {}, as_user=False)
    return kill_switch.EnvSource(FakeModule(), target, "openclaw-ai-quant-live")


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    return home


def test_makedirs_leaves_the_users_directories_to_the_user(home):
    """Finding 3: creating ~/.config/systemd/user/UNIT.service.d as root must not leave root-owned directories
    in the user's home (the user could then not manage their own units)."""
    env_source(home, NOBODY.pw_uid, NOBODY.pw_gid).apply("halt_all")
    dropin_dir = home / ".config" / "systemd" / "user" / "openclaw-ai-quant-live.service.d"
    for d in (home / ".config", home / ".config" / "systemd", home / ".config" / "systemd" / "user", dropin_dir):
        assert (d.stat().st_uid, d.is_symlink()) == (NOBODY.pw_uid, False), d
    dropin = next(dropin_dir.iterdir())
    assert dropin.stat().st_uid == NOBODY.pw_uid and b"AI_QUANT_KILL_SWITCH=halt_all" in dropin.read_bytes()


@pytest.mark.parametrize("link", [".config", ".config/systemd/user/openclaw-ai-quant-live.service.d"])
def test_a_symlinked_dropin_directory_or_parent_is_refused(tmp_path, home, link):
    """Finding 3: the trader points a directory of the drop-in's path at a root-owned one (/etc/tmpfiles.d):
    root must neither write there nor chown it."""
    victim = tmp_path / "etc-tmpfiles.d"
    victim.mkdir()
    path = home / link
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in [home / ".config", home / ".config" / "systemd", home / ".config" / "systemd" / "user"]:
        if p.exists() and p != path:
            os.chown(p, NOBODY.pw_uid, NOBODY.pw_gid)
    path.symlink_to(victim)
    os.lchown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    error = None
    try:
        env_source(home, NOBODY.pw_uid, NOBODY.pw_gid).apply("halt_all")
    except Exception as e:  # pylint: disable=broad-exception-caught
        error = e
    assert list(victim.iterdir()) == [] and victim.stat().st_uid == 0
    assert isinstance(error, kill_switch._safefile.UnsafePathError) and "symbolic link owned by nobody" in str(error)


def test_a_fifo_as_the_dropin_does_not_hang(home, alarm):
    """Finding 1 (drop-ins): reading the drop-in never blocks."""
    dropin_dir = home / ".config" / "systemd" / "user" / "openclaw-ai-quant-live.service.d"
    dropin_dir.mkdir(parents=True)
    source = env_source(home, NOBODY.pw_uid, NOBODY.pw_gid)
    os.mkfifo(source.dropin)
    assert source.modes({"FragmentPath": "", "DropInPaths": source.dropin})[0] == "off"
    source.apply("close_only")
    assert stat.S_ISREG(os.lstat(source.dropin).st_mode)


@pytest.mark.parametrize("unit", ["--host=attacker.example.com", "-H", "a/b", "../x", "x\n", "with space", ""])
def test_unit_names_are_checked_before_any_command_runs(tmp_path, capsys, monkeypatch, unit):
    """Finding 7: unit=--host=attacker.example.com made root run ssh to that host."""
    ran = []
    monkeypatch.setattr(kill_switch.AnsibleModule, "run_command", lambda self, argv, **kw: ran.append(argv) or (1, "", "no"))
    for args in (dict(unit=unit), dict(units=[unit], verify=True)):
        result = run(capsys, mode="close_only", path=str(tmp_path / "kill"), method="env" if "unit" in args else "file", **args)
        assert result["failed"] and ("unit" in result["msg"]) and ran == [], result["msg"]
    assert not (tmp_path / "kill").exists()


def test_a_fifo_at_our_dropin_name_of_another_unit_is_removed_before_the_reload(home):
    """systemd blocks for good reading a FIFO drop-in at daemon-reload: the trader's unit kill must not trigger it
    by way of the live unit's directory."""
    other = home / ".config" / "systemd" / "user" / "openclaw-ai-quant-trader.service.d"
    other.mkdir(parents=True)
    os.mkfifo(other / "50-quantops-kill-switch.conf")
    source = env_source(home, NOBODY.pw_uid, NOBODY.pw_gid)
    source.apply("close_only")
    assert list(other.iterdir()) == [] and any("removed" in w for w in source.module.warnings)


def test_a_fifo_elsewhere_in_the_unit_directory_fails_fast_and_changes_nothing(home, alarm):
    other = home / ".config" / "systemd" / "user" / "x.service.d"
    other.mkdir(parents=True)
    os.mkfifo(other / "evil.conf")
    source = env_source(home, NOBODY.pw_uid, NOBODY.pw_gid)
    with pytest.raises(kill_switch.KillSwitchError, match="would hang at daemon-reload on .*evil.conf \\(a FIFO\\)"):
        source.apply("close_only")
    assert not os.path.exists(source.dropin_dir) and source.module.calls == []


def test_a_trader_blocked_on_a_planted_fifo_is_released_by_the_kill(tmp_path, capsys):
    """The real trader reads its kill file with a plain open(): a FIFO planted at the path blocks its engine loop
    until something opens the FIFO for writing. Replacing the FIFO alone would leave it blocked for good."""
    kill = tmp_path / "ai-quant-kill"
    os.mkfifo(kill)
    seen = []

    def trader_reads():
        with open(kill, encoding="utf-8") as f:  # engine/risk.py _refresh_manual_kill
            seen.append(f.read())

    reader = threading.Thread(target=trader_reads, daemon=True)
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # blocked, as the trader would be
    result = run(capsys, mode="close_only", path=str(kill))
    reader.join(5)
    assert not reader.is_alive() and seen == [""]
    assert result["changed"] and kill.read_bytes() == b"close_only\n"
