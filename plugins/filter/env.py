# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Env files hold secrets: what changes in one is told by variable name only, never by value."""

from ansible_collections.quantops.runbooks.plugins.module_utils._trader import parse_env_file


def env_names_diff(before, after):
    """Names added, removed and changed between an env file's text and the mapping about to be written."""
    old = parse_env_file(before)
    new = dict((str(k), "" if v is None else str(v)) for k, v in (after or {}).items())
    return dict(
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
        changed=sorted(k for k in set(old) & set(new) if old[k] != new[k]),
    )


class FilterModule:
    def filters(self):
        return dict(env_names_diff=env_names_diff)
