#!/usr/bin/env bash
# The controller's half of the opt-in `real` scenario: what the lab hosts (no internet) need to run the REAL
# openclaw engine, from the operator's checkout in REAL_OPENCLAW. Nothing of upstream is copied into this repo.
#
#   REAL_OPENCLAW=/path/to/checkout prepare-controller.sh OUT_DIR
#
# OUT_DIR/provenance.txt      what runs: the checkout's commit (verified to be $REAL_OPENCLAW_COMMIT when it is a git
#                             checkout) or, for a plain tree, the sha256 of engine/ (NOT verified)
# OUT_DIR/requirements.txt    the engine's runtime pins, generated from the checkout's uv.lock (pins.py)
# OUT_DIR/wheelhouse -> LAB_CACHE/real-wheelhouse/<hash of the pins>: cp311 manylinux wheels from PyPI (ta, an sdist
#                             only, built once as a wheel) plus the machine's pip wheel; built once and reused
# OUT_DIR/openclaw-ai-quant.bundle   the checkout as a git repository: an import commit of the tree, then the lab's
#                             commit of the config (2 s engine loops and heartbeats), which config rollback goes back to
# pip honours its usual environment (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX) for the wheelhouse.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: prepare-controller.sh OUT_DIR}
EXPECT=${REAL_OPENCLAW_COMMIT:-9603e63}
CACHE=${LAB_CACHE:-/var/cache/quantops-lab}
PY=${PYTHON:-python3}
log() { echo "real: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -n "${REAL_OPENCLAW:-}" ] || die "REAL_OPENCLAW is not set: point it at a checkout of fol2/openclaw-crypto-ai-quant at $EXPECT"
SRC=$(cd "$REAL_OPENCLAW" 2>/dev/null && pwd) || die "REAL_OPENCLAW=$REAL_OPENCLAW is not a directory"
for f in engine/daemon.py config/strategy_overrides.yaml pyproject.toml uv.lock tools/validate_config.py; do
  [ -f "$SRC/$f" ] || die "$SRC has no $f: not an openclaw-crypto-ai-quant checkout"
done
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT

# What runs, verified where it can be.
tree=$WORK/tree; mkdir "$tree"
if head=$(git -C "$SRC" rev-parse --verify -q HEAD 2>/dev/null) && [ "$(git -C "$SRC" rev-parse --show-toplevel)" = "$SRC" ]; then
  case "$head" in "$EXPECT"*) ;; *) die "$SRC is at commit $head, not $EXPECT (set REAL_OPENCLAW_COMMIT to run another)";; esac
  dirty=$(git -C "$SRC" status --porcelain --untracked-files=no | wc -l)
  git -C "$SRC" archive HEAD | tar -x -C "$tree"   # exactly the commit, whatever the work tree holds
  what="commit $head (verified: git rev-parse HEAD; $dirty modified tracked file(s) in the work tree, not used)"
  label=${head:0:12}
else
  tar -C "$SRC" --exclude=.git --exclude=__pycache__ --exclude=.venv -cf - . | tar -x -C "$tree"
  engine=$(cd "$tree" && find engine -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  what="a plain tree, NOT VERIFIED to be $EXPECT (no git checkout); engine/ content sha256 $engine"
  label="tree-${engine:0:12}"
fi
echo "$SRC: $what" > "$OUT/provenance.txt"
log "running the real engine from $SRC: $what"

# Runtime pins from uv.lock, and their wheelhouse.
"$PY" "$HERE/pins.py" "$tree" > "$OUT/requirements.txt"
key=$(sha256sum "$OUT/requirements.txt" | cut -c1-16)
wh=$CACHE/real-wheelhouse/$key
if [ ! -f "$wh/SHA256SUMS" ]; then
  log "building the wheelhouse for $(wc -l < "$OUT/requirements.txt") pins in $wh"
  mkdir -p "$CACHE/real-wheelhouse"; rm -rf "$wh.tmp"; mkdir "$wh.tmp"
  grep -v '^ta==' "$OUT/requirements.txt" > "$WORK/binary.txt"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$wh.tmp" --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    -r "$WORK/binary.txt"
  if grep -q '^ta==' "$OUT/requirements.txt"; then   # no wheel on PyPI: pure Python, built here
    "$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$wh.tmp" "$(grep '^ta==' "$OUT/requirements.txt")"
  fi
  # The hosts' python3 has no ensurepip (python3-venv is not installed): pip runs from its wheel there.
  cp /usr/share/python-wheels/pip-*.whl "$wh.tmp/" 2>/dev/null || "$PY" -m pip download -q --no-deps -d "$wh.tmp" pip
  (cd "$wh.tmp" && sha256sum ./*.whl > SHA256SUMS)
  rm -rf "$wh"; mv "$wh.tmp" "$wh"
fi
[ "$(grep -c . "$wh/SHA256SUMS")" -gt "$(wc -l < "$OUT/requirements.txt")" ] || die "$wh is incomplete: remove it"
ln -sfn "$wh" "$OUT/wheelhouse"
# shellcheck disable=SC2012 # a count for the log
log "wheelhouse $wh: $(ls "$wh"/*.whl | wc -l) wheels, $(du -sh "$wh" | cut -f1)"

# The checkout as a git repository with a config history, as the role checks it out on a bot host.
commit() {
  GIT_AUTHOR_NAME="Quant Ops" GIT_AUTHOR_EMAIL=ops@quantops.invalid GIT_AUTHOR_DATE="$1" \
  GIT_COMMITTER_NAME="Quant Ops" GIT_COMMITTER_EMAIL=ops@quantops.invalid GIT_COMMITTER_DATE="$1" \
    git -C "$tree" commit -q -m "$2"
}
git -C "$tree" init -q -b main
git -C "$tree" add -A
commit "2026-01-05T09:00:00Z" "Import openclaw-crypto-ai-quant ($label)"
cfg=$tree/config/strategy_overrides.yaml
sed -i 's/^    loop_target_s: 60$/    loop_target_s: 2\n    heartbeat_every_s: 2/' "$cfg"
grep -q '^    heartbeat_every_s: 2$' "$cfg" || die "config/strategy_overrides.yaml has no 'loop_target_s: 60' line to shorten"
git -C "$tree" add -A
commit "2026-01-12T09:00:00Z" "lab: 2 s engine loops and heartbeats"
rm -f "$OUT/openclaw-ai-quant.bundle"
git -C "$tree" bundle create -q "$OUT/openclaw-ai-quant.bundle" main
log "bundle $OUT/openclaw-ai-quant.bundle: $(git -C "$tree" rev-list --count main) commits, $(du -h "$OUT/openclaw-ai-quant.bundle" | cut -f1)"
