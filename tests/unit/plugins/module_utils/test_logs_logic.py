"""The log bundle's pure parts: the `since` grammar, the budget's split, a journal entry's line, cutting a file to its
newest whole lines, and opening a log file as root without following a planted link."""

import io
import json
import os
import tarfile

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _logs

NOW = 1795992468.0  # 2026-11-29T22:47:48Z


@pytest.mark.parametrize("text, back", [("1h", 3600), ("-1h", 3600), ("30min", 1800), ("30m", 1800), ("90 minutes ago", 5400),
                                        ("2d", 172800), ("1w", 604800), ("45s", 45), ("0s", 0)])
def test_a_span_goes_back_from_now(text, back):
    assert _logs.parse_since(text, NOW) == NOW - back


def test_utc_times_and_epochs():
    assert _logs.parse_since("2026-11-29", NOW) == 1795910400.0
    assert _logs.parse_since("2026-11-29T22:00:00Z", NOW) == 1795989600.0
    assert _logs.parse_since("2026-11-29 22:00", NOW) == 1795989600.0
    assert _logs.parse_since("@1795989600", NOW) == 1795989600.0


@pytest.mark.parametrize("text, words", [
    ("1 hour; rm -rf /", "not understood"), ("yesterday", "not understood"), ("", "not understood"), ("1M", "not understood"),
    ("2026-02-30", "not a real date"), ("2027-01-01", "in the future"), ("400d", "366 days"), ("@99999999999", "in the future"),
    ("--since=1h", "not understood"), (True, "must be a time span"), (None, "must be a time span")])
def test_anything_else_is_refused_with_what_is_accepted(text, words):
    with pytest.raises(_logs.LogInputError, match=words):
        _logs.parse_since(text, NOW)


def test_the_budget_keeps_small_sources_whole_and_shares_the_rest():
    assert _logs.split_budget([10, 20, 30], 100) == [10, 20, 30]
    assert _logs.split_budget([10, 500, 1000], 310) == [10, 150, 150]
    assert _logs.split_budget([0, 0], 10) == [0, 0]
    assert _logs.split_budget([100, 100], 0) == [0, 0]
    assert sum(_logs.split_budget([7, 3000, 41, 9000, 5], 1234)) <= 1234


def test_a_journal_entry_is_one_line_with_its_utc_time():
    entry = {"__REALTIME_TIMESTAMP": "1795992468123456", "SYSLOG_IDENTIFIER": "node", "_PID": "743", "MESSAGE": "two\nlines"}
    assert _logs.entry_line(entry) == b"2026-11-29T22:47:48.123456Z node[743]: two\\nlines\n"
    assert _logs.entry_line({"__REALTIME_TIMESTAMP": "0", "MESSAGE": [104, 105, 255]}) == b"1970-01-01T00:00:00.000000Z -: hi\xef\xbf\xbd\n"
    assert _logs.entry_line({"__REALTIME_TIMESTAMP": "0", "_COMM": "systemd", "MESSAGE": None}) == b"1970-01-01T00:00:00.000000Z systemd: \n"


def test_reading_newest_first_stops_at_the_limit_and_keeps_the_order():
    rows = [json.dumps({"__REALTIME_TIMESTAMP": str(t * 1000000), "MESSAGE": "m%d" % t}).encode() for t in (3, 2, 1)]
    lines, cut = _logs.read_journal_newest(rows, 10 ** 6)
    assert [x.split(b": ")[1] for x in lines] == [b"m1\n", b"m2\n", b"m3\n"] and not cut
    lines, cut = _logs.read_journal_newest(rows, len(_logs.entry_line(json.loads(rows[0]))) * 2)
    assert [x.split(b": ")[1] for x in lines] == [b"m2\n", b"m3\n"] and cut


def _file(tmp_path, data, name="f.log"):
    path = tmp_path / name
    path.write_bytes(data)
    return os.open(str(path), os.O_RDONLY)


def test_the_tail_starts_on_a_whole_line(tmp_path):
    data = b"".join(b"2026-11-29T22:00:%02dZ line %d\n" % (i, i) for i in range(10))
    fd = _file(tmp_path, data)
    try:
        size = len(data)
        assert _logs.tail_start(fd, size, size) == 0
        start = _logs.tail_start(fd, size, 60)
        assert data[start - 1:start] == b"\n" and size - start <= 60
        assert _logs.scan(fd, start, size) == (2, "2026-11-29T22:00:08Z", "2026-11-29T22:00:09Z")
        assert _logs.scan(fd, 0, start) == (8, "2026-11-29T22:00:00Z", "2026-11-29T22:00:07Z")
        assert _logs.tail_start(fd, size, 5) == size  # no whole line fits
        out = io.BytesIO()
        assert _logs.copy_tail(fd, out, 60) == (size - start, start) and out.getvalue() == data[start:]
    finally:
        os.close(fd)


def test_a_plain_log_has_lines_but_no_times(tmp_path):
    fd = _file(tmp_path, b"[CONFIG] a\n[REQ] b")  # no final newline: the last line still counts
    try:
        assert _logs.scan(fd, 0, 16) == (2, None, None)
    finally:
        os.close(fd)


def test_a_symlink_fifo_or_directory_at_the_path_is_refused_and_a_file_is_opened(tmp_path):
    (tmp_path / "secret").write_text("root:x:0:0\n")
    os.symlink(str(tmp_path / "secret"), str(tmp_path / "server.log"))
    os.mkfifo(str(tmp_path / "fifo.log"))
    (tmp_path / "dir.log").mkdir()
    (tmp_path / "ok.log").write_text("fine\n")
    fd, why = _logs.open_log_file(str(tmp_path / "server.log"))
    assert fd is None and "symbolic link" in why and why.startswith("refused")
    fd, why = _logs.open_log_file(str(tmp_path / "fifo.log"))
    assert fd is None and "a FIFO" in why
    fd, why = _logs.open_log_file(str(tmp_path / "dir.log"))
    assert fd is None and "directory" in why
    fd, why = _logs.open_log_file(str(tmp_path / "none.log"))
    assert fd is None and why == "missing"
    os.link(str(tmp_path / "secret"), str(tmp_path / "hard.log"))
    fd, why = _logs.open_log_file(str(tmp_path / "hard.log"))
    assert fd is None and "2 hard links" in why
    fd, why = _logs.open_log_file(str(tmp_path / "ok.log"))
    assert why is None and os.read(fd, 10) == b"fine\n"
    os.close(fd)


def test_a_users_link_on_the_way_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "server.log").write_text("x\n")
    os.symlink(str(real), str(tmp_path / "link"))
    os.lchown(str(tmp_path / "link"), 65534, 65534)  # the unit tests run as root: a link another user made
    fd, why = _logs.open_log_file(str(tmp_path / "link" / "server.log"))
    assert fd is None and why.startswith("refused") and "root does not follow" in why


def test_the_archive_holds_the_manifest_first_then_each_range(tmp_path):
    fd = _file(tmp_path, b"old\nnew\n")
    try:
        size = _logs.build_archive(str(tmp_path / "b.tar.gz"), {"sources": []}, [("files/x.log", fd, 4, 4)])
    finally:
        os.close(fd)
    assert size == (tmp_path / "b.tar.gz").stat().st_size
    assert oct((tmp_path / "b.tar.gz").stat().st_mode & 0o777) == "0o600"
    with tarfile.open(str(tmp_path / "b.tar.gz")) as tar:
        assert tar.getnames() == ["manifest.json", "files/x.log"]
        assert tar.extractfile("files/x.log").read() == b"new\n"
        assert json.loads(tar.extractfile("manifest.json").read()) == {"sources": []}
