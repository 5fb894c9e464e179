# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions of starting, restarting and stopping units with a proof (module unit_gate): what a unit's new
invocation must show, which lines fail it, and which kill-switch mode a live trader holds across a restart.

The kill switch (engine/risk.py of openclaw-ai-quant at 9603e63) is sticky in-process: a kill file removed after the
trader read it still holds until the process ends. A restart keeps only what the sources (the environment and the
file) give at the new start. So the mode a running trader holds is at least the mode of its sources now, of any
kill engaged since it started (the kill_switch audit trail), and of any order it blocked since then (RISK_BLOCK
audit events of its trading database, with their kill_mode)."""

import datetime
import json
import re
from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence

from ansible_collections.quantops.runbooks.plugins.module_utils import _trader

# A restart's gates fail a trader on any of these in its new invocation (runbook section 5's
# grep -iE "error|exception|traceback", without matching the heartbeat's own "errors=0").
FAIL_PATTERNS = (r"(?i)\berror\b", r"Traceback", r"(?i)\bexception\b")
PROOFS = ("none", "journal", "openclaw_sidecar", "openclaw_trader", "http")


class LifecycleError(Exception):
    pass


def compile_patterns(patterns: Any, option: str) -> List[Pattern[str]]:
    if patterns is None:
        return []
    items = patterns if isinstance(patterns, list) else [patterns]
    out = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise LifecycleError("%s must be a non-empty regular expression or a list of them" % option)
        try:
            out.append(re.compile(item))
        except re.error as e:
            raise LifecycleError("%s %r is not a valid regular expression: %s" % (option, item, e)) from None
    return out


def first_match(patterns: Sequence[Pattern[str]], text: str) -> Optional[str]:
    for p in patterns:
        if p.search(text):
            return p.pattern
    return None


def iso_epoch(value: Any) -> Optional[float]:
    """An ISO 8601 time (the audit trail's and audit_events' timestamps) -> seconds since the epoch; naive is UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        t = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp()


def audit_modes(lines: Iterable[str], since: float) -> List[str]:
    """Modes engaged on this host at or after ``since`` by the kill_switch audit trail (JSON lines)."""
    modes = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        when = iso_epoch(record.get("time"))
        mode = record.get("effective_mode")
        if when is not None and when >= since and mode in ("close_only", "halt_all"):
            modes.append(mode)
    return modes


def risk_block_modes(rows: Iterable[Sequence[Any]], since: float) -> List[str]:
    """kill_mode of RISK_BLOCK audit events (timestamp, data_json) logged at or after ``since``."""
    modes = []
    for timestamp, data in rows:
        when = iso_epoch(timestamp)
        try:
            mode = json.loads(data or "{}").get("kill_mode")
        except (ValueError, AttributeError):
            continue
        if when is not None and when >= since and mode in ("close_only", "halt_all"):
            modes.append(mode)
    return modes


def strongest(*modes: Optional[str]) -> str:
    return max((m or "off" for m in modes), key=lambda m: _trader.RANK.get(m, 0), default="off")


def kill_hold(sources_mode: str, engaged: Iterable[str]) -> Dict[str, Any]:
    """What a running trader holds and whether a restart keeps it: ``held`` is the strongest of its sources' mode and
    of what it engaged since it started; a restart keeps only ``sources_mode``."""
    held = strongest(sources_mode, *list(engaged))
    return dict(held=held, after_restart=sources_mode or "off", lost=_trader.RANK[held] > _trader.RANK.get(sources_mode or "off", 0))


def heartbeat_proof(message: str, expected_sha1: Optional[str], pattern: str = _trader.HEARTBEAT) -> Dict[str, Any]:
    """Whether a journal line is a heartbeat, and whether it shows ``expected_sha1`` (None: any config)."""
    beat = _trader.parse_heartbeat(message, pattern)
    if beat is None:
        return dict(heartbeat=False, proves=False, sha1=None)
    sha1 = beat[1]
    proves = expected_sha1 is None or sha1 == expected_sha1
    return dict(heartbeat=True, proves=proves, sha1=sha1)


def tail(lines: Sequence[str], count: int = 10, width: int = 300) -> List[str]:
    return [" ".join(line.split())[:width] for line in list(lines)[-count:]]


def stop_outcome(props: Dict[str, str]) -> Dict[str, Any]:
    """How a unit's stop ended, from its ``systemctl show`` properties: systemd's ``Result`` and whether it had to be
    killed. A unit that ignores SIGTERM past its TimeoutStopSec is killed (SendSIGKILL) and left with Result=timeout."""
    result = props.get("Result", "")
    return dict(stop_result=result, killed=result == "timeout")
