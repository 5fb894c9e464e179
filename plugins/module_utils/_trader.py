# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the real openclaw-ai-quant trader (fol2/openclaw-crypto-ai-quant at 9603e63) does, as pure functions: how its
RiskManager reads the kill switch, what its heartbeat says, how it hashes the strategy YAML, and from that, what
proves that a running trader has taken a change. No I/O here except reading a process's environment and start time.

Sources (see tests/lab/apps/openclaw-ai-quant/FIDELITY.md):
- engine/risk.py ``_refresh_manual_kill``: the env value first, then the file; any existing file means close_only,
  content containing "halt" or "full" halt_all; the mode is sticky (``clear_kill`` has no caller).
- engine/daemon.py: the RiskManager exists only in live and dry_live; it is refreshed at a loop's start once
  AI_QUANT_LIVE_STATE_SYNC_SECS (default 10) have passed since the last refresh (the first loop always refreshes).
- engine/core.py: the heartbeat ``engine ok. ... loop=X.XXs ... strategy_sha1=<8 hex> version=...`` at the end of a
  loop, ``loop`` being the seconds since that loop started.
- engine/utils.py ``sha1_json`` and engine/strategy_manager.py: the YAML's parsed content, as compact sorted JSON.
"""

import hashlib
import json
import os
import re
import shlex
import time
from typing import Any, Dict, Mapping, Optional, Tuple, Union

ENV_MODE = "AI_QUANT_MODE"
ENV_KILL = "AI_QUANT_KILL_SWITCH"
ENV_KILL_FILE = "AI_QUANT_KILL_SWITCH_FILE"
ENV_STATE_SYNC = "AI_QUANT_LIVE_STATE_SYNC_SECS"
DEFAULT_STATE_SYNC = 10.0
KILL_SWITCH_MODES = ("live", "dry_live")
ENV_CLOSE_ONLY = ("1", "true", "yes", "y", "on", "close_only", "close")
ENV_HALT_ALL = ("halt", "halt_all", "2", "stop", "full")
RANK = {"off": 0, "close_only": 1, "halt_all": 2}
# The heartbeat of engine/core.py. ``loop`` (seconds since the loop started) is required, ``sha1`` optional.
HEARTBEAT_LOOP = r"engine ok\. .*?\bloop=(?P<loop>[0-9]+(?:\.[0-9]+)?)s\b"
HEARTBEAT = HEARTBEAT_LOOP + r"(?:.*?\bstrategy_sha1=(?P<sha1>[0-9a-f]*))?"
# Slack for the journal's receive time against the trader's own clock reading and loop= rounding to 10 ms.
MARGIN = 0.25


def env_kill_mode(value: Optional[str]) -> Optional[str]:
    """What the trader makes of AI_QUANT_KILL_SWITCH: close_only, halt_all, or None (unset or a value it ignores)."""
    word = (value or "").strip().lower()
    if word in ENV_CLOSE_ONLY:
        return "close_only"
    if word in ENV_HALT_ALL:
        return "halt_all"
    return None


def file_kill_mode(content: Union[bytes, str, None]) -> str:
    """What the trader makes of an existing kill file (bytes or text): halt_all when it mentions halt or full."""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = (content or "").strip().lower()
    return "halt_all" if ("halt" in text or "full" in text) else "close_only"


def after_refresh(previous: Optional[str], env_value: Optional[str], file_content: Union[bytes, str, None]) -> str:
    """The mode after one refresh: env first, then the file (``file_content`` None: no file); otherwise sticky."""
    mode = previous or "off"
    env_mode = env_kill_mode(env_value)
    if env_mode:
        mode = env_mode
    if file_content is not None:
        mode = file_kill_mode(file_content)
    return mode


def at_least(mode: str, requested: str) -> bool:
    return RANK.get(mode, 0) >= RANK.get(requested, 0)


def parse_environ(data: bytes) -> Dict[str, str]:
    """/proc/PID/environ bytes -> dict (the last assignment of a name wins, as getenv sees it)."""
    env = {}
    for item in data.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep and name:
            env[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


ENV_FILE_LINE = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$')


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if raw[0] == '"' else inner
    return raw


def parse_env_file(text: Optional[str]) -> Dict[str, str]:
    """{name: value} of a systemd EnvironmentFile: one NAME=value per line, the value whole (spaces kept) unless
    quoted, ``#`` and ``;`` lines skipped, the last assignment wins."""
    values = {}
    for line in (text or "").splitlines():
        if line.lstrip().startswith(("#", ";")):
            continue
        m = ENV_FILE_LINE.match(line)
        if m:
            values[m.group(1)] = _unquote(m.group(2))
    return values


