#!/usr/bin/env bash
# The lab: real Debian 12 test hosts with systemd as PID 1, booted with systemd-nspawn from one
# cached template, each on a bridge this script creates, reached over SSH like production.
#
#   lab.sh build          build (or reuse) the cached template for the current recipe
#   lab.sh up N           clean any stale lab, boot N fresh hosts, wait until SSH-ready, write inventory
#   lab.sh down           power the hosts off; remove every mount, cgroup, process and bridge of the lab
#   lab.sh status         one line per host, plus what of the lab is present on the machine
#   lab.sh destroy        down, then remove the hosts' overlays (the template cache stays)
#   lab.sh leftovers      print what of the lab remains on the machine; exit 1 if anything does
#   lab.sh instances      the running hosts as molecule instance config (YAML)
#   lab.sh stop hN        power one host off (it stays in the inventory, unreachable: fleet failure tests)
#
# Settings (environment):
#   LAB_SUBNET   the hosts' /24, as A.B.C.0/24 or A.B.C   (default 10.213.77.0/24); the bridge is .1,
#                host hN is .(10+N)
#   LAB_PREFIX   names of the bridge, cgroups and machines (default qlab)
#   LAB_STATE    per-host overlays, SSH key, pid files       (default /var/lib/quantops-lab)
#   LAB_CACHE    template cache                              (default /var/cache/quantops-lab)
#   LAB_MIRROR   Debian mirror for the template              (default: the machine's own apt source)
#   LAB_INVENTORY  where `up` writes the Ansible inventory   (default: inventories/lab/hosts.yml)
set -euo pipefail
shopt -s nullglob

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PREFIX=${LAB_PREFIX:-qlab}
STATE=${LAB_STATE:-/var/lib/quantops-lab}
CACHE=${LAB_CACHE:-/var/cache/quantops-lab}
INVENTORY=${LAB_INVENTORY:-$REPO/inventories/lab/hosts.yml}
SUBNET=${LAB_SUBNET:-10.213.77.0/24}
NET=${SUBNET%/*}; NET=${NET%.0}
BR=${PREFIX}br0
KEY=$STATE/id_ed25519
HOSTS=$STATE/hosts
SUITE=bookworm
# What both stacks need on a host (issue 2): keep this list and template_recipe() the only inputs of the
# template; the template is rebuilt whenever either changes.
PKGS=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,openssh-server,iproute2,procps,less,ca-certificates,python3,python3-yaml,sqlite3,git,nodejs,npm,cron,curl,sudo
# Guests get a pure cgroup2 tree (like a modern production host) although this machine is hybrid.
export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
CGROOTS=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)
SSH_OPTS=(-q -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o ConnectTimeout=1 -o LogLevel=ERROR)

log() { echo "[lab $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mirror() {
  [ -n "${LAB_MIRROR:-}" ] && { echo "$LAB_MIRROR"; return; }
  awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep . ||
    echo http://deb.debian.org/debian
}

check_subnet() {
  [[ $NET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
    die "LAB_SUBNET=$SUBNET is not a /24 like 10.213.77.0/24"
}

need_tools() {
  local missing=()
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  [ ${#missing[@]} = 0 ] && return
  log "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

# Everything done to the template after mmdebstrap. Its text is part of the template's cache key.
template_recipe() {
  local R=$1
  rm -f "$R"/var/cache/apt/archives/*.deb "$R"/etc/ssh/ssh_host_*   # host keys are made per host
  : > "$R/etc/machine-id"                                             # made per host
  rm -f "$R/var/lib/dbus/machine-id"
  echo "deb $(mirror) $SUITE main" > "$R/etc/apt/sources.list"
  chroot "$R" useradd -m -s /bin/bash -G sudo trader                 # a lingering non-root deploy user
  echo 'trader ALL=(ALL) NOPASSWD:ALL' > "$R/etc/sudoers.d/trader"; chmod 440 "$R/etc/sudoers.d/trader"
  mkdir -p "$R/var/lib/systemd/linger"; touch "$R/var/lib/systemd/linger/trader"
  mkdir -p "$R/var/log/journal"            # persistent journal: per-user journal files for journalctl --user
  chroot "$R" systemctl enable systemd-networkd.service
  chroot "$R" systemctl mask getty@tty1.service console-getty.service systemd-networkd-wait-online.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\nGSSAPIAuthentication no\n' > "$R/etc/ssh/sshd_config.d/lab.conf"
  : > "$R/etc/resolv.conf"                 # the hosts have no route out: no resolver either
}

template_key() {
  { echo "$SUITE $PKGS"; declare -f template_recipe; } | sha256sum | cut -c1-12
}

template_dir() { echo "$CACHE/template-$(template_key)"; }

build() {
  need_tools
  mkdir -p "$CACHE" "$STATE"
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C quantops-lab -f "$KEY"
  # One build at a time; the lock is held only while building (the subshell closes it), so the hosts'
  # processes never inherit it.
  ( flock 9; build_locked ) 9>"$CACHE/.lock"
}

build_locked() {
  local T; T=$(template_dir)
  if [ -d "$T" ]; then log "template cached: $T"; return; fi
  local t0=$SECONDS
  rm -rf "$T.tmp"
  log "building template $T from $(mirror) (a minute or two)"
  mmdebstrap --quiet --variant=minbase --include="$PKGS" "$SUITE" "$T.tmp" "$(mirror)"
  template_recipe "$T.tmp"
  mv "$T.tmp" "$T"
  log "template built in $((SECONDS - t0)) s ($(du -sh "$T" | cut -f1))"
  local old
  for old in "$CACHE"/template-*; do        # older recipes are no use any more
    [ "$old" = "$T" ] || rm -rf "$old"
  done
}

host_ip() { echo "$NET.$((10 + ${1#h}))"; }

cg_kill_and_remove() {   # $1 = machine name: kill whatever still runs in its cgroup, then remove it
  local c cg p
  for c in "${CGROOTS[@]}"; do
    cg=$c/$PREFIX-$1
    [ -d "$cg" ] || continue
    find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do kill -KILL "$p" 2>/dev/null || true; done || true
  done
  for c in "${CGROOTS[@]}"; do
    cg=$c/$PREFIX-$1
    [ -d "$cg" ] || continue
    for _ in $(seq 1 50); do
      find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      [ -d "$cg" ] || break
      sleep 0.1
    done
  done
}

down() {
  local H n p
  # 1. ask every container to power off (SIGTERM to nspawn = a clean halt of the guest's PID 1)
  for H in "$HOSTS"/*/; do
    H=${H%/}
    p=$(cat "$H/supervisor.pid" 2>/dev/null || true)
    if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi     # stop the reboot loop first
    p=$(cat "$H/nspawn.pid" 2>/dev/null || true)
    if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  # 2. wait for them, then remove by force whatever is left: processes, cgroups, mounts, runtime dirs
  for H in "$HOSTS"/*/; do
    H=${H%/}; n=$(basename "$H")
    p=$(cat "$H/nspawn.pid" 2>/dev/null || true)
    for _ in $(seq 1 100); do { [ -n "$p" ] && kill -0 "$p" 2>/dev/null; } || break; sleep 0.1; done
    cg_kill_and_remove "$n"
    if mountpoint -q "$H/root"; then umount "$H/root" 2>/dev/null || umount -l "$H/root"; fi
    rm -rf "/run/systemd/nspawn/propagate/$PREFIX-$n" "/run/systemd/nspawn/unix-export/$PREFIX-$n"
    rm -f "$H/supervisor.pid" "$H/nspawn.pid"
  done
  # cgroups and mounts of hosts whose state directory is already gone (a killed run, a changed LAB_STATE)
  local c cg m
  for c in "${CGROOTS[@]}"; do
    for cg in "$c/$PREFIX"-*; do cg_kill_and_remove "${cg##*/"$PREFIX"-}"; done
  done
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done < <(
    findmnt -rn -t overlay -o TARGET | grep -F "$HOSTS/" || true)
  if ip link show "$BR" >/dev/null 2>&1; then ip link del "$BR"; fi
  for m in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^vb-$PREFIX-" || true); do
    ip link del "$m" 2>/dev/null || true
  done
}

