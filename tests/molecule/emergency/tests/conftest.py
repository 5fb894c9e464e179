"""Run the collection's modules and playbooks against the scenario's hosts the way an operator does, and read
their JSON results."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labtools import playbook  # noqa: E402


@pytest.fixture
def clean_kill_state(host):
    """The test's host ends with no kill anywhere (file, drop-ins, running processes), as converge left it, so the
    next test starts from there too."""
    yield
    rc, output = playbook("kill_switch_clear", "-e", "kill_hosts=%s" % host.backend.get_hostname())
    assert rc == 0, output[-3000:]
