"""The headline flows against the REAL openclaw engine (the operator's checkout, REAL_OPENCLAW): h1 runs it in paper
mode, h2 in dry_live mode against the loopback Hyperliquid fake. Every claim is checked on the host: the running
process (its command line, environment, PID), its journal, the kill file's bytes, git, and the engine's own trading
database. What runs (the checkout's commit, or its unverified engine/ hash), the flows' exit codes and summary lines
are printed (molecule verify shows them) and kept in build/real/flows.log."""

import hashlib
import json
import os
import re
import shlex
import time
from pathlib import Path

import pytest
import testinfra.utils.ansible_runner
import yaml
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
PAPER = RUNNER.get_hosts("openclaw_paper")[0]
LIVE = RUNNER.get_hosts("openclaw_live")[0]
testinfra_hosts = [PAPER]  # each test reaches both hosts itself
APP = "/home/trader/openclaw-ai-quant"
CONFIG = APP + "/config/strategy_overrides.yaml"
KILL = "/tmp/ai-quant-kill"
UNIT = {PAPER: "openclaw-ai-quant-trader", LIVE: "openclaw-ai-quant-live"}
MODE = {PAPER: "paper", LIVE: "dry_live"}
DB = {PAPER: APP + "/trading_engine.db", LIVE: APP + "/trading_engine_live.db"}
VENV_PYTHON = "/opt/openclaw-venv/bin/python3"
LOG = Path(__file__).resolve().parents[4] / "build" / "real" / "flows.log"
PROVENANCE = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "real" / "provenance.txt"


@pytest.fixture(scope="module", autouse=True)
def flows_log():
    """A new build/real/flows.log, headed by what runs (written by tests/lab/real/prepare-controller.sh)."""
    what = PROVENANCE.read_text().strip() if PROVENANCE.exists() else "unknown: no %s" % PROVENANCE
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("real engine: %s\n" % what)
    print("\nreal engine: %s" % what)


@pytest.fixture(scope="module")
def hosts():
    return {name: testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, INVENTORY)) for name in (PAPER, LIVE)}


def run_flow(name, *extra):
    """The playbook, its exit code and its summary lines (the msg lines of its last play), printed and logged."""
    started = time.time()
    rc, output = playbook(name, *extra)
    lines = [" ".join(line.split()) for line in re.findall(r"(?ms)(?:^ {4}- ['\"]|msg: \")(h\d+\s.*?)['\"]$", output)]
    lines += re.findall(r"(?m)^ {4}msg: (.+)$", output)[-1:]
    report = "%s %s -> rc=%d in %.1f s\n%s" % (name, " ".join(extra), rc, time.time() - started,
                                               "\n".join("  " + line for line in lines))
    print("\n" + report)
    with LOG.open("a") as f:
        f.write(report + "\n")
    return rc, output


def summary(output, word):
    return sorted(re.findall(r"(?m)^\s*(?:-|msg:)?\s*['\"]?(h\d+)\s+%s\s" % word, output))


def main_pid(host, unit):
    return int(host.check_output("systemctl --user -M trader@ show -p MainPID --value %s" % unit))


def environ(host, pid):
    return host.check_output("tr '\\0' '\\n' < /proc/%d/environ" % pid).splitlines()


def journal(host, unit, since):
    """(epoch, pid, message) of the unit's journal entries since ``since``."""
    out = host.check_output("journalctl _SYSTEMD_USER_UNIT=%s.service --since @%s -o json --no-pager "
                            "--output-fields=MESSAGE,_PID" % (unit, since))
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [(int(r["__REALTIME_TIMESTAMP"]) / 1e6, int(r["_PID"]), r["MESSAGE"]) for r in rows
            if isinstance(r.get("MESSAGE"), str)]


def messages(host, unit, since, pid=None):
    return [entry[2] for entry in journal(host, unit, since) if pid is None or entry[1] == pid]


