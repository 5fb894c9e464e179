"""What quantlab_probe reads on the host, as root, from paths a user controls (module_utils._quantlab_probe): a symlink
is reported, never followed; a FIFO never hangs the read; an env file is lstat'ed (its names only for replayd, never a
value); the spool's write permission is judged for the service user; /api/runs is read by run_id, not position."""

import datetime
import os
import pwd
import stat
import threading

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _quantlab_probe as qp

NOW = 1795000000.0
NOBODY = pwd.getpwnam("nobody")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="reads as root, as the module does on the host")


def test_an_env_file_is_lstated_and_a_symlink_in_its_place_is_reported_not_followed(tmp_path):
    good = tmp_path / "replayd.env"
    good.write_text("REPLAYD_TOKEN=s3cret-token\n")
    good.chmod(0o600)
    info = qp.env_file_info(str(good), "root")
    assert (info["exists"], info["kind"], info["mode"], info["problem"]) == (True, "a regular file", "0600", None)
    assert "s3cret" not in repr(info)
    good.chmod(0o644)
    assert qp.env_file_info(str(good), "root")["problem"].startswith("mode 0644, not 0600")
    good.chmod(0o600)
    os.chown(good, NOBODY.pw_uid, NOBODY.pw_gid)
    assert qp.env_file_info(str(good), "root")["problem"].startswith("owned by nobody")
    link = tmp_path / "strategyd.env"
    link.symlink_to(good)
    info = qp.env_file_info(str(link), "root")
    assert (info["kind"], info["problem"]) == ("a symbolic link", "it is a symbolic link, not a regular file")
    assert qp.env_file_info(str(tmp_path / "none.env"), "root")["exists"] is False


def test_a_directory_a_user_made_a_symlink_is_refused_on_the_way(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    real = tmp_path / "secret"
    real.mkdir()
    (real / ".env").write_text("X=1\n")
    (home / "core").symlink_to(real)
    os.chown(home / "core", NOBODY.pw_uid, NOBODY.pw_gid, follow_symlinks=False)
    info = qp.env_file_info(str(home / "core" / ".env"), "nobody")
    assert info["exists"] is False and "root does not follow links" in info["problem"]


def test_the_ml_log_last_line_and_age_and_never_through_a_symlink_or_a_fifo(tmp_path):
    log = tmp_path / "quantlab-ml.log"
    log.write_text("x" * 20000 + "\n[ML] run 1 done\n\n[ML] run 2 done  exit=0\n\n")
    os.utime(log, (NOW - 90, NOW - 90))
    info = qp.log_info(str(log), NOW)
    assert (info["exists"], info["last_line"], info["age_s"], info["problem"]) == (True, "[ML] run 2 done exit=0", 90.0, None)
    log.write_text("")
    assert qp.log_info(str(log), NOW)["last_line"] is None
    log.unlink()
    log.symlink_to("/etc/shadow")
    info = qp.log_info(str(log), NOW)
    assert info["problem"] == "it is a symbolic link: not followed" and info["last_line"] is None
    log.unlink()
    os.mkfifo(log)
    done = []
    reader = threading.Thread(target=lambda: done.append(qp.log_info(str(log), NOW)), daemon=True)
    reader.start()
    reader.join(5)
    assert done and done[0]["problem"] == "it is a FIFO, not a regular file: not read"
    assert qp.log_info(str(tmp_path / "nosuch.log"), NOW)["exists"] is False


def test_the_cron_entry_must_be_an_uncommented_line_of_a_root_owned_file(tmp_path):
    cron = tmp_path / "quantlab-ml"
    cron.write_text("#Ansible: quantlab daily ML training\n# 15 0 * * * run_daily_ml.js\n"
                    "15 0 * * * deploy cd /home/deploy/quantlab-backend/core && node scheduler/run_daily_ml.js >> /var/log/quantlab-ml.log 2>&1\n")
    cron.chmod(0o644)
    info = qp.cron_info(str(cron), "run_daily_ml.js")
    assert info["present"] and info["line"].startswith("15 0 * * * deploy cd")
    cron.write_text("# 15 0 * * * run_daily_ml.js\n")
    assert qp.cron_info(str(cron), "run_daily_ml.js")["problem"] == "no line running run_daily_ml.js in %s" % cron
    cron.chmod(0o666)
    assert "cron ignores a file others can write" in qp.cron_info(str(cron), "run_daily_ml.js")["problem"]
    assert qp.cron_info(str(tmp_path / "none"), "x")["problem"] == "%s does not exist" % (tmp_path / "none")


def test_replayd_env_names_are_set_empty_or_absent_and_no_value_is_returned(tmp_path):
    env = tmp_path / "replayd.env"
    env.write_text('REPLAYD_TOKEN="tok-123"\nS3_COMPACT_ENDPOINT=""\nS3_COMPACT_BUCKET="quantlab-compact"\nS3_COMPACT_SECRET_KEY="sk-999"\n')
    env.chmod(0o600)
    out = qp.env_names(str(env), ["S3_COMPACT_ENDPOINT", "S3_COMPACT_BUCKET", "S3_COMPACT_SECRET_KEY", "LOCAL_DATA_DIR"])
    assert out == dict(S3_COMPACT_ENDPOINT="empty", S3_COMPACT_BUCKET="set", S3_COMPACT_SECRET_KEY="set", LOCAL_DATA_DIR="absent")
    env.chmod(0o644)
    assert set(qp.env_names(str(env), ["LOCAL_DATA_DIR"]).values()) == {"unreadable: not a root-owned 0600 regular file"}


def test_the_spool_is_writable_for_the_service_user_by_its_mode_bits(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    os.chown(spool, NOBODY.pw_uid, NOBODY.pw_gid)
    spool.chmod(0o750)
    info = qp.spool_info(str(spool), "nobody")
    assert (info["exists"], info["mode"], info["writable_by_user"], info["read_only_fs"]) == (True, "0750", True, False)
    assert info["free_bytes"] > 0
    spool.chmod(0o550)
    assert qp.spool_info(str(spool), "nobody")["writable_by_user"] is False
    os.chown(spool, 0, 0)
    spool.chmod(0o777)
    assert qp.spool_info(str(spool), "nobody")["writable_by_user"] is True
    spool.chmod(0o775)
    assert qp.spool_info(str(spool), "nobody")["writable_by_user"] is False
    st = os.stat(spool)
    assert qp.writable_by(st, "root")
    assert stat.S_IMODE(st.st_mode) == 0o775
    assert qp.spool_info(str(tmp_path / "none"), "nobody")["exists"] is False


def test_runs_are_counted_by_run_id_and_the_index_array_is_skipped():
    body = dict(count=3, runs=[[dict(run_id="a")],  # strategyd's index.json, an array
                               dict(run_id="r2", started_at="2026-11-29T10:00:00.000Z", ended_at=None),
                               dict(run_id="r1", started_at="2026-11-29T09:00:00.000Z", ended_at="2026-11-29T09:30:00.000Z")])
    now = datetime.datetime(2026, 11, 29, 10, 5, tzinfo=datetime.timezone.utc).timestamp()
    out = qp.runs_facts(dict(healthy=True, status=200, json=body), now)
    assert (out["count"], out["active"], out["newest_run_id"]) == (3, 1, "r2")
    assert out["newest_age_s"] == 300.0
    assert qp.runs_facts(dict(healthy=False, status=401, error="status 401, expected 200"), now)["error"] == "status 401, expected 200"
    assert qp.runs_facts(dict(healthy=True, status=200, json=[1]), now)["error"] == "the answer is not {count, runs: [...]}"
