"""quantlab_deploy on the QuantLab host: a commit touching only services/labeld/ restarts only labeld, and labeld's new
process runs the new release's code (its cwd and the bytes of its server.js, read on the host); npm ci runs in
labeld alone (its new lockfile; the stand-in's postinstall leaves a mark); deploying the same ref again changes nothing;
a broken commit (a labeld that exits at start) is reverted, with every service healthy on the previous release, a
non-zero exit and the failure in the JUnit file; the -vvv output holds no token of /etc/quantlab/*.env.

The new commits are made on the host, as the deploy user, in a clone of the seeded repository (the flow is pointed at
it with -e quantlab_repo_url). At the end the host is deployed back to the release it had, from the inventory's
repository, and the test's clone and releases are removed."""

import os
import re

import pytest
import testinfra.utils.ansible_runner
from conftest import tokens
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("quantlab")[:1]

APP = "/home/deploy/quantlab-backend"
RELEASES = "/home/deploy/quantlab-releases"
SRC = "/home/deploy/quantlab-deploy-test.git"
MARK = "// quantlab_deploy lab test: labeld v2"
UNITS = ["quantlab-replayd", "quantlab-collector", "quantlab-featurexd", "quantlab-strategyd", "quantlab-labeld", "quantlab-backtestd",
         "quantlab-worker", "quantlab-observer-core", "quantlab-observer", "quantlab-console-ui"]
HEALTH = [(3030, "/health"), (9100, "/health"), (3051, "/health"), (3031, "/health"), (3061, "/health"), (3041, "/health"),
          (3000, "/ping"), (8080, "/")]
PACKAGE = """{
  "name": "labeld",
  "version": "1.0.1",
  "private": true,
  "scripts": {
    "start": "node server.js",
    "postinstall": "node -e \\"require('fs').writeFileSync('npm-ci-ran', process.env.npm_command || 'ci')\\""
  }
}
"""
LOCK = """{
  "name": "labeld",
  "version": "1.0.1",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "labeld",
      "version": "1.0.1",
      "hasInstallScript": true
    }
  }
}
"""
BROKEN = "'use strict';\nconsole.error('labeld: this build is broken');\nprocess.exit(1);\n"


def as_deploy(host, script):
    out = host.run("sudo -u deploy -H bash -euc %s" % _quote(script))
    assert out.rc == 0, out.stderr + out.stdout
    return out.stdout.strip()


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def pids(host):
    return dict((u, host.check_output("systemctl show -P MainPID %s" % u)) for u in UNITS)


def current(host):
    return host.check_output("readlink %s" % APP)


def deploy(*extra):
    """The flow on the QuantLab host; extra: NAME=VALUE pairs (passed with -e) and -v flags."""
    argv = ["-e", "quantlab_hosts=quantlab[0]"]
    for e in extra:
        argv += [e] if e.startswith("-") else ["-e", e]
    return playbook("quantlab_deploy", *argv)


@pytest.fixture(scope="module")
def commits(host, tmp_path_factory):
    """(original release, good commit, broken commit), made on the host; puts the host back afterwards."""
    original = os.path.basename(current(host))
    assert re.match(r"^[0-9a-f]{40}$", original), "the role deploys a release: %s" % original
    write = "\n".join([
        "rm -rf %s && git clone -q /srv/git/quantlab-backend.git %s && cd %s" % (SRC, SRC, SRC),
        "git config user.name lab && git config user.email lab@quantops.invalid",
        "printf '%%s\\n' %s >> services/labeld/server.js" % _quote(MARK),
        "printf '%%s' %s > services/labeld/package.json" % _quote(PACKAGE),
        "printf '%%s' %s > services/labeld/package-lock.json" % _quote(LOCK),
        "git add -A && git commit -q -m 'labeld v2' && git rev-parse HEAD",
        "printf '%%s' %s > services/labeld/server.js" % _quote(BROKEN),
        "git add -A && git commit -q -m 'labeld broken' && git rev-parse HEAD",
    ])
    good, broken = as_deploy(host, write).split()
    yield original, good, broken
    rc, out = deploy("quantlab_version=%s" % original, "junit=%s" % (tmp_path_factory.mktemp("deploy") / "junit.xml"))
    assert rc == 0, out[-3000:]
    as_deploy(host, "rm -rf %s %s/%s %s/%s" % (SRC, RELEASES, good, RELEASES, broken))
    assert current(host).endswith(original)