def heartbeats(host, unit, since, pid=None):
    """Heartbeats (epoch, pid, loop start, strategy_sha1) since ``since``, of ``pid`` if given."""
    beats = []
    for ts, p, message in journal(host, unit, since):
        m = re.search(r"engine ok\. .*\bloop=([0-9.]+)s\b.*\bstrategy_sha1=(\w+)", message)
        if m and (pid is None or p == pid):
            beats.append((ts, p, ts - float(m.group(1)), m.group(2)))
    return beats


# noqa below: the filters of one journal search, all keyword-only
def wait_heartbeat(host, unit, since, *, pid=None, sha=None, after=None, timeout=30):  # noqa: PLR0913
    deadline = time.time() + timeout
    while time.time() < deadline:
        for beat in heartbeats(host, unit, since, pid):
            if (sha is None or beat[3] == sha) and (after is None or beat[2] > after):
                return beat
        time.sleep(0.5)
    raise AssertionError("no heartbeat of %s (pid %s, sha %s, loop after %s) since %s:\n%s" % (
        unit, pid, sha, after, since, "\n".join(messages(host, unit, since)[-10:])))


def now(host):
    return float(host.check_output("date +%s.%N"))


def git(host, script):
    return host.check_output("runuser -u trader -- bash -c %s" % shlex.quote("set -e; cd %s; %s" % (APP, script)))


