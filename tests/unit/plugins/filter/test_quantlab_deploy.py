"""QuantLab's deploy decisions: which services a change touches (the role's path map, longest prefix wins), the host's
outcome for each way a deploy ends (deployed, unchanged, not deployed, reverted, revert failed, check mode) and the
JUnit XML of a run."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from ansible_collections.quantops.runbooks.plugins.filter import quantlab as qf
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _quantlab_deploy as qd
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph as g

REPO = Path(__file__).resolve().parents[4]
SERVICES = yaml.safe_load((REPO / "roles" / "quantlab" / "vars" / "main.yml").read_text())["quantlab_services"]
PATHS = yaml.safe_load((REPO / "roles" / "quantlab" / "defaults" / "main.yml").read_text())["quantlab_deploy_paths"]
ALL = [s["name"] for s in SERVICES]
NODE = [n for n in ALL if n != "collector"]


def touched(paths):
    return qf.quantlab_deploy_services(paths, PATHS, SERVICES)


def test_a_service_directory_touches_that_service_and_its_dependents():
    out = touched(["services/labeld/server.js"])
    assert out["services"] == ["labeld"] and out["restart"] == ["labeld"] and out["unmatched"] == []
    assert touched(["services/featurexd/x.js"])["restart"] == ["featurexd", "labeld"]
    assert touched(["collector/collector.py"])["restart"] == ["collector"]


def test_shared_core_code_touches_every_node_service_but_not_the_collector():
    assert touched(["core/lib/service.js"])["services"] == NODE
    assert touched(["core/execution/engine.js"])["services"] == NODE
    assert touched(["package-lock.json"])["services"] == NODE


def test_the_longest_prefix_wins():
    assert touched(["core/observer-api/index.js"])["services"] == ["observer-api"]
    assert touched(["core/worker/job_worker.js"])["restart"] == ["job-worker", "observer", "observer-api"]


def test_paths_no_prefix_covers_restart_nothing_and_are_listed():
    out = touched(["README.md", "ops/systemd/quantlab-replayd.service"])
    assert out["services"] == [] and out["restart"] == [] and out["unmatched"] == ["README.md", "ops/systemd/quantlab-replayd.service"]


def test_unknown_paths_touch_everything():
    out = touched(None)
    assert out["services"] == ALL and out["known"] is False


def test_a_file_prefix_matches_that_file_only():
    assert touched(["services/package.json"])["services"] == []


@pytest.mark.parametrize("bad, words", [
    ({"services/x/": ["nosuch"]}, "not a service of the graph"),
    ({"services/x/": "labeld"}, "must map to a list"),
    ({"/abs/": ["labeld"]}, "not a path prefix"),
    ({"x/": ["runtime:ruby"]}, "no service has"),
    (["services/"], "must be a mapping"),
])
def test_a_bad_path_map_is_refused_with_the_reason(bad, words):
    with pytest.raises(g.GraphError, match=words):
        qf.quantlab_deploy_services(["a"], bad, SERVICES)


def gate(ok=True, unit="quantlab-labeld.service"):
    steps = [dict(name="stop group 3", units={unit: dict(killed=False)}),
             dict(name="group 3", units={unit: dict(ready_s=0.4 if ok else None)}, failed=not ok,
                  msg="" if ok else "%s: its process ended" % unit, failed_units=[] if ok else [unit])]
    return dict(steps=steps, elapsed=1.0, failed=False, changed=True)


RELEASE = dict(step="done", changed=True, switched=True, release="b" * 40, previous="a" * 40, changed_paths=["services/labeld/server.js"],
               npm_ci=[], npm_plan=dict(npm_ci=[], carry=[], no_lockfile_changed=[]), reused=False, pruned=[])
HEALTHY = dict(endpoints=[dict(name="labeld", healthy=True, status=200, latency_s=0.003)])
SICK = dict(endpoints=[dict(name="labeld", healthy=False, status=None, error="connection refused", latency_s=0.001)])


def outcome(release=None, **kw):
    release = RELEASE if release is None else release
    kw.setdefault("touched", touched(release.get("changed_paths")))
    return qf.quantlab_deploy_outcome(release, SERVICES, version="v2", wall_s=3.21, **kw)


def test_deployed_names_the_services_their_health_and_readiness():
    out = outcome(gate=gate(), health=HEALTHY)
    assert out["status"] == "DEPLOYED" and not out["revert_needed"]
    assert "restarted labeld in 3.2s" in out["summary"]
    assert "labeld: healthy, ready 0.4s, answered in 3.0ms" in out["details"]


def test_a_failed_restart_asks_for_the_revert_then_reports_reverted():
    first = outcome(gate=gate(ok=False))
    assert first["revert_needed"]
    out = outcome(gate=gate(ok=False), revert=dict(step="done", changed=True), regate=gate(), health=HEALTHY)
    assert out["status"] == "REVERTED" and not out["revert_needed"]
    assert out["summary"].startswith("v2 failed and was reverted: aaaaaaaaaaaa is current again, labeld restarted and healthy")
    assert out["details"][0].startswith("new release bbbbbbbbbbbb failed: labeld did not answer healthy")


def test_a_revert_that_does_not_come_back_healthy_is_failed():
    out = outcome(gate=gate(ok=False), revert=dict(step="done"), regate=gate(ok=False), health=SICK)
    assert out["status"] == "FAILED" and "reverted to aaaaaaaaaaaa but labeld not healthy" in out["summary"]
    out = outcome(gate=gate(ok=False), revert=dict(step="switch", failed=False, msg="boom"))
    assert out["status"] == "FAILED" and "the revert to aaaaaaaaaaaa failed: boom" in out["summary"]


def test_a_failure_before_the_switch_restarts_nothing_and_needs_no_revert():
    failed = dict(RELEASE, step="npm", failed=False, msg="npm ci failed (exit 1): ETARGET")
    out = outcome(failed, touched={})
    assert out["status"] == "FAILED" and not out["revert_needed"]
    assert "nothing switched nor restarted (step npm): npm ci failed" in out["summary"]


def test_a_switch_that_failed_half_way_is_reverted():
    out = outcome(dict(RELEASE, step="switch", msg="rename failed"))
    assert out["revert_needed"]


def test_the_current_ref_again_is_unchanged():
    same = dict(RELEASE, changed=False, switched=False, previous=None, changed_paths=None, npm_plan=None)
    out = outcome(same, touched=dict(services=[], restart=[]))
    assert out["status"] == "UNCHANGED" and "nothing restarted" in out["summary"]


def test_check_mode_says_what_would_restart():
    out = outcome(check_mode=True)
    assert out["status"] == "WOULD_DEPLOY" and out["summary"].endswith("and restart labeld") and not out["revert_needed"]


def test_unreachable():
    assert outcome(dict(unreachable=True, msg="ssh: timeout"), touched={})["status"] == "FAILED"


def test_junit_has_a_case_per_host_and_service_and_a_skip_for_a_host_not_reached():
    ok = outcome(gate=gate(), health=HEALTHY)
    bad = outcome(gate=gate(ok=False), revert=dict(step="done"), regate=gate(), health=HEALTHY)
    doc = ET.fromstring(qf.quantlab_deploy_junit(["h1", "h2", "h3"], [ok, bad, {}]))
    suite = doc.find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    cases = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
    assert cases == [("h1", "deploy v2"), ("h1", "service labeld"), ("h2", "deploy v2"), ("h2", "service labeld"), ("h3", "deploy")]
    failure = suite.findall("testcase")[2].find("failure")
    assert failure.get("type") == "REVERTED" and "reverted" in failure.get("message")
    assert qd.OK == ("DEPLOYED", "UNCHANGED", "WOULD_DEPLOY")


def test_a_first_release_restarts_everything_and_cannot_be_reverted():
    first = dict(RELEASE, previous=None, changed_paths=None)
    out = outcome(first, gate=gate(), health=HEALTHY)
    assert out["status"] == "DEPLOYED" and out["restart"] == ALL
    assert not outcome(first, gate=gate(ok=False))["revert_needed"]
