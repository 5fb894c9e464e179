"""The emergency_stop and kill_switch_clear playbooks across the scenario's bot hosts (h2 live in dry_live mode, h1
and h3 paper, which have no kill switch)."""

import os
import re

import testinfra.utils.ansible_runner
from labtools import adhoc, playbook

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw")[:1]
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw")
LIVE = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw_live")
PAPER = sorted(set(HOSTS) - set(LIVE))


def summary(output, word):
    return sorted(re.findall(r"(?m)^\s*-?\s*['\"]?(h\d+)\s+%s\s" % word, output))


def test_emergency_stop_protects_the_live_host_and_names_the_paper_ones(host, clean_kill_state):
    rc, output = playbook("emergency_stop", "-e", "reason='molecule drill'")
    assert rc == 0, output[-3000:]
    assert summary(output, "PROTECTED") == sorted(LIVE), output[-3000:]
    assert summary(output, "NO_KILL_SWITCH") == PAPER
    assert "paper mode has no kill switch" in " ".join(output.split()) and "heartbeat" in output
    assert "all %d host(s) OK" % len(HOSTS) in output
    rc, output = playbook("emergency_stop", "-e", "reason='again'")  # safe to re-run: nothing changes, still proven
    assert rc == 0 and summary(output, "PROTECTED") == sorted(LIVE)
    assert "changed=0" in output
    rc, output = playbook("kill_switch_clear")
    assert rc == 0, output[-3000:]
    assert summary(output, "CLEARED") == sorted(LIVE) and summary(output, "NO_KILL_SWITCH") == PAPER


def test_halt_all_by_env_then_close_only_keeps_halt_all(host, clean_kill_state):
    rc, output = playbook("emergency_stop", "-e", "kill_mode=halt_all", "-e", "kill_method=env")
    assert rc == 0, output[-3000:]
    assert len(re.findall(r"PROTECTED\s+halt_all", output)) == len(LIVE)
    rc, output = playbook("emergency_stop")  # close_only asked: halt_all stays
    assert rc == 0 and len(re.findall(r"PROTECTED\s+halt_all", output)) == len(LIVE)
    assert "would relax it" in output
    rc, output = playbook("kill_switch_clear")  # the restarted traders' mode, not the one of the processes before
    assert rc == 0 and len(re.findall(r"CLEARED\s+off: ", output)) == len(LIVE), output[-3000:]


def test_limit_gives_a_summary_of_exactly_the_limited_hosts(host, clean_kill_state):
    """`-l h2` used to run and exit 0 with no summary at all (the summary play on localhost matched no host)."""
    rc, output = playbook("emergency_stop", "-l", LIVE[0])
    assert rc == 0 and summary(output, "PROTECTED") == sorted(LIVE[:1]), output[-3000:]
    assert "all 1 host(s) OK" in output and not set(summary(output, r"\w+")) - set(LIVE[:1])
    rc, output = playbook("kill_switch_clear", "-l", LIVE[0])
    assert rc == 0 and summary(output, "CLEARED") == sorted(LIVE[:1]), output[-3000:]


def test_check_mode_is_a_dry_run(host, clean_kill_state):
    rc, output = playbook("emergency_stop", "--check")
    assert rc == 0, output[-3000:]
    assert len(summary(output, "WOULD_ENGAGE")) == len(HOSTS)
    assert not host.file("/tmp/ai-quant-kill").exists


def test_option_c_stops_the_traders(host, clean_kill_state):
    rc, output = playbook("emergency_stop", "-e", "stop_units=true")
    assert rc == 0, output[-3000:]
    assert summary(output, "STOPPED") == sorted(HOSTS)
    for unit in ("openclaw-ai-quant-trader", "openclaw-ai-quant-live"):
        assert host.run(f"systemctl --user -M trader@ is-active {unit}").stdout.strip() != "active"
    # start again, on every host, the traders its role enabled
    start = ("systemctl --user -M trader@ start $(systemctl --user -M trader@ list-unit-files --state=enabled --plain "
             "--no-legend 'openclaw-ai-quant-*' | cut -d' ' -f1)")
    results = adhoc("openclaw", "ansible.builtin.shell", {"cmd": start})
    assert all(r.get("rc") == 0 for r in results.values()), results