def parse_env_assignments(text: Optional[str]) -> Dict[str, str]:
    """{name: value} of the ``Environment=`` property of ``systemctl show``: space-separated, shell-quoted
    assignments (several lines when the property repeats); comments skipped, the last one wins."""
    values = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        for word in words:
            name, sep, value = word.partition("=")
            if sep and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                values[name] = value
    return values


class TraderFacts:
    """What a running trader process reads, from its own environment."""

    def __init__(self, environ: Mapping[str, str], cwd: str = "/") -> None:
        self.trader_mode = (environ.get(ENV_MODE) or "paper").strip().lower() or "paper"
        self.reads_kill_switch = self.trader_mode in KILL_SWITCH_MODES
        kill_file = (environ.get(ENV_KILL_FILE) or "").strip()
        self.kill_file = os.path.normpath(os.path.join(cwd, kill_file)) if kill_file else None
        self.env_value = environ.get(ENV_KILL)
        try:
            self.state_sync = float(environ.get(ENV_STATE_SYNC, DEFAULT_STATE_SYNC))
        except ValueError:
            self.state_sync = DEFAULT_STATE_SYNC

    def as_dict(self) -> Dict[str, Any]:
        return dict(trader_mode=self.trader_mode, reads_kill_switch=self.reads_kill_switch, kill_file=self.kill_file,
                    env_kill_switch=env_kill_mode(self.env_value) or "off", state_sync_s=self.state_sync)


def parse_heartbeat(message: str, pattern: str = HEARTBEAT) -> Optional[Tuple[float, Optional[str]]]:
    """(loop seconds, sha1 or None) of a heartbeat line, None for any other line."""
    m = re.search(pattern, message)
    if not m:
        return None
    groups = m.groupdict()
    try:
        loop = float(groups.get("loop") or 0.0)
    except ValueError:
        loop = 0.0
    return loop, groups.get("sha1") or None


def refresh_after(written: float, heartbeat_time: float, loop_s: float, process_start: float, state_sync: float) -> bool:
    """True when a heartbeat proves a kill-switch refresh after ``written`` (seconds since the epoch).

    A process started after the write refreshed in its first loop, which ended with this heartbeat. Otherwise the
    loop that ended with the heartbeat started at heartbeat_time - loop_s; a loop starting state_sync seconds or
    more after the write refreshes unless a refresh already happened after the write, so either way one did."""
    if process_start is not None and process_start >= written:
        return True
    loop_start = heartbeat_time - loop_s
    return loop_start >= written + state_sync + MARGIN


def sha1_json(obj: Any) -> str:
    """engine/utils.py sha1_json: compact, sorted JSON of the parsed YAML (repr when it is not JSON-able)."""
    try:
        data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        data = repr(obj).encode("utf-8")
    return hashlib.sha1(data).hexdigest()


def strategy_sha1(parsed: Any) -> str:
    """The strategy_sha1 the trader's heartbeat shows for a YAML that yaml.safe_load parsed to ``parsed``."""
    return sha1_json(parsed if isinstance(parsed, dict) and parsed else {})[:8]


def process_start(pid: int, proc: str = "/proc", now: Optional[float] = None) -> float:
    """When the process started, seconds since the epoch: its start in clock ticks after boot, against /proc/uptime
    read now (btime in /proc/stat is whole seconds, too coarse to order a start against a write)."""
    with open(os.path.join(proc, str(pid), "stat"), "rb") as f:
        stat = f.read().decode("ascii", "replace")
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[19])  # field 22 of proc(5), counting from the state (field 3)
    with open(os.path.join(proc, "uptime"), "rb") as f:
        uptime = float(f.read().split()[0])
    now = time.time() if now is None else now
    return now - uptime + ticks / float(os.sysconf("SC_CLK_TCK"))
