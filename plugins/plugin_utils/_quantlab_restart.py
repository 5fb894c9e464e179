# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QuantLab's ordered restart, in plain Python: the unit_gate steps of a restart and its outcome, and the graph as the
module quantlab_probe takes it (the probes of a service that misses its deadline, and quantlab_health).

The plan stops the services to restart in reverse group order (dependents first, so none runs on a dependency that is
going away) and starts them group by group, each group a unit_gate step with proof=http: a service is up when its
health endpoint answers 200, and a step starts only when every service of the steps before it answered. The real
/health checks no dependency (ERRATA), so this order is the only guarantee of the startup order.

No Ansible here: the filter plugins of plugins/filter/quantlab.py and the unit tests call these functions."""

import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph as g

STOP = "stop group %d"
START = "group %d"
START_STEP = re.compile(r"^group (\d+)$")


def _by_name(services: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    return dict((svc["name"], svc) for svc in services)


def health_endpoint(svc: Mapping[str, Any], services: Sequence[Mapping[str, Any]], ports: Mapping[str, Any],
                    env_dir: str, timeout: float = 2.0) -> Optional[Dict[str, Any]]:
    """The http_health endpoint of a service's health path (its token by reference when the path needs one), or None
    for a service without a port or health path (then its unit being active is its proof)."""
    if not svc.get("health") or not svc.get("port"):
        return None
    if svc["port"] not in ports:
        raise g.GraphError("service %r names port %r, which is not a key of the ports" % (svc["name"], svc["port"]))
    out = dict(port=int(ports[svc["port"]]), path=svc["health"], timeout=float(timeout))
    if svc.get("health_token"):
        owner = _by_name(services).get(svc["health_token"])
        if not owner or not owner.get("env_file") or not owner.get("token_env"):
            raise g.GraphError("service %r: health_token %r names no service with env_file and token_env" % (svc["name"], svc["health_token"]))
        out["token"] = dict(env_file=os.path.join(env_dir, owner["env_file"]), var=owner["token_env"])
    return out


def health_endpoints(names: Sequence[str], services: Sequence[Mapping[str, Any]], ports: Mapping[str, Any],
                     env_dir: str) -> List[Dict[str, Any]]:
    """The http_health endpoints, named by service, of the services ``names`` that have one (in the order given)."""
    by_name = _by_name(services)
    out = []
    for name in names or []:
        if name not in by_name:
            raise g.GraphError("unknown service %r" % name)
        endpoint = health_endpoint(by_name[name], services, ports, env_dir)
        if endpoint:
            out.append(dict(endpoint, name=name))
    return out


def plan(services: Sequence[Mapping[str, Any]], selected: Any = None, *, with_dependents: bool = True,  # noqa: PLR0913
         deadline: float = 60.0, ports: Optional[Mapping[str, Any]] = None, env_dir: str = "/etc/quantlab") -> List[Dict[str, Any]]:
    """unit_gate steps: stop the touched services in reverse group order, then start them group by group, each
    service proven by its health endpoint within ``deadline`` seconds."""
    deadline = float(deadline)
    if not 1 <= deadline <= 3600:
        raise g.GraphError("deadline=%s: give the seconds each service may take to answer, from 1 to 3600" % deadline)
    touched = set(g.closure(services, selected, with_dependents))
    by_name = _by_name(services)
    groups = [(n + 1, [s for s in group if s in touched]) for n, group in enumerate(g.groups(services))]
    groups = [(n, names) for n, names in groups if names]
    steps = []
    for n, names in reversed(groups):
        steps.append(dict(name=STOP % n, names=[by_name[s]["unit"] for s in names], state="stopped", timeout=deadline))
    for n, names in groups:
        health = {}
        for s in names:
            endpoint = health_endpoint(by_name[s], services, ports or {}, env_dir)
            if endpoint:
                health[by_name[s]["unit"]] = endpoint
        steps.append(dict(name=START % n, names=[by_name[s]["unit"] for s in names], state="started", proof="http",
                          health=health, timeout=deadline))
    return steps


def _unit_service(services: Sequence[Mapping[str, Any]]) -> Dict[str, str]:
    out = {}
    for svc in services:
        out[svc["unit"]] = svc["name"]
        out[svc["unit"] + ".service"] = svc["name"]
    return out


def _fmt(seconds: Any) -> str:
    return "-" if seconds is None else "%.1fs" % float(seconds)


def outcome(result: Mapping[str, Any], services: Sequence[Mapping[str, Any]], check_mode: bool = False,
            wall_s: Optional[float] = None) -> Dict[str, Any]:
    """The host's outcome of a unit_gate run of plan()'s steps: status (RESTARTED, WOULD_RESTART, FAILED), a
    summary, one detail line per group (each service's readiness), the services killed after their stop timeout,
    the critical path (sum over start groups of the slowest readiness) beside the wall time, and the service that
    failed (failed_service, failed_unit), for the probes."""
    name_of = _unit_service(services)
    if not isinstance(result, Mapping) or result.get("unreachable"):
        return dict(status="FAILED", summary="unreachable: %s" % (result or {}).get("msg", "no result"), failed_service=None)
    steps = result.get("steps")
    if not steps:
        return dict(status="FAILED", summary="no restart was done: %s" % " ".join(str(result.get("msg", "")).split())[:400],
                    failed_service=None)
    killed, details, critical, ready, touched = [], [], 0.0, {}, []
    failed_service = failed_unit = why = failed_step = None
    for step in steps:
        units = step.get("units") or {}
        if step.get("skipped"):
            details.append("%s: not done" % step["name"])
            continue
        if step.get("failed") and failed_step is None:
            failed_step = step["name"]
            why = " ".join(str(step.get("msg", "")).split())[:400]
        if step["name"].startswith("stop "):
            killed += [name_of.get(u, u) for u, row in units.items() if row.get("killed")]
            continue
        touched += [name_of.get(u, u) for u in units]
        times = dict((name_of.get(u, u), row.get("ready_s")) for u, row in units.items())
        ready.update(dict((s, t) for s, t in times.items() if t is not None))
        slowest = max([t for t in times.values() if t is not None] or [0.0])
        critical += slowest
        details.append("%s: %s (slowest %s)" % (step["name"], ", ".join("%s %s" % (s, _fmt(t)) for s, t in times.items()), _fmt(slowest)))
        if step.get("failed") and failed_service is None and failed_step == step["name"]:
            failed_units = step.get("failed_units") or sorted(units)
            failed_unit = failed_units[0] if failed_units else None
            failed_service = name_of.get(failed_unit, failed_unit)
    elapsed = result.get("elapsed")
    timing = "wall %s (module %s), critical path %s" % (_fmt(wall_s if wall_s is not None else elapsed), _fmt(elapsed), _fmt(critical))
    kill_text = "; killed after its stop timeout (ignored SIGTERM): %s" % ", ".join(killed) if killed else ""
    base = dict(killed=killed, critical_path_s=round(critical, 3), elapsed_s=elapsed, wall_s=wall_s, ready_s=ready, details=details,
                failed_service=failed_service, failed_unit=failed_unit)
    if failed_service:
        return dict(base, status="FAILED", summary="%s did not answer healthy: %s. %s%s" % (failed_service, why, timing, kill_text))
    if failed_step or result.get("failed"):
        return dict(base, status="FAILED", summary="step %s failed: %s%s" % (failed_step or "?", why or result.get("msg"), kill_text))
    if check_mode:
        return dict(base, status="WOULD_RESTART", summary="would restart %s in order" % ", ".join(touched))
    return dict(base, status="RESTARTED", summary="restarted %s in order; %s%s" % (", ".join(touched), timing, kill_text))


def probe_services(services: Sequence[Mapping[str, Any]], ports: Mapping[str, Any], env_dir: str) -> List[Dict[str, Any]]:
    """The ``services`` option of the module quantlab_probe from the graph: per service its name, unit, critical, after,
    port (the number), env file (its path), token variable (its name) and health endpoint (health_endpoint)."""
    g.levels(services)  # checks the graph
    out = []
    for svc in services:
        if svc.get("port") and svc["port"] not in ports:
            raise g.GraphError("service %r names port %r, which is not a key of the ports" % (svc["name"], svc["port"]))
        row = dict(name=svc["name"], unit=svc["unit"], critical=bool(svc.get("critical", True)), after=list(svc.get("after") or []),
                   health=health_endpoint(svc, services, ports, env_dir, timeout=3.0))
        if svc.get("port"):
            row["port"] = int(ports[svc["port"]])
        if svc.get("env_file"):
            row["env_file"] = os.path.join(env_dir, svc["env_file"])
        if svc.get("token_env"):
            row["token_var"] = svc["token_env"]
        out.append(row)
    return out
