"""config_rollback and config_known_good driven through main(), against real git repos built in tmp_path: the file's
bytes, inode, mtime and mode, the index and `git status` are checked with git itself, not only the modules' results."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _config_git
from ansible_collections.quantops.runbooks.plugins.modules import config_known_good, config_rollback

CFG = "config/strategy_overrides.yaml"
# the real config's shape: the non-reloadable key is global.engine.interval
V1 = b"global:\n  engine:\n    interval: 5m\n  trade:\n    leverage: 3\n"
V2 = b"global:\n  engine:\n    interval: 5m\n  trade:\n    leverage: 5\n"
BAD = b"global:\n  engine:\n    interval: 1m\n  trade:\n    leverage: 5\nexperimental: true\n"
# A validator that refuses the config when it holds the key `experimental`, reading it relative to its cwd.
REFUSE_EXPERIMENTAL = [sys.executable, "-c", (
    "import sys; text = open('config/strategy_overrides.yaml').read(); "
    "sys.exit('config invalid: unknown key experimental' if 'experimental' in text else print('config OK'))")]
LAB_APP = Path(__file__).resolve().parents[3] / "lab" / "apps" / "openclaw-ai-quant"


class Checkout(type(Path())):
    """The fixture's repo path, which also knows the commits of the config it made (oldest first)."""

    shas = ()


def git(repo, *args, check=True):
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), proc.stderr.decode()))
    return proc.stdout.decode()


