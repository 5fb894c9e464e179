# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet decisions of the flows, in Python: one host's outcome from its module results, and the summary of every
targeted host (a host that left no outcome was unreachable or failed before it could record one)."""

# worst first: the host's status is the worst of its results
DEFAULT_KILL_FILE = "/tmp/ai-quant-kill"
KILL_ORDER = ("UNREACHABLE", "UNPROTECTED", "NOT_CLEARED", "PROTECTED", "CLEARED", "ENGAGED", "WOULD_ENGAGE", "WOULD_CLEAR",
              "NO_KILL_SWITCH", "NOT_RUNNING", "UNCHANGED")


def kill_outcome(results, stopped=False, stop_results=None):
    """One host's outcome from the kill_switch results of its loop (a list, or the registered dict that holds it):
    the worst status, with every summary. A failed result says why; ``stop_results`` are option C's, which may
    have failed too."""
    if isinstance(results, dict):
        results = results.get("results", [results])
    unreachable = [r for r in (results or []) if isinstance(r, dict) and r.get("unreachable")]
    if unreachable:
        return dict(status="UNREACHABLE", effective_mode="unknown",
                    summary=" ".join(str(unreachable[0].get("msg", "no connection to the host")).split())[:300])
    # a run that failed (kept in the play with failed_when: false) has no status, only its message
    failed = [r for r in (results or []) if isinstance(r, dict) and "status" not in r and not r.get("skipped")
              and (r.get("failed") or "msg" in r)]
    if failed:
        return dict(status="UNPROTECTED", effective_mode="unknown", summary=" ".join(str(failed[0].get("msg", failed[0])).split())[:300])
    results = [r for r in (results or []) if isinstance(r, dict) and "status" in r]
    if not results:
        return dict(status="UNPROTECTED", effective_mode="unknown", summary="the kill switch module returned nothing")
    statuses = [r["status"] for r in results]
    status = min(statuses, key=lambda s: KILL_ORDER.index(s) if s in KILL_ORDER else -1)
    # a unit that runs no trader, or a paper one, says nothing worth repeating beside a verdict on a live trader
    decisive = ("UNPROTECTED", "NOT_CLEARED", "PROTECTED", "CLEARED")
    if status in decisive:
        results = [r for r in results if r["status"] in decisive]
    summaries = []
    for r in results:
        if r.get("summary") and r["summary"] not in summaries:
            summaries.append(r["summary"])
    mode = results[0].get("effective_mode", "unknown")
    if status == "NO_KILL_SWITCH":
        mode = "none"  # what the file says does not matter to a trader that reads none
    kill_files = sorted(set(r["kill_file"] for r in results if r.get("kill_file") and r["kill_file"] != DEFAULT_KILL_FILE))
    if kill_files and status in decisive:
        summaries.append("kill file %s" % ", ".join(kill_files))  # not the runbook's: say which one was written
    if stopped:
        bad = [r for r in _results(stop_results) if not r.get("skipped") and r.get("state") != "stopped"]
        if bad:
            return dict(status="UNPROTECTED", effective_mode=mode, summary="%s in force, but option C failed: %s" % (
                mode, " ".join(str(bad[0].get("msg", bad[0])).split())[:250]))
        return dict(status="STOPPED", effective_mode=mode, summary="%s in force, trader units stopped (option C)" % mode)
    return dict(status=status, effective_mode=mode, summary=" | ".join(summaries))


def _results(registered):
    if isinstance(registered, dict):
        return [r for r in registered.get("results", [registered]) if isinstance(r, dict)]
    return [r for r in (registered or []) if isinstance(r, dict)]


def kill_outcome_of(host_vars, stopped=False, engage="es_engage", stop="es_stopped"):
    """kill_outcome of one host from its variables (``hostvars[host]``): its registered kill results ``engage`` and
    option C results ``stop``; {} when it registered none (the fleet summary says so)."""
    if host_vars.get(engage) is None:
        return {}
    return kill_outcome(host_vars.get(engage), stopped=stopped, stop_results=host_vars.get(stop))


MISSING = "UNREACHABLE: no outcome (unreachable, or failed before it recorded one)"


def fleet_summary(hosts, outcomes, ok_statuses, missing=None):
    """Lines for every targeted host (in the order given) and which hosts fail the run.

    ``outcomes`` is a list parallel to ``hosts`` of dicts with ``status`` and ``summary`` (empty when the host left
    none). Returns dict(lines, failed, msg)."""
    missing = missing or MISSING
    lines, failed = [], []
    for host, given in zip(hosts, outcomes):
        outcome = given if isinstance(given, dict) else {}
        status = outcome.get("status")
        if not status:
            word, _sep, why = missing.partition(": ")
            lines.append("%-16s %-14s %s" % (host, word, why or missing))
            failed.append(host)
            continue
        mode = outcome.get("effective_mode")
        lines.append("%-16s %-14s %s%s" % (host, status, "%s: " % mode if mode else "", outcome.get("summary", "")))
        lines.extend("    %s" % detail for detail in outcome.get("details") or [])
        if status not in ok_statuses:
            failed.append(host)
    targeted = len(list(zip(hosts, outcomes)))  # hosts, not lines: a host's detail lines are not hosts
    if failed:
        msg = "%d of %d host(s) not OK: %s" % (len(failed), targeted, ", ".join(failed))
    else:
        msg = "all %d host(s) OK" % targeted
    return dict(lines=lines, failed=failed, msg=msg)


def _short(ref):
    return (ref or "(local)")[:12]


def rollback_outcome(result, running=(), proofs=None, check_mode=False):
    """One host's config rollback outcome from the config_rollback result, the trader units that ran, and the
    journal_check results that proved the new config in their heartbeats."""
    result = result or {}
    to = _short(result.get("to_commit") or result.get("to_blob"))
    keys = ",".join(result.get("changed_keys") or []) or "-"
    head = "%s keys: %s" % (to, keys)
    if not result.get("changed"):
        return dict(status="UNCHANGED", summary="%s | already in place" % head)
    if check_mode:
        return dict(status="WOULD_ROLL_BACK", summary="to %s (now %s), keys: %s%s | check mode: nothing written" % (
            to, _short(result.get("from_commit")), keys, ", restart required" if result.get("restart_required") else ""))
    if not running:
        return dict(status="ROLLED_BACK", summary="%s | no trader running: it loads the file when it starts" % head)
    lines = []
    for proof in (proofs or {}).get("results", []):
        matches = proof.get("matches") or []
        if matches:
            lines.append("%s: %s" % (proof.get("item", "?"), matches[-1].get("message", "")))
    how = "restarted, " if result.get("restart_required") else ""
    return dict(status="ROLLED_BACK", summary="%s | %s%s" % (head, how, " | ".join(lines) or "no proof recorded"))


def db_outcome(candles, funding, bbo=None, trading=None, remediated=None):
    """One host's database check outcome from the four checks' results (bbo and trading None when not checked):
    HEALTHY or UNHEALTHY, a one-line tally, and every problem as a detail line."""
    c, f = candles["totals"], funding["totals"]
    parts = ["candles: %d DBs %d series %d stale %d gaps (%d bars missing) %d dupes%s" % (
        c["databases"], c["series"], c["stale"], c["gaps"], c["missing_in_lookback"], c["duplicates"],
        " %d below min bars" % c["below_min_bars"] if c.get("below_min_bars") else ""),
        "funding: %d symbols %d stale %d gaps" % (f["symbols"], f["stale"], f["gaps"])]
    problems = list(candles.get("problems") or []) + list(funding.get("problems") or [])
    if bbo:
        parts.append("bbo: %d symbols %d stale" % (bbo["totals"]["symbols"], bbo["totals"]["stale"]))
        problems += bbo.get("problems") or []
    if trading:
        names = ", ".join(d["path"].rsplit("/", 1)[-1] for d in trading.get("databases") or [])
        parts.append("trading: %s %s" % (names, "ok" if trading.get("healthy") else "NOT OK"))
        problems += trading.get("problems") or []
    if remediated:
        parts.append("remediated: %s" % ", ".join(remediated))
    return dict(status="UNHEALTHY" if problems else "HEALTHY", summary=" | ".join(parts), details=problems)


class FilterModule:
    def filters(self):
        return dict(kill_outcome=kill_outcome, fleet_summary=fleet_summary, rollback_outcome=rollback_outcome,
                    db_outcome=db_outcome, kill_outcome_of=kill_outcome_of)
