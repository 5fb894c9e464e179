# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QuantLab's flows: which services, the unit_gate steps and outcome of the ordered restart, the graph as the module
quantlab_probe takes it, the outcomes of quantlab_health and quantlab_troubleshoot (plugin_utils._service_graph,
plugin_utils._quantlab_restart, module_utils._quantlab_findings), and the deploy's services a change touches, outcome
and JUnit XML (plugin_utils._quantlab_deploy)."""

from ansible_collections.quantops.runbooks.plugins.module_utils import _quantlab_findings as qf
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _quantlab_deploy as qd
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _quantlab_restart as qr
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph


def _graph_errors(name, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except _service_graph.GraphError as e:
        raise _service_graph.GraphError("%s: %s" % (name, e)) from None


def service_closure(services, selected=None, with_dependents=True):
    """The services a restart of ``selected`` touches (with what depends on them), in the graph's order."""
    return _graph_errors("service_closure", _service_graph.closure, services, selected, with_dependents)


# PLR0913: the plan's options, keyword-only
def quantlab_restart_plan(services, selected=None, *, with_dependents=True, deadline=60, ports=None, env_dir="/etc/quantlab"):  # noqa: PLR0913
    """unit_gate steps of the ordered restart: reverse-order stops, then the groups started with proof=http."""
    return _graph_errors("quantlab_restart_plan", qr.plan, services, selected, with_dependents=with_dependents, deadline=deadline,
                         ports=ports, env_dir=env_dir)


def quantlab_restart_outcome(result, services, check_mode=False, wall_s=None):
    """The host's outcome of the restart (status, summary, details, killed, critical path, failed service)."""
    return qr.outcome(result, services, check_mode, None if wall_s is None else round(float(wall_s), 3))


def quantlab_probe_services(services, ports, env_dir="/etc/quantlab"):
    """The ``services`` option of quantops.runbooks.quantlab_probe from the graph (quantlab_services)."""
    return _graph_errors("quantlab_probe_services", qr.probe_services, services, ports, env_dir)


def quantlab_health_outcome(result):
    """One host's quantlab_health outcome (status, summary, causes, warnings, table, report) of its quantlab_probe result."""
    return qf.health_outcome(result)


def quantlab_troubleshoot_outcome(result):
    """One host's quantlab_troubleshoot outcome (status, summary, lines) of its quantlab_probe result with troubleshoot."""
    return qf.troubleshoot_outcome(result)


def quantlab_health_endpoints(names, services, ports, env_dir="/etc/quantlab"):
    """http_health endpoints (named by service) of the services ``names`` that have a health endpoint."""
    return _graph_errors("quantlab_health_endpoints", qr.health_endpoints, names, services, ports, env_dir)


def quantlab_deploy_services(paths, path_map, services):
    """The services a deploy's changed paths touch (longest prefix of the path map wins), and with their dependents."""
    return _graph_errors("quantlab_deploy_services", qd.services_for_paths, paths, path_map, services)


# PLR0913: the results of each step of the deploy, keyword-only
def quantlab_deploy_outcome(release, services, *, touched=None, gate=None, revert=None, regate=None, health=None,  # noqa: PLR0913
                            check_mode=False, wall_s=None, version=""):
    """The host's outcome of the deploy (DEPLOYED, UNCHANGED, WOULD_DEPLOY, REVERTED, FAILED)."""
    return qd.outcome(release, services, touched=touched, gate=gate, revert=revert, regate=regate, health=health,
                      check_mode=check_mode, wall_s=None if wall_s is None else round(float(wall_s), 3), version=str(version))


def quantlab_deploy_junit(hosts, outcomes, name="quantlab_deploy"):
    """JUnit XML of the run: a case per host and per restarted service."""
    return qd.junit(hosts, outcomes, name)


class FilterModule:
    def filters(self):
        return dict(service_closure=service_closure, quantlab_restart_plan=quantlab_restart_plan,
                    quantlab_restart_outcome=quantlab_restart_outcome, quantlab_probe_services=quantlab_probe_services,
                    quantlab_health_outcome=quantlab_health_outcome, quantlab_troubleshoot_outcome=quantlab_troubleshoot_outcome,
                    quantlab_health_endpoints=quantlab_health_endpoints, quantlab_deploy_services=quantlab_deploy_services,
                    quantlab_deploy_outcome=quantlab_deploy_outcome, quantlab_deploy_junit=quantlab_deploy_junit)
