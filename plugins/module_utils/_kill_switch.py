# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the openclaw-ai-quant kill switch: mode ordering, the kill file's bytes, the systemd
drop-in that carries AI_QUANT_KILL_SWITCH, and the decision of what to change. No I/O here.

The words and the order are the real trader's (module_utils._trader): an existing kill file means close_only, or
halt_all when it mentions halt or full; the env value is applied first and the file after it, so a file decides
whenever it exists."""

import shlex
from typing import Any, Dict, Optional, Tuple

from ansible_collections.quantops.runbooks.plugins.module_utils import _trader

ENV_VAR = "AI_QUANT_KILL_SWITCH"
MODES = ("off", "close_only", "halt_all")
RANK = {"off": 0, "close_only": 1, "halt_all": 2}
DROPIN_NAME = "50-quantops-kill-switch.conf"


def env_mode(value: Optional[str]) -> str:
    """The mode an AI_QUANT_KILL_SWITCH value means to the trader: off for unset and for words it ignores."""
    return _trader.env_kill_mode(value) or "off"


def file_mode(content: Optional[bytes]) -> str:
    """The mode of the kill file: off when there is none (None), else what the trader makes of its content."""
    return "off" if content is None else _trader.file_kill_mode(content)


def strictness(mode: str) -> int:
    return RANK.get(mode, RANK["halt_all"])


def most_restrictive(*modes: Optional[str]) -> str:
    """The most restrictive of the given modes."""
    known = [m for m in modes if m is not None]
    if not known:
        return "off"
    return max(known, key=strictness)


def in_force(file: str, env: str) -> str:
    """The trader's mode after a refresh from these sources: the file when there is one, else the env value."""
    return file if file != "off" else env


def file_content(mode: str) -> bytes:
    """Exactly what `echo MODE > file` writes: the mode word and a newline."""
    if mode not in ("close_only", "halt_all"):
        raise ValueError("a kill file holds close_only or halt_all, not %r" % (mode,))
    return (mode + "\n").encode("ascii")


def render_dropin(mode: str) -> str:
    """The drop-in that sets AI_QUANT_KILL_SWITCH for a unit (Environment=, so it overrides the unit's own)."""
    if mode not in ("close_only", "halt_all"):
        raise ValueError("the drop-in carries close_only or halt_all, not %r" % (mode,))
    return (
        "# Managed by quantops.runbooks.kill_switch (method env). Remove with mode: off.\n"
        "[Service]\n"
        "Environment=%s=%s\n" % (ENV_VAR, mode)
    )


def unit_file_mode(text: Optional[str]) -> Optional[str]:
    """The mode a unit file or drop-in sets with Environment= (the last assignment wins), None when it sets none."""
    mode = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith("Environment="):
            for assignment in shlex.split(line[len("Environment="):]):
                name, sep, value = assignment.partition("=")
                if sep and name == ENV_VAR:
                    mode = env_mode(value)
    return mode


def parse_dropin(text: Optional[str]) -> str:
    """The mode a drop-in of ours sets, 'off' when it sets none."""
    return unit_file_mode(text) or "off"


def plan(requested: str, method: str, sources: Dict[str, str], force: bool = False) -> Dict[str, Any]:
    """Decide what to do.

    requested: 'off' | 'close_only' | 'halt_all'; method: 'file' | 'env'; sources: {'file': mode, 'env': mode} as
    they are now. Returns a dict: target (the chosen source's mode afterwards), write (bool), previous_mode
    (effective before), effective_mode (after), warnings (list of sentences).
    """
    if requested not in MODES:
        raise ValueError("mode must be one of %s, not %r" % (", ".join(MODES), requested))
    if method not in ("file", "env"):
        raise ValueError("method must be file or env, not %r" % (method,))
    other = "env" if method == "file" else "file"
    current = sources[method]
    previous = in_force(sources["file"], sources["env"])
    warnings = []
    target = requested
    if requested != "off" and not force:
        # never relax what is in force, nor the chosen source itself
        stricter = [m for m in (previous, current) if strictness(m) > strictness(requested)]
        if stricter:
            target = current
            warnings.append(
                "%s is in force (file=%s, env=%s); %s would relax it, so it was kept. Use force: true to relax on "
                "purpose." % (max(stricter, key=strictness), sources["file"], sources["env"], requested))
    write = target != current
    after = dict(sources)
    after[method] = target
    effective = in_force(after["file"], after["env"])
    if method == "env" and after["file"] != "off" and after["file"] != target:
        warnings.append("the kill file says %s and the trader applies it after the env: %s stays in force; write the "
                        "file instead (method file)" % (after["file"], effective))
    elif requested == "off" and after[other] != "off":
        warnings.append("the %s source still says %s: the effective mode is %s" % (other, after[other], effective))
    return {
        "target": target,
        "write": write,
        "previous_mode": previous,
        "effective_mode": effective,
        "sources_after": after,
        "warnings": warnings,
    }


def nothing_to_verify(row: Dict[str, Any]) -> bool:
    """Marks a trader unit's row that has no kill switch to verify (not running, or a paper trader): True if so."""
    if not row["running"]:
        row.update(verified=None, proof="not running")
        return True
    if not row["reads_kill_switch"]:
        row.update(verified=None, in_force="none", proof="%s mode: no kill switch" % row["trader_mode"])
        return True
    return False


def host_status(rows: Dict[str, Dict[str, Any]], requested: str) -> Tuple[str, str]:
    """The host's status and one line for it, from the judged rows of its trader units (module and fast path)."""
    killable = [r for r in rows.values() if r["running"] and r["reads_kill_switch"]]
    clearing = requested == "off"
    if killable:
        if all(r["verified"] for r in killable):
            status = "CLEARED" if clearing else "PROTECTED"
        else:
            status = "NOT_CLEARED" if clearing else "UNPROTECTED"
        parts = []
        for r in killable:
            head = "%s (%s, pid %s): %s" % (r["unit"][:-8], r["trader_mode"], r["pid"], r["in_force"])
            if r["verified"]:
                parts.append("%s, heartbeat %.2f s after the write" % (head, r["seconds_to_proof"]))
            else:
                parts.append("%s, %s" % (head, r["proof"]))
        return status, " | ".join(parts)
    paper = [r["unit"][:-8] for r in rows.values() if r["running"]]
    if paper:
        return "NO_KILL_SWITCH", "%s: paper mode has no kill switch (stop_units stops it)" % ", ".join(paper)
    return "NOT_RUNNING", "no trader runs; the switch is read when one starts"
