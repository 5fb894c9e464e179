# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stack's services as a dependency graph, and the parallel groups it implies, in plain Python.

A graph is a list of mappings, one per service, each with a unique ``name`` and ``after``: the names of the services
that must answer healthy before it starts. A service's group (its topological level) is 1 when it depends on nothing,
else one more than the highest group of its dependencies; services of one group can start in parallel once every
service of the groups before them answers. Within a group, services keep the order they are listed in.

``unit_after``, when a service has it, is what its systemd unit is ordered after (``After=``/``Wants=``), if that
differs from ``after``: a start order with no wait for readiness. It may name services of the same group or earlier
ones, never of a later group (the unit would wait for a service that the groups start after it).

No Ansible here: the filter plugin ``service_groups`` and the unit tests call these functions."""

from typing import Any, Dict, List, Mapping, Sequence

DEPENDENCY_KEYS = ("after", "unit_after")


class GraphError(ValueError):
    """A graph that cannot be ordered: the message names the service and what is wrong with it."""


def _names(services: Any) -> List[str]:
    if not isinstance(services, (list, tuple)):
        raise GraphError("the services must be a list of mappings with a name each, not %s" % type(services).__name__)
    names = []
    for i, svc in enumerate(services):
        if not isinstance(svc, Mapping):
            raise GraphError("service #%d is %s, not a mapping with a name and its dependencies" % (i + 1, type(svc).__name__))
        name = svc.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GraphError("service #%d has no name" % (i + 1))
        if name in names:
            raise GraphError("service %r is listed twice: give each service one entry" % name)
        names.append(name)
    return names


def _deps(svc: Mapping[str, Any], key: str, known: Sequence[str]) -> List[str]:
    deps = svc.get(key)
    if deps is None:
        return []
    if isinstance(deps, str) or not isinstance(deps, (list, tuple)):
        raise GraphError("%s of service %r must be a list of service names, not %r" % (key, svc["name"], deps))
    for dep in deps:
        if dep == svc["name"]:
            raise GraphError("service %r depends on itself (%s)" % (dep, key))
        if dep not in known:
            raise GraphError("service %r depends on %r (%s), which is not a service of the graph; known: %s"
                             % (svc["name"], dep, key, ", ".join(known)))
    return list(deps)


def _cycle(start: str, deps: Mapping[str, List[str]]) -> List[str]:
    """One dependency cycle reachable from ``start``, as the path that closes it (a -> b -> a)."""
    path, on_path = [], {}

    def visit(name):
        if name in on_path:
            return path[on_path[name]:] + [name]
        on_path[name] = len(path)
        path.append(name)
        for dep in deps[name]:
            found = visit(dep)
            if found:
                return found
        path.pop()
        del on_path[name]
        return None

    return visit(start) or [start]


def levels(services: Any) -> Dict[str, int]:
    """{name: group number from 1} of every service; GraphError for a malformed graph, an unknown dependency or a
    cycle (the message shows the cycle)."""
    names = _names(services)
    deps = dict((svc["name"], _deps(svc, "after", names)) for svc in services)
    for svc in services:
        _deps(svc, "unit_after", names)
    level: Dict[str, int] = {}
    # Kahn's algorithm by rounds: a round takes every service whose dependencies all have a level.
    todo = list(names)
    while todo:
        ready = [n for n in todo if all(d in level for d in deps[n])]
        if not ready:
            raise GraphError("the dependencies form a cycle: %s; no order can start these services"
                             % " -> ".join(_cycle(todo[0], dict((n, [d for d in deps[n] if d not in level]) for n in todo))))
        for n in ready:
            level[n] = 1 + max([level[d] for d in deps[n]] or [0])
        todo = [n for n in todo if n not in level]
    for svc in services:
        for dep in svc.get("unit_after") or []:
            if level[dep] > level[svc["name"]]:
                name = svc["name"]
                raise GraphError("unit_after of service %r names %r, which starts in a later group (%d, %r is in %d): its unit "
                                 "would wait for a service started after it" % (name, dep, level[dep], name, level[name]))
    return level


def groups(services: Any) -> List[List[str]]:
    """The parallel groups, first to last, each the names of its services in the order they are listed."""
    level = levels(services)
    count = max(level.values() or [0])
    return [[svc["name"] for svc in services if level[svc["name"]] == n] for n in range(1, count + 1)]


def closure(services: Any, selected: Any, with_dependents: bool = True) -> List[str]:
    """The services a restart of ``selected`` touches, in the graph's order: the selected ones and, with
    ``with_dependents``, every service that depends on one of them through ``after``, directly or not (a service
    restarted under a running dependent would leave that dependent on a stale connection). ``selected`` is a list
    of names or a comma-separated string; empty (or ``all``) means every service. An unknown name raises GraphError."""
    level = levels(services)  # also checks the graph
    names = [svc["name"] for svc in services]
    if isinstance(selected, str):
        selected = [s.strip() for s in selected.split(",") if s.strip()]
    selected = list(selected or [])
    if not selected or selected == ["all"]:
        return names
    unknown = [s for s in selected if s not in level]
    if unknown:
        raise GraphError("unknown service %s; the services are: %s" % (", ".join(repr(u) for u in unknown), ", ".join(names)))
    chosen = set(selected)
    if with_dependents:
        grew = True
        while grew:
            grew = False
            for svc in services:
                if svc["name"] not in chosen and chosen.intersection(svc.get("after") or []):
                    chosen.add(svc["name"])
                    grew = True
    return [n for n in names if n in chosen]
