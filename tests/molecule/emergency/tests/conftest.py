"""Run the collection's modules and playbooks against the scenario's hosts the way an operator does, and read
their JSON results."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labtools import playbook  # noqa: E402


@pytest.fixture
def clean_kill_state(host):
    """Every bot host ends the test with no kill anywhere (file, drop-ins, running processes), as converge left it,
    so the next test starts from there too, whatever the test did on which host."""
    yield
    rc, output = playbook("kill_switch_clear")
    assert rc == 0, output[-3000:]