def commit(repo, content, message, path=CFG):
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    git(repo, "add", "--", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def state(repo, path=CFG):
    """Everything a rollback may touch: bytes, inode, mtime, mode of the file; the index; git status."""
    st = os.stat(repo / path)
    return ((repo / path).read_bytes(), st.st_ino, st.st_mtime_ns, st.st_mode,
            git(repo, "ls-files", "-s"), git(repo, "status", "--porcelain", "--untracked-files=all"))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No global or system git config of the machine; shadow trees go to a directory of the test."""
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    shadows = tmp_path / "tmp"
    shadows.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shadows))
    return shadows


@pytest.fixture
def repo(tmp_path):
    """A bot checkout whose config went V1 -> V2 -> BAD (the commit to roll back), plus a later unrelated commit."""
    path = Checkout(tmp_path / "bot")
    path.mkdir()
    git(path, "init", "-q")
    git(path, "config", "user.name", "Test Trader")
    git(path, "config", "user.email", "trader@example.invalid")
    git(path, "config", "commit.gpgsign", "false")
    shas = [commit(path, V1, "v1: initial config"), commit(path, V2, "v2: leverage 5"), commit(path, BAD, "bad: interval 1m")]
    (path / "README.md").write_text("bot\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "docs")
    path.shas = shas
    return path


def run(capsys, module=config_rollback, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


def rollback(capsys, repo, **args):
    args.setdefault("validate", REFUSE_EXPERIMENTAL)
    return run(capsys, repo=str(repo), **args)


def test_bad_commit_is_rolled_back_staged_and_idempotent(repo, capsys, isolated):
    v1, v2, bad = repo.shas
    os.chmod(repo / CFG, 0o640)
    result = rollback(capsys, repo, to=v2)
    assert result["rc"] == 0 and result["changed"]
    assert (repo / CFG).read_bytes() == V2 == git(repo, "cat-file", "blob", "%s:%s" % (v2, CFG)).encode()
    assert git(repo, "diff", "--cached", "--name-only").split() == [CFG]
    assert subprocess.call(["git", "-C", str(repo), "diff", "--quiet"]) == 0  # work tree == index
    assert oct(os.stat(repo / CFG).st_mode & 0o777) == "0o640"
    assert (result["from_commit"], result["to_commit"]) == (bad, v2)
    assert result["to_blob"] == git(repo, "rev-parse", "%s:%s" % (v2, CFG)).strip()
    assert result["changed_keys"] == ["experimental", "global.engine.interval"]
    assert result["restart_required"] and result["restart_keys_changed"] == ["global.engine.interval"]
    assert result["validation"]["rc"] == 0 and result["validation"]["stdout"] == "config OK\n"
    assert result["validation_skipped"] is None and not result["local_edits"]
    assert [h["subject"] for h in result["history"]] == ["bad: interval 1m", "v2: leverage 5", "v1: initial config"]
    assert result["history"][0]["sha"] == bad and result["history"][0]["author"] == "Test Trader"
    assert result["history"][0]["date"][:2] == "20" and "T" in result["history"][0]["date"]
    assert sorted(p.name for p in (repo / "config").iterdir()) == ["strategy_overrides.yaml"]  # no temp file left
    assert list(isolated.iterdir()) == []  # the shadow tree is gone

    before = state(repo)
    again = rollback(capsys, repo, to=v2)
    assert again["rc"] == 0 and not again["changed"] and again["validation"] is None
    assert again["validation_skipped"] == "unchanged" and again["from_commit"] == v2 and again["changed_keys"] == []
    assert state(repo) == before

    # a second rollback in a row: the staged first one is not a local edit
    second = rollback(capsys, repo, to=v1)
    assert second["rc"] == 0 and second["changed"] and not second["local_edits"]
    assert (repo / CFG).read_bytes() == V1 and second["from_commit"] == v2
    assert second["changed_keys"] == ["global.trade.leverage"] and not second["restart_required"]
    assert git(repo, "diff", "--cached", "--name-only").split() == [CFG]


def test_check_and_diff_mode_write_nothing(repo, capsys):
    v1 = repo.shas[0]
    before = state(repo)
    result = rollback(capsys, repo, to=v1, _ansible_check_mode=True, _ansible_diff=True)
    assert result["rc"] == 0 and result["changed"] and result["validation"] is None
    assert result["validation_skipped"] == "check mode"
    assert result["diff"]["before"] == BAD.decode() and result["diff"]["after"] == V1.decode()
    assert CFG in result["diff"]["before_header"] and v1 in result["diff"]["after_header"]
    assert result["changed_keys"] == ["experimental", "global.engine.interval", "global.trade.leverage"]
    assert state(repo) == before


def test_validation_failure_leaves_everything_as_it_was(repo, capsys, isolated):
    v2 = commit(repo, V2, "fix: back to v2")
    before = state(repo)
    result = rollback(capsys, repo, to=repo.shas[2])
    assert result["rc"] == 1 and result["failed"] and not result["changed"]
    assert result["validation"]["rc"] == 1 and "unknown key experimental" in result["validation"]["stderr"]
    assert "unknown key experimental" in result["msg"] and CFG in result["msg"]
    assert result["validation"]["cmd"] == REFUSE_EXPERIMENTAL
    assert state(repo) == before and (repo / CFG).read_bytes() == V2
    assert result["from_commit"] == v2
    assert list(isolated.iterdir()) == []


def test_the_runbook_validator_reads_the_candidate_not_the_live_file(tmp_path, capsys):
    """The lab app's tools/validate_config.py, run the way the runbook runs it, sees the candidate in the shadow. Like
    the real one, it finds the repo through Path(__file__).resolve() and fails only on keys missing from the YAML."""
    app = tmp_path / "openclaw-ai-quant"
    app.mkdir()
    git(app, "init", "-q")
    git(app, "config", "user.name", "Test Trader")
    git(app, "config", "user.email", "trader@example.invalid")
    shutil.copytree(LAB_APP / "tools", app / "tools")
    shutil.copytree(LAB_APP / "openclaw_standin", app / "openclaw_standin", ignore=shutil.ignore_patterns("__pycache__"))
    (app / ".gitignore").write_text("__pycache__/\n")
    good = (LAB_APP / "config" / "strategy_overrides.yaml").read_bytes()
    git(app, "add", ".")
    first = commit(app, good, "deploy")
    lines = good.decode().splitlines(keepends=True)
    invalid = commit(app, "".join(line for line in lines if not line.lstrip().startswith("leverage:")).encode(), "drop leverage")
    validator = [sys.executable, "tools/validate_config.py"]

    result = run(capsys, repo=str(app), to="previous", validate=validator)
    assert result["rc"] == 0 and result["changed"] and "YAML missing:  0" in result["validation"]["stdout"]
    assert result["to_commit"] == first and result["from_commit"] == invalid
    assert (app / CFG).read_bytes() == good and not result["restart_required"]

    # and the other way: rolling "back" to the invalid version is refused, the live file untouched
    before = state(app)
    refused = run(capsys, repo=str(app), to=invalid, validate=validator)
    assert refused["failed"] and "YAML missing:  1" in refused["validation"]["stdout"] and "trade.leverage" in refused["msg"]
    assert state(app) == before


def test_local_edits_are_refused_unless_forced(repo, capsys):
    v2 = repo.shas[1]
    edited = BAD + b"# hand edit on the host\n"
    (repo / CFG).write_bytes(edited)
    before = state(repo)
    result = rollback(capsys, repo, to=v2)
    assert result["rc"] == 1 and not result["changed"] and result["local_edits"]
    assert CFG in result["msg"] and "local edits" in result["msg"] and "force" in result["msg"]
    assert state(repo) == before

    forced = rollback(capsys, repo, to=v2, force=True)
    assert forced["rc"] == 0 and forced["changed"] and forced["local_edits"]
    assert forced["replaced_content"] == edited.decode()
    assert Path(forced["backup_file"]).read_bytes() == edited and Path(forced["backup_file"]).parent == repo / "config"
    assert (repo / CFG).read_bytes() == V2 and forced["from_commit"] is None
    assert subprocess.call(["git", "-C", str(repo), "diff", "--quiet", "--", CFG]) == 0


def test_previous_is_the_version_before_the_files_newest_commit(repo, capsys):
    v2 = repo.shas[1]
    result = rollback(capsys, repo, to="previous")
    assert result["rc"] == 0 and result["to_commit"] == v2 and (repo / CFG).read_bytes() == V2
    # still the same target after the rollback (nothing was committed): idempotent
    assert not rollback(capsys, repo, to="previous")["changed"]
    # once the rollback is committed, previous is the parent of that commit, which holds the bad version
    git(repo, "commit", "-q", "-m", "rollback")
    result = rollback(capsys, repo, to="previous", validate=None)
    assert result["to_commit"] == git(repo, "rev-parse", "HEAD~1").strip() and result["from_commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert result["validation_skipped"] == "disabled" and result["validation"] is None
    assert (repo / CFG).read_bytes() == BAD


def test_last_known_good_round_trip(repo, capsys):
    v1, v2, bad = repo.shas
    missing = rollback(capsys, repo, to="last_known_good")
    assert missing["failed"] and "quantops.runbooks.config_known_good" in missing["msg"] and CFG in missing["msg"]

    assert rollback(capsys, repo, to=v1)["changed"]
    check = run(capsys, module=config_known_good, repo=str(repo), note="deploy 7 healthy", _ansible_check_mode=True, _ansible_diff=True)
    assert check["changed"] and check["previous_blob"] is None and check["diff"]["after"] == V1.decode()
    assert git(repo, "tag", "-l") == ""
    mark = run(capsys, module=config_known_good, repo=str(repo), note="deploy 7 healthy")
    tag = "quantops/lkg/config%2Fstrategy_overrides.yaml"
    assert mark["changed"] and mark["tag"] == tag and mark["commit"] == v1
    assert mark["blob"] == git(repo, "rev-parse", "%s:%s" % (v1, CFG)).strip() == git(repo, "rev-parse", tag + "^{blob}").strip()
    message = git(repo, "cat-file", "tag", tag)
    assert "deploy 7 healthy" in message and v1 in message and "tagger Test Trader" in message
    assert not run(capsys, module=config_known_good, repo=str(repo))["changed"]

    # back to the bad version, then to the known-good one
    assert rollback(capsys, repo, to=bad, validate=None)["changed"]
    result = rollback(capsys, repo, to="last_known_good")
    assert result["rc"] == 0 and result["changed"] and result["to_commit"] == v1 and result["to_blob"] == mark["blob"]
    assert (repo / CFG).read_bytes() == V1

    # content no commit holds (a hot fix on the host) can be known-good too
    hotfix = V2 + b"# hot fix\n"
    (repo / CFG).write_bytes(hotfix)
    remark = run(capsys, module=config_known_good, repo=str(repo), _ansible_diff=True)
    assert remark["changed"] and remark["commit"] is None and remark["previous_blob"] == mark["blob"]
    assert remark["diff"]["before"] == V1.decode() and remark["diff"]["after"] == hotfix.decode()
    git(repo, "add", CFG)
    assert rollback(capsys, repo, to=v2, validate=None)["changed"]
    result = rollback(capsys, repo, to="last_known_good")
    assert result["to_commit"] is None and (repo / CFG).read_bytes() == hotfix

    removed = run(capsys, module=config_known_good, repo=str(repo), state="absent")
    assert removed["changed"] and git(repo, "tag", "-l") == ""
    assert not run(capsys, module=config_known_good, repo=str(repo), state="absent")["changed"]


def test_known_good_without_a_git_identity_uses_the_default(repo, capsys):
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    mark = run(capsys, module=config_known_good, repo=str(repo))
    assert mark["rc"] == 0 and mark["changed"]
    assert "tagger quantops.runbooks <quantops@localhost>" in git(repo, "cat-file", "tag", mark["tag"])


def test_known_good_refuses_a_file_that_does_not_parse(repo, capsys):
    (repo / CFG).write_bytes(b"engine: [unclosed\n")
    result = run(capsys, module=config_known_good, repo=str(repo))
    assert result["failed"] and "does not parse as YAML" in result["msg"] and git(repo, "tag", "-l") == ""


def test_a_failed_staging_restores_the_file_and_the_index(repo, capsys):
    os.chmod(repo / CFG, 0o600)
    before = state(repo)
    lock = repo / ".git" / "index.lock"
    lock.write_text("")  # another git process holds the index
    result = rollback(capsys, repo, to=repo.shas[1])
    lock.unlink()
    assert result["rc"] == 1 and not result["changed"] and "index.lock" in result["msg"] and "restored" in result["msg"]
    after = state(repo)
    assert after[0] == before[0] and after[3] == before[3] and after[2] == before[2]  # bytes, mode, mtime
    assert after[4:] == before[4:]  # index and status
    assert sorted(p.name for p in (repo / "config").iterdir()) == ["strategy_overrides.yaml"]


def test_a_staging_that_fails_after_changing_the_index_is_undone(repo, capsys, monkeypatch):
    """git add staged the new version, then failed: the index entry is put back too (update-index --index-info)."""

    def stage_then_fail(self):
        git(self.top, "add", "--", self.git_path)
        raise _config_git.ConfigGitError("staging failed after all")

    monkeypatch.setattr(_config_git.ConfigRepo, "stage", stage_then_fail)
    before = state(repo)
    result = rollback(capsys, repo, to=repo.shas[0])
    assert result["rc"] == 1 and not result["changed"] and "staging failed after all" in result["msg"] and "restored" in result["msg"]
    after = state(repo)
    assert (after[0], after[2], after[3]) == (before[0], before[2], before[3]) and after[4:] == before[4:]


def test_no_previous_version_of_a_file_added_once(repo, capsys):
    commit(repo, b"a: 1\n", "add other", path="config/other.yaml")
    result = rollback(capsys, repo, to="previous", path="config/other.yaml")
    assert result["failed"] and "no previous version" in result["msg"] and "config/other.yaml" in result["msg"]


@pytest.mark.parametrize(("args", "message"), [
    ({"to": "0123456789abcdef0123456789abcdef01234567"}, "names no commit"),
    ({"to": "no-such-branch"}, "names no commit"),
    ({"to": "--all"}, "not a commit-ish"),
    ({"to": "HEAD", "path": "../x.yaml"}, "resolves outside repo"),
    ({"to": "HEAD", "path": "config/../../x.yaml"}, "resolves outside repo"),
    ({"to": "HEAD", "path": "/etc/hostname"}, "is absolute"),
    ({"to": "HEAD", "path": "outside/x.yaml"}, "resolves outside repo"),
    ({"to": "HEAD", "path": "config/escape.yaml"}, "resolves outside repo"),
    ({"to": "HEAD", "path": "linked/strategy_overrides.yaml"}, "passes through a symlink"),
    ({"to": "HEAD~3", "path": "config/late.yaml"}, "does not exist at commit"),
    ({"to": "HEAD", "path": "config/broken.yaml"}, "does not parse as YAML"),
    ({"to": "HEAD", "history": -1}, "history must be"),
    ({"to": "HEAD", "validate": {"cmd": "x"}}, "validate must be"),
])
def test_bad_input_fails_and_touches_nothing(repo, tmp_path, capsys, args, message):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.yaml").write_bytes(V1)
    os.symlink(str(outside), str(repo / "outside"))
    os.symlink(str(outside / "x.yaml"), str(repo / "config" / "escape.yaml"))
    os.symlink("config", str(repo / "linked"))
    commit(repo, b"engine: [unclosed\n", "broken", path="config/broken.yaml")
    commit(repo, b"late: 1\n", "late", path="config/late.yaml")
    before = state(repo), (outside / "x.yaml").read_bytes(), git(repo, "tag", "-l")
    result = rollback(capsys, repo, **args)
    assert result["rc"] == 1 and result["failed"] and not result["changed"]
    assert message in result["msg"]
    assert (state(repo), (outside / "x.yaml").read_bytes(), git(repo, "tag", "-l")) == before


def test_not_a_git_work_tree(tmp_path, capsys):
    plain = tmp_path / "plain"
    (plain / "config").mkdir(parents=True)
    (plain / CFG).write_bytes(V1)
    for module in (config_rollback, config_known_good):
        result = run(capsys, module=module, repo=str(plain), to="HEAD") if module is config_rollback else run(
            capsys, module=module, repo=str(plain))
        assert result["failed"] and not result["changed"] and "is not a git work tree" in result["msg"] and str(plain) in result["msg"]
    assert (plain / CFG).read_bytes() == V1 and sorted(p.name for p in plain.iterdir()) == ["config"]
    missing = run(capsys, repo=str(tmp_path / "nope"), to="HEAD")
    assert missing["failed"] and "is not a directory" in missing["msg"]


def test_a_repo_below_the_top_of_the_work_tree(tmp_path, capsys):
    """repo may be a directory inside a larger work tree: paths stay relative to repo."""
    top = tmp_path / "mono"
    top.mkdir()
    git(top, "init", "-q")
    git(top, "config", "user.name", "Test Trader")
    git(top, "config", "user.email", "trader@example.invalid")
    first = commit(top, V1, "v1", path="bots/ai-quant/" + CFG)
    commit(top, BAD, "bad", path="bots/ai-quant/" + CFG)
    result = run(capsys, repo=str(top / "bots" / "ai-quant"), to="previous", validate=REFUSE_EXPERIMENTAL)
    assert result["rc"] == 0 and result["to_commit"] == first and (top / "bots/ai-quant" / CFG).read_bytes() == V1
    assert git(top, "diff", "--cached", "--name-only").split() == ["bots/ai-quant/" + CFG]
    mark = run(capsys, module=config_known_good, repo=str(top / "bots" / "ai-quant"))
    assert mark["tag"] == "quantops/lkg/bots%2Fai-quant%2Fconfig%2Fstrategy_overrides.yaml" and mark["commit"] == first
