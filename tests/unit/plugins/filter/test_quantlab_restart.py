"""QuantLab's ordered restart: which services a restart touches, the unit_gate steps in the dependency order, the
host's outcome (critical path, killed units, the failed service) and the graph as the probes take it (the findings
of the "Service Won't Start" probes: tests/unit/plugins/module_utils/test_quantlab_findings_logic.py)."""

from pathlib import Path

import pytest
import yaml
from ansible_collections.quantops.runbooks.plugins.filter import quantlab as qf
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _quantlab_restart as qr
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph as g

REPO = Path(__file__).resolve().parents[4]
SERVICES = yaml.safe_load((REPO / "roles" / "quantlab" / "vars" / "main.yml").read_text())["quantlab_services"]
PORTS = yaml.safe_load((REPO / "roles" / "quantlab" / "defaults" / "main.yml").read_text())["quantlab_ports"]
ALL = [s["name"] for s in SERVICES]


def test_a_service_brings_everything_that_depends_on_it_transitively():
    assert g.closure(SERVICES, "featurexd") == ["featurexd", "labeld"]
    assert g.closure(SERVICES, ["featurexd"], with_dependents=False) == ["featurexd"]
    assert g.closure(SERVICES, "strategyd") == ["strategyd", "backtestd", "job-worker", "observer", "observer-api", "console-ui"]
    assert g.closure(SERVICES, "replayd") == [n for n in ALL if n != "collector"]
    assert g.closure(SERVICES, "labeld, collector") == ["collector", "labeld"]
    assert g.closure(SERVICES, "all") == ALL == g.closure(SERVICES, None) == g.closure(SERVICES, [])


def test_an_unknown_service_is_named_with_the_known_ones():
    with pytest.raises(g.GraphError, match=r"service_closure: unknown service 'featurex'; the services are: replayd, "):
        qf.service_closure(SERVICES, "featurex")


def test_the_plan_stops_in_reverse_group_order_and_starts_group_by_group_gated_on_health():
    steps = qf.quantlab_restart_plan(SERVICES, "all", deadline=30, ports=PORTS, env_dir="/etc/quantlab")
    assert [s["name"] for s in steps] == ["stop group 4", "stop group 3", "stop group 2", "stop group 1",
                                          "group 1", "group 2", "group 3", "group 4"]
    assert steps[0]["names"] == ["quantlab-observer-core", "quantlab-observer", "quantlab-console-ui"]
    assert all(s["state"] == "stopped" for s in steps[:4]) and all(s["timeout"] == 30.0 for s in steps)
    g2 = steps[5]
    assert g2 == dict(name="group 2", names=["quantlab-featurexd", "quantlab-strategyd"], state="started", proof="http", timeout=30.0,
                      health={"quantlab-featurexd": dict(port=3051, path="/health", timeout=2.0),
                              "quantlab-strategyd": dict(port=3031, path="/health", timeout=2.0)})
    g3, g4 = steps[6], steps[7]
    assert "quantlab-worker" in g3["names"] and "quantlab-worker" not in g3["health"]  # no port: its unit being active proves it
    assert g4["health"]["quantlab-observer"]["path"] == "/ping"  # the real observer-api has no /health
    # the core observer's health path needs its token: by reference, never a value
    assert g4["health"]["quantlab-observer-core"]["token"] == dict(env_file="/etc/quantlab/observer.env", var="OBSERVER_TOKEN")


def test_a_partial_plan_touches_only_the_closure():
    steps = qr.plan(SERVICES, "featurexd", ports=PORTS)
    expected = [("stop group 3", ["quantlab-labeld"]), ("stop group 2", ["quantlab-featurexd"]), ("group 2", ["quantlab-featurexd"]),
                ("group 3", ["quantlab-labeld"])]
    assert [(s["name"], s["names"]) for s in steps] == expected
    assert [s["names"] for s in qr.plan(SERVICES, "featurexd", with_dependents=False, ports=PORTS)] == [["quantlab-featurexd"]] * 2


@pytest.mark.parametrize("deadline", [0, 0.5, 3601])
def test_a_deadline_out_of_range_is_refused(deadline):
    with pytest.raises(g.GraphError, match="deadline="):
        qf.quantlab_restart_plan(SERVICES, deadline=deadline, ports=PORTS)


def _step(name, units, **kw):
    return dict(name=name, names=list(units), units=units, failed=False, **kw)


