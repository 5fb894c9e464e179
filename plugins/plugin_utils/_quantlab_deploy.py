# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QuantLab's deploy, in plain Python: which services a change touches (a map of path prefixes to services, the
longest prefix wins), the host's outcome of the deploy (and of its revert), and the JUnit XML of a run for CI.

No Ansible here: the filter plugins of plugins/filter/quantlab.py and the unit tests call these functions."""

from typing import Any, Dict, List, Mapping, Optional, Sequence
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.quantops.runbooks.plugins.plugin_utils import _quantlab_restart as qr
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph as g

RUNTIME = "runtime:"
OK = ("DEPLOYED", "UNCHANGED", "WOULD_DEPLOY")


def _expand(item: str, services: Sequence[Mapping[str, Any]], prefix: str) -> List[str]:
    names = [svc["name"] for svc in services]
    if item == "all":
        return names
    if item.startswith(RUNTIME):
        runtime = item[len(RUNTIME):]
        found = [svc["name"] for svc in services if svc.get("runtime", "node") == runtime]
        if not found:
            raise g.GraphError("path map: %r names runtime %r, which no service has" % (prefix, runtime))
        return found
    if item not in names:
        raise g.GraphError("path map: %r names %r, which is not a service of the graph; known: %s" % (prefix, item, ", ".join(names)))
    return [item]


def check_path_map(path_map: Any, services: Sequence[Mapping[str, Any]]) -> Dict[str, List[str]]:
    """{prefix: [service names]}: each value a list of service names, ``all`` or ``runtime:<runtime>`` (the services
    whose graph entry has that ``runtime``, node when not said). A prefix ending in '/' is a directory, another one a
    file; an empty list means the path restarts nothing."""
    if not isinstance(path_map, Mapping):
        raise g.GraphError("the path map must be a mapping of path prefixes to lists of services, not %s" % type(path_map).__name__)
    g.levels(services)
    out = {}
    for prefix, items in path_map.items():
        if not isinstance(prefix, str) or not prefix or prefix.startswith("/"):
            raise g.GraphError("path map: %r is not a path prefix relative to the repository (e.g. services/labeld/)" % (prefix,))
        if isinstance(items, str) or not isinstance(items, (list, tuple)):
            raise g.GraphError("path map: %r must map to a list of services, not %r" % (prefix, items))
        names: List[str] = []
        for item in items:
            names += [n for n in _expand(str(item), services, prefix) if n not in names]
        out[prefix] = names
    return out


def services_for_paths(paths: Optional[Sequence[str]], path_map: Any, services: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """The services a change touches: for each changed path the entry of its longest matching prefix (a directory
    prefix matches what is below it, a file prefix itself). ``paths`` None (not known: a first release) means every
    service. Returns services (graph order), by_service {name: [paths]}, unmatched (paths no prefix covers: they restart
    nothing) and restart (services plus their dependents, graph order: what the restart will touch)."""
    table = check_path_map(path_map, services)
    order = [svc["name"] for svc in services]
    if paths is None:
        return dict(services=order, by_service={}, unmatched=[], restart=order, known=False)
    by_service: Dict[str, List[str]] = {}
    unmatched = []
    for path in paths:
        best = None
        for prefix in table:
            hit = path.startswith(prefix) if prefix.endswith("/") else path == prefix
            if hit and (best is None or len(prefix) > len(best)):
                best = prefix
        if best is None:
            unmatched.append(path)
            continue
        for name in table[best]:
            by_service.setdefault(name, []).append(path)
    chosen = [n for n in order if n in by_service]
    restart = g.closure(services, chosen, True) if chosen else []
    return dict(services=chosen, by_service=by_service, unmatched=unmatched, restart=restart, known=True)


def _gate_failed(gate: Any, services: Sequence[Mapping[str, Any]]) -> bool:
    """A restart (unit_gate result, registered with failed_when false) that did not bring every service up."""
    if not isinstance(gate, Mapping) or gate.get("skipped"):
        return False
    return bool(gate.get("unreachable")) or qr.outcome(gate, services).get("status") == "FAILED"


def _health_rows(health: Any) -> Dict[str, Mapping[str, Any]]:
    rows = (health or {}).get("endpoints") if isinstance(health, Mapping) else None
    return dict((row.get("name"), row) for row in rows or [] if isinstance(row, Mapping))


def _service_lines(names: Sequence[str], gate: Any, health: Any, services: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    ready = {}
    if isinstance(gate, Mapping) and gate.get("steps"):
        ready = qr.outcome(gate, services).get("ready_s") or {}
    rows = _health_rows(health)
    by_name = dict((svc["name"], svc) for svc in services)
    out = []
    for name in names:
        row = rows.get(name)
        if row is not None:
            state = "healthy" if row.get("healthy") else "UNHEALTHY (%s)" % (row.get("error") or row.get("status"))
            latency = None if row.get("latency_s") is None else round(float(row["latency_s"]) * 1000, 1)
        elif not by_name.get(name, {}).get("health"):
            state, latency = "active (no health endpoint)", None
        else:
            state, latency = "not checked", None
        out.append(dict(name=name, health=state, healthy=row.get("healthy") if row is not None else None, ready_s=ready.get(name),
                        latency_ms=latency))
    return out


def _service_detail(svc: Mapping[str, Any]) -> str:
    ready = "-" if svc["ready_s"] is None else "%.1fs" % svc["ready_s"]
    latency = "" if svc["latency_ms"] is None else ", answered in %sms" % svc["latency_ms"]
    return "%s: %s, ready %s%s" % (svc["name"], svc["health"], ready, latency)


def _short(sha: Any) -> str:
    return str(sha)[:12] if sha else "-"


def _release_details(release: Mapping[str, Any], touched: Mapping[str, Any]) -> List[str]:
    details = []
    paths = release.get("changed_paths")
    if release.get("migrated"):
        details.append("migrated the plain checkout into release %s" % _short(release.get("previous") or release.get("release")))
    if paths is not None:
        details.append("changed paths: %d (%s%s)" % (len(paths), ", ".join(paths[:8]), ", ..." if len(paths) > 8 else ""))
    if touched.get("unmatched"):
        details.append("paths that restart nothing: %s" % ", ".join(touched["unmatched"][:8]))
    if release.get("reused"):
        details.append("release was still installed: switched to it without a build")
    elif release.get("npm_plan") is not None:
        details.append("npm ci: %s" % (", ".join(release.get("npm_ci") or []) or "none (no lockfile changed)"))
    if release.get("no_lockfile_changed"):
        details.append("package.json changed without a lockfile (not installed): %s" % ", ".join(release["no_lockfile_changed"]))
    if release.get("pruned"):
        details.append("removed old releases: %s" % ", ".join(_short(s) for s in release["pruned"]))
    return details


def _one_line(text: Any, limit: int = 400) -> str:
    return " ".join(str(text or "").split())[:limit]


def _check_outcome(base: Dict[str, Any], release: Mapping[str, Any], touched: Mapping[str, Any], version: str) -> Dict[str, Any]:
    if not release.get("changed"):
        return dict(base, status="UNCHANGED", summary="%s is already the current release %s" % (version, _short(release.get("release"))))
    what = ", ".join(base["restart"]) if touched.get("known", True) and base["restart"] else "the services the change touches (known after the fetch)"
    return dict(base, status="WOULD_DEPLOY", summary="would deploy %s (%s over %s) and restart %s" % (
        version, _short(release.get("release")), _short(release.get("previous")), what))


def _forward_outcome(base: Dict[str, Any], release: Mapping[str, Any], *, gate: Any, services: Sequence[Mapping[str, Any]],  # noqa: PLR0913
                     unhealthy: List[str], version: str, wall: str) -> Dict[str, Any]:
    if _gate_failed(gate, services):
        return dict(base, status="FAILED", summary="%s deployed but the restart failed and nothing was reverted: %s" % (
            version, qr.outcome(gate, services).get("summary")))
    if unhealthy:
        return dict(base, status="FAILED", summary="%s deployed; unhealthy after the restart: %s" % (version, ", ".join(unhealthy)))
    return dict(base, status="DEPLOYED", summary="deployed %s (%s over %s): restarted %s%s" % (
        version, _short(release.get("release")), _short(release.get("previous")), ", ".join(base["restart"]) or "nothing", wall))


# PLR0913: the results of the steps, keyword-only
def _revert_outcome(base: Dict[str, Any], release: Mapping[str, Any], *, steps: Mapping[str, Any],  # noqa: PLR0913
                    services: Sequence[Mapping[str, Any]], unhealthy: List[str], version: str, wall: str) -> Dict[str, Any]:
    gate, revert, regate = steps.get("gate"), steps.get("revert"), steps.get("regate")
    why = qr.outcome(gate, services).get("summary") if _gate_failed(gate, services) else _one_line(release.get("msg"))
    base["details"].insert(0, "new release %s failed: %s" % (_short(release.get("release")), why))
    previous = _short(release.get("previous"))
    if not _switched_back(revert):
        return dict(base, status="FAILED", summary="%s failed AND the revert to %s failed: %s; fix the host by hand" % (
            version, previous, _one_line((revert or {}).get("msg"))))
    if _gate_failed(regate, services) or unhealthy:
        cause = qr.outcome(regate, services).get("summary") if _gate_failed(regate, services) else "see details"
        return dict(base, status="FAILED", summary="%s failed; reverted to %s but %s not healthy: %s" % (
            version, previous, ", ".join(unhealthy) or "the restart was", cause))
    return dict(base, status="REVERTED", summary="%s failed and was reverted: %s is current again, %s restarted and healthy%s" % (
        version, previous, ", ".join(base["restart"]), wall))


# PLR0913: the results of each step of the flow, keyword-only
def outcome(release: Any, services: Sequence[Mapping[str, Any]], *, touched: Optional[Mapping[str, Any]] = None,  # noqa: PLR0913
            gate: Any = None, revert: Any = None, regate: Any = None, health: Any = None, check_mode: bool = False,
            wall_s: Optional[float] = None, version: str = "") -> Dict[str, Any]:
    """The host's outcome: DEPLOYED, UNCHANGED, WOULD_DEPLOY, REVERTED (the new release failed and the previous one is
    back, healthy: still a failure of the deploy), or FAILED (the revert did not restore a healthy previous release, or
    nothing could be deployed). With the services restarted, each one's health and readiness time, and the wall time.
    revert_needed says (before a revert was tried) that the new release is current and failed: switch back."""
    wall = "" if wall_s is None else " in %.1fs" % float(wall_s)
    base = dict(version=version, release=None, previous=None, services=[], restart=[], service_health=[], details=[], wall_s=wall_s,
                revert_needed=False)
    if not isinstance(release, Mapping) or release.get("unreachable"):
        return dict(base, status="FAILED", summary="unreachable: %s" % _one_line((release or {}).get("msg", "no result")))
    touched = touched or {}
    base.update(release=release.get("release"), previous=release.get("previous"), services=list(touched.get("services") or []),
                restart=list(touched.get("restart") or []), unmatched=list(touched.get("unmatched") or []),
                details=_release_details(release, touched))
    late = bool(_failed(release) and release.get("step") in ("switch", "prune") and release.get("previous"))
    base["revert_needed"] = bool(revert is None and not check_mode and release.get("previous") and (late or _gate_failed(gate, services)))
    if _failed(release) and not late:
        return dict(base, status="FAILED", summary="%s not deployed, nothing switched nor restarted (step %s): %s" % (
            version, release.get("step"), _one_line(release.get("msg"), 500)))
    if check_mode:
        return _check_outcome(base, release, touched, version)
    if not release.get("switched") and not late and not base["restart"] and not _gate_failed(gate, services):
        return dict(base, status="UNCHANGED", summary="%s is already the current release %s: nothing restarted%s" % (
            version, _short(release.get("release")), wall))
    lines = _service_lines(base["restart"], regate if revert is not None else gate, health, services)
    base["service_health"] = lines
    base["details"] += [_service_detail(line) for line in lines]
    unhealthy = [s["name"] for s in lines if s["healthy"] is False]
    if revert is None:
        return _forward_outcome(base, release, gate=gate, services=services, unhealthy=unhealthy, version=version, wall=wall)
    return _revert_outcome(base, release, steps=dict(gate=gate, revert=revert, regate=regate), services=services, unhealthy=unhealthy,
                           version=version, wall=wall)


def _failed(result: Any) -> bool:
    """An app_release result (registered with failed_when false, so failed may be cleared) that did not finish."""
    return isinstance(result, Mapping) and (bool(result.get("failed")) or result.get("step") != "done")


def _switched_back(revert: Any) -> bool:
    return isinstance(revert, Mapping) and not _failed(revert) and not revert.get("unreachable") and not revert.get("skipped")


def junit(hosts: Sequence[str], outcomes: Sequence[Any], name: str = "quantlab_deploy") -> str:
    """JUnit XML of a run: per host one test case for the deploy and one per restarted service (its readiness as the
    time, a failure when it did not answer healthy). A host with no outcome (not reached: the run stopped earlier) is a
    skipped case."""
    cases = []
    for host, given in zip(hosts, outcomes):
        out = given if isinstance(given, Mapping) and given.get("status") else None
        if out is None:
            cases.append('  <testcase classname=%s name="deploy" time="0"><skipped message="NOT DONE: the run stopped at an earlier host"/></testcase>'
                         % quoteattr(host))
            continue
        body = "<system-out>%s</system-out>" % escape("\n".join([out.get("summary", "")] + list(out.get("details") or [])))
        if out["status"] not in OK:
            body = '<failure message=%s type="%s"/>' % (quoteattr(out.get("summary", "")), out["status"]) + body
        cases.append('  <testcase classname=%s name=%s time="%.3f">%s</testcase>' % (
            quoteattr(host), quoteattr("deploy %s" % out.get("version", "")), float(out.get("wall_s") or 0), body))
        for svc in out.get("service_health") or []:
            fail = "" if svc.get("healthy") is not False else '<failure message=%s type="UNHEALTHY"/>' % quoteattr(svc.get("health", ""))
            cases.append('  <testcase classname=%s name=%s time="%.3f">%s</testcase>' % (
                quoteattr(host), quoteattr("service %s" % svc["name"]), float(svc.get("ready_s") or 0), fail))
    failures = sum(1 for c in cases if "<failure" in c)
    skipped = sum(1 for c in cases if "<skipped" in c)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="%d">\n%s\n'
            ' </testsuite>\n</testsuites>\n' % (quoteattr(name), len(cases), failures, skipped, "\n".join(cases)))
