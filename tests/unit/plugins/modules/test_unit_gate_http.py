"""unit_gate's proof=http (a unit is up when its health endpoint answers 200) and the stop result of a unit killed
after its stop timeout. The HTTP checks go to a server of this test on 127.0.0.1 only."""

import http.server
import threading

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _lifecycle as lc
from ansible_collections.quantops.runbooks.plugins.modules import unit_gate as ug

PARAMS = dict(names=["quantlab-featurexd", "quantlab-worker"], state="started", proof="http", pattern=None, fail_pattern=[], related=[],
              scope="system", user=None, kill_modes={}, heartbeat_pattern=None, health={})


class DummyModule:
    def __init__(self):
        self.no_log_values = set()
        self.check_mode = False


@pytest.fixture
def server():
    status = {"code": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(status["code"])
            self.end_headers()
            self.wfile.write(b'{"status":"ok"}')

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], status
    httpd.shutdown()
    httpd.server_close()


def gate(**health):
    return ug.Gate(DummyModule(), dict(PARAMS, health=health))


def test_a_unit_is_proven_only_once_its_health_endpoint_answers_200(server):
    port, status = server
    g = gate(**{"quantlab-featurexd": dict(port=port, path="/health")})
    w = dict(last="no proof seen yet")
    g.check_http("quantlab-featurexd.service", w)
    assert "proof" not in w and w["last"] == "http://127.0.0.1:%d/health: status 503" % port
    status["code"] = 200
    g.check_http("quantlab-featurexd.service", w)
    assert w["proof"] == "http://127.0.0.1:%d/health answered 200" % port


def test_a_unit_without_a_health_endpoint_is_proven_by_being_active():
    w = {}
    gate().check_http("quantlab-worker.service", w)
    assert w["proof"] == "active (no health endpoint)"


def test_nothing_listening_is_not_a_proof():
    g = gate(**{"quantlab-featurexd": dict(port=1, path="/health", timeout=0.5)})
    w = {}
    g.check_http("quantlab-featurexd.service", w)
    assert "proof" not in w and "connection refused" in w["last"]


def test_an_unreadable_token_fails_the_unit_with_the_file_named(tmp_path):
    g = gate(**{"quantlab-featurexd": dict(port=1, path="/x", token=dict(env_file=str(tmp_path / "none.env"), var="T"))})
    w = {}
    g.check_http("quantlab-featurexd.service", w)
    assert "none.env does not exist" in w["error"]


@pytest.mark.parametrize("health, words", [
    ({"quantlab-labeld": dict(port=3061)}, "not among the units acted on"),
    ({"quantlab-featurexd": "http://127.0.0.1:3051/health"}, "must be an endpoint"),
    ({"quantlab-featurexd": dict(url="ftp://x/")}, "scheme must be http or https"),
    ({"quantlab-featurexd": dict(url="http://u:p@127.0.0.1:1/")}, "credentials"),
])
def test_a_bad_health_option_is_refused_before_anything_is_done(health, words):
    with pytest.raises(ug.GateError, match=words):
        gate(**health)


def test_health_needs_proof_http():
    with pytest.raises(ug.GateError, match="use proof=http"):
        ug.Gate(DummyModule(), dict(PARAMS, proof="none", health={"quantlab-featurexd": dict(port=3051)}))


def test_a_stop_killed_at_its_timeout_is_told_apart_from_a_clean_one():
    assert lc.stop_outcome({"Result": "timeout"}) == dict(stop_result="timeout", killed=True)
    assert lc.stop_outcome({"Result": "success"}) == dict(stop_result="success", killed=False)
    assert lc.stop_outcome({}) == dict(stop_result="", killed=False)
