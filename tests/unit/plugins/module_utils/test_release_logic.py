"""app_release's logic (plugins/module_utils/_release.py) on real git repositories in a temporary directory: first
deploy, a partial change, npm ci only where a lockfile changed (a recording stand-in for npm), node_modules carried
over, shared state kept across switches, idempotence, keep N, rollback, migration of a plain checkout, bad input."""

import json
import os
import stat
import subprocess

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _release as r

SHARED = ["core/.env", "core/research/jobs.jsonl", "services/strategyd/runs/", "core/observer-api/server.log"]
ENV = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")


def sh(*argv, cwd=None):
    return subprocess.run(list(argv), cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout.strip()


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def commit(src, files, msg):
    for rel, text in files.items():
        write(src, rel, text)
    sh("git", "add", "-A", cwd=src)
    sh("git", "commit", "-q", "-m", msg, cwd=src)
    return sh("git", "rev-parse", "HEAD", cwd=src)


@pytest.fixture
def app(tmp_path):
    src = str(tmp_path / "src")
    os.makedirs(src)
    sh("git", "init", "-q", "-b", "main", src)
    base = commit(src, {"services/labeld/server.js": "v1\n", "services/replayd/server.js": "r1\n",
                        "services/replayd/package.json": "{}\n", "services/replayd/package-lock.json": "{\"v\":1}\n",
                        "core/lib/service.js": "lib1\n", "core/research/jobs.jsonl": "{\"job\":0}\n",
                        "services/strategyd/runs/.gitkeep": "", ".gitignore": "node_modules/\n"}, "base")
    npm_log = str(tmp_path / "npm.log")
    fake = str(tmp_path / "npm")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho \"$PWD $*\" >> %s\nmkdir -p node_modules && echo fresh > node_modules/marker\n" % npm_log)
    os.chmod(fake, 0o755)
    home = tmp_path / "home"
    home.mkdir()
    layout = r.Layout(str(home / "app"), str(home / "releases"), str(home / "shared"))
    return dict(src=src, base=base, layout=layout, npm=(fake,), npm_log=npm_log, home=str(home))


def deploy(app, ref, **kw):
    return r.deploy(r.Runner(), app["layout"], url=app["src"], ref=ref, shared=SHARED, npm=app["npm"], **kw)


def npm_calls(app):
    if not os.path.exists(app["npm_log"]):
        return []
    with open(app["npm_log"]) as f:
        return [line.split()[0] for line in f]


def test_first_deploy_links_shared_and_runs_npm_ci_in_every_lockfile_dir(app):
    res = deploy(app, "main")
    lay = app["layout"]
    assert res["changed"] and res["switched"] and res["release"] == app["base"] and res["previous"] is None and res["changed_paths"] is None
    assert os.readlink(lay.app_dir) == lay.release(app["base"])
    assert res["npm_ci"] == ["services/replayd"] and npm_calls(app) == [os.path.join(lay.release(app["base"]), "services/replayd")]
    for rel in SHARED:
        link = os.path.join(lay.app_dir, rel.rstrip("/"))
        assert os.readlink(link) == os.path.join(lay.shared_dir, rel.rstrip("/"))
    with open(os.path.join(lay.shared_dir, "core/research/jobs.jsonl")) as f:
        assert f.read() == "{\"job\":0}\n"  # a tracked shared file is seeded from the release
    assert stat.S_IMODE(os.stat(os.path.join(lay.shared_dir, "core/.env")).st_mode) == 0o600
    # git status in the release shows no shared link as a new file (the tracked ledger shows as changed: it is a link now)
    assert sh("git", "status", "--porcelain", cwd=lay.app_dir).splitlines() == ["T core/research/jobs.jsonl", " D services/strategyd/runs/.gitkeep"]


