"""The kill switch's fast path on a real host: one POSIX sh script per host, no Python there. Checked on the host:
the kill file's bytes, owner and mode, no temporary file left, the audit trail, and a stop that works while the
host's Python does not."""

import json
import os
import re

import testinfra.utils.ansible_runner
from labtools import adhoc, playbook

LIVE = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw_live")
testinfra_hosts = LIVE[:1]
KILL = "/tmp/ai-quant-kill"
AUDIT = "/var/log/quantops-kill-switch.jsonl"


def fast(host, check=False, **args):
    args = dict(dict(mode="close_only", fast=True, verify=True, verify_timeout=30, user="trader"), **args)
    return adhoc(LIVE[0], "quantops.runbooks.kill_switch", args, check=check)[LIVE[0]]


def temporaries(host):
    return [n for n in host.check_output("ls -A /tmp").split() if n.startswith(".ai-quant-kill.")]


def test_fast_path_engages_and_proves_without_python_on_the_host(host, clean_kill_state):
    audit_lines = len(host.file(AUDIT).content_string.splitlines()) if host.file(AUDIT).exists else 0
    result = fast(host, reason="fast drill", audit_log=AUDIT)
    assert result["engine"] == "fast" and result["status"] == "PROTECTED" and result["_rc"] == 0, result["_output"][-2000:]
    live = [t for t in result["traders"] if t["unit"] == "openclaw-ai-quant-live.service"][0]
    assert live["verified"] and live["seconds_to_proof"] > 1 and "engine ok." in live["proof"]
    kill = host.file(KILL)
    assert kill.content == b"close_only\n" and kill.mode == 0o644 and kill.user == "root" and kill.is_file
    assert temporaries(host) == []
    record = json.loads(host.file(AUDIT).content_string.splitlines()[-1])
    assert len(host.file(AUDIT).content_string.splitlines()) == audit_lines + 1
    assert record["engine"] == "fast" and record["reason"] == "fast drill" and record["proofs"] == "1 of 1"
    again = fast(host)  # safe to re-run: nothing written, proven again
    assert again["engine"] == "fast" and not again["changed"] and again["status"] == "PROTECTED"


def test_fast_path_check_mode_writes_nothing(host, clean_kill_state):
    result = fast(host, check=True)
    assert result["engine"] == "fast" and result["status"] == "WOULD_ENGAGE" and not host.file(KILL).exists


def test_emergency_stop_works_while_the_hosts_python_is_broken(host, clean_kill_state):
    rc, output = playbook("emergency_stop", "-l", LIVE[0], "-e", "ansible_python_interpreter=/nonexistent/python3")
    assert rc == 0, output[-3000:]
    assert re.search(r"%s\s+PROTECTED\s+close_only" % LIVE[0], output), output[-3000:]
    assert host.file(KILL).content == b"close_only\n"


def test_anything_odd_at_the_path_goes_to_the_module(host, clean_kill_state):
    host.run_test("id mallory || useradd --no-create-home --shell /bin/sh mallory")
    host.run_test("rm -f %s && runuser -u mallory -- ln -s /etc/hostname %s" % (KILL, KILL))
    result = fast(host)
    assert result["engine"] == "module" and "symlink" in result["fallback"], result["_output"][-2000:]
    assert result["status"] == "PROTECTED"
    kill = host.file(KILL)
    assert not kill.is_symlink and kill.content == b"close_only\n" and kill.user == "root"
    assert host.file("/etc/hostname").content_string.strip() != "close_only"
