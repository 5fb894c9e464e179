# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kill switch's fast path, controller side: which requests it may take, the POSIX sh script that engages and
proves on the host in one connection with no Python there (``_kill_fast.sh``), and the judgement of what the
script saw, by the same rules as the kill_switch module (module_utils ``_kill_switch`` and ``_trader``)."""

import json
import os
import re
import shlex
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.quantops.runbooks.plugins.module_utils import _kill_switch as ks
from ansible_collections.quantops.runbooks.plugins.module_utils import _trader, _units
from ansible_collections.quantops.runbooks.plugins.module_utils._journal import iso

SCRIPT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kill_fast.sh")
# What the script accepts, narrower than the module: anything else goes to the module, which checks it and says why.
PLAIN_PATH = re.compile(r"^/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$")
PLAIN_UNIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,200}$")
PLAIN_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
VERIFY_TIMEOUT = (0.0, 3600.0)


def why_not_fast(p: Dict[str, Any]) -> Optional[str]:
    """None when the fast path can take these kill_switch options, else why the module must (it also checks them)."""
    checks = (
        (p.get("mode") in ("close_only", "halt_all"), "mode %s (a clear needs a restart)" % p.get("mode")),
        (p.get("method", "file") == "file", "method env"),
        (p.get("scope", "user") == "user", "system scope"),
        (not p.get("force") and not p.get("restart"), "force or restart"),
        (p.get("heartbeat_pattern") in (None, _trader.HEARTBEAT_LOOP), "a heartbeat_pattern of its own"),
        (not p.get("proof_pattern"), "a proof_pattern"),
        (p.get("path") is None or PLAIN_PATH.match(str(p["path"])), "a path with more than letters, digits and ._-/"),
        (p.get("audit_log") is None or PLAIN_PATH.match(str(p["audit_log"])), "an audit_log path with more than ._-/"),
        (isinstance(p.get("user"), str) and PLAIN_USER.match(p["user"]), "no plain user name"),
        (all(isinstance(u, str) and PLAIN_UNIT.match(u) for u in p.get("units") or []) and p.get("units"), "units"),
    )
    for ok, why in checks:
        if not ok:
            return why
    try:
        timeout = float(p.get("verify_timeout", 150.0))
    except (TypeError, ValueError):
        return "verify_timeout is not a number"
    if not VERIFY_TIMEOUT[0] <= timeout <= VERIFY_TIMEOUT[1]:
        return "verify_timeout out of range"
    return None


def audit_head(p: Dict[str, Any], now_iso: str, remote_user: str) -> str:
    """The fields of the audit record known before the run, as the start of a JSON object (the script adds the rest)."""
    head = json.dumps(dict(time=now_iso, user=remote_user, method="file", mode=p["mode"], reason=p.get("reason"),
                           engine="fast"), sort_keys=True)
    return head[:-1] + ", "


def build_script(p: Dict[str, Any], check_mode: bool, head: str = "", script_text: Optional[str] = None,
                 proc: str = "/proc") -> str:
    """The script with its inputs as quoted assignments in front (why_not_fast(p) must be None)."""
    if script_text is None:
        with open(SCRIPT_PATH, encoding="utf-8") as f:
            script_text = f.read()
    units = " ".join(_units.service_name(u) for u in p["units"])
    audit = p.get("audit_log") if p.get("reason") and p.get("audit_log") else ""
    values = dict(REQUESTED=p["mode"], KPATH=p.get("path") or "", KUSER=p["user"], UNITS=units,
                  VERIFY="1" if p.get("verify") else "0", TIMEOUT="%.3f" % float(p.get("verify_timeout", 150.0)),
                  CHECK="1" if check_mode else "0", AUDIT=audit, AUDIT_HEAD=head if audit else "", PROC=proc)
    return "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in sorted(values.items())) + script_text


def _unit(out: Dict[str, Any], rest: str) -> None:
    parts = rest.split(" ")
    if len(parts) == 2:
        out["units"].append(dict(unit=parts[0], running=False))
    elif len(parts) == 7:
        unit, _running, pid, tmode, kfile, emode, sync = parts
        out["units"].append(dict(unit=unit, running=True, pid=int(pid), trader_mode=tmode,
                                 kill_file=None if kfile == "-" else kfile, env_kill_switch=emode, state_sync_s=float(sync)))


def _kill_file(out: Dict[str, Any], rest: str) -> None:
    out["kill_file"], _sep, out["kill_file_by"] = rest.rpartition(" ")


def _other_file(out: Dict[str, Any], rest: str) -> None:
    unit, _sep, kfile = rest.partition(" ")
    out["other_files"][unit] = kfile


def _proof(out: Dict[str, Any], rest: str) -> None:
    pid, _sep, entry = rest.partition(" ")
    out["proofs"][int(pid)] = entry


# one handler per kind of line the script prints (its first word)
LINES = dict(
    fallback=lambda out, rest: out.update(fallback=rest),
    unit=_unit,
    kill_file=_kill_file,
    sources=lambda out, rest: out.update(sources=dict(kv.split("=", 1) for kv in rest.split(" ") if "=" in kv)),
    write=lambda out, rest: out.update(write=rest),
    written=lambda out, rest: out.update(written=float(rest)),
    other_file=_other_file,
    proof=_proof,
    final=lambda out, rest: out.update(final=rest),
    error=lambda out, rest: out["errors"].append(rest),
    end=lambda out, rest: out.update(complete=True),
)


def parse(stdout: str) -> Dict[str, Any]:
    """The script's report: dict(fallback, units, kill_file, kill_file_by, sources, write, written, other_files,
    proofs, final, errors, complete)."""
    out = dict(fallback=None, units=[], kill_file=None, kill_file_by=None, sources={}, write=None, written=None,
               other_files={}, proofs={}, final=None, errors=[], complete=False)
    for line in stdout.splitlines():
        word, _sep, rest = line.partition(" ")
        if word in LINES:
            LINES[word](out, rest)
    return out


def proof_of(entry: str) -> Tuple[float, str]:
    """(time, message) of a ``journalctl -o short-unix`` line: ``EPOCH HOST IDENT[PID]: MESSAGE``."""
    stamp, _sep, rest = entry.partition(" ")
    _ident, _sep, message = rest.partition("]: ")
    return float(stamp), message


def judge(report: Dict[str, Any], p: Dict[str, Any]) -> Dict[str, Any]:
    """The module's result for what the script saw and did (the same keys, statuses and summaries)."""
    requested, path = p["mode"], report["kill_file"]
    src = report["sources"]
    file_before, env_now, target = src.get("file", "off"), src.get("env", "off"), src.get("target", "off")
    decision = ks.plan(requested, "file", {"file": file_before, "env": env_now})
    if decision["target"] != target:
        raise ValueError("the fast path decided %s where the kill switch rules decide %s (sources file=%s env=%s): "
                         "a bug, use kill_fast=false" % (target, decision["target"], file_before, env_now))
    result = dict(changed=report["write"] in ("done", "would"), previous_mode=decision["previous_mode"], mode=target,
                  effective_mode=decision["effective_mode"], sources=dict(file=target, env=env_now),
                  kill_file=path, kill_file_source=("given" if report["kill_file_by"] == "given" else
                                                    "AI_QUANT_KILL_SWITCH_FILE of the running traders"),
                  engine="fast", warnings=list(decision["warnings"]))
    rows = {}
    for u in report["units"]:
        row = dict(u)
        if row["running"]:
            row["reads_kill_switch"] = row["trader_mode"] in _trader.KILL_SWITCH_MODES
        rows[row["unit"]] = row
    if p.get("_check_mode"):
        verb = "WOULD_ENGAGE"
        result["status"] = verb if result["changed"] else "UNCHANGED"
        result["summary"] = ("%s %s (now %s)" % (verb.replace("_", " "), requested, decision["previous_mode"])
                             if result["changed"] else "%s already in force (file=%s, env=%s)" % (
                                 decision["effective_mode"], file_before, env_now))
        return result
    if not p.get("verify"):
        result["status"] = ("ENGAGED" if result["changed"] else "UNCHANGED")
        result["summary"] = "%s in force by the sources (not verified)" % decision["effective_mode"]
        return result
    for row in rows.values():
        judge_row(row, report, requested)
    result["status"], result["summary"] = ks.host_status(rows, requested)
    result["traders"] = [rows[k] for k in sorted(rows)]
    return result