def strategy_sha1(content):
    """What the engine prints as strategy_sha1 for a YAML (engine/utils.py sha1_json over yaml.safe_load)."""
    parsed = yaml.safe_load(content) or {}
    data = json.dumps(parsed if isinstance(parsed, dict) else {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:8]


def test_the_real_engine_runs_under_the_roles_units(hosts):
    for name, host in hosts.items():
        pid = main_pid(host, UNIT[name])
        assert pid > 0, name
        cmdline = host.check_output("tr '\\0' ' ' < /proc/%d/cmdline" % pid).strip()
        assert cmdline == "%s -u -m engine.daemon" % VENV_PYTHON, (name, cmdline)
        assert host.check_output("readlink /proc/%d/cwd" % pid) == APP
        assert "AI_QUANT_MODE=%s" % MODE[name] in environ(host, pid)
        # the checkout, not the stand-in: its git history and the real engine's modules
        assert git(host, "git log --format=%s").splitlines()[-1].startswith("Import openclaw-crypto-ai-quant")
        assert host.file(APP + "/engine/oms_reconciler.py").exists and not host.file(APP + "/openclaw_standin").exists
        lines = messages(host, UNIT[name], 0)
        assert "🚀 Unified engine started. mode=%s" % MODE[name] in lines
        wait_heartbeat(host, UNIT[name], now(host) - 10, pid=pid)
        # its own sqlite tee, in its trading DB
        rows = host.check_output("sqlite3 -readonly %s \"SELECT COUNT(*) FROM runtime_logs WHERE mode='%s' AND "
                                 "message LIKE '%%engine ok.%%'\"" % (DB[name], MODE[name]))
        assert int(rows) > 0
    # dry_live reached only the loopback fake, and never its /exchange
    requests = [json.loads(r) for r in hosts[LIVE].file("/var/log/quantops-lab-fake-hl/requests.jsonl").content_string.splitlines()]
    types = {r["type"] for r in requests}
    assert {"meta", "clearinghouseState"} <= types and not [t for t in types if str(t).startswith("exchange")]
    assert hosts[LIVE].file("/home/trader/.config/openclaw-ai-quant/secrets.json").mode == 0o600


def test_emergency_stop_protects_dry_live_and_names_paper(hosts):
    live, paper = hosts[LIVE], hosts[PAPER]
    live_pid, paper_pid = main_pid(live, UNIT[LIVE]), main_pid(paper, UNIT[PAPER])
    since = now(live)
    rc, output = run_flow("emergency_stop", "-e", "reason='real engine drill'")
    assert rc == 0, output[-3000:]
    assert summary(output, "PROTECTED") == [LIVE] and summary(output, "NO_KILL_SWITCH") == [PAPER], output[-3000:]
    assert "all 2 host(s) OK" in output
    # on h2: the file the trader reads holds the mode word, and the same process proved it with a heartbeat of a loop
    # begun after the write
    kill = live.file(KILL)
    assert kill.content == b"close_only\n"
    assert main_pid(live, UNIT[LIVE]) == live_pid
    written = float(live.check_output("stat -c %%.9Y %s" % KILL))
    assert written > since
    beat = wait_heartbeat(live, UNIT[LIVE], since, pid=live_pid, after=written, timeout=1)
    print("proof on %s: pid %d heartbeat at %.3f, its loop began %.3f s after the write" % (LIVE, live_pid, beat[0], beat[2] - written))
    env = environ(live, live_pid)
    assert "AI_QUANT_KILL_SWITCH_FILE=%s" % KILL in env and "AI_QUANT_LIVE_STATE_SYNC_SECS=1" in env
    # paper has no kill switch: the trader is left alone
    assert main_pid(paper, UNIT[PAPER]) == paper_pid


def test_kill_switch_clear_restarts_dry_live_without_a_kill(hosts):
    live, paper = hosts[LIVE], hosts[PAPER]
    if not live.file(KILL).exists:  # this test also stands alone
        assert run_flow("emergency_stop")[0] == 0
    old, paper_pid = main_pid(live, UNIT[LIVE]), main_pid(paper, UNIT[PAPER])
    since = now(live)
    rc, output = run_flow("kill_switch_clear", "-e", "reason='real engine drill over'")
    assert rc == 0, output[-3000:]
    assert summary(output, "CLEARED") == [LIVE] and summary(output, "NO_KILL_SWITCH") == [PAPER], output[-3000:]
    new = main_pid(live, UNIT[LIVE])
    assert new not in (0, old)
    assert not live.file(KILL).exists
    assert not [v for v in environ(live, new) if v.startswith("AI_QUANT_KILL_SWITCH=")]
    assert not live.file("/home/trader/.config/systemd/user/%s.service.d/50-quantops-kill-switch.conf" % UNIT[LIVE]).exists
    wait_heartbeat(live, UNIT[LIVE], since, pid=new, timeout=1)
    assert "🚀 Unified engine started. mode=dry_live" in messages(live, UNIT[LIVE], since, pid=new)
    assert main_pid(paper, UNIT[PAPER]) == paper_pid


@pytest.fixture
def bad_commit(hosts):
    """A bad config commit on every host, live (hot reloaded) before the test; the deployed commit again after it."""
    starts, shas = {}, {}
    for name, host in hosts.items():
        starts[name] = git(host, "git rev-parse HEAD")
        since = now(host)
        git(host, "sed -i 's/^    allocation_pct: 0.20 /    allocation_pct: 0.90 /' config/strategy_overrides.yaml && "
                  "git -c user.name=ops -c user.email=ops@lab commit -q -am 'config: allocate 90%'")
        shas[name] = strategy_sha1(host.file(CONFIG).content)
        wait_heartbeat(host, UNIT[name], since, sha=shas[name])
    yield shas
    for name, host in hosts.items():
        git(host, "git reset -q --hard %s" % starts[name])


def test_rollback_config_is_hot_reloaded_by_the_real_engine(hosts, bad_commit):
    before = {name: git(host, "git rev-parse HEAD~1") for name, host in hosts.items()}
    since = {name: now(host) for name, host in hosts.items()}
    rc, output = run_flow("rollback_config")
    assert rc == 0, output[-3000:]
    assert summary(output, "ROLLED_BACK") == sorted(hosts), output[-3000:]
    assert "all 2 host(s) OK" in output
    flat = " ".join(output.split())
    assert "changed keys: global.trade.allocation_pct; restart required: False" in flat
    # validated by the checkout's own tools/validate_config.py (uv run python ..., the engine's venv)
    assert len(re.findall(r"validation: Key Python Rust YAML Status .*?--- Summary --- Total keys: \d+ .*?YAML missing: 0", flat)) == 2
    for name, host in hosts.items():
        content = host.file(CONFIG).content
        assert hashlib.sha256(content).hexdigest() == git(host, "git show %s:config/strategy_overrides.yaml | sha256sum"
                                                          % before[name]).split()[0]
        sha = strategy_sha1(content)
        assert sha != bad_commit[name]
        beat = wait_heartbeat(host, UNIT[name], since[name], sha=sha, timeout=1)
        assert beat[1] == main_pid(host, UNIT[name])  # hot reloaded, no restart
        print("proof on %s: heartbeat strategy_sha1=%s (the rolled-back file's), pid %d" % (name, sha, beat[1]))


def test_check_databases_on_the_real_engines_databases(hosts):
    rc, output = run_flow("check_databases")
    assert rc == 0, output[-3000:]
    assert "all 2 host(s) OK" in output
    assert re.search(r"%s\s+HEALTHY .*trading: trading_engine.db ok" % PAPER, " ".join(output.split()))
    assert re.search(r"%s\s+HEALTHY .*trading: trading_engine_live.db ok" % LIVE, " ".join(output.split()))
    for name, host in hosts.items():  # the DBs checked are the real engine's, with its tables
        tables = host.check_output("sqlite3 -readonly %s .tables" % DB[name]).split()
        assert {"runtime_logs", "audit_events", "trades"} <= set(tables), (name, tables)
        assert host.check_output("sqlite3 -readonly %s 'PRAGMA integrity_check'" % DB[name]) == "ok"


def test_emergency_stop_check_mode_writes_nothing(hosts):
    pids = {name: main_pid(host, UNIT[name]) for name, host in hosts.items()}
    rc, output = run_flow("emergency_stop", "--check")
    assert rc == 0, output[-3000:]
    assert summary(output, "WOULD_ENGAGE") == sorted(hosts), output[-3000:]
    for name, host in hosts.items():
        assert not host.file(KILL).exists
        assert main_pid(host, UNIT[name]) == pids[name]


def test_halt_all_by_env_restarts_dry_live_into_halt_all_and_the_clear_lifts_it(hosts):
    """The runbook's option A: AI_QUANT_KILL_SWITCH=halt_all in a drop-in, then a restart; the real engine reads the
    env at start. The clear removes the drop-in and restarts it again."""
    live, paper = hosts[LIVE], hosts[PAPER]
    dropin = "/home/trader/.config/systemd/user/%s.service.d/50-quantops-kill-switch.conf" % UNIT[LIVE]
    old, paper_pid = main_pid(live, UNIT[LIVE]), main_pid(paper, UNIT[PAPER])
    since = now(live)
    rc, output = run_flow("emergency_stop", "-e", "kill_mode=halt_all", "-e", "kill_method=env")
    assert rc == 0, output[-3000:]
    assert re.search(r"(?m)^\s*- '%s\s+PROTECTED\s+halt_all" % LIVE, output), output[-3000:]
    assert summary(output, "NO_KILL_SWITCH") == [PAPER]
    assert live.file(dropin).exists and "AI_QUANT_KILL_SWITCH=halt_all" in live.file(dropin).content_string
    new = main_pid(live, UNIT[LIVE])
    assert new not in (0, old)
    assert "AI_QUANT_KILL_SWITCH=halt_all" in environ(live, new)
    wait_heartbeat(live, UNIT[LIVE], since, pid=new, timeout=1)
    assert main_pid(paper, UNIT[PAPER]) == paper_pid

    since = now(live)
    rc, output = run_flow("kill_switch_clear")
    assert rc == 0, output[-3000:]
    assert summary(output, "CLEARED") == [LIVE], output[-3000:]
    assert re.search(r"(?m)^\s*- '%s\s+CLEARED\s+off: " % LIVE, output), output[-3000:]  # the new process's mode
    assert not live.file(dropin).exists
    cleared = main_pid(live, UNIT[LIVE])
    assert cleared not in (0, new)
    assert not [v for v in environ(live, cleared) if v.startswith("AI_QUANT_KILL_SWITCH=")]
    wait_heartbeat(live, UNIT[LIVE], since, pid=cleared, timeout=1)
