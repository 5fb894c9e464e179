"""http_health against real HTTP servers on 127.0.0.1 (threads of this process): concurrency, deadlines, JSON, wait,
and the token read on the host from an env file that never appears in the module's output, on any path."""

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _http_health as hh
from ansible_collections.quantops.runbooks.plugins.modules import http_health

TOKEN = "tok-9f3c2a71e5d04b8c"  # noqa: S105 - a test token, the string the whole output is searched for
VAR = "STRATEGYD_TOKEN"


class Handler(BaseHTTPRequestHandler):
    """/health open; /runs needs the bearer token; /slow answers after 3 s; /text is not JSON; /echo repeats the
    Authorization header in its JSON body and in a header; /big is 200 KB of JSON; /starting answers 503 twice."""

    counts = {}

    def log_message(self, *args):
        pass

    def _send(self, code, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        auth = self.headers.get("Authorization", "")
        Handler.counts[self.path] = Handler.counts.get(self.path, 0) + 1
        if self.path == "/health":
            self._send(200, '{"status":"ok","service":"strategyd"}')
        elif self.path == "/runs":
            if auth != "Bearer " + TOKEN:
                self._send(401, '{"error":"UNAUTHORIZED","message":"Invalid token"}')
            else:
                self._send(200, '{"count":1,"runs":["r1"]}')
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, "{}")
        elif self.path == "/text":
            self._send(200, "<html>not json %s</html>" % auth, ctype="text/html")
        elif self.path == "/echo":
            self._send(200, json.dumps({"you_sent": auth, "nested": [{"again": auth}]}), headers=[("X-Echo", auth)])
        elif self.path == "/big":
            self._send(200, json.dumps({"x": "a" * 200000}))
        elif self.path == "/starting":
            self._send(503 if Handler.counts[self.path] <= 2 else 200, '{"status":"starting"}')
        else:
            self._send(404, '{"error":"NOT_FOUND"}')


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


@pytest.fixture()
def env_file(tmp_path):
    d = tmp_path / "etc"
    d.mkdir(mode=0o700)
    path = d / "strategyd.env"
    path.write_text('# managed\nSTRATEGYD_PORT="3031"\n%s="%s"\nOTHER=x\n' % (VAR, TOKEN))
    path.chmod(0o600)
    return str(path)


