"""Config rollback on the stand-in bot repo: bad commits rolled back and hot-reloaded, a failing validation that
leaves every byte and the trader alone, the global.engine.interval restart path, local edits refused, previous and
last_known_good after several commits. Every claim is checked on the host: the file's bytes, git, and the trader's
heartbeat, whose strategy_sha1 is the parsed YAML's hash (the real trader logs nothing when it reloads)."""

import hashlib
import json
import os
import re
import shlex
import time

import pytest
import testinfra.utils.ansible_runner
import yaml
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw")
testinfra_hosts = HOSTS[:1]
APP = "/home/trader/openclaw-ai-quant"
CONFIG = APP + "/config/strategy_overrides.yaml"
TRADER = "openclaw-ai-quant-trader"


def git(host, script):
    """Run a shell script as trader in the repo (the operator's hand edits and commits of the tests)."""
    script = "set -e; cd %s; %s" % (APP, script)
    return host.check_output("runuser -u trader -- bash -c %s" % shlex.quote(script))


def commit(host, sed, subject):
    git(host, "sed -i %s config/strategy_overrides.yaml && git -c user.name=ops -c user.email=ops@lab commit -q -am %s"
        % (shlex.quote(sed), shlex.quote(subject)))
    return git(host, "git rev-parse HEAD")


def at(host, rev):
    return git(host, "git show %s:config/strategy_overrides.yaml | sha256sum" % rev).split()[0]


def digest(host):
    return hashlib.sha256(host.file(CONFIG).content).hexdigest()


def strategy_sha1(host):
    """What the trader's heartbeat shows for the config on disk, computed here as engine/utils.py sha1_json does."""
    parsed = yaml.safe_load(host.file(CONFIG).content) or {}
    data = json.dumps(parsed if isinstance(parsed, dict) else {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:8]


def heartbeat(sha):
    return r"engine ok\. .*strategy_sha1=%s\b" % sha


def fingerprint(host):
    """Bytes, inode, mtime, mode and owner of the config, and git's view of the work tree and the index."""
    return (host.check_output("stat -c '%%i %%Y.%%y %%a %%U' %s" % CONFIG), digest(host),
            git(host, "git status --porcelain=v2; git diff --cached --stat"))


def journal(host, since):
    return host.check_output("journalctl _SYSTEMD_USER_UNIT=%s.service --since @%s -o cat --no-pager" % (TRADER, since))


def wait_for(host, since, pattern, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if re.search(pattern, journal(host, since)):
            return
        time.sleep(0.5)
    raise AssertionError("no %r in the trader's journal since %s:\n%s" % (pattern, since, journal(host, since)[-2000:]))


def now(host):
    return host.check_output("date +%s.%N")


def flat(output):
    return " ".join(output.split())


def summary(output, word):
    # a line holding an emoji (the heartbeat's) is printed double-quoted by the YAML callback
    return sorted(re.findall(r"(?m)^\s*-?\s*['\"]?(h\d+)\s+%s\s" % word, output))


@pytest.fixture(autouse=True)
def clean_repo(host):
    """Each test starts from the deployed commit with a clean work tree and no last-known-good mark, on every host."""
    start = git(host, "git rev-parse HEAD")
    yield
    git(host, "git reset -q --hard %s && git clean -qfx config && (git tag -l 'quantops/*' | xargs -r git tag -d >/dev/null)" % start)


def test_bad_commit_rolled_back_and_hot_reloaded(host):
    good = git(host, "git rev-parse HEAD")
    good_sha = strategy_sha1(host)
    since = now(host)
    commit(host, "s/^    leverage: 3.0/    leverage: 40.0/", "config: raise leverage to 40x")
    assert strategy_sha1(host) != good_sha
    wait_for(host, since, heartbeat(strategy_sha1(host)))  # the bad config is live

    since = now(host)
    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0])
    assert rc == 0, output[-3000:]
    assert summary(output, "ROLLED_BACK") == [HOSTS[0]]
    assert "-    leverage: 40.0" in output and "+    leverage: 3.0" in output  # the diff is printed
    assert "changed keys: global.trade.leverage; restart required: False" in flat(output)
    # on the host: the good commit's bytes, staged as `git checkout <commit> -- file` leaves them, and in force
    assert digest(host) == at(host, good)
    assert git(host, "git diff --cached --name-only") == "config/strategy_overrides.yaml"
    assert git(host, "git diff --name-only") == ""
    assert strategy_sha1(host) == good_sha
    wait_for(host, since, heartbeat(good_sha), timeout=1)
    assert "strategy_sha1=%s" % good_sha in flat(output)  # the proof the summary quotes

    # again: the same target, already in place, is not a local edit and changes nothing
    before = fingerprint(host)
    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0])
    assert rc == 0 and summary(output, "UNCHANGED") == [HOSTS[0]], output[-3000:]
    assert fingerprint(host) == before