def judge_row(row: Dict[str, Any], report: Dict[str, Any], requested: str) -> None:
    """One trader unit's verdict (as the module's judge): the mode its own sources give, and its proof."""
    path, final, written = report["kill_file"], report["final"], report["written"]
    if ks.nothing_to_verify(row):
        return
    why: List[str] = []
    env = row["env_kill_switch"]
    if row["kill_file"] != path:
        # its own file was not read here (the script refuses to touch a path it was not given): claim nothing
        row.update(in_force="unknown", verified=False,
                   proof="kill written to %s; the trader polls %s, which was not read" % (path, row["kill_file"]))
        return
    row["in_force"] = final if final in ks.MODES and final != "off" else env
    entry = report["proofs"].get(row["pid"])
    if entry is None:
        why.append("no heartbeat of pid %d showed a loop begun %.0f s after the write (its state sync period)"
                   % (row["pid"], row["state_sync_s"]))
    elif entry is not None:
        when, message = proof_of(entry)
        row.update(proof=message, proof_time=iso(when), seconds_to_proof=round(when - written, 3))
    if not _trader.at_least(row["in_force"], requested):
        why.append("in force: %s (env %s, file %s)" % (row["in_force"], env, final or "none"))
    row["verified"] = not why
    if why:
        row["proof"] = "; ".join(why)