def test_redeploy_of_the_current_ref_changes_nothing(app):
    deploy(app, "main")
    before = os.lstat(app["layout"].app_dir)
    res = deploy(app, "main")
    assert not res["changed"] and not res["switched"] and res["previous"] is None
    assert npm_calls(app) == [os.path.join(app["layout"].release(app["base"]), "services/replayd")]
    assert os.lstat(app["layout"].app_dir).st_ino == before.st_ino


def test_partial_change_keeps_state_carries_node_modules_and_reports_paths(app):
    lay = app["layout"]
    deploy(app, "main")
    write(lay.app_dir, "services/strategyd/runs/run1.json", "{}")
    write(lay.app_dir, "core/.env", "TOKEN=x\n")
    new = commit(app["src"], {"services/labeld/server.js": "v2\n"}, "labeld only")
    res = deploy(app, "main")
    assert res["changed"] and res["release"] == new and res["previous"] == app["base"]
    assert res["changed_paths"] == ["services/labeld/server.js"]
    assert res["npm_ci"] == [] and len(npm_calls(app)) == 1  # no lockfile changed: no npm ci
    assert res["node_modules_carried"] == ["services/replayd"]
    assert os.stat(os.path.join(lay.app_dir, "services/replayd/node_modules/marker")).st_nlink == 2  # hard link
    with open(os.path.join(lay.app_dir, "services/labeld/server.js")) as f:
        assert f.read() == "v2\n"
    assert os.path.exists(os.path.join(lay.app_dir, "services/strategyd/runs/run1.json"))
    with open(os.path.join(lay.app_dir, "core/.env")) as f:
        assert f.read() == "TOKEN=x\n"


def test_npm_ci_only_where_the_lockfile_changed(app):
    deploy(app, "main")
    new = commit(app["src"], {"services/replayd/package-lock.json": "{\"v\":2}\n", "services/labeld/package.json": "{\"x\":1}\n"}, "deps")
    res = deploy(app, new)
    assert res["npm_ci"] == ["services/replayd"] and res["npm_ran"] == ["services/replayd"]
    assert npm_calls(app)[-1] == os.path.join(app["layout"].release(new), "services/replayd")
    assert res["no_lockfile_changed"] == ["services/labeld"]


def test_failed_npm_ci_switches_nothing_and_leaves_no_directory(app, tmp_path):
    deploy(app, "main")
    new = commit(app["src"], {"services/replayd/package-lock.json": "{\"v\":3}\n"}, "deps")
    bad = str(tmp_path / "npm-bad")
    with open(bad, "w") as f:
        f.write("#!/bin/sh\necho 'npm ERR! ETARGET' >&2\nexit 1\n")
    os.chmod(bad, 0o755)
    res = r.new_result()
    with pytest.raises(r.ReleaseError, match="ETARGET"):
        r.deploy(r.Runner(), app["layout"], url=app["src"], ref=new, shared=SHARED, npm=(bad,), res=res)
    assert res["step"] == "npm"
    assert os.readlink(app["layout"].app_dir) == app["layout"].release(app["base"])
    assert sorted(os.listdir(app["layout"].releases_dir)) == sorted([".cache.git", ".lock", app["base"]])


def test_rollback_and_redeploy_of_a_kept_release_need_no_build(app):
    deploy(app, "main")
    new = commit(app["src"], {"services/labeld/server.js": "v2\n"}, "labeld")
    deploy(app, "main")
    res = r.rollback(r.Runner(), app["layout"])
    assert res["changed"] and res["release"] == app["base"] and res["previous"] == new
    assert res["changed_paths"] == ["services/labeld/server.js"]
    assert os.readlink(app["layout"].app_dir) == app["layout"].release(app["base"])
    again = deploy(app, new)
    assert again["reused"] and again["npm_ci"] == [] and again["changed_paths"] == ["services/labeld/server.js"]
    assert r.rollback(r.Runner(), app["layout"], release=new)["changed"] is False


