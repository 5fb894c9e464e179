# shellcheck shell=sh
# quantops.runbooks kill_switch_fast: engage the openclaw-ai-quant kill file and prove it, in POSIX sh, as root.
# The action plugin prepends the inputs as quoted assignments; every value it gives was validated on the controller,
# and every value read on the host (a trader's environment) is checked here before use. Anything this path does not
# handle safely ends the script with "fallback REASON" before it has changed anything: the full module takes over.
set -u
set -f
PATH=/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C.UTF-8
export PATH LC_ALL
umask 077

count() { echo $#; }
say() { printf '%s\n' "$*"; }
fallback() { say "fallback $*"; exit 0; }
# Few processes: on a loaded fleet every fork counts, so words are compared with case, not with tr and sed.
stricter() {  # $1 is stricter than $2 (halt_all > close_only > off)
  case "$1:$2" in halt_all:close_only|halt_all:off|close_only:off) return 0 ;; *) return 1 ;; esac
}
file_mode() {  # what the trader makes of an existing file (engine/risk.py): "halt" or "full" in it, any case
  case "$1" in *[Hh][Aa][Ll][Tt]*|*[Ff][Uu][Ll][Ll]*) echo halt_all ;; *) echo close_only ;; esac
}
plain_path() {
  case "$1" in /*) ;; *) return 1 ;; esac
  case "$1" in *[!A-Za-z0-9._/-]*|*//*|*/./*|*/../*|*/.|*/..|*/) return 1 ;; esac
  return 0
}
# Every directory from / down to $1 is a real directory of root that no one else can change (group or others may
# write only where the sticky bit keeps them to their own entries, as in /tmp). $2=1 also wants the last one to be
# world-writable and sticky: a path the trader named is only ever written where the trader could write it itself.
root_dirs() {
  set -- "$1" "$2" /
  rest=${1#/}
  p=
  while [ -n "$rest" ]; do
    c=${rest%%/*}
    case "$rest" in */*) rest=${rest#*/} ;; *) rest= ;; esac
    p=$p/$c
    set -- "$@" "$p"
  done
  want=$2
  shift 2
  n=$#
  # one stat for every component: owner, permissions, type (a symlink is reported as one, never followed)
  st=$(stat -c '%u %a %F' -- "$@") || return 1
  seen=0
  while read -r owner perm kind; do
    seen=$((seen + 1))
    [ "$kind" = directory ] || return 1
    [ "$owner" = 0 ] || return 1
    if [ $((0$perm & 022)) -ne 0 ] && [ $((0$perm & 01000)) -eq 0 ]; then return 1; fi
    last=$perm
  done <<STAT
$st
STAT
  [ "$seen" = "$n" ] || return 1
  if [ "$want" = 1 ] && [ $((0$last & 01002)) -ne $((01002)) ]; then return 1; fi
  return 0
}
# The kill file now: "off" when absent; "fallback" when it is anything but a regular file of root or the trader
# that the trader can read (the module replaces those, with a warning). Sets file_now and file_text.
read_kill() {
  file_now=off
  file_text=
  odd=
  if [ -L "$KPATH" ]; then odd=symlink; return; fi
  [ -e "$KPATH" ] || return 0
  if [ ! -f "$KPATH" ]; then odd="not a regular file"; return; fi
  st=$(stat -c '%u %a' -- "$KPATH") || { odd=gone; return; }
  owner=${st% *}
  perm=${st#* }
  if [ "$owner" != 0 ] && [ "$owner" != "$uid" ]; then odd="owned by uid $owner"; return; fi
  if [ $((0$perm & 04)) -eq 0 ] && { [ "$owner" != "$uid" ] || [ $((0$perm & 0400)) -eq 0 ]; }; then
    odd="of mode $perm, which the trader cannot read"
    return
  fi
  file_text=$(timeout 2 head -c 4096 -- "$KPATH") || { odd=unreadable; return; }
  file_now=$(file_mode "$file_text")
}

[ "$(id -u)" = 0 ] || fallback "not root on the host (uid $(id -u)): connect as root or become root"
uid=$(id -u -- "$KUSER" 2>/dev/null) || fallback "user $KUSER does not exist on this host"
# shellcheck disable=SC2086 # UNITS: unit names the controller validated, split on purpose
show=$(systemctl --user -M "$KUSER@" show -p Id -p ActiveState -p MainPID -- $UNITS 2>&1) ||
  fallback "systemctl --user -M $KUSER@ show failed: $(printf '%s' "$show" | head -c 300 | tr '\n' ' ')"
rows=$(printf '%s\n\n' "$show" | awk -F= '
  /^Id=/ { id = substr($0, 4) } /^ActiveState=/ { st = $2 } /^MainPID=/ { pid = $2 }
  /^$/ { if (id != "") print id, st, pid; id = st = pid = "" }')

killable=
polled=
env_now=off
while read -r unit state pid; do
  [ -n "$unit" ] || continue
  case "$pid" in ''|*[!0-9]*) pid=0 ;; esac
  if [ "$state" != active ] || [ "$pid" = 0 ]; then say "unit $unit stopped"; continue; fi
  [ -r "$PROC/$pid/environ" ] || fallback "cannot read the environment of $unit (pid $pid)"
  # The trader's own view (engine/risk.py, engine/daemon.py): the last assignment wins, values trimmed, words in
  # any case; prints "mode kill-switch-word sync-seconds kill-file" (the file last: the rest of the line).
  facts=$(tr '\0' '\n' < "$PROC/$pid/environ" | awk '
    function trim(v) { gsub(/^[ \t\r]+|[ \t\r]+$/, "", v); return v }
    { i = index($0, "="); if (i > 1) env[substr($0, 1, i - 1)] = substr($0, i + 1) }
    END {
      mode = tolower(trim(env["AI_QUANT_MODE"])); if (mode == "") mode = "paper"
      w = tolower(trim(env["AI_QUANT_KILL_SWITCH"])); ks = "off"
      if (w ~ /^(1|true|yes|y|on|close_only|close)$/) ks = "close_only"
      if (w ~ /^(halt|halt_all|2|stop|full)$/) ks = "halt_all"
      sync = env["AI_QUANT_LIVE_STATE_SYNC_SECS"]; if (sync !~ /^[0-9]+(\.[0-9]*)?$/) sync = 10
      print mode, ks, sync, trim(env["AI_QUANT_KILL_SWITCH_FILE"]) }')
  read -r tmode emode sync kfile <<FACTS
$facts
FACTS
  case "$tmode" in
    live|dry_live)
      [ -n "$kfile" ] || fallback "$unit (pid $pid) polls no kill file (AI_QUANT_KILL_SWITCH_FILE unset)"
      plain_path "$kfile" || fallback "$unit (pid $pid) polls $kfile, not a plain absolute path"
      killable="$killable $unit:$pid:$sync:$kfile"
      case " $polled " in *" $kfile "*) ;; *) polled="${polled:+$polled }$kfile" ;; esac
      if stricter "$emode" "$env_now"; then env_now=$emode; fi
      ;;
  esac
  say "unit $unit running $pid $tmode ${kfile:--} $emode $sync"
done <<ROWS
$rows
ROWS

shared=0
if [ -n "$KPATH" ]; then
  say "kill_file $KPATH given"
elif [ -z "$polled" ]; then
  fallback "no running live/dry_live trader says which kill file it polls: the module reads the units"
else
  case "$polled" in *" "*) fallback "the running traders poll different kill files: $polled" ;; esac
  KPATH=$polled
  shared=1
  say "kill_file $KPATH traders"