def test_check_mode_writes_nothing(host):
    commit(host, "s/^    leverage: 3.0/    leverage: 40.0/", "config: raise leverage to 40x")
    before = fingerprint(host)
    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0], "--check")
    assert rc == 0, output[-3000:]
    assert "+    leverage: 3.0" in output and "check mode: nothing written" in flat(output)
    assert summary(output, "WOULD_ROLL_BACK") == [HOSTS[0]] and "ROLLED_BACK" not in output
    assert fingerprint(host) == before


def test_the_summary_covers_exactly_the_hosts_limit_targets(host):
    """--limit is how operators target hosts: the summary names those, and no host the run never touched."""
    rc, output = playbook("rollback_config", "-l", HOSTS[0])
    assert rc == 0 and summary(output, r"\w+") == [HOSTS[0]], output[-3000:]
    assert "all 1 host(s) OK" in output


def test_failed_validation_leaves_the_file_byte_identical_and_stops_the_run(host):
    # the real tools/validate_config.py refuses a YAML that lacks a key (the trader would run on a code default)
    commit(host, "/^    leverage: 3.0/d", "config: drop leverage")
    commit(host, "s/^    allocation_pct: 0.05 /    leverage: 3.0\\n    allocation_pct: 0.05 /", "config: leverage back")
    since = now(host)
    wait_for(host, since, heartbeat(strategy_sha1(host)))

    before = fingerprint(host)
    since = now(host)
    rc, output = playbook("rollback_config")  # previous = the commit without leverage, which the validator refuses
    assert rc != 0
    assert summary(output, "FAILED") == [HOSTS[0]] and summary(output, "NOT") == sorted(HOSTS[1:]), output[-3000:]
    assert re.search(r"the validator refused the version of config/strategy_overrides.yaml at commit \w+ .*trade.leverage", flat(output))
    assert "%d of %d host(s) not OK: %s" % (len(HOSTS), len(HOSTS), ", ".join(HOSTS)) in output
    time.sleep(2)  # the trader polls the file every loop: give it the time to react, if anything had changed
    assert fingerprint(host) == before
    shas = set(re.findall(r"strategy_sha1=(\w+)", journal(host, since)))
    assert shas == {strategy_sha1(host)}  # nothing else was ever in force


def test_engine_interval_change_goes_through_a_restart(host):
    since = now(host)
    commit(host, "s/^    interval: 5m /    interval: 15m/", "config: trade 15m bars")
    wait_for(host, since, heartbeat(strategy_sha1(host)))  # hashed, but the 5m the trader started with stays
    pid = host.check_output("systemctl --user -M trader@ show -p MainPID --value %s" % TRADER)

    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0])
    assert rc == 0, output[-3000:]
    assert "changed keys: global.engine.interval; restart required: True" in flat(output)
    assert re.search(r"ROLLED_BACK \w+ keys: global.engine.interval \| .*engine ok\. .*strategy_sha1=%s" % strategy_sha1(host), flat(output))
    assert host.check_output("systemctl --user -M trader@ show -p MainPID --value %s" % TRADER) != pid
    assert host.check_output("systemctl --user -M trader@ is-active %s" % TRADER) == "active"


def test_local_edits_are_refused_unless_forced(host):
    commit(host, "s/^    leverage: 3.0/    leverage: 40.0/", "config: raise leverage to 40x")
    git(host, "echo '# hand edit on the host' >> config/strategy_overrides.yaml")
    edited = fingerprint(host)
    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0])
    assert rc != 0 and summary(output, "FAILED") == [HOSTS[0]]
    assert "config/strategy_overrides.yaml in %s has local edits" % APP in flat(output)
    assert fingerprint(host) == edited

    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0], "-e", "rollback_force=true")
    assert rc == 0 and summary(output, "ROLLED_BACK") == [HOSTS[0]], output[-3000:]
    backups = git(host, "ls config").split()
    assert len(backups) == 2  # the config and the backup of the hand-edited one
    backup = next(b for b in backups if b != "strategy_overrides.yaml")
    assert git(host, "tail -1 config/%s" % backup) == "# hand edit on the host"


def test_previous_and_last_known_good_after_several_commits(host):
    rc, output = playbook("mark_config_good", "-e", "config_hosts=%s" % HOSTS[0], "-e", "note='molecule: healthy deploy'")
    assert rc == 0, output[-3000:]
    marked = digest(host)
    assert git(host, "git cat-file -p 'quantops/lkg/config%2Fstrategy_overrides.yaml^{blob}' | sha256sum").split()[0] == marked
    c1 = commit(host, "s/^    allocation_pct: 0.05 /    allocation_pct: 0.06 /", "config: allocate 6%")
    commit(host, "s/^    allocation_pct: 0.06 /    allocation_pct: 0.07 /", "config: allocate 7%")

    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0])  # previous: the parent of the newest change
    assert rc == 0, output[-3000:]
    assert digest(host) == at(host, c1)
    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0])  # again: still c1, no local edit
    assert rc == 0 and summary(output, "UNCHANGED") == [HOSTS[0]], output[-3000:]

    rc, output = playbook("rollback_config", "-e", "rollback_hosts=%s" % HOSTS[0], "-e", "rollback_to=last_known_good")
    assert rc == 0, output[-3000:]
    assert digest(host) == marked and "keys: global.trade.allocation_pct" in flat(output)
