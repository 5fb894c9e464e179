"""The QuantLab service graph: the parallel groups computed from the dependencies are the runbook's Safe Parallel
Groups, a cycle or an unknown dependency is a clear error, and an eleventh service is one entry."""

import copy
import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.quantops.runbooks.plugins.filter import graph as graph_filter
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _service_graph as g

REPO = Path(__file__).resolve().parents[4]
ROLE_VARS = REPO / "roles" / "quantlab" / "vars" / "main.yml"
ROLE_DEFAULTS = REPO / "roles" / "quantlab" / "defaults" / "main.yml"
# ../shared/runbooks/quantlab-runtime-operations.md (RUNTIME_OPERATIONS.md of alisitki/quantlab-backend@115a7dd), when
# the checkout sits beside it; its groups are also quoted here, so the test runs without it.
RUNBOOK = REPO.parent / "shared" / "runbooks" / "quantlab-runtime-operations.md"
RUNBOOK_GROUPS = [["replayd", "collector"], ["featurexd", "strategyd"], ["labeld", "backtestd", "job-worker"],
                  ["observer", "observer-api", "console-ui"]]
# The runbook's "Health Check Commands", with the real code's answer (FIDELITY.md): observer-api has no /health.
RUNBOOK_HEALTH = {"replayd": (3030, "/health"), "strategyd": (3031, "/health"), "backtestd": (3041, "/health"),
                  "featurexd": (3051, "/health"), "labeld": (3061, "/health"), "collector": (9100, "/health"),
                  "observer-api": (3000, "/ping")}


def services():
    return yaml.safe_load(ROLE_VARS.read_text())["quantlab_services"]


def runbook_groups(text):
    """The Safe Parallel Groups block of the runbook, as lists of names."""
    block = text.split("**Safe Parallel Groups:**", 1)[1].split("```")[1]
    out = []
    for line in block.splitlines():
        if re.match(r"^Group \d+", line):
            out.append([])
        elif line.strip().startswith("- "):
            out[-1].append(line.strip()[2:].strip())
    return out


def test_the_computed_groups_are_the_runbooks_safe_parallel_groups():
    assert g.groups(services()) == RUNBOOK_GROUPS


@pytest.mark.skipif(not RUNBOOK.exists(), reason="the shared runbooks are not beside this checkout")
def test_the_quoted_groups_are_the_runbooks_own():
    assert runbook_groups(RUNBOOK.read_text()) == RUNBOOK_GROUPS


def test_the_graph_has_the_ten_services_of_the_startup_order_and_no_typed_group():
    svcs = services()
    assert [s["name"] for s in svcs] == ["replayd", "collector", "featurexd", "strategyd", "labeld", "backtestd", "job-worker",
                                         "observer", "observer-api", "console-ui"]
    for svc in svcs:
        assert "group" not in svc, svc["name"]
        assert {"unit", "after", "critical", "health", "env_file"} <= set(svc), svc["name"]
        assert isinstance(svc["critical"], bool)


def test_health_paths_and_ports_are_the_runbooks_and_observer_api_answers_ping():
    svcs = dict((s["name"], s) for s in services())
    ports = yaml.safe_load(ROLE_DEFAULTS.read_text())["quantlab_ports"]
    for name, (port, path) in RUNBOOK_HEALTH.items():
        assert (ports[svcs[name]["port"]], svcs[name]["health"]) == (port, path), name


def test_the_graph_names_token_variables_never_values():
    for svc in services():
        token = svc.get("token_env")
        if token is not None:
            assert re.match(r"^[A-Z][A-Z0-9_]*_TOKEN$", token), svc["name"]
    # no key of an entry templates a token variable in
    assert "_token" not in yaml.safe_dump(services()).replace("health_token", "")


def test_units_keep_their_ordering_and_never_wait_for_a_later_group():
    svcs = dict((s["name"], s) for s in services())
    level = g.levels(list(svcs.values()))
    # the units' After=/Wants= as the stacks scenario checks them (tests/molecule/stacks/tests/test_quantlab.py ORDER)
    assert svcs["console-ui"]["unit_after"] == ["observer-api", "replayd", "strategyd", "backtestd"]
    assert svcs["observer-api"].get("unit_after", svcs["observer-api"]["after"]) == ["strategyd"]
    for svc in svcs.values():
        assert all(level[d] <= level[svc["name"]] for d in svc.get("unit_after", [])), svc["name"]


def test_an_eleventh_service_is_one_entry():
    svcs = services() + [dict(name="riskd", unit="quantlab-riskd", after=["strategyd", "featurexd"], critical=True)]
    assert g.groups(svcs) == [RUNBOOK_GROUPS[0], RUNBOOK_GROUPS[1], RUNBOOK_GROUPS[2] + ["riskd"], RUNBOOK_GROUPS[3]]
    svcs.append(dict(name="reportd", after=["console-ui"]))
    assert g.groups(svcs)[-1] == ["reportd"]


def test_levels_are_the_longest_path_and_keep_the_listed_order():
    svcs = [dict(name="d", after=["b", "c"]), dict(name="c", after=["a"]), dict(name="b", after=["a", "c"]), dict(name="a", after=[])]
    assert g.levels(svcs) == dict(a=1, c=2, b=3, d=4)
    assert g.groups([dict(name="y"), dict(name="x", after=None)]) == [["y", "x"]]
    assert g.groups([]) == []


@pytest.mark.parametrize(("svcs", "words"), [
    ([dict(name="a", after=["b"]), dict(name="b", after=["c"]), dict(name="c", after=["a"])], ["cycle", "a -> b -> c -> a"]),
    ([dict(name="a", after=[]), dict(name="b", after=["c"]), dict(name="c", after=["b"])], ["cycle", "b -> c -> b"]),
    ([dict(name="a", after=["a"])], ["'a' depends on itself"]),
    ([dict(name="a", after=["nope"])], ["'a' depends on 'nope'", "not a service of the graph", "known: a"]),
    ([dict(name="a", after=[], unit_after=["nope"])], ["'nope' (unit_after)", "not a service"]),
    ([dict(name="a", after=[], unit_after=["b"]), dict(name="b", after=["a"])], ["unit_after of service 'a'", "later group"]),
    ([dict(name="a"), dict(name="a")], ["'a' is listed twice"]),
    ([dict(after=[])], ["#1 has no name"]),
    ([dict(name="a", after="b")], ["after of service 'a' must be a list"]),
    (["replayd"], ["#1 is str"]),
    ({"name": "a"}, ["must be a list"]),
])
def test_a_graph_that_cannot_be_ordered_is_a_clear_error(svcs, words):
    with pytest.raises(g.GraphError) as e:
        g.groups(svcs)
    for word in words:
        assert word in str(e.value)
    with pytest.raises(g.GraphError, match="^service_groups: "):
        graph_filter.service_groups(svcs)


def test_the_filter_returns_the_groups_and_leaves_its_input_alone():
    svcs = services()
    before = copy.deepcopy(svcs)
    assert graph_filter.FilterModule().filters()["service_groups"](svcs) == RUNBOOK_GROUPS
    assert svcs == before
