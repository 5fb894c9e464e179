#!/usr/bin/env bash
# Every molecule scenario under tests/molecule on the lab. Each scenario's create/destroy boot and remove
# the lab; whatever happens (a failed step, Ctrl-C), the lab is removed again at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export MOLECULE_JUNIT_DIR=${JUNIT_DIR:-$top/build/junit/molecule}
mkdir -p "$MOLECULE_JUNIT_DIR"
trap '"$top/tests/lab/lab.sh" destroy' EXIT
cd "$top/tests"
scenarios=${MOLECULE_SCENARIOS:-$(for d in molecule/*/molecule.yml; do basename "$(dirname "$d")"; done)}
# molecule/real runs the real openclaw engine from an operator's checkout (make test-real): opt-in, never by default.
if [ -z "${MOLECULE_SCENARIOS:-}" ] && [ -z "${REAL_OPENCLAW:-}" ]; then
  # shellcheck disable=SC2086 # one scenario name per word
  scenarios=$(printf '%s\n' $scenarios | grep -vx real || true)
  echo "--- skipping molecule test -s real: REAL_OPENCLAW is not set (opt-in: REAL_OPENCLAW=/path/to/checkout make test-real)"
fi
# molecule keys its ephemeral directory (instance config, inventory) by the basename of this directory only
# (~/.ansible/tmp/molecule.<hash of "tests">.<scenario>): key it by the lab too, so two checkouts running the same
# scenario on their own labs (LAB_PREFIX) never share an inventory.
# Each scenario's wall time goes to scenario-times.txt beside the JUnit files: tests/runner.py prints it under the
# molecule step, so the suite's growth shows scenario by scenario.
times="$MOLECULE_JUNIT_DIR/scenario-times.txt"
: > "$times"
for s in $scenarios; do
  echo "--- molecule test -s $s"
  t0=$SECONDS
  rc=0
  MOLECULE_EPHEMERAL_DIRECTORY=${HOME}/.ansible/tmp/molecule.${LAB_PREFIX:-qlab}.$s molecule test -s "$s" --destroy always || rc=$?
  echo "$s $((SECONDS - t0)) $rc" >> "$times"
  [ "$rc" -eq 0 ] || exit "$rc"
done