def test_keep_n_removes_the_oldest_never_the_current_nor_the_previous(app):
    deploy(app, "main", keep=2)
    shas = [app["base"]]
    for i in range(3):
        shas.append(commit(app["src"], {"services/labeld/server.js": "v%d\n" % (i + 3)}, "c%d" % i))
        res = deploy(app, "main", keep=2)
    assert sorted(sha for sha, _m in app["layout"].releases()) == sorted(shas[-2:])
    assert res["pruned"] == [shas[-3]]


def test_check_mode_changes_nothing(app):
    deploy(app, "main")
    new = commit(app["src"], {"services/labeld/server.js": "v2\n"}, "labeld")
    listing = sorted(os.listdir(app["layout"].releases_dir))
    res = deploy(app, "main", check_mode=True)
    assert res["changed"] and res["release"] == new and res["changed_paths"] is None  # the mirror has not fetched it
    assert sorted(os.listdir(app["layout"].releases_dir)) == listing
    assert os.readlink(app["layout"].app_dir) == app["layout"].release(app["base"])


def test_migration_of_a_plain_checkout_keeps_its_state_and_inodes(app):
    lay = app["layout"]
    sh("git", "clone", "-q", app["src"], lay.app_dir)
    write(lay.app_dir, "core/.env", "TOKEN=old\n")
    write(lay.app_dir, "services/strategyd/runs/r.json", "{\"run\":1}")
    write(lay.app_dir, "core/observer-api/server.log", "line 1\n")
    log_inode = os.stat(os.path.join(lay.app_dir, "core/observer-api/server.log")).st_ino
    res = deploy(app, "main")
    assert res["migrated"] and not res["switched"] and res["release"] == app["base"] and npm_calls(app) == []  # the checkout is the release: no build
    assert os.readlink(lay.app_dir) == lay.release(app["base"])
    assert os.stat(os.path.join(lay.shared_dir, "core/observer-api/server.log")).st_ino == log_inode
    with open(os.path.join(lay.app_dir, "core/.env")) as f:
        assert f.read() == "TOKEN=old\n"
    assert json.load(open(os.path.join(lay.app_dir, "services/strategyd/runs/r.json"))) == {"run": 1}
    assert not deploy(app, "main")["changed"]


@pytest.mark.parametrize("ref", ["-x", "--upload-pack=evil", "a..b", "main@{1}", "x.lock", "", "a b", "a\nb", ".hidden", "x" * 300])
def test_bad_refs_are_refused(ref):
    with pytest.raises(r.ReleaseError):
        r.check_ref(ref)


@pytest.mark.parametrize("paths", [["/etc/passwd"], ["../x"], ["a/../b"], [".git/config"], ["a/", "a/b"], ["x", "x"], [""]])
def test_bad_shared_paths_are_refused(paths):
    with pytest.raises(r.ReleaseError):
        r.check_shared(paths)


def test_unknown_ref_fails_before_any_switch(app):
    deploy(app, "main")
    with pytest.raises(r.ReleaseError, match="neither a branch"):
        deploy(app, "no-such-branch")
    assert os.readlink(app["layout"].app_dir) == app["layout"].release(app["base"])


def test_app_dir_linking_elsewhere_is_refused(app, tmp_path):
    os.symlink(str(tmp_path), app["layout"].app_dir)
    with pytest.raises(r.ReleaseError, match="not a release"):
        deploy(app, "main")


def test_prune_keeps_a_release_a_running_process_works_in(app):
    lay = app["layout"]
    deploy(app, "main", keep=1)
    proc = subprocess.Popen(["sleep", "60"], cwd=os.path.join(lay.release(app["base"]), "services/labeld"))
    try:
        commit(app["src"], {"services/labeld/server.js": "v2\n"}, "c1")
        deploy(app, "main", keep=1)
        third = commit(app["src"], {"services/labeld/server.js": "v3\n"}, "c2")
        res = deploy(app, "main", keep=1)
        assert app["base"] in r.in_use(lay)
        assert app["base"] not in res["pruned"] and os.path.isdir(lay.release(app["base"]))
        assert res["release"] == third
    finally:
        proc.kill()
        proc.wait()
