# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # A module that changes the host: check mode and diff mode, idempotent.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in diff mode) when in diff mode.
  idempotent:
    support: full
    description: Running it again with the same options changes nothing.
"""

    # A module that only reads.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs in check mode exactly as it does otherwise.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show a difference of.
  idempotent:
    support: full
    description: Reads only.
"""
