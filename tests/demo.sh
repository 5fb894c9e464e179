#!/usr/bin/env bash
# make demo: the collection's headline flows against the lab, as an operator would run them.
# KEEP=1 leaves the lab up afterwards (inventory: inventories/lab/hosts.yml; `make lab-down` removes it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
LAB=tests/lab/lab.sh
INV=inventories/lab/hosts.yml
if [ "${KEEP:-0}" != 1 ]; then trap '"$LAB" destroy; "$LAB" leftovers' EXIT; fi

banner() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }

banner "Lab: ${LAB_HOSTS:-3} Debian 12 hosts with systemd as PID 1"
"$LAB" up "${LAB_HOSTS:-3}"

banner "Preflight: every host over SSH as root and as trader, systemd state"
ansible-playbook -i "$INV" quantops.runbooks.preflight

banner "Done"
if [ "${KEEP:-0}" = 1 ]; then
  echo "The lab is still up (KEEP=1): ansible-playbook -i $INV ...; remove it with: make lab-down"
fi
