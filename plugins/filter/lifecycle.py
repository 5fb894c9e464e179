# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the bot's lifecycle flows (bot_restart, bot_stop, bot_start), in Python: one host's outcome from
the results of its steps, in the order they ran, and what an export of a trader's state says about its exposure."""

DONE = {"restart": "RESTARTED", "stop": "STOPPED", "start": "STARTED"}
SHORT = (("openclaw-ai-quant-ws-sidecar", "sidecar"), ("openclaw-ai-quant-trader", "paper"), ("openclaw-ai-quant-live", "live"),
         ("openclaw-ai-quant-monitor", "monitor"))


def short(unit):
    name = str(unit or "")
    if name.endswith(".service"):
        name = name[:-len(".service")]
    return dict(SHORT).get(name, name)


def _one_line(text, width=300):
    return " ".join(str(text).split())[:width]


def _ran(result):
    return isinstance(result, dict) and result and not result.get("skipped")


def _unit_line(unit, row):
    parts = []
    if row.get("ready_s") is not None:
        parts.append("ready %.2fs" % row["ready_s"])
    if row.get("strategy_sha1"):
        parts.append("sha1 %s" % row["strategy_sha1"])
    held, after = row.get("kill_mode_held"), row.get("kill_mode_after") or row.get("kill_mode_sources")
    if after not in (None, "off") or held not in (None, "off"):
        if held not in (None, "off") and after not in (None, held):
            parts.append("kill %s held, but its sources give %s: a start runs without it" % (held, after))
        else:
            parts.append("kill %s%s" % (after or held, " kept" if row.get("kill_mode_after") and held == after else ""))
    if row.get("action") == "stopped":
        parts.append("stopped")
    elif (row.get("action") == "none" and row.get("active_state") in ("inactive", "failed")):
        parts.append(row.get("active_state") or "inactive")
    if row.get("action") == "none" and row.get("active_state") == "active" and row.get("ready_s") is None:
        parts.append("already active")
    return "%s %s" % (short(unit), " ".join(parts)) if parts else short(unit)


def _failure(name, result):
    """(summary, details) of a failed step: why, the failed units' last journal lines, what the related units were left in."""
    why = _one_line(result.get("msg") or "failed", 400)
    details = []
    for unit, lines in sorted((result.get("journal") or {}).items()):
        for line in (lines or [])[-5:]:
            details.append("%s journal: %s" % (short(unit), _one_line(line, 200)))
    related = sorted((result.get("related") or {}).items())
    down = ["%s %s/%s" % (short(u), r.get("active_state"), r.get("sub_state")) for u, r in related if r.get("active_state") != "active"]
    up = ["%s %s/%s" % (short(u), r.get("active_state"), r.get("sub_state")) for u, r in related if r.get("active_state") == "active"]
    summary = "%s: %s" % (name, why)
    if down:
        summary += " | left DOWN: %s" % ", ".join(down)
    if up:
        summary += " | left running: %s" % ", ".join(up)
    if result.get("refused"):
        summary += " | nothing changed"
    return summary, details


def _as_steps(steps):
    """{name: result} from a mapping of registered results, or from one unit_gate run with O(steps)."""
    if isinstance(steps, dict) and isinstance(steps.get("steps"), list):
        return dict((r.get("name") or "step %d" % (i + 1), r) for i, r in enumerate(steps["steps"]) if isinstance(r, dict))
    if isinstance(steps, dict) and steps.get("unreachable"):
        return {"host": steps}
    return steps or {}


def _step_part(name, result):
    """What a step that went well adds to the summary."""
    units, totals = result.get("units") or {}, result.get("totals") or {}
    if units:
        return ", ".join(_unit_line(u, r) for u, r in units.items())
    if "series" in totals:
        return "%s: %d series fresh" % (name, totals["series"])
    return _one_line(result["msg"], 200) if result.get("msg") else None


