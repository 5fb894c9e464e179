# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the openclaw-ai-quant kill switch: mode ordering, the kill file's bytes, the systemd
drop-in that carries AI_QUANT_KILL_SWITCH, and the decision of what to change. No I/O here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

ENV_VAR = "AI_QUANT_KILL_SWITCH"
MODES = ("off", "close_only", "halt_all")
RANK = {"off": 0, "close_only": 1, "halt_all": 2}
# What a kill file holds that the trader does not understand: it keeps its previous file mode, which may
# be halt_all, so for "never relax" such a file counts as the strictest mode.
UNKNOWN = "unknown"
DROPIN_NAME = "50-quantops-kill-switch.conf"


def parse_mode(text):
    """The mode a kill file's content or an env value means: '' and None are off; unknown words are UNKNOWN."""
    if text is None:
        return "off"
    word = text.strip().lower()
    if word == "":
        return "off"
    return word if word in ("close_only", "halt_all") else UNKNOWN


def strictness(mode):
    return RANK.get(mode, RANK["halt_all"])


def most_restrictive(*modes):
    """The most restrictive of the given modes (an UNKNOWN source counts as halt_all)."""
    known = [m for m in modes if m is not None]
    if not known:
        return "off"
    worst = max(known, key=strictness)
    return "halt_all" if worst == UNKNOWN else worst


def file_content(mode):
    """Exactly what `echo MODE > file` writes: the mode word and a newline."""
    if mode not in ("close_only", "halt_all"):
        raise ValueError("a kill file holds close_only or halt_all, not %r" % (mode,))
    return (mode + "\n").encode("ascii")


def render_dropin(mode):
    """The drop-in that sets AI_QUANT_KILL_SWITCH for a unit (Environment=, so it overrides the unit's own)."""
    if mode not in ("close_only", "halt_all"):
        raise ValueError("the drop-in carries close_only or halt_all, not %r" % (mode,))
    return (
        "# Managed by quantops.runbooks.kill_switch (method env). Remove with mode: off.\n"
        "[Service]\n"
        "Environment=%s=%s\n" % (ENV_VAR, mode)
    )


def unit_file_mode(text):
    """The mode a unit file or drop-in sets with Environment= (the last assignment wins), None when it sets none."""
    mode = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith("Environment="):
            for assignment in shlex.split(line[len("Environment="):]):
                name, sep, value = assignment.partition("=")
                if sep and name == ENV_VAR:
                    mode = parse_mode(value)
    return mode


def parse_dropin(text):
    """The mode a drop-in of ours sets, 'off' when it sets none."""
    return unit_file_mode(text) or "off"


def env_from_show(value):
    """AI_QUANT_KILL_SWITCH from `systemctl show -p Environment --value UNIT` (the unit's merged Environment=)."""
    mode = "off"
    for assignment in shlex.split(value or ""):
        name, sep, val = assignment.partition("=")
        if sep and name == ENV_VAR:
            mode = parse_mode(val)
    return mode


def plan(requested, method, sources, force=False):
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
    previous = most_restrictive(sources["file"], sources["env"])
    warnings = []
    target = requested
    if requested != "off" and not force:
        strict_sources = [s for s in ("file", "env") if strictness(sources[s]) > strictness(requested)]
        if strict_sources:
            target = current
            warnings.append(
                "%s is in force (%s); %s would relax it, so it was kept. Use force: true to relax on purpose."
                % (previous, ", ".join("%s=%s" % (s, sources[s]) for s in strict_sources), requested))
    write = target != current
    after = dict(sources)
    after[method] = target
    effective = most_restrictive(after["file"], after["env"])
    if strictness(after[other]) > strictness(target) and after[other] != "off":
        warnings.append("the %s source still says %s: the effective mode is %s" % (other, after[other], effective))
    return {
        "target": target,
        "write": write,
        "previous_mode": previous,
        "effective_mode": effective,
        "sources_after": after,
        "warnings": warnings,
    }
