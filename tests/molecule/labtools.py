"""Helpers of the lab scenarios' testinfra tests: run the collection's modules and playbooks against the scenario's
hosts the way an operator does, and read their JSON results."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = Path(__file__).resolve().parents[2]
# Plain output to match on: molecule forces colours for its own runs (ANSIBLE_FORCE_COLOR), not for these.
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


# PLR0913: mirrors the ansible CLI (-m, -a, --become-user, --check, --diff)
def adhoc(pattern, module, args, *, user=None, check=False, diff=False):  # noqa: PLR0913
    """ansible PATTERN -m MODULE -a ARGS; returns {host: result} (each host's JSON, by the tree callback)."""
    argv = ["ansible", pattern, "-i", str(Path(INVENTORY).parent), "-m", module, "-a", json.dumps(args)]
    argv += ["-e", "ansible_user=%s" % user] if user else []
    argv += ["--check"] if check else []
    argv += ["--diff"] if diff else []
    with tempfile.TemporaryDirectory() as tree:
        env = dict(ENV, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree", ANSIBLE_CALLBACK_TREE_DIR=tree)
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
        results = {path.name: json.loads(path.read_text()) for path in Path(tree).iterdir()}
    assert results, "no result from %s: %s" % (" ".join(argv), out.stdout[-2000:] + out.stderr[-2000:])
    for result in results.values():  # the tree keeps the module's return values; the rest is in the exit code and output
        result.update(_rc=out.returncode, _output=out.stdout + out.stderr)
    return results


def playbook(name, *extra):
    """ansible-playbook quantops.runbooks.NAME; returns (exit code, output)."""
    argv = ["ansible-playbook", "-i", str(Path(INVENTORY).parent), "quantops.runbooks.%s" % name, *extra]
    out = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=600, check=False)
    return out.returncode, out.stdout + out.stderr
