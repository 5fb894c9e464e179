# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reader of a unit's journal for every module: ``journalctl -o json`` as an argv list, read on from a cursor,
for a system unit or a user's unit, as root or as that user."""

import datetime
import json
from typing import Any, Dict, List, Optional, Union


class JournalError(Exception):
    pass


def message_text(entry: Dict[str, Any]) -> str:
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):  # journald gives non-UTF-8 messages as byte arrays
        message = bytes(message).decode("utf-8", "replace")
    return message


def entry_epoch(entry: Dict[str, Any]) -> float:
    """When journald received the line, seconds since the epoch."""
    return int(entry.get("__REALTIME_TIMESTAMP", 0)) / 1e6


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def entry_time(entry: Dict[str, Any]) -> str:
    return iso(entry_epoch(entry))


class Journal:
    """The journal of one unit, optionally of one process (``pid``) or one invocation, from ``since`` on.

    ``since`` is a journalctl time (``@EPOCH``, ``-5min``, ...) or a float (seconds since the epoch). The first read
    starts there; every later read goes on after the last cursor, so no line is read twice."""

    # PLR0913: keyword-only optional journalctl matches (since, _SYSTEMD_INVOCATION_ID, _PID)
    def __init__(self, module: Any, target: Any, unit: str, *, since: Union[str, float, None] = None,  # noqa: PLR0913
                 invocation_id: Optional[str] = None, pid: Optional[int] = None) -> None:
        self.module = module
        self.target = target
        self.unit = unit
        self.cursor = None
        self.argv = ["journalctl", "--no-pager", "-o", "json"] + target.journal_match(unit)
        if invocation_id:
            self.argv.append("_SYSTEMD_INVOCATION_ID=%s" % invocation_id)
        if pid:
            self.argv.append("_PID=%d" % int(pid))
        if isinstance(since, (int, float)):
            since = "@%.6f" % since
        self.since = ["--since", since] if since else []

    def read_new(self) -> List[Dict[str, Any]]:
        argv = self.argv + (["--after-cursor=%s" % self.cursor] if self.cursor else self.since)
        rc, out, err = self.module.run_command(argv, environ_update=self.target.environ())
        if rc != 0:
            raise JournalError("journalctl failed for %s: %s" % (self.unit, (err or out).strip()))
        entries = []
        for line in out.splitlines():
            if line.strip():
                entry = json.loads(line)
                entries.append(entry)
                self.cursor = entry.get("__CURSOR", self.cursor)
        return entries