# PLR0913: warn_only and quiet are keyword-only tuning of the summary
def bot_outcome(steps, action, failed_result=None, check_mode=False, *, warn_only=("monitor",), quiet=()):  # noqa: PLR0913
    """One host's outcome of a lifecycle flow from ``steps`` (step name -> registered result, in the order they ran,
    or one unit_gate result with O(steps)); skipped or missing steps are ignored. The first failed step makes the host
    FAILED, or UNREACHABLE; a failed ``warn_only`` or non-critical step is a warning. ``failed_result`` is the
    rescue's failure when no step holds it. A step of ``quiet`` that went well adds nothing to the summary."""
    steps = _as_steps(steps)
    parts, warnings, ran = [], [], []
    for name, result in steps.items():
        if not _ran(result):
            continue
        ran.append(name)
        if result.get("unreachable"):
            return dict(status="UNREACHABLE", summary=_one_line(result.get("msg", "no connection to the host")))
        if result.get("failed") and (name in warn_only or result.get("critical") is False):
            warnings.append("WARNING %s: %s" % (name, _one_line(result.get("msg"), 200)))
        elif result.get("failed"):
            summary, details = _failure(name, result)
            later = list(steps)[list(steps).index(name) + 1:]
            # not reached: a task the rescue skipped (never registered), or a unit_gate step after the failed one
            not_run = [n for n in later if not steps[n] or "not done" in str(steps[n].get("msg", ""))]
            if not_run:
                summary += " | not done: %s" % ", ".join(not_run)
            return dict(status="FAILED", summary=summary, details=details)
        elif check_mode and result.get("msg"):
            parts.append("%s: %s" % (name, _one_line(result["msg"], 200)))
        elif name not in quiet and _step_part(name, result):
            parts.append(_step_part(name, result))
    if isinstance(failed_result, dict) and failed_result:
        if failed_result.get("unreachable"):
            return dict(status="UNREACHABLE", summary=_one_line(failed_result.get("msg", "no connection to the host")))
        return dict(status="FAILED", summary=_one_line(failed_result.get("msg", failed_result), 400))
    done = "WOULD_" + action.upper() if check_mode else DONE[action]
    return dict(status=done, summary=" | ".join(parts + warnings) or "nothing to do")


# PLR0913: the plan's inputs are the flow's variables, keyword-only
def restart_plan(what, *, traders, sidecar, monitor, monitor_on=True, settle=10.0, timeout=60.0,  # noqa: PLR0913
                 fail_patterns=(), monitor_ready=None):
    """The steps of unit_gate (O(steps)) for the runbook's restart of ``what`` (all, sidecar, traders, monitor):
    the traders stopped first when the sidecar restarts (they Require= it, and would restart with it before it
    streams), the sidecar proven streaming, the traders started (or restarted) and proven by their heartbeat with a
    settle window, the monitor last and non-critical. Steps with no unit are left out."""
    if what not in ("all", "sidecar", "traders", "monitor"):
        raise ValueError("restart=%s: use all, sidecar, traders or monitor" % what)
    traders = list(traders or [])
    settle, timeout = float(settle), float(timeout)
    steps = []
    with_sidecar = what in ("all", "sidecar")
    if with_sidecar and traders:
        steps.append(dict(name="traders stop", names=traders, state="stopped", proof="openclaw_trader", timeout=timeout))
    if with_sidecar:
        steps.append(dict(name="sidecar", names=[sidecar], state="restarted", proof="openclaw_sidecar", related=traders, timeout=timeout))
    if what != "monitor" and traders:
        steps.append(dict(name="traders", names=traders, state="started" if with_sidecar else "restarted", proof="openclaw_trader",
                          settle=settle, fail_pattern=list(fail_patterns), timeout=timeout + settle))
    if what in ("all", "monitor") and monitor_on:
        step = dict(name="monitor", names=[monitor], state="restarted", timeout=timeout, critical=False)
        if monitor_ready:
            step["pattern"] = monitor_ready
        steps.append(step)
    return steps


def state_exposure(state):
    """What an export_state.py JSON shows a trader holds: open positions and open orders, and one line for each."""
    state = state if isinstance(state, dict) else {}
    positions = [p for p in state.get("positions") or [] if isinstance(p, dict)]
    orders = [o for o in state.get("open_orders") or [] if isinstance(o, dict)]
    lines = []
    for p in positions:
        size = p.get("size", p.get("qty", p.get("szi", "?")))
        entry = p.get("entry_price", p.get("entry_px", p.get("entryPx", "?")))
        lines.append("position %s %s size %s entry %s" % (p.get("symbol", "?"), p.get("side", p.get("type", "?")), size, entry))
    for o in orders:
        lines.append("open order %s %s %s @ %s" % (o.get("symbol", o.get("coin", "?")), o.get("side", "?"),
                                                   o.get("qty", o.get("sz", o.get("size", "?"))), o.get("price", o.get("limit_px", o.get("limitPx", "?")))))
    return dict(positions=len(positions), open_orders=len(orders), lines=lines)


class FilterModule:
    def filters(self):
        return dict(bot_outcome=bot_outcome, state_exposure=state_exposure, restart_plan=restart_plan)