def test_a_labeld_only_commit_restarts_labeld_alone_on_the_new_code(host, commits, tmp_path):
    _original, good, _broken = commits
    before = pids(host)
    rc, out = deploy("quantlab_version=%s" % good, "quantlab_repo_url=%s" % SRC, "junit=%s" % (tmp_path / "junit.xml"))
    assert rc == 0, out[-4000:]
    assert "DEPLOYED" in out and "restarted labeld in" in out, out[-3000:]
    after = pids(host)
    assert after["quantlab-labeld"] != before["quantlab-labeld"]
    assert dict((u, p) for u, p in after.items() if u != "quantlab-labeld") == dict((u, p) for u, p in before.items() if u != "quantlab-labeld")
    assert current(host) == "%s/%s" % (RELEASES, good)
    cwd = host.check_output("readlink /proc/%s/cwd" % after["quantlab-labeld"])
    assert cwd == "%s/%s/services/labeld" % (RELEASES, good)
    assert MARK in host.file("%s/server.js" % cwd).content_string
    # npm ci ran offline in labeld (its lockfile is new, with no dependencies), and nowhere else
    assert host.file("%s/npm-ci-ran" % cwd).exists
    assert host.check_output("find %s/%s -name npm-ci-ran" % (RELEASES, good)) == "%s/npm-ci-ran" % cwd
    # runtime state is shared, not left behind in the old release
    assert host.check_output("readlink %s/services/strategyd/runs" % APP) == "/home/deploy/quantlab-shared/services/strategyd/runs"
    assert host.run("curl -fsS http://127.0.0.1:3061/health").rc == 0


def test_deploying_the_current_ref_again_changes_nothing(host, commits, tmp_path):
    _original, good, _broken = commits
    before, link = pids(host), current(host)
    rc, out = deploy("quantlab_version=%s" % good, "quantlab_repo_url=%s" % SRC, "junit=%s" % (tmp_path / "junit.xml"))
    assert rc == 0, out[-4000:]
    assert "UNCHANGED" in out, out[-3000:]
    release_task = out[out.index("TASK [Fetch"):]
    assert release_task.split("\n", 2)[1].startswith("ok: ["), release_task[:500]
    assert pids(host) == before and current(host) == link


def test_a_broken_commit_is_reverted_with_every_service_healthy(host, commits, tmp_path):
    _original, good, broken = commits
    junit = tmp_path / "junit.xml"
    rc, out = deploy("quantlab_version=%s" % broken, "quantlab_repo_url=%s" % SRC, "junit=%s" % junit, "deadline=10", "-vvv")
    assert rc != 0, out[-4000:]
    assert "REVERTED" in out and "labeld did not answer healthy" in out, out[-4000:]
    assert current(host) == "%s/%s" % (RELEASES, good)
    labeld = host.check_output("systemctl show -P MainPID quantlab-labeld")
    assert host.check_output("readlink /proc/%s/cwd" % labeld) == "%s/%s/services/labeld" % (RELEASES, good)
    for port, path in HEALTH:
        assert host.run("curl -fsS -o /dev/null http://127.0.0.1:%d%s" % (port, path)).rc == 0, "port %d" % port
    report = junit.read_text()
    assert 'failures="1"' in report and 'type="REVERTED"' in report, report
    # no token of the env files anywhere in the -vvv output
    assert len(out) > 10000
    leaked = [t[:4] for t in tokens(host) if t in out]
    assert not leaked, "tokens starting %s in the -vvv output" % leaked
