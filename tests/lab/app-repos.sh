#!/usr/bin/env bash
# Turn the stand-in applications under tests/lab/apps into git repositories with history, as the real
# stacks' repositories are, and pack each into a bundle for the lab hosts:
#   app-repos.sh OUT_DIR   ->   OUT_DIR/openclaw-ai-quant.bundle, OUT_DIR/quantlab-backend.bundle
# Deterministic: fixed authors and dates, so the same tree gives the same commits.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: app-repos.sh OUT_DIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

commit() {   # $1 = date, $2 = message
  GIT_AUTHOR_NAME="Quant Ops" GIT_AUTHOR_EMAIL=ops@quantops.invalid GIT_AUTHOR_DATE="$1" \
  GIT_COMMITTER_NAME="Quant Ops" GIT_COMMITTER_EMAIL=ops@quantops.invalid GIT_COMMITTER_DATE="$1" \
    git commit -q -m "$2"
}

new_repo() {   # $1 = app name: a work tree with the app's files, no runtime output
  local app=$1
  cp -a "$HERE/apps/$app" "$WORK/$app"
  cd "$WORK/$app"
  find . -name __pycache__ -prune -exec rm -rf {} +
  git init -q -b main .
  git add -A
}

# openclaw-ai-quant: the strategy config has a history, as runbook section 2 expects.
new_repo openclaw-ai-quant
cfg=config/strategy_overrides.yaml
cp "$cfg" "$WORK/cfg.final"
sed -i -e 's/^    leverage: 3.0/    leverage: 5.0/' -e 's/^    sl_atr_mult: 2.0 /    sl_atr_mult: 3.0 /' "$cfg"
git add -A; commit "2026-01-05T09:00:00Z" "Import openclaw-ai-quant"
sed -i 's/^    sl_atr_mult: 3.0 /    sl_atr_mult: 2.0 /' "$cfg"
git add "$cfg"; commit "2026-01-12T09:00:00Z" "config: tighten the stop loss to 2 ATR"
cp "$WORK/cfg.final" "$cfg"
git add "$cfg"; commit "2026-01-19T09:00:00Z" "config: lower leverage to 3x"
[ "$(git rev-list --count HEAD -- "$cfg")" = 3 ] || { echo "app-repos: the config history edits no longer apply" >&2; exit 1; }
git tag v1.0.0
git bundle create -q "$OUT/openclaw-ai-quant.bundle" --all

new_repo quantlab-backend
commit "2026-01-05T09:00:00Z" "Import quantlab-backend"
git tag v1.0.0
git bundle create -q "$OUT/quantlab-backend.bundle" --all

# shellcheck disable=SC2012 # a log line of names and sizes
ls -l "$OUT"/*.bundle | awk '{print "app-repos:", $NF, $5, "bytes"}'
