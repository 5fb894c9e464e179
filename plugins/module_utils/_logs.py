# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The log bundle of one host (module log_bundle): units' journals since a moment, log files read without following
a user's link, each cut to the newest lines that fit a size budget, packed as one tar.gz with a manifest.

Pure parts (the ``since`` grammar, the budget's split, a journal entry's line, a tail's cut) need no AnsibleModule and
are unit-tested; the readers take the journalctl argv runner and file descriptors they are given."""

import calendar
import datetime
import errno
import io
import json
import os
import re
import stat
import subprocess
import tarfile
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile

MIB = 1024 * 1024
MAX_SINCE_S = 366 * 86400
# Lines of a log file's part left unread are counted up to this size (beyond it the manifest says null)
MAX_COUNTED = 256 * MIB
# What `since` accepts: a span back from now (systemd's units; `m` is minutes as in systemd.time), a UTC date or time
# (ISO 8601, a trailing Z allowed), or seconds since the epoch as @EPOCH.
_SPAN = re.compile(r"^-?\s*(\d{1,9})\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|"
                   r"d|day|days|w|week|weeks)(?:\s+ago)?$")
_UNIT_S = dict(s=1, m=60, h=3600, d=86400, w=604800)
_ABSOLUTE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(?:Z|\+00:00| UTC)?$")
_EPOCH = re.compile(r"^@(\d{1,12})(?:\.\d{1,6})?$")
_ISO_AT_START = re.compile(rb"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)")


class LogInputError(ValueError):
    """An option value the bundle cannot use; the message names it and what is accepted."""


def parse_since(value: Any, now: float) -> float:
    """The epoch seconds that ``since`` names: ``1h``, ``30min``, ``-2d``, ``90 minutes ago``, ``2026-11-29``,
    ``2026-11-29T22:00:00Z`` (UTC) or ``@1795981088``. Refused: anything else, the future, more than 366 days back."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise LogInputError("since must be a time span (1h, 30min, 2d), a UTC time (2026-11-29T22:00:00Z) or @EPOCH, not %r" % (value,))
    text = str(value).strip()
    m = _SPAN.match(text)
    if m:
        at = now - int(m.group(1)) * _UNIT_S[m.group(2)[0]]
    elif _EPOCH.match(text):
        at = float(text[1:])
    else:
        m = _ABSOLUTE.match(text)
        if not m:
            raise LogInputError("since %r is not understood: give a span back from now (1h, 30min, 2d, 1w), a UTC time "
                                "(2026-11-29 or 2026-11-29T22:00:00Z) or @EPOCH seconds" % text[:80])
        parts = [int(x) if x else 0 for x in m.groups()]
        try:
            at = float(calendar.timegm(datetime.datetime(*parts).timetuple()))
        except ValueError as e:
            raise LogInputError("since %r is not a real date or time: %s" % (text[:80], e)) from None
    if at > now + 1:
        raise LogInputError("since %r is in the future (%s UTC): give a moment in the past" % (text[:80], iso(at)))
    if now - at > MAX_SINCE_S:
        raise LogInputError("since %r reaches back more than 366 days: give a shorter span" % text[:80])
    return at


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_line(entry: Dict[str, Any]) -> bytes:
    """One journal entry (journalctl -o json) as one line: UTC time to the microsecond, identifier[pid]: message.
    A message's own newlines become the two characters \\n, so one entry is one line (the manifest counts entries)."""
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # journald gives non-UTF-8 messages as byte arrays
        message = bytes(message).decode("utf-8", "replace")
    elif message is None:
        message = ""
    ident = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "-"
    pid = entry.get("_PID") or entry.get("SYSLOG_PID")
    when = iso(int(entry.get("__REALTIME_TIMESTAMP", 0)) / 1e6)
    text = "%s %s%s: %s" % (when, ident, "[%s]" % pid if pid else "", str(message).replace("\r", "").replace("\n", "\\n"))
    return text.encode("utf-8", "replace") + b"\n"


def split_budget(sizes: List[int], budget: int) -> List[int]:
    """How many bytes each source may keep so that together they fit ``budget``: the smallest sources keep all,
    the rest share what is left equally (max-min fairness). ``sizes`` and the result are parallel."""
    keep = [0] * len(sizes)
    left = max(0, budget)
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for n, i in enumerate(order):
        share = left // (len(order) - n)
        keep[i] = min(sizes[i], share)
        left -= keep[i]
    return keep


def tail_start(fd: int, size: int, keep: int) -> int:
    """Offset in a file of ``size`` bytes where its newest ``keep`` bytes or fewer start on a whole line."""
    if keep >= size:
        return 0
    start = size - keep
    if start == 0:
        return 0
    os.lseek(fd, start - 1, os.SEEK_SET)
    chunk = os.read(fd, min(keep + 1, 1 << 20))
    cut = chunk.find(b"\n")
    if cut < 0 or start + cut >= size:
        return size  # no whole line fits
    return start + cut


def scan(fd: int, start: int, end: int) -> Tuple[int, Optional[str], Optional[str]]:
    """(lines, first timestamp, last timestamp) of the bytes start..end of a file, the timestamps being an ISO 8601
    time at the start of a line (journal lines always have one; a plain log may have none)."""
    os.lseek(fd, start, os.SEEK_SET)
    lines, first, last, pending, left = 0, None, None, b"", end - start
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)
        data = pending + chunk
        parts = data.split(b"\n")
        pending = parts.pop()
        for line in parts:
            lines += 1
            m = _ISO_AT_START.match(line)
            if m:
                stamp = m.group(1).decode("ascii")
                first = first or stamp
                last = stamp
    if pending:
        lines += 1
        m = _ISO_AT_START.match(pending)
        if m:
            first = first or m.group(1).decode("ascii")
            last = m.group(1).decode("ascii")
    return lines, first, last


