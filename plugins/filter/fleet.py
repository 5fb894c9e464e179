# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet decisions of the flows, in Python: one host's outcome from its module results, and the summary of every
targeted host (a host that left no outcome was unreachable or failed before it could record one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# worst first: the host's status is the worst of its results
KILL_ORDER = ("UNPROTECTED", "NOT_CLEARED", "PROTECTED", "CLEARED", "ENGAGED", "WOULD_ENGAGE", "WOULD_CLEAR",
              "NO_KILL_SWITCH", "NOT_RUNNING", "UNCHANGED")


def kill_outcome(results, stopped=False):
    """One host's outcome from the kill_switch results of its loop: the worst status, with every summary."""
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
    if stopped:
        return dict(status="STOPPED", effective_mode=mode, summary="%s in force, trader units stopped (option C)" % mode)
    return dict(status=status, effective_mode=mode, summary=" | ".join(summaries))


def fleet_summary(hosts, outcomes, ok_statuses, missing="UNREACHABLE: no outcome (unreachable, or failed before it recorded one)"):
    """Lines for every targeted host (in the order given) and which hosts fail the run.

    ``outcomes`` is a list parallel to ``hosts`` of dicts with ``status`` and ``summary`` (empty when the host left
    none). Returns dict(lines, failed, msg)."""
    lines, failed = [], []
    for host, given in zip(hosts, outcomes):
        outcome = given if isinstance(given, dict) else {}
        status = outcome.get("status")
        if not status:
            lines.append("%-16s %-14s %s" % (host, "UNREACHABLE", missing))
            failed.append(host)
            continue
        mode = outcome.get("effective_mode")
        lines.append("%-16s %-14s %s%s" % (host, status, "%s: " % mode if mode else "", outcome.get("summary", "")))
        if status not in ok_statuses:
            failed.append(host)
    if failed:
        msg = "%d of %d host(s) not OK: %s" % (len(failed), len(lines), ", ".join(failed))
    else:
        msg = "all %d host(s) OK" % len(lines)
    return dict(lines=lines, failed=failed, msg=msg)


class FilterModule(object):
    def filters(self):
        return dict(kill_outcome=kill_outcome, fleet_summary=fleet_summary)