def test_the_outcome_gives_the_critical_path_beside_the_wall_time_and_the_killed_service():
    result = dict(elapsed=14.2, steps=[
        _step("stop group 2", {"quantlab-strategyd.service": dict(action="stopped", stop_result="timeout", killed=True),
                               "quantlab-featurexd.service": dict(action="stopped", stop_result="success", killed=False)}),
        _step("group 1", {"quantlab-replayd.service": dict(ready_s=0.5), "quantlab-collector.service": dict(ready_s=0.9)}),
        _step("group 2", {"quantlab-featurexd.service": dict(ready_s=0.7), "quantlab-strategyd.service": dict(ready_s=1.1)}),
    ])
    out = qf.quantlab_restart_outcome(result, SERVICES, wall_s=15.0)
    assert out["status"] == "RESTARTED"
    assert out["critical_path_s"] == 2.0 and out["killed"] == ["strategyd"]
    assert out["summary"] == ("restarted replayd, collector, featurexd, strategyd in order; wall 15.0s (module 14.2s), critical path 2.0s; "
                              "killed after its stop timeout (ignored SIGTERM): strategyd")
    assert out["details"] == ["group 1: replayd 0.5s, collector 0.9s (slowest 0.9s)", "group 2: featurexd 0.7s, strategyd 1.1s (slowest 1.1s)"]
    assert qf.quantlab_restart_outcome(result, SERVICES, check_mode=True)["status"] == "WOULD_RESTART"


def test_a_missed_deadline_names_the_service_and_the_groups_not_done():
    result = dict(failed=True, elapsed=3.0, msg="step group 2 failed", steps=[
        _step("group 2", {"quantlab-featurexd.service": dict(ready_s=None)}, failed_units=["quantlab-featurexd.service"],
              msg="quantlab-featurexd.service: its process ended: now activating/auto-restart, result exit-code"),
        dict(name="group 3", skipped=True, msg="not done: step group 2 failed"),
    ])
    result["steps"][0]["failed"] = True
    out = qr.outcome(result, SERVICES)
    assert out["status"] == "FAILED" and out["failed_service"] == "featurexd" and out["failed_unit"] == "quantlab-featurexd.service"
    assert out["summary"].startswith("featurexd did not answer healthy: quantlab-featurexd.service: its process ended")
    assert "group 3: not done" in out["details"]
    assert qr.outcome(dict(unreachable=True, msg="ssh"), SERVICES)["status"] == "FAILED"
    assert qr.outcome(dict(failed=True, msg="steps[0]: bad"), SERVICES)["summary"] == "no restart was done: steps[0]: bad"


def test_the_probe_gets_the_graph_with_port_numbers_env_paths_and_token_names_only():
    rows = qf.quantlab_probe_services(SERVICES, PORTS, "/etc/quantlab")
    by = dict((r["name"], r) for r in rows)
    assert [r["name"] for r in rows] == ALL
    assert by["featurexd"] == dict(name="featurexd", unit="quantlab-featurexd", critical=True, after=["replayd"], port=3051,
                                   env_file="/etc/quantlab/featurexd.env", token_var="FEATUREXD_TOKEN",
                                   health=dict(port=3051, path="/health", timeout=3.0))
    assert by["observer-api"]["health"]["path"] == "/ping"
    assert by["observer"]["health"]["token"] == dict(env_file="/etc/quantlab/observer.env", var="OBSERVER_TOKEN")
    assert by["job-worker"]["health"] is None and "port" not in by["job-worker"]
    assert not by["console-ui"]["critical"]
    with pytest.raises(g.GraphError, match="quantlab_probe_services: service 'replayd' names port 'replayd', which is not a key"):
        qf.quantlab_probe_services(SERVICES, {}, "/etc/quantlab")


def test_dependency_endpoints_are_named_by_service_and_skip_those_without_health():
    eps = qf.quantlab_health_endpoints(["strategyd", "job-worker"], SERVICES, PORTS)
    assert eps == [dict(name="strategyd", port=3031, path="/health", timeout=2.0)]


def test_a_refused_stop_fails_the_host_even_in_check_mode():
    result = dict(failed=True, msg="step stop group 3 failed: unit quantlab-labeld.service not found", steps=[
        dict(name="stop group 3", failed=True, msg="unit quantlab-labeld.service not found in the system manager", units={}),
        dict(name="group 3", skipped=True)])
    for check_mode in (False, True):
        out = qr.outcome(result, SERVICES, check_mode)
        assert out["status"] == "FAILED" and out["failed_service"] is None
        assert out["summary"] == "step stop group 3 failed: unit quantlab-labeld.service not found in the system manager"


def test_check_mode_says_what_would_be_restarted():
    result = dict(changed=True, steps=[_step("stop group 2", {"quantlab-featurexd.service": dict(action="stopped")}),
                                       _step("group 2", {"quantlab-featurexd.service": dict(action="started", ready_s=None)})])
    out = qr.outcome(result, SERVICES, True)
    assert out["status"] == "WOULD_RESTART" and out["summary"] == "would restart featurexd in order"