def open_log_file(path: str) -> Tuple[Optional[int], Optional[str]]:  # noqa: PLR0911 (one return per way a path is refused)
    """(fd, None) of a log file opened read-only as root without following any link a user could have made (the
    directories walked from /, the file itself O_NOFOLLOW, O_NONBLOCK so a FIFO never blocks) and checked to be a
    regular file; (None, why not) otherwise. The caller closes fd."""
    _safefile.check_path(path, "log file")
    try:
        dir_fd = _safefile.open_dir(os.path.dirname(path))
    except FileNotFoundError:
        return None, "missing (a directory on its path does not exist)"
    except _safefile.UnsafePathError as e:
        return None, "refused: %s" % e
    try:
        try:
            fd = os.open(os.path.basename(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                         dir_fd=dir_fd)
        except FileNotFoundError:
            return None, "missing"
        except OSError as e:
            if e.errno == errno.ELOOP:
                return None, "refused: %s is a symbolic link; root does not follow it" % path
            return None, "unreadable: %s" % (e.strerror or e)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None, "refused: %s is %s, not a regular file" % (path, _safefile.kind(st.st_mode))
        if st.st_nlink != 1:  # a hard link made to another file (where fs.protected_hardlinks is off)
            os.close(fd)
            return None, "refused: %s has %d hard links; a log file has one" % (path, st.st_nlink)
        return fd, None
    finally:
        os.close(dir_fd)


def copy_tail(src_fd: int, dst, limit: int) -> Tuple[int, int]:
    """Copy the newest ``limit`` bytes or fewer of the regular file ``src_fd`` to the file object ``dst``, starting
    on a whole line: (bytes copied, bytes of older content left out)."""
    size = os.fstat(src_fd).st_size
    start = tail_start(src_fd, size, limit)
    os.lseek(src_fd, start, os.SEEK_SET)
    left, copied = size - start, 0
    while left > 0:
        chunk = os.read(src_fd, min(left, 1 << 20))
        if not chunk:
            break
        dst.write(chunk)
        left -= len(chunk)
        copied += len(chunk)
    return copied, start


def read_journal_newest(lines_newest_first: Iterable[bytes], limit: int) -> Tuple[List[bytes], bool]:
    """The newest entries of a journal read newest first (``journalctl -r -o json``), as lines, while they fit in
    ``limit`` bytes: (lines oldest first, whether older entries were left unread)."""
    kept, used = [], 0
    for raw in lines_newest_first:
        if not raw.strip():
            continue
        line = entry_line(json.loads(raw))
        if used + len(line) > limit:
            return kept[::-1], True
        kept.append(line)
        used += len(line)
    return kept[::-1], False


def read_journal(argv: List[str], limit: int, out) -> Tuple[int, bool]:
    """Run ``journalctl -r -o json ...`` (``argv``) and write the newest entries that fit ``limit`` bytes to the file
    object ``out``, oldest first: (bytes written, whether older entries were left unread).

    A pipe read as it comes, and journalctl killed once the budget is full: module.run_command would hold a chatty
    unit's whole window in memory before the first line could be looked at."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, LC_ALL="C"))
    try:
        lines, cut = read_journal_newest(proc.stdout, limit)
    finally:
        if proc.poll() is None:
            proc.kill()
        err = proc.stderr.read(4096)
        rc = proc.wait()
    if rc != 0 and not cut:
        raise RuntimeError("journalctl failed (exit %d): %s" % (rc, err.decode("utf-8", "replace").strip()[:300]))
    out.writelines(lines)
    return sum(len(x) for x in lines), cut


def build_archive(path: str, manifest: Dict[str, Any], members: List[Tuple[str, int, int, int]]) -> int:
    """Write the tar.gz at ``path`` (a new file of ours, mode 0600): manifest.json first, then each member
    ``(name, fd, start, length)`` read from its descriptor. Returns the archive's size in bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    now = time.time()
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
            _add(tar, "manifest.json", io.BytesIO(data), len(data), now)
            for name, src, start, length in members:
                os.lseek(src, start, os.SEEK_SET)
                _add(tar, name, os.fdopen(os.dup(src), "rb"), length, now)
        raw.flush()
        os.fsync(raw.fileno())
        return os.fstat(raw.fileno()).st_size


def _add(tar, name, fileobj, size, mtime):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uname, info.gname = size, int(mtime), 0o600, "root", "root"
    try:
        tar.addfile(info, fileobj)
    finally:
        fileobj.close()
