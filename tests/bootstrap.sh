#!/usr/bin/env bash
# Installs what the collection's checks and its lab need on a fresh Debian 12 control node (as root):
# Debian packages, then the pinned toolchain in a virtualenv ($VENV, default .venv).
set -euo pipefail
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
APT_PKGS=(git openssh-client systemd-container mmdebstrap iproute2 curl sqlite3 python3-venv shellcheck)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install -q --disable-pip-version-check \
  -r requirements/requirements.in -c requirements/constraints.txt
echo "bootstrap: toolchain ready in $VENV ($("$VENV/bin/ansible" --version | head -1))"