def run(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as e:
        http_health.main()
    out = capsys.readouterr()
    assert TOKEN not in out.out and TOKEN not in out.err
    return e.value.code, json.loads(out.out)


def ep(port, path, **kw):
    return dict(dict(name=path.strip("/") or "root", port=port, path=path), **kw)


def test_healthy_endpoints_with_the_token_read_from_the_env_file(capsys, server, env_file):
    rc, r = run(capsys, dict(endpoints=[ep(server, "/health", json=True),
                                        ep(server, "/runs", json=True, token=dict(env_file=env_file, var=VAR))]))
    assert rc == 0 and r["healthy"] is True and r["changed"] is False and r["unhealthy"] == []
    health, runs = r["endpoints"]
    assert health["json"] == {"status": "ok", "service": "strategyd"} and health["status"] == 200
    assert runs["json"] == {"count": 1, "runs": ["r1"]} and runs["attempts"] == 1 and runs["error"] is None
    assert runs["url"] == "http://127.0.0.1:%d/runs" % server and runs["latency_s"] >= 0 and runs["ready_s"] >= 0
    assert TOKEN not in json.dumps(r)


@pytest.mark.parametrize(("endpoint", "error"), [
    ("wrong token", "status 401, expected 200"),
    ("no token", "status 401, expected 200"),
    ("timeout", "no answer within the deadline"),
    ("refused", "connection refused"),
    ("not json", "not JSON"),
    ("too big", "larger than 65536 bytes"),
    ("unexpected status", "status 404, expected 200 or 204"),
])
# PLR0913, PLR0917: pytest fixtures and parameters
def test_every_failure_is_reported_and_the_token_is_never_in_the_result(capsys, server, env_file, free_port, tmp_path, endpoint, error):  # noqa: PLR0913, PLR0917
    wrong = tmp_path / "wrong.env"
    wrong.write_text("%s=not-%s\n" % (VAR, TOKEN[::-1]))
    wrong.chmod(0o600)
    token = dict(env_file=env_file, var=VAR)
    item = dict(
        wrong=None,
        **{"wrong token": ep(server, "/runs", token=dict(env_file=str(wrong), var=VAR)),
           "no token": ep(server, "/runs"),
           "timeout": ep(server, "/slow", timeout=0.5, token=token),
           "refused": ep(free_port, "/health", token=token),
           "not json": ep(server, "/text", json=True, token=token),
           "too big": ep(server, "/big", json=True, token=token),
           "unexpected status": ep(server, "/nosuch", status=[200, 204], token=token)})[endpoint]
    started = time.monotonic()
    rc, r = run(capsys, dict(endpoints=[item, ep(server, "/runs", name="good", token=token)]))
    assert time.monotonic() - started < 2.5  # the slow one is cut at its deadline, the other is not held up
    assert rc == 0 and r["healthy"] is False and r["unhealthy"] == [item["name"]]
    bad, good = r["endpoints"]
    assert error in bad["error"] and error in r["msg"] and bad["healthy"] is False
    assert good["healthy"] is True
    assert TOKEN not in json.dumps(r)


def test_a_body_that_echoes_the_token_is_masked(capsys, server, env_file):
    rc, r = run(capsys, dict(endpoints=[ep(server, "/echo", json=True, token=dict(env_file=env_file, var=VAR))]))
    assert r["healthy"] is True
    assert r["endpoints"][0]["json"] == {"you_sent": "Bearer ********", "nested": [{"again": "Bearer ********"}]}


def test_endpoints_are_checked_at_once(capsys, server):
    started = time.monotonic()
    rc, r = run(capsys, dict(endpoints=[ep(server, "/slow", name="s%d" % i, timeout=5) for i in range(6)]))
    took = time.monotonic() - started
    assert r["healthy"] is True and took < 6, took  # six 3 s answers in about 3 s, not 18


def test_wait_until_healthy(capsys, server):
    Handler.counts.pop("/starting", None)
    rc, r = run(capsys, dict(endpoints=[ep(server, "/starting", json=True), ep(server, "/health")], wait=True, poll=0.1, wait_timeout=10))
    starting, health = r["endpoints"]
    assert r["healthy"] is True and starting["attempts"] == 3 and health["attempts"] == 1
    assert starting["ready_s"] >= health["ready_s"]


def test_wait_gives_up_at_its_deadline(capsys, free_port):
    started = time.monotonic()
    rc, r = run(capsys, dict(endpoints=[ep(free_port, "/health")], wait=True, poll=0.2, wait_timeout=1))
    assert 0.9 < time.monotonic() - started < 3
    assert r["healthy"] is False and r["endpoints"][0]["attempts"] >= 3 and "after waiting 1s" in r["msg"]


def test_check_mode_checks_the_same(capsys, server):
    rc, r = run(capsys, dict(endpoints=[ep(server, "/health")], _ansible_check_mode=True))
    assert r["healthy"] is True and r["changed"] is False


@pytest.mark.parametrize(("make", "words"), [
    ("missing", ["does not exist"]),
    ("symlink", ["symbolic link"]),
    ("fifo", ["a FIFO", "not a regular file"]),
    ("group-readable", ["mode 0640", "0600"]),
    ("world-readable", ["mode 0604", "0600"]),
    ("foreign-owned", ["owned by", "not root"]),
    ("no such variable", ["has no variable STRATEGYD_TOKEN"]),
    ("empty token", ["empty or holds a space"]),
])
# PLR0913, PLR0917: pytest fixtures and parameters
def test_unsafe_env_files_are_refused_with_a_clear_message(capsys, server, env_file, tmp_path, make, words):  # noqa: PLR0913, PLR0917
    path = os.path.join(os.path.dirname(env_file), "bad.env")
    if make == "symlink":
        os.symlink(env_file, path)
        # a user's link: root does not follow it (a link of our own, as root, would be followed by the path walk,
        # but the file itself is opened with O_NOFOLLOW)
    elif make == "fifo":
        os.mkfifo(path, 0o600)
    elif make != "missing":
        with open(path, "w") as f:
            f.write({"no such variable": "OTHER=1\n", "empty token": "%s=\n" % VAR}.get(make, "%s=%s\n" % (VAR, TOKEN)))
        os.chmod(path, {"group-readable": 0o640, "world-readable": 0o604}.get(make, 0o600))
        if make == "foreign-owned":
            if os.geteuid() != 0:
                pytest.skip("needs root to give the file away")
            os.chown(path, 65534, 65534)
    rc, r = run(capsys, dict(endpoints=[ep(server, "/runs", name="runs", token=dict(env_file=path, var=VAR)),
                                        ep(server, "/health", name="health")]))
    runs, health = r["endpoints"]
    assert runs["healthy"] is False and runs["attempts"] == 0 and health["healthy"] is True
    for word in words:
        assert word in runs["error"], runs["error"]
    assert path in runs["error"]
    assert TOKEN not in json.dumps(r)


def test_a_symlinked_directory_owned_by_another_user_is_refused(capsys, server, env_file, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    other = tmp_path / "other"
    other.mkdir()
    os.chown(str(other), 65534, 65534)
    link = other / "etc"
    os.symlink(os.path.dirname(env_file), str(link))
    os.lchown(str(link), 65534, 65534)
    rc, r = run(capsys, dict(endpoints=[ep(server, "/runs", token=dict(env_file=str(link / "strategyd.env"), var=VAR))]))
    assert "symbolic link owned by" in r["endpoints"][0]["error"]


def test_an_unexpected_exception_is_a_message_without_the_token(capsys, server, env_file, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("request failed with header Authorization: Bearer %s" % TOKEN)
    monkeypatch.setattr(hh, "check_round", boom)
    rc, r = run(capsys, dict(endpoints=[ep(server, "/runs", token=dict(env_file=env_file, var=VAR))]))
    assert rc == 1 and r["failed"] is True and "Bearer ********" in r["msg"] and "exception" not in r


def test_a_worker_exception_is_that_endpoints_error_without_the_token(capsys, server, env_file, monkeypatch):
    def boom(t, token, max_body, holder):
        raise ValueError("cannot send %s" % token)
    monkeypatch.setattr(hh, "check_once", boom)
    rc, r = run(capsys, dict(endpoints=[ep(server, "/runs", token=dict(env_file=env_file, var=VAR))]))
    assert r["healthy"] is False and "ValueError: cannot send ********" == r["endpoints"][0]["error"]


def test_url_form_and_defaults():
    (t,) = hh.targets([dict(url="http://127.0.0.1:3000/ping?x=1")], 5)
    assert (t.scheme, t.host, t.port, t.path, t.name, t.status) == ("http", "127.0.0.1", 3000, "/ping?x=1", "http://127.0.0.1:3000/ping?x=1", [200])
    (t,) = hh.targets([dict(port=3030)], 2.5)
    assert (t.url, t.timeout) == ("http://127.0.0.1:3030/health", 2.5)
    (t,) = hh.targets([dict(url="http://[::1]:8080")], 5)
    assert t.url == "http://[::1]:8080/"
