# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bot_health's decision, in Python: one host's line from its units_info, sidecar_status, journal_check,
trader_status and candle_db_info results (runbook sections 3 and 5)."""

from ansible_collections.quantops.runbooks.plugins.module_utils import _sidecar

REGISTERED = dict(units="bh_units", sidecar="bh_sidecar", sidecar_journal="bh_sidecar_journal", traders="bh_traders",
                  candles="bh_candles")


def _span(seconds):
    """12.3 -> '12s', 312 -> '5m12s', 7300 -> '2h01m'; None -> '?'."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "?"
    s = int(seconds)
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%dh%02dm" % (s // 3600, s % 3600 // 60)


def _age(seconds):
    return "%.1fs" % seconds if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds < 60 else _span(seconds)


def _failed(result):
    """Why a registered result is no result (failed module, skipped), or None."""
    if not isinstance(result, dict):
        return "no result"
    if result.get("skipped"):
        return None
    if result.get("failed") and "count" not in result and "healthy" not in result and "units" not in result:
        return " ".join(str(result.get("msg", "failed")).split())[:200]
    return None


def _short_unit(unit):
    return unit.replace("openclaw-ai-quant-", "").replace(".service", "")


def health_outcome(units, sidecar, sidecar_journal, traders, candles, expected, window="15m", max_candle_age=120,  # noqa: PLR0912, PLR0913, PLR0917
                   max_reconnects=3):
    """HEALTHY or UNHEALTHY, one line that names each unit, the sidecar, each trader and the candle DBs, and the
    problems; plus the whole data for the JSON report. ``expected``: the units this host must run. A sidecar that lost
    its WebSocket and got it back is counted; more than ``max_reconnects`` disconnects or reconnects in the window
    make the host unhealthy (one that is down now fails its own checks)."""
    results = dict(units=units, sidecar=sidecar, sidecar_journal=sidecar_journal, traders=traders, candles=candles)
    for result in results.values():
        if isinstance(result, dict) and result.get("unreachable"):
            return dict(status="UNREACHABLE", summary=" ".join(str(result.get("msg", "no connection")).split())[:300], problems=[], report={})
    problems, parts = [], []
    for name, result in results.items():
        why = _failed(result)
        if why:
            problems.append("%s check failed: %s" % (name, why))
    unit_info = (units or {}).get("units") or {}
    for unit in expected:
        info = unit_info.get(unit)
        if not info:
            continue
        short = _short_unit(unit)
        if info.get("active_state") == "active":
            parts.append("%s up %s%s" % (short, _span(info.get("since_s")), " (%d restarts)" % info["n_restarts"] if info.get("n_restarts") else ""))
        else:
            parts.append("%s %s" % (short, info.get("active_state") or info.get("load_state")))
            problems.append("%s is %s (%s)" % (unit, info.get("active_state"), info.get("load_state")))
    if isinstance(sidecar, dict) and "healthy" in sidecar:
        ticks = [t.get("age_s") for t in (sidecar.get("ticks") or {}).values() if isinstance(t, dict)]
        oldest = max([t for t in ticks if t is not None], default=None)
        parts.append("sidecar %s mids %s tick %s" % (
            "connected" if sidecar.get("connected") else "NOT connected" if sidecar.get("connected") is False else "no answer",
            _age(sidecar.get("mids_age_s")), _age(oldest)))
        problems.extend("sidecar: %s" % p for p in sidecar.get("problems") or [])
    if isinstance(sidecar_journal, dict) and "matches" in sidecar_journal:
        counts = _sidecar.count_events(m.get("message", "") for m in sidecar_journal["matches"])
        lost, again = counts["disconnects"], counts["reconnects"]
        parts.append("%d disconnects %d reconnects in %s" % (lost, again, window))
        if again > max_reconnects or lost > max_reconnects:
            problems.append("sidecar logged %d disconnect(s) and %d reconnect(s) in the last %s, the last: %s" % (
                lost, again, window, sidecar_journal["matches"][-1].get("message", "")))
    for unit, t in sorted(((traders or {}).get("traders") or {}).items()):
        if not t.get("main_pid"):
            continue
        cfg = "cfg %s%s" % (t.get("loaded_sha1") or "?", "=disk" if t.get("config_in_force") else "!=disk %s" % t.get("disk_sha1")
                            if t.get("config_in_force") is False else "")
        kill = "kill %s" % (t["kill_mode"] if t.get("kill_mode") else "n/a(%s)" % t.get("trader_mode"))
        order = "last order %s" % (t["last_order"] if t.get("last_order") else "none")
        parts.append("%s %s %s err %d %s" % (_short_unit(unit), cfg, kill, t.get("errors", 0), order))
    if isinstance(traders, dict):
        problems.extend("trader %s" % p for p in traders.get("problems") or [])
    dbs = [d for d in ((candles or {}).get("databases") or []) if isinstance(d, dict)]
    if dbs:
        ages = ["%s %s" % (d["path"].rsplit("/", 1)[-1].replace("candles_", "").replace(".db", ""), _age(d.get("last_write_age_s")))
                for d in dbs]
        parts.append("candles " + " ".join(ages))
        for d in dbs:
            age = d.get("last_write_age_s")
            if age is None or age > max_candle_age:
                problems.append("%s last written %s ago (at most %ss)" % (d["path"], _age(age), max_candle_age))
    status = "UNHEALTHY" if problems else "HEALTHY"
    summary = " | ".join(parts)
    if problems:
        summary = "%s | PROBLEMS: %s" % (summary, "; ".join(problems))
    report = dict(status=status, problems=problems, units=unit_info, sidecar=_strip(sidecar), sidecar_journal=_strip(sidecar_journal),
                  traders=(traders or {}).get("traders") if isinstance(traders, dict) else None,
                  candles=[dict(path=d["path"], last_write=d.get("last_write"), last_write_age_s=d.get("last_write_age_s")) for d in dbs])
    return dict(status=status, summary=summary, problems=problems, report=report)


def _strip(result):
    if not isinstance(result, dict):
        return result
    return dict((k, v) for k, v in result.items() if k not in ("invocation", "changed") and not k.startswith("_ansible"))


def health_outcome_of(host_vars, window="15m", max_candle_age=120, max_reconnects=3):
    """health_outcome of one host from its variables (``hostvars[host]``): the results bot_health registered and the
    units it expects there (``bh_expected``); {} when it registered nothing."""
    got = dict((name, host_vars.get(var)) for name, var in REGISTERED.items())
    if got["units"] is None:
        return {}
    return health_outcome(got["units"], got["sidecar"], got["sidecar_journal"], got["traders"], got["candles"],
                          list(host_vars.get("bh_expected") or []), window, max_candle_age, max_reconnects)


class FilterModule:
    def filters(self):
        return dict(health_outcome=health_outcome, health_outcome_of=health_outcome_of)
