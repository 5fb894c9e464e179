#!/usr/bin/env bash
# make demo: the collection's headline flows against the lab, as an operator would run them.
# KEEP=1 leaves the lab up afterwards (inventory: inventories/lab/hosts.yml; `make lab-down` removes it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
LAB=tests/lab/lab.sh
INV=inventories/lab/hosts.yml
if [ "${KEEP:-0}" != 1 ]; then trap '"$LAB" destroy; "$LAB" leftovers' EXIT; fi
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false

banner() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }

banner "Lab: ${LAB_HOSTS:-3} Debian 12 hosts with systemd as PID 1 (h1 paper bot, h2 live bot, h3 QuantLab)"
"$LAB" up "${LAB_HOSTS:-3}"

banner "Preflight: every host over SSH as root and as trader, systemd state"
ansible-playbook -i "$INV" quantops.runbooks.preflight

banner "Seed the hosts with the stand-in apps' git repositories"
bundles=$(mktemp -d)
tests/lab/app-repos.sh "$bundles"
ansible-playbook -i "$INV" tests/lab/seed.yml -e lab_bundles="$bundles"
rm -rf "$bundles"

banner "Deploy both stacks with the roles quantops.runbooks.openclaw and quantops.runbooks.quantlab"
ansible-playbook -i "$INV" tests/lab/stacks.yml

banner "Both stacks up"
ansible-playbook -i "$INV" tests/lab/show_stacks.yml

banner "Database checks on the bot hosts (runbook section 3): read-only, one summary line per host"
ansible-playbook -i "$INV" quantops.runbooks.check_databases

banner "Config rollback (runbook section 2): mark the deployed config good, commit a bad one, roll it back"
ansible-playbook -i "$INV" quantops.runbooks.mark_config_good -e 'note="make demo: deployed and healthy"'
ansible-playbook -i "$INV" tests/lab/break_config.yml
ansible-playbook -i "$INV" quantops.runbooks.rollback_config

banner "Config rollback through a restart: a bad global.engine.interval, back to the last known-good version"
ansible-playbook -i "$INV" tests/lab/break_config.yml -e bad_change=interval
ansible-playbook -i "$INV" quantops.runbooks.rollback_config -e rollback_to=last_known_good

banner "Emergency stop on the bot hosts (runbook section 1), then clear it"
ansible-playbook -i "$INV" quantops.runbooks.emergency_stop -e 'reason="make demo drill"'
ansible-playbook -i "$INV" quantops.runbooks.kill_switch_clear

banner "Done"
if [ "${KEEP:-0}" = 1 ]; then
  echo "The lab is still up (KEEP=1): ansible-playbook -i $INV ...; remove it with: make lab-down"
fi
