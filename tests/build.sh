#!/usr/bin/env bash
# Build the collection tarball, install it into build/collections, and check that what was installed
# is usable from there: its playbooks resolve by FQCN and its modules' docs render.
set -euo pipefail
rm -rf build/dist build/collections
ansible-galaxy collection build --force --output-path build/dist .
tarball=$(ls build/dist/quantops-runbooks-*.tar.gz)
ansible-galaxy collection install --force -p build/collections "$tarball"
export ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections
installed=build/collections/ansible_collections/quantops/runbooks
test -f "$installed/MANIFEST.json"
for pb in playbooks/*.yml; do
  name=$(basename "$pb" .yml)
  ansible-playbook --syntax-check -i localhost, "quantops.runbooks.$name" >/dev/null
  echo "installed playbook quantops.runbooks.$name: syntax ok"
done
for m in plugins/modules/*.py; do
  [ -e "$m" ] || continue
  name=$(basename "$m" .py)
  ansible-doc -t module "quantops.runbooks.$name" >/dev/null
  echo "installed module quantops.runbooks.$name: docs render"
done
echo "built and installed $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
