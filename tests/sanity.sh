#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/<namespace>/<name>: copy the files
# git knows (tracked, and new ones not ignored) to a temporary tree and run it there, with the local
# Python only (no containers on this machine).
set -euo pipefail
top=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d /tmp/quantops-sanity.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/quantops/runbooks
mkdir -p "$dest"
# The stand-in applications under tests/lab/apps are programs for the lab hosts (python daemons with
# shebangs, node services), not Ansible content: ruff lints them, sanity checks the collection.
git -C "$top" ls-files -z -co --exclude-standard -- . ':!tests/lab/apps' | (cd "$top" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$dest"
# ansible-test bootstraps pip in its test venvs with a script it downloads from a host outside the
# package registries; give it a local equivalent in its cache (see tests/sanity/get_pip_offline.py).
pip_version=$(python3 -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from types import SimpleNamespace as N
import sys; print(g(N(version="%d.%d" % sys.version_info[:2]))["pip"])')
mkdir -p ~/.ansible/test/cache
cp "$top/tests/sanity/get_pip_offline.py" ~/.ansible/test/cache/get_pip_"${pip_version//./_}".py
cd "$dest"
# ansible-test lists files with git when it finds a repository: give it one, so it sees exactly the copy.
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
py=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --color --python "$py" --requirements "$@"
