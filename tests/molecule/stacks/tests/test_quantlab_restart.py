"""quantlab_restart on the QuantLab host: the dependency order kept (each unit became active only after every
dependency's first healthy answer), a partial restart touching exactly the closure, and a service that cannot start
(its port taken) failing with the probe naming the port's holder.

The flow runs from the control node as an operator runs it; the order is read from systemd (ActiveEnterTimestamp)
and from unit_gate's own result (proven_at: when each service's health endpoint first answered 200)."""

import datetime
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import testinfra.utils.ansible_runner
from conftest import tokens, wait_for

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = Path(__file__).resolve().parents[4]
PLAYBOOK = REPO / "playbooks" / "quantlab_restart.yml"
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("quantlab")[:1]

UNIT = {"replayd": "quantlab-replayd", "collector": "quantlab-collector", "featurexd": "quantlab-featurexd",
        "strategyd": "quantlab-strategyd", "labeld": "quantlab-labeld", "backtestd": "quantlab-backtestd",
        "job-worker": "quantlab-worker", "observer": "quantlab-observer-core", "observer-api": "quantlab-observer",
        "console-ui": "quantlab-console-ui"}
# service -> the services that must answer healthy before it starts (the graph's `after`, roles/quantlab/vars/main.yml)
AFTER = {"featurexd": ["replayd"], "strategyd": ["replayd"], "labeld": ["featurexd"], "backtestd": ["replayd", "strategyd"],
         "job-worker": ["strategyd"], "observer": ["strategyd", "backtestd", "job-worker"],
         "observer-api": ["strategyd", "backtestd", "job-worker"], "console-ui": ["replayd", "strategyd", "backtestd"]}


def run_flow(*extra):
    """(rc, output, unit_gate's result) of the flow at -v, results printed as one JSON line each."""
    # molecule forces colours (ANSIBLE_FORCE_COLOR wins over NOCOLOR): plain lines here, or the JSON is not found
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    argv = ["ansible-playbook", "-v", "-i", INVENTORY, str(PLAYBOOK), "-e", "quantlab_hosts=quantlab[0]"]
    for e in extra:
        argv += [e] if e.startswith("-") else ["-e", e]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    gate = None
    for line in result.stdout.splitlines():
        if line.startswith(("changed: [", "ok: [", "fatal: [")) and '"steps": [' in line:
            gate = json.loads(line[line.index("{"):])
    return result.returncode, result.stdout + result.stderr, gate


def show(host, unit, prop):
    return host.check_output(f"systemctl show -p {prop} --value {unit}")


def show_all(host, prop):
    """{service: the property's value} of every QuantLab unit, in one systemctl call (one ssh round trip; systemctl
    separates the units' values by an empty line)."""
    values = host.check_output(f"systemctl show -p {prop} --value --timestamp=us+utc " + " ".join(UNIT.values())).split("\n\n")
    return dict(zip(UNIT, values, strict=True))


