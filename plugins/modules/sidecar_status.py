#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: sidecar_status
short_description: Whether the openclaw-ai-quant WS sidecar is connected and streaming, asked over its own socket
version_added: 1.1.0
description:
  - Answers the runbook's section 3 "WebSocket sidecar health" (C(systemctl --user status openclaw-ai-quant-ws-sidecar))
    with what the bot's own clients see, instead of the unit's state alone.
  - Finds the running sidecar unit's main process and reads its environment from C(/proc) to learn the socket it
    listens on (C(AI_QUANT_WS_SIDECAR_SOCK), else C($XDG_RUNTIME_DIR/openclaw-ai-quant-ws.sock)), the symbols it
    always streams (C(AI_QUANT_SIDECAR_SYMBOLS)) and its candle directory (C(AI_QUANT_CANDLES_DB_DIR), else
    C(candles_dbs) beside the market or trading database), as the sidecar itself derives them.
  - Calls C(health) and C(ws_stats) over the socket with the bot's JSON-lines protocol, and reads the forming 1m bar
    of each symbol from C(candles_1m.db) read-only, whose C(updated_at) is the time of the symbol's last trade.
  - Healthy means the sidecar says C(connected=true), its mids are at most O(max_mids_age) seconds old, every symbol
    has the bar that is open now and its last tick is at most O(max_candle_age) seconds old.
  - With O(wait), it asks again every O(poll) seconds until the sidecar is healthy or O(wait) seconds have passed,
    so the gate after a restart is one module run.
  - The socket is opened without following a symlink another user could have planted, and only when it is a socket
    of the unit's user (or root); root never talks to whatever else sits at the path.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
  - quantops.runbooks._systemd
options:
  unit:
    description: The sidecar's unit, with or without C(.service).
    type: str
    default: openclaw-ai-quant-ws-sidecar
  socket:
    description: The sidecar's socket, an absolute path. Default is the one the running sidecar's environment names.
    type: path
  symbols:
    description:
      - The symbols to check. Default is the sidecar's C(AI_QUANT_SIDECAR_SYMBOLS). With none, only the connection
        and the mids are checked.
      - At most 1000, each of letters, digits, C(-) and C(_), at most 64 characters.
    type: list
    elements: str
  candles_db:
    description: The 1m candle database. Default is C(candles_1m.db) in the running sidecar's candle directory.
    type: path
  max_mids_age:
    description: Seconds the sidecar's mids may be old (its C(mids_age_s)); from 0.1 to 86400. The trader itself
      restarts the WebSocket when they are C(AI_QUANT_WS_STALE_MIDS_S) (60) old.
    type: float
    default: 10
  max_candle_age:
    description: Seconds since each symbol's forming 1m bar was last written (its last trade); from 1 to 86400.
    type: float
    default: 120
  wait:
    description: Seconds to keep asking until the sidecar is healthy; 0 asks once. From 0 to 3600.
    type: float
    default: 0
  poll:
    description: Seconds between two asks while waiting, from 0.1 to 60.
    type: float
    default: 1
  timeout:
    description: Seconds to wait for the socket's answer to each request, from 0.1 to 60.
    type: float
    default: 2
  fail_on_problems:
    description: Fail the task when the sidecar is not healthy (after O(wait)), with the problems in the message.
    type: bool
    default: false
notes:
  - Run it as root or as the sidecar's user; it reads C(/proc/MAINPID/environ) and connects to the user's socket.
  - C(updated_at) is written to the second, so a tick age can be up to a second too high.
seealso:
  - module: quantops.runbooks.units_info
  - module: quantops.runbooks.candle_db_info
"""

EXAMPLES = r"""
- name: The sidecar streams again after its restart (one module run, up to 30 s)
  quantops.runbooks.sidecar_status:
    user: trader
    wait: 30
    fail_on_problems: true

- name: Ask a sidecar started by hand on another socket, for two symbols
  quantops.runbooks.sidecar_status:
    user: trader
    socket: /run/user/1000/test-ws.sock
    symbols: [BTC, ETH]
    candles_db: /home/trader/openclaw-ai-quant/candles_dbs/candles_1m.db
  register: sidecar
"""

RETURN = r"""
healthy:
  description: No problem (RV(problems) is empty).
  returned: always
  type: bool
  sample: true
problems:
  description: One sentence per problem, naming what is wrong.
  returned: always
  type: list
  elements: str
  sample: ["the sidecar says connected=false", "ETH's last tick was written 184 s ago (at most 120)"]
