# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Env files hold secrets: what changes in one is told by variable name only, never by value."""

import re

ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$')


def _unquote(raw):
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if raw[0] == '"' else inner
    return raw


def parse_env(text):
    """{name: value} of a systemd EnvironmentFile (our template's NAME="value" lines, comments skipped)."""
    values = {}
    for line in (text or "").splitlines():
        m = ASSIGNMENT.match(line)
        if m and not line.lstrip().startswith("#"):
            values[m.group(1)] = _unquote(m.group(2))
    return values


def env_names_diff(before, after):
    """Names added, removed and changed between an env file's text and the mapping about to be written."""
    old = parse_env(before)
    new = dict((str(k), "" if v is None else str(v)) for k, v in (after or {}).items())
    return dict(
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
        changed=sorted(k for k in set(old) & set(new) if old[k] != new[k]),
    )


class FilterModule:
    def filters(self):
        return dict(env_names_diff=env_names_diff)
