"""Bad role input fails before anything is changed, with a message that names the problem."""

import os
import subprocess
from pathlib import Path

import pytest
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = Path(__file__).resolve().parents[4]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw_paper")[:1]

PLAYBOOK = """
- name: Bot
  hosts: openclaw_paper[0]
  gather_facts: false
  roles:
    - role: quantops.runbooks.openclaw
"""


@pytest.mark.parametrize(("extra", "message"), [
    ("openclaw_kill_switch=bogus", "openclaw_kill_switch"),
    ("openclaw_bbo_snapshots_retention_sweep_secs=10", "at least 30"),
    ('{"openclaw_candle_prune_disable_intervals": ["7m"]}', "Hyperliquid intervals"),
    ("openclaw_risk_max_entry_orders_per_min=lots", "openclaw_risk_max_entry_orders_per_min"),
])
def test_bad_input_fails_and_changes_nothing(host, tmp_path, extra, message):
    env_file = "/home/trader/.config/openclaw-ai-quant/openclaw.env"
    before = host.file(env_file).md5sum
    playbook = tmp_path / "bot.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-i", str(Path(INVENTORY).parent), str(playbook), "-e", extra],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output
    assert "changed=0" in output
    assert host.file(env_file).md5sum == before