connected:
  description: The sidecar's C(connected) (its WebSocket is up); null when it did not answer.
  returned: always
  type: bool
  sample: true
mids_age_s:
  description: Seconds since the sidecar last received mids; null when it has none or did not answer.
  returned: always
  type: float
  sample: 0.41
candle_age_s:
  description: The sidecar's own C(candle_age_s) for the symbols' 1m candles (the oldest); null when unknown.
  returned: always
  type: float
  sample: 0.9
ws_connect_attempt:
  description: The sidecar process's connect attempts (1 while the first connection holds).
  returned: always
  type: int
  sample: 1
ws_disconnect_count:
  description: How often the sidecar process lost its WebSocket.
  returned: always
  type: int
  sample: 0
ticks:
  description: Per symbol, its newest 1m bar and how long ago it was last written.
  returned: always
  type: dict
  contains:
    t:
      description: The bar's open time, epoch ms; null when the symbol has no bar.
      type: int
    updated_at:
      description: When the sidecar last wrote the bar (RFC 3339 UTC, to the second).
      type: str
    age_s:
      description: Seconds since then; null when unknown.
      type: float
  sample: {"BTC": {"t": 1795981380000, "updated_at": "2026-11-29T19:43:08Z", "age_s": 0.6}}
rtt_ms:
  description: Milliseconds to connect and get both answers; null when the socket did not answer.
  returned: always
  type: float
  sample: 1.8
socket:
  description: The socket asked.
  returned: always
  type: str
  sample: /run/user/1000/openclaw-ai-quant-ws.sock
symbols:
  description: The symbols checked.
  returned: always
  type: list
  elements: str
  sample: [BTC, ETH, SOL]
candles_db:
  description: The 1m candle database read; null when there was nothing to read it for.
  returned: always
  type: str
  sample: /home/trader/openclaw-ai-quant/candles_dbs/candles_1m.db
main_pid:
  description: The sidecar unit's main process; null when it is not running.
  returned: always
  type: int
  sample: 449
health:
  description: The sidecar's whole C(health) answer; empty when it did not answer.
  returned: always
  type: dict
ws_stats:
  description: The sidecar's whole C(ws_stats) answer; empty when it did not answer.
  returned: always
  type: dict
attempts:
  description: How many times the sidecar was asked (more than one only with O(wait)).
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds the module spent, waits included.
  returned: always
  type: float
  sample: 0.05
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _sidecar, _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import (
    USER_MAX_LENGTH,
    SystemdTarget,
    SystemdTargetError,
    systemd_argument_spec,
)

NUMBERS = dict(
    max_mids_age=v.Range(0.1, 86400, "seconds"),
    max_candle_age=v.Range(1, 86400, "seconds"),
    wait=v.Range(0, 3600, "seconds"),
    poll=v.Range(0.1, 60, "seconds"),
    timeout=v.Range(0.1, 60, "seconds"),
)
# Each symbol on one line (a newline would pass the strip below and split the name in every message) and short:
# Hyperliquid's longest perp names are a few characters.
SYMBOLS = (v.Items(max_items=1000), v.Text(max_length=64))
CANDLES_1M = "candles_1m.db"


class Where(object):
    """Where this host's sidecar listens and writes, from its running process and the options."""

    def __init__(self, module, target, unit):
        p = module.params
        props = _units.show(module, target, [unit])[unit]
        self.problems = []
        self.main_pid = _units.main_pid(props)
        environ, cwd = {}, "/"
        if props.get("LoadState") == "not-found":
            self.problems.append("unit %s not found in the %s manager: check unit, scope and user" % (unit, _units.manager_name(target)))
        elif self.main_pid is None:
            self.problems.append("%s is %s, not running" % (unit, props.get("ActiveState") or "not active"))
        else:
            try:
                proc = _units.Process(self.main_pid)
                environ, cwd = proc.environ, proc.cwd
            except _units.UnitsError as e:  # it exited since, or we may not read it
                self.problems.append(to_native(e))
        known = bool(environ)
        self.socket = p["socket"] or (_sidecar.socket_path(environ, cwd) if known else None)
        self.symbols = [s.strip().upper() for s in p["symbols"]] if p["symbols"] is not None else _sidecar.env_symbols(environ)
        self.candles_db = p["candles_db"] or (os.path.join(_sidecar.candles_dir(environ, cwd), CANDLES_1M) if known else None)
        self.owner = self.owner_uid(target)

    def owner_uid(self, target):
        """Whose socket we accept: the user unit's user, or the system unit's process owner (and root, always)."""
        if target.scope == "user":
            return target.uid
        if self.main_pid is not None:
            try:
                return os.stat("/proc/%d" % self.main_pid).st_uid
            except OSError:
                pass
        return 0