def epoch(text):
    """An ActiveEnterTimestamp (us+utc) as seconds since the epoch."""
    return datetime.datetime.strptime(text.strip(), "%a %Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=datetime.timezone.utc).timestamp()


def active_enter(host, unit):
    """ActiveEnterTimestamp of the unit, seconds since the epoch (microseconds)."""
    return epoch(host.check_output(f"systemctl show --timestamp=us+utc -p ActiveEnterTimestamp --value {unit}"))


def proven_at(gate):
    """{service: when its health endpoint first answered} from unit_gate's steps."""
    by_unit = dict((u + ".service", s) for s, u in UNIT.items())
    return dict((by_unit[u], row["proven_at"]) for step in gate["steps"] for u, row in (step.get("units") or {}).items()
                if row.get("proven_at"))


def healthy_again(host):
    for port, path in ((3030, "/health"), (3051, "/health"), (3061, "/health"), (3031, "/health"), (3000, "/ping")):
        wait_for(lambda p=port, q=path: host.run(f"curl -fsS -o /dev/null http://127.0.0.1:{p}{q}").rc == 0, timeout=60,
                 what=f"port {port} healthy")


def test_a_full_restart_starts_each_unit_only_after_its_dependencies_answered(host):
    t0 = time.time()
    rc, out, gate = run_flow("deadline=60")
    assert rc == 0, out
    assert gate is not None, out
    ready = proven_at(gate)
    assert sorted(ready) == sorted(UNIT), ready
    enter = show_all(host, "ActiveEnterTimestamp")
    for svc, deps in AFTER.items():
        entered = epoch(enter[svc])
        assert entered > t0, f"{svc} was not restarted"
        for dep in deps:
            assert entered > ready[dep], f"{svc} became active {ready[dep] - entered:.3f} s before {dep} first answered healthy"
    assert "RESTARTED" in out and "critical path" in out and "all 1 host(s) OK" in out
    print(out[out.index("TASK [Every targeted host]"):])


def test_a_partial_restart_restarts_the_dependents_and_nothing_else(host):
    before = show_all(host, "MainPID")
    rc, out, gate = run_flow("services=featurexd", "deadline=60")
    assert rc == 0, out
    after = show_all(host, "MainPID")
    changed = sorted(s for s in UNIT if before[s] != after[s])
    assert changed == ["featurexd", "labeld"], (before, after)
    assert sorted(proven_at(gate)) == ["featurexd", "labeld"]
    assert active_enter(host, "quantlab-labeld") > proven_at(gate)["featurexd"]
    print(out[out.index("TASK [Every targeted host]"):])


def test_a_service_whose_port_is_taken_fails_with_the_holder_named(host):
    server = None
    try:
        t0 = time.monotonic()
        host.run_expect([0], "systemctl stop quantlab-labeld quantlab-featurexd")
        # another process on featurexd's port, once featurexd let it go; a transient unit of its own, so that it
        # outlives this command and is killed by name in the finally
        server = "qr-port-thief"
        host.run_expect([0], f"systemd-run --unit={server} /usr/bin/python3 -m http.server --bind 0.0.0.0 3051")
        wait_for(lambda: "python3" in host.check_output("ss -ltnpH 'sport = :3051'"), timeout=20, what="the thief on port 3051")
        rc, out, gate = run_flow("services=featurexd", "deadline=15")
        assert rc != 0, out
        assert "featurexd did not answer healthy" in out
        assert "likely cause: port 3051 is taken by another process, python3 (pid " in out
        assert "1 of 1 host(s) not OK" in out
        assert time.monotonic() - t0 < 120
        print(out[out.index("TASK [Every targeted host]"):])
    finally:
        if server:
            host.run(f"systemctl stop {server}")
            host.run(f"systemctl reset-failed {server}")
        # back in the dependency order (later tests read it), by the flow itself
        rc, out, gate = run_flow("services=featurexd")
        assert rc == 0, out
        healthy_again(host)


def journal_has(host, unit, text):
    inv = show(host, unit, "InvocationID")
    return text in host.check_output(f"journalctl -u {unit}.service _SYSTEMD_INVOCATION_ID={inv} -o cat --no-pager")


def test_a_service_that_ignores_sigterm_is_killed_at_its_stop_timeout_and_reported(host):
    """strategyd started with replayd down retries it, and its SIGTERM handler then never returns (as the real one):
    the flow's stop ends in systemd's SIGKILL after TimeoutStopSec, and the summary names it."""
    try:
        host.run_expect([0], "systemctl stop quantlab-replayd")
        # --job-mode=ignore-dependencies: Wants= would start replayd again with strategyd
        host.run_expect([0], "systemctl restart --job-mode=ignore-dependencies quantlab-strategyd")
        wait_for(lambda: journal_has(host, "quantlab-strategyd", "STREAM_RECONNECTING"), timeout=20, what="strategyd retrying replayd")
        rc, out, gate = run_flow("services=strategyd", "with_dependents=false", "deadline=30")
        assert rc == 0, out
        stop = [s for s in gate["steps"] if s["name"].startswith("stop ")][0]
        assert stop["units"]["quantlab-strategyd.service"]["stop_result"] == "timeout"
        assert stop["units"]["quantlab-strategyd.service"]["killed"] is True
        assert "killed after its stop timeout (ignored SIGTERM): strategyd" in out
        print(out[out.index("TASK [Every targeted host]"):])
    finally:
        # replayd and everything that depends on it back in the dependency order (later tests read it)
        rc, out, gate = run_flow("services=replayd")
        assert rc == 0, out
        healthy_again(host)


@pytest.mark.parametrize("extra", ["services=featurex", "deadline=0"])
def test_a_bad_request_fails_before_anything_is_restarted(host, extra):
    before = show(host, "quantlab-featurexd", "MainPID")
    rc, out, gate = run_flow(extra)
    assert rc != 0 and gate is None, out
    assert ("unknown service 'featurex'" if "featurex" in extra else "deadline=0.0") in out
    assert show(host, "quantlab-featurexd", "MainPID") == before


def test_no_token_reaches_the_output_even_at_vvv(host):
    """The core observer's health path needs its token: the flow reads it on the host, and -vvv shows every argument
    and result of every task (the unit_gate steps, the probe module) without it."""
    rc, out, _gate = run_flow("services=observer", "deadline=60", "-vvv")
    assert rc == 0, out
    assert "restarted observer in order" in " ".join(out.split()) and "/observer/health" in out, out[-3000:]
    for token in tokens(host):
        assert token not in out
