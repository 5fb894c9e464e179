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
    assert sorted(re.findall(r"msg: '?(h\d+)\s+PROTECTED\s", output)) == sorted(HOSTS[:-1])
    assert re.search(r"msg: '?%s\s+UNPROTECTED\s+unknown\s+unreachable" % dead, output)
    assert "UNPROTECTED: %s" % dead in output
    # and the live hosts really are in close_only
    assert host.file("/tmp/ai-quant-kill").content == b"close_only\n"
