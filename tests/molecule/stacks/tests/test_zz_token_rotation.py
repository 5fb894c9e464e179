"""Rotating a QuantLab token with the role at -vvv: the new token is in force, the old one is refused, and
no token value appears anywhere in Ansible's output. Runs last: it changes the deployed token."""

import os
import secrets
import subprocess
from pathlib import Path

import testinfra.utils.ansible_runner
from test_quantlab import get, token

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = Path(__file__).resolve().parents[4]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("quantlab")

PLAYBOOK = """
- name: QuantLab
  hosts: quantlab
  gather_facts: false
  roles:
    - role: quantops.runbooks.quantlab
"""


def test_rotating_a_token_at_vvv_never_prints_a_token(host, tmp_path):
    names = ("quantlab_replayd_token", "quantlab_strategyd_token", "quantlab_backtestd_token", "quantlab_featurexd_token",
             "quantlab_labeld_token", "quantlab_observer_token")
    tokens = {var: token(host, var) for var in names}
    new = "rotated-" + secrets.token_hex(12)
    playbook = tmp_path / "quantlab.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-vvv", "-i", str(Path(INVENTORY).parent), str(playbook),
                             "-e", f"quantlab_strategyd_token={new}"], capture_output=True, text=True, env=env, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "changed=" in output and "Restart quantlab services" in output  # the rotation really went through
    for value in [*tokens.values(), new]:
        assert value not in output
    # /health is open, so the proof is a route that needs the token
    assert get(host, 3031, "/runs", new)[0] == 200
    assert get(host, 3031, "/runs", tokens["quantlab_strategyd_token"])[0] == 401