fi
kdir=${KPATH%/*}
[ -n "$kdir" ] || kdir=/
if ! root_dirs "$kdir" "$shared"; then
  if [ "$shared" = 1 ]; then
    fallback "the traders poll $KPATH, outside a shared sticky directory of root: the module checks it"
  fi
  fallback "$kdir is not a chain of root's directories that only root can change: the module checks it"
fi
if [ -n "$AUDIT" ]; then
  root_dirs "${AUDIT%/*}" 0 || fallback "the audit log's directory ${AUDIT%/*} is not root's alone: the module checks it"
  [ -L "$AUDIT" ] && fallback "the audit log $AUDIT is a symlink"
  [ -e "$AUDIT" ] && [ ! -f "$AUDIT" ] && fallback "the audit log $AUDIT is not a regular file"
fi
read_kill
[ -z "$odd" ] || fallback "$KPATH is $odd: the module replaces it"

# Never relax: a stricter mode in force (the file, or the traders' own AI_QUANT_KILL_SWITCH) is kept.
previous=$file_now
[ "$previous" = off ] && previous=$env_now
target=$REQUESTED
if stricter "$previous" "$REQUESTED" || stricter "$file_now" "$REQUESTED"; then
  target=$file_now
fi
file_before=$file_now
proved=
wanted=
say "sources file=$file_now env=$env_now previous=$previous target=$target"
if [ "$target" = "$file_now" ]; then
  say "write none"
elif [ "$CHECK" = 1 ]; then
  say "write would"
else
  tmp=$(mktemp -- "$kdir/.ai-quant-kill.XXXXXX") || fallback "cannot create a temporary file in $kdir"
  if ! { printf '%s\n' "$target" > "$tmp" && chmod 0644 -- "$tmp" && sync -- "$tmp" && mv -fT -- "$tmp" "$KPATH"; }; then
    rm -f -- "$tmp"
    say "error writing $KPATH failed"
    exit 0
  fi
  sync -- "$kdir" 2>/dev/null
  say "write done"
fi
written=$(date +%s.%N)
say "written $written"

# The proof: a heartbeat of the same process ending a loop that began state-sync seconds (+0.25) after the write. No
# heartbeat can qualify before then, so the journal is read only from then on, every 0.1 s: a read costs a few ms,
# where following it (journalctl -f) shows a line only after journald's 250 ms change notification.
if [ "$CHECK" != 1 ] && [ "$VERIFY" = 1 ]; then
  matches=
  first=
  for k in $killable; do
    unit=${k%%:*}; r=${k#*:}; pid=${r%%:*}; r=${r#*:}; sync=${r%%:*}; kfile=${r#*:}
    if [ "$kfile" != "$KPATH" ]; then say "other_file $unit $kfile"; continue; fi
    matches="$matches _SYSTEMD_USER_UNIT=$unit _PID=$pid"
    wanted="$wanted $pid:$sync"
    first=$(awk -v a="${first:-$sync}" -v b="$sync" 'BEGIN { print (b < a ? b : a) }')
  done
  if [ -n "$wanted" ]; then
    deadline=$(awk -v w="$written" -v t="$TIMEOUT" 'BEGIN { d = w + t; printf "%d", (d == int(d) ? d : int(d) + 1) }')
    early=$(awk -v w="$written" -v s="$first" -v n="$(date +%s.%N)" -v t="$TIMEOUT" \
      'BEGIN { d = w + s + 0.25 - n; if (d > t) d = t; printf "%.3f", (d > 0 ? d : 0) }')
    sleep "$early"
    while :; do
      # shellcheck disable=SC2086 # matches: FIELD=value words built above from validated names and numbers
      found=$(journalctl -a -q --no-pager -o short-unix --since "@${written%.*}" _UID="$uid" $matches 2>/dev/null |
        awk -v w="$written" -v want="$wanted" -v seen="$proved" '
        BEGIN { n = split(want, a, " "); for (i = 1; i <= n; i++) { split(a[i], b, ":"); sync[b[1]] = b[2] }
                m = split(seen, s, " "); for (i = 1; i <= m; i++) done[s[i]] = 1 }
        /engine ok\. / && match($0, /loop=[0-9]+(\.[0-9]+)?s/) {
          loop = substr($0, RSTART + 5, RLENGTH - 6)
          for (p in sync) if (!(p in done) && index($0, "[" p "]: ")) {
            if ($1 - loop >= w + sync[p] + 0.25) { print p, $0; done[p] = 1 } } }')
      if [ -n "$found" ]; then
        printf '%s\n' "$found" | while read -r p line; do say "proof $p $line"; done
        proved="$proved $(printf '%s\n' "$found" | awk '{ print $1 }' | tr '\n' ' ')"
      fi
      left=0
      for w in $wanted; do case " $proved " in *" ${w%%:*} "*) ;; *) left=1 ;; esac; done
      [ "$left" = 0 ] && break
      [ "$(date +%s)" -ge "$deadline" ] && break
      sleep 0.1
    done
  fi
fi
read_kill
say "final ${odd:-$file_now}"
if [ -n "$AUDIT" ] && [ "$CHECK" != 1 ]; then
  changed=false
  [ "$target" != "$file_before" ] && changed=true
  # shellcheck disable=SC2086 # counting the words of two lists
  printf '%s"host": "%s", "previous_mode": "%s", "effective_mode": "%s", "changed": %s, "proofs": "%s of %s"}\n' \
    "$AUDIT_HEAD" "$(uname -n)" "$previous" "$target" "$changed" "$(count $proved)" "$(count $wanted)" \
    >> "$AUDIT" || say "error the audit log $AUDIT was not written"
fi
say "end"
