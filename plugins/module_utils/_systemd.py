# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reaching a systemd manager the way these stacks need it: the system manager, or a user's manager both when
connected as root (``systemctl --user -M USER@``) and when connected as that user (``systemctl --user``)."""

import os
import pwd
from typing import Any, Dict, List, Optional

# The modules check O(user) with _validate.check(texts=dict(user=v.Text(max_length=USER_MAX_LENGTH))): an empty user
# would silently mean the connection user's manager, and a newline or NUL is no user name. Linux user names have at
# most 32 characters; the limit only keeps a runaway value out of the messages.
USER_MAX_LENGTH = 256


def systemd_argument_spec() -> Dict[str, Dict[str, Any]]:
    """Options shared by every module that talks to a systemd manager (see the _systemd doc fragment)."""
    return dict(
        scope=dict(type="str", default="user", choices=["user", "system"]),
        user=dict(type="str"),
    )


class SystemdTargetError(Exception):
    pass


class SystemdTarget:
    """Where a unit lives and how to reach its manager, from scope/user and who we run as."""

    def __init__(self, scope: str, user: Optional[str] = None, euid: Optional[int] = None) -> None:
        self.scope = scope
        euid = os.geteuid() if euid is None else euid
        me = pwd.getpwuid(euid)
        if scope == "system":
            self.user = None
            self.as_user = False
            return
        name = user or me.pw_name
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise SystemdTargetError("user %r does not exist on this host: set user to the owner of the user unit" % name) from None
        self.user = name
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
        self.home = entry.pw_dir
        self.as_user = euid == entry.pw_uid
        if not self.as_user and euid != 0:
            raise SystemdTargetError(
                "connected as %s, which can reach neither the system manager nor %s's user manager: connect as root "
                "or as %s (become)" % (me.pw_name, name, name))

    def systemctl(self, *args: str) -> List[str]:
        if self.scope == "system":
            return ["systemctl"] + list(args)
        if self.as_user:
            return ["systemctl", "--user"] + list(args)
        return ["systemctl", "--user", "-M", "%s@" % self.user] + list(args)

    def environ(self) -> Dict[str, str]:
        """Environment for run_command: a user's own systemctl/journalctl needs its runtime dir."""
        if self.scope == "user" and self.as_user:
            runtime = "/run/user/%d" % self.uid
            return {"XDG_RUNTIME_DIR": runtime, "DBUS_SESSION_BUS_ADDRESS": "unix:path=%s/bus" % runtime}
        return {}

    def unit_dir(self) -> str:
        if self.scope == "system":
            return "/etc/systemd/system"
        return os.path.join(self.home, ".config", "systemd", "user")

    def journal_match(self, unit: str) -> List[str]:
        """journalctl arguments that select the unit's entries, from root or from the user itself."""
        if self.scope == "system":
            return ["_SYSTEMD_UNIT=%s" % unit]
        if self.as_user:
            return ["--user", "_SYSTEMD_USER_UNIT=%s" % unit]
        # as root, a user's unit is read by field (journalctl --user-unit would read root's own journal)
        return ["_SYSTEMD_USER_UNIT=%s" % unit, "_UID=%d" % self.uid]
