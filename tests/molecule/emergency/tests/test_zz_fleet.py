"""A fleet run with one host down: every other host is protected, the dead one is named, the exit is non-zero.
Runs last: it powers a lab host off."""

import os
import re
import subprocess
from pathlib import Path

import testinfra.utils.ansible_runner
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw")
testinfra_hosts = HOSTS[:1]
LAB = Path(__file__).resolve().parents[3] / "lab" / "lab.sh"


def test_one_host_unreachable(host):
    dead = HOSTS[-1]
    subprocess.run([str(LAB), "stop", dead], check=True, timeout=60)
    rc, output = playbook("emergency_stop", "-e", "reason='fleet drill'")
    assert rc != 0
    live = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw_live")
    assert sorted(re.findall(r"(?m)^\s*-?\s*'?(h\d+)\s+PROTECTED\s", output)) == sorted(live)
    assert re.search(r"(?m)^\s*-?\s*'?%s\s+UNREACHABLE\s" % dead, output)
    assert "1 of %d host(s) not OK: %s" % (len(HOSTS), dead) in output
    # and the reachable hosts really hold the file
    assert host.file("/tmp/ai-quant-kill").content == b"close_only\n"
