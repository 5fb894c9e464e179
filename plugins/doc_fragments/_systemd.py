# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  scope:
    description:
      - The systemd manager of the unit. V(user) is a user's manager (the openclaw-ai-quant units), V(system)
        the system manager (the QuantLab units).
    type: str
    choices: [user, system]
    default: user
  user:
    description:
      - With O(scope=user), the user whose manager runs the unit. It works both when connected as root (the module
        uses C(systemctl --user -M USER@) and reads the journal by field) and when connected as that user.
      - Defaults to the connection user.
    type: str
"""
