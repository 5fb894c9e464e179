"""Last in the bot scenario (test files run in name order): one bot host powered off, the fleet flows carry on with
the other and report it. Nothing runs on this lab after it."""

import re
import subprocess
import time
from pathlib import Path

import testinfra.utils.ansible_runner
from labtools import INVENTORY, playbook

HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw")
testinfra_hosts = HOSTS[:1]
LAB = Path(__file__).resolve().parents[3] / "lab" / "lab.sh"


def status(output, word):
    return sorted(re.findall(r"- ['\"]?(h\d+)\s+%s\s" % word, output))


def test_one_host_unreachable(host):
    dead = HOSTS[-1]
    time.sleep(1)
    subprocess.run([str(LAB), "stop", dead], check=True, timeout=60)
    rc, output = playbook("check_databases")
    assert rc != 0
    assert status(output, "HEALTHY") == sorted(HOSTS[:-1])
    assert status(output, "UNREACHABLE") == [dead] and "not OK: %s" % dead in output
    # the lifecycle and health flows too: the reachable host is done, the dead one named, the run fails
    rc, output = playbook("bot_health")
    assert rc != 0
    assert status(output, "HEALTHY") == sorted(HOSTS[:-1]) and status(output, "UNREACHABLE") == [dead], output[-3000:]
    rc, output = playbook("bot_restart", "-e", "settle=1")
    assert rc != 0
    assert status(output, "RESTARTED") == sorted(HOSTS[:-1]) and status(output, "UNREACHABLE") == [dead], output[-3000:]
