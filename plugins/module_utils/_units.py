# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading several units of one manager at once (one ``systemctl show``), and what their running processes see:
environment, working directory and start time, from /proc."""

import calendar
import datetime
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ansible_collections.quantops.runbooks.plugins.module_utils import _trader

SHOW_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "MainPID", "InvocationID")
# What units_info reports of each unit, read with TIMESTAMP_OPTION so the start time is exact and zone-free.
INFO_PROPERTIES = SHOW_PROPERTIES + ("ActiveEnterTimestamp", "NRestarts", "Result", "ExecMainStatus", "UnitFileState")
# systemd 248+: timestamps as "Sun 2026-11-29 19:38:08.123456 UTC", whatever the host's zone and locale.
TIMESTAMP_OPTION = "--timestamp=us+utc"
TIMESTAMP = re.compile(r"^(?:[A-Za-z]{3} )?(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? UTC$")


class UnitsError(Exception):
    pass


# systemd's unit name characters (systemd.unit(5)): ASCII letters, digits, ":-_.\\" and "@" for templates
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+$")


def check_unit_name(unit: Any, option: str = "unit") -> str:
    """A systemd unit name that cannot be read as an option or a path (``--host=x``, ``../x``): the reason why
    not, as UnitsError. Names reach systemctl and journalctl after ``--`` too; this makes them say so early."""
    if not isinstance(unit, str) or not unit:
        raise UnitsError("%s is empty: give a unit name such as openclaw-ai-quant-live" % option)
    if len(unit) > 255:
        raise UnitsError("%s is %d characters long; a systemd unit name has at most 255" % (option, len(unit)))
    if unit.startswith("-"):
        raise UnitsError("%s %r starts with '-': a unit name is not an option" % (option, unit))
    if not UNIT_NAME.fullmatch(unit) or unit.startswith(".") or ".." in unit:
        raise UnitsError("%s %r is not a systemd unit name: use letters, digits and ':-_.\\@' only, no '/' or spaces" % (option, unit))
    return unit


def service_name(unit: str) -> str:
    return unit if unit.endswith(".service") else unit + ".service"


def parse_show(out: str) -> List[Dict[str, str]]:
    """`systemctl show -p ... A B` prints one block per unit, separated by an empty line, in the order asked."""
    blocks, current = [], {}
    for line in out.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        name, sep, value = line.partition("=")
        if sep:  # a property listed once per entry (EnvironmentFiles=) keeps every entry, one per line
            current[name] = current[name] + "\n" + value if name in current else value
    if current:
        blocks.append(current)
    return blocks


def systemctl(module: Any, target: Any, *args: str) -> Tuple[int, str, str]:
    """(rc, stdout, stderr) of systemctl ARGS on the target's manager, with the environment a user's own manager
    needs; the one way the modules run systemctl."""
    return module.run_command(target.systemctl(*args), environ_update=target.environ())


def show(module: Any, target: Any, units: Iterable[str], properties: Iterable[str] = SHOW_PROPERTIES,
         options: Iterable[str] = ()) -> Dict[str, Dict[str, str]]:
    """{unit: properties} for every unit (full names, as given), in one call to the manager; ``options`` go before
    the properties (TIMESTAMP_OPTION). A unit that does not exist comes back with LoadState=not-found."""
    names = [check_unit_name(u) for u in units]
    rc, out, err = systemctl(module, target, "show", *options, *["-p%s" % p for p in properties], "--", *names)
    if rc != 0:
        raise UnitsError("cannot read %s from the %s manager: %s" % (", ".join(names), manager_name(target), (err or out).strip()))
    blocks = parse_show(out)
    if len(blocks) != len(names):
        raise UnitsError("systemctl show gave %d blocks for %d units" % (len(blocks), len(names)))
    return dict(zip(names, blocks))


def full_name(unit: str) -> str:
    """The name systemctl and the journal know a unit by: ``.service`` added unless it has a type suffix."""
    return unit if "." in unit else unit + ".service"


def parse_timestamp(value: Optional[str]) -> Optional[float]:
    """A ``--timestamp=us+utc`` value (``Sun 2026-11-29 19:38:08.123456 UTC``) -> seconds since the epoch; None for
    an empty value or ``n/a`` (never entered). Anything else raises UnitsError: a wrong reading must not pass as a
    time (a systemd older than 248 ignores no option, it refuses it, so this means a format we do not know)."""
    text = (value or "").strip()
    if not text or text == "n/a":
        return None
    m = TIMESTAMP.match(text)
    if not m:
        raise UnitsError("cannot read the timestamp %r: expected a UTC time like 'Sun 2026-11-29 19:38:08.123456 UTC'" % text)
    fields = [int(x) for x in m.groups()[:6]]
    try:  # timegm alone would carry 2026-02-30 or 25:00 into the next day rather than refuse it
        datetime.datetime(*fields)
    except ValueError as e:
        raise UnitsError("cannot read the timestamp %r: %s" % (text, e)) from None
    whole = calendar.timegm(tuple(fields) + (0, 0, 0))
    micro = int((m.group(7) or "0").ljust(6, "0"))
    return whole + micro / 1e6


def iso_utc(epoch: Optional[float]) -> Optional[str]:
    """Seconds since the epoch -> ISO 8601 UTC with microseconds (``2026-11-29T19:38:08.123456+00:00``), or None."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="microseconds")


def _int(value: Optional[str]) -> Optional[int]:
    value = (value or "").strip()
    return int(value) if re.match(r"^-?\d+$", value) else None


def unit_info(props: Dict[str, str], now: float) -> Dict[str, Any]:
    """One unit's state as units_info reports it, from INFO_PROPERTIES read with TIMESTAMP_OPTION, at ``now``
    (seconds since the epoch on the host)."""
    active = props.get("ActiveState") or None
    entered = parse_timestamp(props.get("ActiveEnterTimestamp"))
    since = None
    if active == "active" and entered is not None:
        since = round(max(0.0, now - entered), 6)
    return dict(
        id=props.get("Id") or None,
        load_state=props.get("LoadState") or None,
        active_state=active,
        sub_state=props.get("SubState") or None,
        main_pid=main_pid(props),
        invocation_id=props.get("InvocationID") or None,
        active_enter=iso_utc(entered),
        active_enter_epoch=entered,
        since_s=since,
        n_restarts=_int(props.get("NRestarts")),
        result=props.get("Result") or None,
        exec_main_status=_int(props.get("ExecMainStatus")),
        unit_file_state=props.get("UnitFileState") or None,
    )


def manager_name(target: Any) -> str:
    return "system" if target.scope == "system" else "%s's user" % target.user


def main_pid(props: Dict[str, str]) -> Optional[int]:
    pid = props.get("MainPID", "0")
    return int(pid) if pid.isdigit() and pid != "0" else None


class Process:
    """A unit's running main process as the trader sees itself: its environment, cwd and start time."""

    def __init__(self, pid: int, proc: str = "/proc") -> None:
        self.pid = pid
        base = os.path.join(proc, str(pid))
        try:
            with open(os.path.join(base, "environ"), "rb") as f:
                self.environ = _trader.parse_environ(f.read())
            self.cwd = os.readlink(os.path.join(base, "cwd"))
            self.started = _trader.process_start(pid, proc)
        except (IOError, OSError) as e:
            raise UnitsError("cannot read process %d (%s): connect as root or as the unit's user" % (pid, e)) from None