destroy() { down; rm -rf "$HOSTS"; }

leftovers() {   # what of the lab is on this machine; exit 1 when anything is
  local out=() c
  pgrep -f "systemd-nspawn .*--machine=$PREFIX-" >/dev/null && out+=("nspawn processes: $(pgrep -f "systemd-nspawn .*--machine=$PREFIX-" | tr '\n' ' ')")
  findmnt -rn -t overlay -o TARGET | grep -qF "$HOSTS/" && out+=("overlay mounts: $(findmnt -rn -t overlay -o TARGET | grep -F "$HOSTS/" | tr '\n' ' ')")
  ip link show "$BR" >/dev/null 2>&1 && out+=("bridge $BR")
  ip -o link show | grep -q "vb-$PREFIX-" && out+=("veth links")
  for c in "${CGROOTS[@]}"; do
    compgen -G "$c/$PREFIX-*" >/dev/null && out+=("cgroups: $(echo "$c/$PREFIX"-*)")
  done
  if [ ${#out[@]} = 0 ]; then echo "lab: nothing of the lab on the machine"; return 0; fi
  printf "lab ${1:-leftover}: %s\n" "${out[@]}"
  return 1
}

bridge_up() {
  ip link add "$BR" type bridge
  ip addr add "$NET.1/24" dev "$BR"
  ip link set "$BR" up
}

host_prepare() {   # $1 = hN, $2 = number of hosts
  local n=$1 H=$HOSTS/$1 T; T=$(template_dir)
  mkdir -p "$H/upper" "$H/work" "$H/root"
  mount -t overlay overlay -o "lowerdir=$T,upperdir=$H/upper,workdir=$H/work" "$H/root"
  local R=$H/root ip i
  ip=$(host_ip "$n")
  tr -d - < /proc/sys/kernel/random/uuid > "$R/etc/machine-id"
  ssh-keygen -q -t ed25519 -N '' -C "$n" -f "$R/etc/ssh/ssh_host_ed25519_key"   # this host's own key
  echo "$n" > "$R/etc/hostname"
  { echo "127.0.0.1 localhost $n"; echo "::1 localhost ip6-localhost ip6-loopback"
    for i in $(seq 1 "$2"); do echo "$(host_ip "h$i") h$i"; done; } > "$R/etc/hosts"
  install -d -m 700 "$R/root/.ssh"
  install -m 600 "$KEY.pub" "$R/root/.ssh/authorized_keys"
  install -d -m 700 -o 1000 -g 1000 "$R/home/trader/.ssh"
  install -m 600 -o 1000 -g 1000 "$KEY.pub" "$R/home/trader/.ssh/authorized_keys"
  cat > "$R/etc/systemd/network/10-host0.network" <<EOF
[Match]
Name=host0
[Network]
Address=$ip/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
}

host_start() {   # $1 = hN. A supervisor in the host's own cgroup boots it again when the guest reboots.
  local n=$1 H=$HOSTS/$1
  # shellcheck disable=SC2016 # the supervisor's script, expanded by its own bash
  setsid bash -c '
    n=$1; H=$2; BR=$3; M=$4; shift 4
    for c in "$@"; do mkdir -p "$c/$M"; echo $$ > "$c/$M/cgroup.procs"; done
    echo $$ > "$H/supervisor.pid"
    trap "kill -TERM \$child 2>/dev/null; wait \$child; exit 0" TERM
    while :; do
      systemd-nspawn --boot --directory="$H/root" --machine="$M" --hostname="$n" \
        --register=no --keep-unit --network-bridge="$BR" --console=read-only \
        --resolv-conf=off --timezone=off --link-journal=no &
      child=$!; echo $child > "$H/nspawn.pid"
      wait $child; rc=$?
      [ $rc = 133 ] || break             # 133: the guest asked for a reboot
    done
    echo "nspawn exited rc=$rc"
  ' _ "$n" "$H" "$BR" "$PREFIX-$n" "${CGROOTS[@]}" >> "$H/console.log" 2>&1 < /dev/null 8>&- &
}

wait_ready() {   # $1 = hN: SSH as root, boot finished, trader's user manager running, SSH as trader
  local n=$1 ip t0=$SECONDS; ip=$(host_ip "$n")
  until ssh "${SSH_OPTS[@]}" "root@$ip" \
      'systemctl is-system-running --wait >/dev/null; until systemctl -q is-active user@1000.service; do sleep 0.1; done' \
      2>/dev/null && ssh "${SSH_OPTS[@]}" "trader@$ip" true 2>/dev/null; do
    [ $((SECONDS - t0)) -lt 90 ] || { log "$n ($ip) not ready after 90 s; console: $HOSTS/$n/console.log"; return 1; }
    sleep 0.2
  done
}

host_groups() {   # $1 = i: h1 paper bot, h2 live bot, h3 QuantLab, any further host another paper bot
  if [ "$1" = 2 ]; then echo openclaw_live; elif [ "$1" = 3 ]; then echo quantlab; else echo openclaw_paper; fi
}

write_inventory() {   # $1 = number of hosts
  local i g
  mkdir -p "$(dirname "$INVENTORY")"
  {
    echo "# Written by tests/lab/lab.sh up $1; do not edit. Group variables: group_vars/ beside this file."
    echo "all:"
    echo "  vars:"
    echo "    ansible_user: root"
    echo "    ansible_ssh_private_key_file: $KEY"
    echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "  children:"
    echo "    lab:"
    echo "      hosts:"
    for i in $(seq 1 "$1"); do echo "        h$i: {ansible_host: $(host_ip "h$i")}"; done
    echo "    openclaw:"
    echo "      children:"
    for g in openclaw_paper openclaw_live quantlab; do
      local pad="        "; [ $g = quantlab ] && pad="    "
      local members=()
      for i in $(seq 1 "$1"); do [ "$(host_groups "$i")" = $g ] && members+=("h$i"); done
      if [ ${#members[@]} = 0 ]; then echo "$pad$g: {}"; continue; fi
      echo "$pad$g:"; echo "$pad  hosts:"
      for i in "${members[@]}"; do echo "$pad    $i:"; done
    done
  } > "$INVENTORY.tmp"
  mv "$INVENTORY.tmp" "$INVENTORY"
  cp "$INVENTORY" "$STATE/inventory.yml"
}

up() {
  local N=${1:-3} i t0 pids=() rc=0
  if ! { [[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 200 ]; }; then die "up takes a host count from 1 to 200, not '$N'"; fi
  check_subnet
  build
  if ! leftovers >/dev/null || [ -d "$HOSTS" ]; then log "cleaning the previous lab"; destroy; fi
  bridge_up
  for i in $(seq 1 "$N"); do host_prepare "h$i" "$N"; done
  t0=$(date +%s%N)
  for i in $(seq 1 "$N"); do host_start "h$i"; done
  for i in $(seq 1 "$N"); do wait_ready "h$i" & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  [ $rc = 0 ] || die "some hosts did not come up (see $HOSTS/*/console.log); 'lab.sh down' cleans up"
  log "$N host(s) SSH-ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  write_inventory "$N"
  log "inventory: $INVENTORY"
}

stop_host() {   # $1 = hN: power it off, kill what is left of it; down/destroy clean the rest
  local H=$HOSTS/$1 p
  [ -d "$H" ] || die "no host $1"
  cat "$H/supervisor.pid" "$H/nspawn.pid" 2>/dev/null | while read -r p; do kill -TERM "$p" 2>/dev/null || true; done || true
  p=$(cat "$H/nspawn.pid" 2>/dev/null || true)
  for _ in $(seq 1 100); do { [ -n "$p" ] && kill -0 "$p" 2>/dev/null; } || break; sleep 0.1; done
  cg_kill_and_remove "$1"
  log "$1 ($(host_ip "$1")) is off"
}

instances() {   # molecule's instance config for the delegated driver
  local H n
  for H in "$HOSTS"/*/; do
    H=${H%/}; n=$(basename "$H")
    mountpoint -q "$H/root" || continue
    printf -- '- {instance: %s, address: %s, user: root, port: 22, identity_file: %s}\n' "$n" "$(host_ip "$n")" "$KEY"
  done
}

status() {
  local H n p
  for H in "$HOSTS"/*/; do
    H=${H%/}; n=$(basename "$H")
    p=$(cat "$H/supervisor.pid" 2>/dev/null || true)
    { [ -n "$p" ] && kill -0 "$p" 2>/dev/null; } || p=-
    printf '%s ip=%s supervisor=%s mounted=%s\n' "$n" "$(host_ip "$n")" "$p" \
      "$(mountpoint -q "$H/root" && echo yes || echo no)"
  done
  echo "template: $(template_dir) ($([ -d "$(template_dir)" ] && echo cached || echo 'not built'))"
  leftovers present || true
}

[ "$(id -u)" = 0 ] || die "the lab needs root (systemd-nspawn, mounts, bridges)"
cmd=${1:-}; shift || true
case $cmd in
  up|down|destroy|stop)   # one lab operation at a time (the hosts' processes do not inherit the lock)
    mkdir -p "$STATE"; exec 8>"$STATE/.lock"; flock 8 ;;
esac
case $cmd in
  build) check_subnet; build ;;
  up) up "$@" ;;
  down) down ;;
  destroy) destroy ;;
  status) status ;;
  leftovers) leftovers ;;
  instances) instances ;;
  stop) stop_host "${1:?usage: $0 stop hN}" ;;
  *) echo "usage: $0 build | up N | down | status | destroy | leftovers | instances | stop hN" >&2; exit 2 ;;
esac