def seconds(value):
    return round(value, 3) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def ask(where, p):
    """One look at the sidecar: its answers, the forming bars and the problems."""
    out = dict(connected=None, mids_age_s=None, candle_age_s=None, ws_connect_attempt=None, ws_disconnect_count=None,
               ticks={}, rtt_ms=None, health={}, ws_stats={})
    problems = list(where.problems)
    if where.socket:
        try:
            st = _sidecar.status(where.socket, where.owner, where.symbols, "1m", p["timeout"])
        except _sidecar.SidecarError as e:
            problems.append(to_native(e))
        else:
            health = st["health"]
            out.update(health=health, ws_stats=st["ws_stats"], rtt_ms=st["rtt_ms"], connected=health.get("connected"),
                       mids_age_s=seconds(health.get("mids_age_s")), candle_age_s=seconds(health.get("candle_age_s")),
                       ws_connect_attempt=health.get("ws_connect_attempt"), ws_disconnect_count=health.get("ws_disconnect_count"))
            problem = _sidecar.health_problem(health, p["max_mids_age"])
            if problem:
                problems.append(problem)
    if where.symbols and where.candles_db:
        now = time.time()
        try:
            rows = sq.ReadOnly(where.candles_db, 5000).read(lambda conn: _sidecar.read_forming(conn, where.symbols, "1m"))
        except sq.DatabaseError as e:
            problems.append("%s: %s" % (where.candles_db, e))
        else:
            out["ticks"] = _sidecar.tick_ages(rows, now)
            problems.extend(_sidecar.forming_bar_problems(rows, int(now * 1000), None))
            problems.extend(_sidecar.stale_ticks(out["ticks"], p["max_candle_age"]))
    out.update(problems=problems, healthy=not problems)
    return out


def run(module):
    p = module.params
    _units.check_unit_name(p["unit"])
    unit = _units.full_name(p["unit"])
    target = SystemdTarget(p["scope"], p["user"])
    started = time.monotonic()
    attempts = 0
    while True:
        where = Where(module, target, unit)
        out = ask(where, p)
        attempts += 1
        left = p["wait"] - (time.monotonic() - started)
        if out["healthy"] or left <= 0:
            break
        time.sleep(min(p["poll"], left))
    result = dict(changed=False, socket=where.socket, symbols=where.symbols, candles_db=where.candles_db if where.symbols else None,
                  main_pid=where.main_pid, attempts=attempts, elapsed=round(time.monotonic() - started, 3), **out)
    if p["fail_on_problems"] and not out["healthy"]:
        module.fail_json(msg="the sidecar %s is not healthy%s: %s" % (
            unit, " after %.0f s" % p["wait"] if p["wait"] else "", "; ".join(out["problems"])), **result)
    return result


def main():
    argument_spec = dict(
        unit=dict(type="str", default="openclaw-ai-quant-ws-sidecar"),
        socket=dict(type="path"),
        symbols=dict(type="list", elements="str"),
        candles_db=dict(type="path"),
        max_mids_age=dict(type="float", default=10.0),
        max_candle_age=dict(type="float", default=120.0),
        wait=dict(type="float", default=0.0),
        poll=dict(type="float", default=1.0),
        timeout=dict(type="float", default=2.0),
        fail_on_problems=dict(type="bool", default=False),
    )
    argument_spec.update(systemd_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    v.check(module, numbers=NUMBERS, paths=dict(socket=v.Path(absolute=True, file=True), candles_db=v.Path(absolute=True, file=True)),
            lists=dict(symbols=SYMBOLS), texts=dict(user=v.Text(max_length=USER_MAX_LENGTH)))
    for symbol in module.params["symbols"] or []:
        if not symbol.strip() or not symbol.strip().replace("-", "").replace("_", "").isalnum():
            module.fail_json(msg="symbols: %r is not a symbol: use letters and digits, like BTC or kPEPE" % symbol)
    try:
        module.exit_json(**run(module))
    except (_units.UnitsError, SystemdTargetError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
