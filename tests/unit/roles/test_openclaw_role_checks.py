"""The openclaw role's own checks, run by ansible-playbook against localhost in check mode: they must refuse a bad
setting before the role touches anything (issue 11, finding 12)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[3]
PLAY = """- hosts: localhost
  gather_facts: false
  roles: [quantops.runbooks.openclaw]
"""


def run_role(tmp_path, extra):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"), ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", "--check", str(play),
            "-e", json.dumps(dict(openclaw_repo_url="/nonexistent.git", **extra))]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("extra", [
    {"openclaw_extra_env": {"AI_QUANT_KILL_SWITCH": "0"}},
    {"openclaw_extra_env": {"AI_QUANT_KILL_SWITCH": "close_only", "HL_X": "1"}},
])
def test_the_kill_switch_variable_is_refused_in_the_env_file(tmp_path, extra):
    """EnvironmentFile= overrides Environment=: AI_QUANT_KILL_SWITCH in the env file would beat the emergency
    flows' drop-in, as the shipped ai-quant-live.env.example's AI_QUANT_KILL_SWITCH=0 does."""
    out = run_role(tmp_path, extra)
    text = " ".join((out.stdout + out.stderr).split())
    assert out.returncode != 0 and "AI_QUANT_KILL_SWITCH is set with openclaw_kill_switch" in text, text[-2000:]
    assert "Application user" not in text  # refused before the first task that touches the host


def test_a_clean_setting_passes_the_checks(tmp_path):
    out = run_role(tmp_path, {"openclaw_extra_env": {"HL_X": "1"}})
    text = out.stdout + out.stderr
    assert "Check the settings the argument spec cannot" in text and "TASK [quantops.runbooks.openclaw : Application user]" in text, text[-2000:]
