#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: log_bundle
short_description: One compressed bundle of a host's journals and log files, with a manifest, within a size budget
version_added: 1.2.0
description:
  - Reads the journal of every unit of O(system_units) and of O(user)'s units O(user_units) from O(since) up to a
    second before the module started (C(journalctl -r -o json), an argv list, newest entries first), and the log files of
    O(files), and packs them as one C(tar.gz) under O(tmp_dir) with a C(manifest.json) first.
  - "Each journal entry becomes one line: its UTC time to the microsecond, the identifier and PID, the message (its own
    newlines written as the two characters C(\\n))."
  - The content kept is bounded so that the archive is at most O(max_mb) MiB. Sources that fit keep everything; the
    others share the rest equally and keep their B(newest) whole lines. The manifest says for each source what was
    left out (lines and bytes cut, or that older journal entries were not read at all).
  - Log files are opened as root without following any symbolic link a user could have made (every directory walked
    from C(/), the file itself C(O_NOFOLLOW)) and only when they are regular files with one link. A link, FIFO or device at a log's
    path is not collected; the manifest says why. A log file is taken whole from its newest end, whatever O(since).
  - Only the manifest (names, counts, timestamps, sizes) is returned, never a log's content.
  - The caller fetches RV(archive) and removes RV(tmp) afterwards (the module removes it itself when it fails).
  - Needs root (become).
author:
  - Quant Ops (@quantops)
attributes:
  check_mode:
    support: full
    description: In check mode it lists what it would read (units, and each file's state) and builds nothing.
  diff_mode:
    support: none
    description: Changes nothing on the host but its own temporary archive.
  idempotent:
    support: full
    description: Reads only; each run makes a new temporary archive that the caller removes.
options:
  system_units:
    description: System units whose journal is collected (C(journalctl -u UNIT)); a name without a suffix gets C(.service).
    type: list
    elements: str
    default: []
  user_units:
    description:
      - Units of O(user)'s systemd user manager whose journal is collected (C(_SYSTEMD_USER_UNIT) or the manager's own
        C(USER_UNIT) lines about them, of that user's UID).
    type: list
    elements: str
    default: []
  user:
    description: The owner of O(user_units). Required with them.
    type: str
  files:
    description: Log files collected as C(files/NAME.log), each taken from its newest end.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Its name in the archive and the manifest (letters, digits, C(._-)).
        type: str
        required: true
      path:
        description: Its absolute path on the host.
        type: path
        required: true
  since:
    description:
      - From when the journals are read. A span back from now (V(1h), V(30min), V(2d), V(1w); C(m) is minutes), a UTC
        date or time (V(2026-11-29), V(2026-11-29T22:00:00Z)) or V(@EPOCH). At most 366 days back, never in the future.
    type: str
    default: 1h
  max_mb:
    description: The archive's largest size, in MiB (from 0.1 to 10240).
    type: float
    default: 20
  tmp_dir:
    description: Where the archive's private directory (mode 0700) is made; a root-owned directory.
    type: path
    default: /var/tmp
seealso:
  - module: quantops.runbooks.journal_check
"""

EXAMPLES = r"""
- name: QuantLab's journals of the last two hours and observer-api's server.log, at most 5 MiB
  quantops.runbooks.log_bundle:
    system_units: [quantlab-replayd, quantlab-observer]
    files:
      - name: server
        path: /home/deploy/quantlab-backend/core/observer-api/server.log
    since: 2h
    max_mb: 5
  become: true
  register: bundle

- name: Fetch it
  ansible.builtin.fetch:
    src: "{{ bundle.archive }}"
    dest: /srv/logs/{{ inventory_hostname }}/logs.tar.gz
    flat: true

- name: Remove the host's copy
  ansible.builtin.file:
    path: "{{ bundle.tmp }}"
    state: absent
  become: true
"""

RETURN = r"""
archive:
  description: The archive on the host (null in check mode).
  returned: always
  type: str
  sample: /var/tmp/quantops-logs-x1y2z3/logs.tar.gz
tmp:
  description: The archive's private directory, to remove after the fetch (null in check mode).
  returned: always
  type: str
  sample: /var/tmp/quantops-logs-x1y2z3
archive_bytes:
  description: The archive's size (null in check mode).
  returned: always
  type: int
  sample: 18342
manifest:
  description: What the archive holds; the same as its C(manifest.json).
  returned: always
  type: dict
  contains:
    since:
      description: The first moment read, ISO 8601 UTC.
      type: str
    until:
      description: The last moment read (when the module started), ISO 8601 UTC.
      type: str
    since_epoch:
      description: O(since) in seconds since the epoch.
      type: float
    until_epoch:
      description: The last moment read, in seconds since the epoch.
      type: float
    max_bytes:
      description: O(max_mb) in bytes.
      type: int
    content_bytes:
      description: The bytes of log content kept, all sources together.
      type: int
    sources:
      description: One entry per unit and file, in the order given.
      type: list
      elements: dict
      contains:
        kind:
          description: V(journal) or V(file).
          type: str
        unit:
          description: The unit (journals).
          type: str
        scope:
          description: V(system) or V(user) (journals).
          type: str
        path:
          description: The file's path on the host (files).
          type: str
        member:
          description: Its name in the archive; null when nothing was collected.
          type: str
        status:
          description: V(collected), V(empty) (no line in the window), V(missing), or V(refused) / V(error) with the reason in C(reason).
          type: str
        lines:
          description: Lines kept (one per journal entry).
          type: int
        bytes:
          description: Bytes kept.
          type: int
        first:
          description: Time of the first line kept (a file's first line that starts with an ISO 8601 time), or null.
          type: str
        last:
          description: Time of the last line kept, or null.
          type: str
        cut:
          description: Null when nothing was left out; else what the size budget left out, the oldest part.
          type: dict
  sample:
    since: "2026-11-29T21:55:00.000000Z"
    until: "2026-11-29T22:55:00.000000Z"
    sources:
      - kind: journal
        unit: quantlab-replayd.service
        scope: system
        member: journal/quantlab-replayd.service.log
        status: collected
        lines: 420
        bytes: 39211
        first: "2026-11-29T21:55:02.118231Z"
        last: "2026-11-29T22:54:59.001200Z"
        cut: null
      - kind: file
        path: /home/deploy/quantlab-backend/core/observer-api/server.log
        member: null
        status: refused
        reason: "refused: /home/deploy/quantlab-backend/core/observer-api/server.log is a symbolic link; root does not follow it"
"""

import os
import pwd
import re
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _logs, _safefile, _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import USER_MAX_LENGTH

MAX_MB = v.Range(0.1, 10240, "MiB")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# room for the manifest and the tar headers and padding, so that content + this fits the archive's bound
RESERVE = 24 * 1024
RESERVE_PER_SOURCE = 2 * 1024


def _journal_argv(src, since, until):
    argv = ["journalctl", "--no-pager", "-r", "-o", "json", "--since", "@%.6f" % since, "--until", "@%.6f" % until]
    if src["scope"] == "system":
        return argv + ["-u", src["unit"]]
    uid = "_UID=%d" % src["uid"]
    return argv + ["_SYSTEMD_USER_UNIT=%s" % src["unit"], uid, "+", "USER_UNIT=%s" % src["unit"], uid]


def plan(p):
    """The sources in order: dicts with kind, and unit/scope or name/path."""
    sources = []
    for option, scope in (("system_units", "system"), ("user_units", "user")):
        for unit in p[option]:
            _units.check_unit_name(unit, option)
            sources.append(dict(kind="journal", scope=scope, unit=_units.full_name(unit)))
    if p["user_units"]:
        if not p["user"]:
            raise _logs.LogInputError("user_units needs user: the owner of those user units")
        try:
            uid = pwd.getpwnam(p["user"]).pw_uid
        except KeyError:
            raise _logs.LogInputError("user %r does not exist on this host: give the owner of the user units" % p["user"]) from None
        for src in sources:
            src.setdefault("uid", uid)
    names = set()
    for i, item in enumerate(p["files"]):
        name, path = item["name"], item["path"]
        if not isinstance(name, str) or not NAME.match(name):
            raise _logs.LogInputError("files[%d].name %r must be 1-64 letters, digits or ._- (it names files/NAME.log)" % (i, name))
        if name in names:
            raise _logs.LogInputError("files[%d].name %r is given twice: give each file its own name" % (i, name))
        names.add(name)
        try:
            _safefile.check_path(path, "files[%d].path" % i)
        except _safefile.UnsafePathError as e:
            raise _logs.LogInputError(str(e)) from None
        sources.append(dict(kind="file", name=name, path=path))
    if not sources:
        raise _logs.LogInputError("nothing to collect: give system_units, user_units or files")
    return sources


def public(src):
    keys = ("kind", "unit", "scope") if src["kind"] == "journal" else ("kind", "path")
    return dict((k, src[k]) for k in keys)


def collect(sources, window, max_bytes, work):
    """Every source read into its own file under ``work``; each dict gets fd, size, unread (older entries not
    read), status and reason."""
    since, until = window
    limit = max_bytes  # no source can keep more than the whole budget
    for n, src in enumerate(sources):
        raw = os.path.join(work, "src%d" % n)
        try:
            if src["kind"] == "journal":
                with open(raw, "wb") as out:
                    src["size"], src["unread"] = _logs.read_journal(_journal_argv(src, since, until), limit, out)
            else:
                fd, why = _logs.open_log_file(src["path"])
                if fd is None:
                    src["status"] = "missing" if why.startswith("missing") else "refused"
                    src["reason"] = why
                    continue
                try:
                    src["mtime"] = _logs.iso(os.fstat(fd).st_mtime)
                    with open(raw, "wb") as out:
                        src["size"], unread = _logs.copy_tail(fd, out, limit)
                    # the older part left unread, counted (it ends on a line's end), unless it is huge
                    src["unread"] = dict(bytes=unread, lines=_logs.scan(fd, 0, unread)[0] if unread <= _logs.MAX_COUNTED else None)
                finally:
                    os.close(fd)
        except (OSError, RuntimeError, ValueError) as e:
            src["status"], src["reason"] = "error", to_native(e)[:300]
            continue
        src["fd"] = os.open(raw, os.O_RDONLY)
        src["status"] = "collected" if src["size"] else "empty"


def cut(src, start):
    """What the budget left out of a source whose newest bytes from ``start`` are kept: a file's older part is
    counted (lines null beyond 256 MiB); a journal's older entries, once the reading stopped, are not."""
    dropped = _logs.scan(src["fd"], 0, start)[0] if start else 0
    out = dict(reason="max_mb: the newest lines kept", dropped_lines=dropped, dropped_bytes=start, older_not_read=False)
    unread = src["unread"]
    if isinstance(unread, dict):  # a file
        out["dropped_bytes"] += unread["bytes"]
        out["dropped_lines"] = None if unread["lines"] is None else dropped + unread["lines"]
    elif unread:  # a journal read newest first, stopped at the budget
        out.update(dropped_lines=None, dropped_bytes=None, older_not_read=True)
    return out


def describe(sources, keep):
    """Manifest entries and archive members for a split of the budget."""
    entries, members = [], []
    for src, k in zip(sources, keep):
        entry = public(src)
        entry.update(status=src["status"], member=None)
        if "reason" in src:
            entry["reason"] = src["reason"]
        if "mtime" in src:
            entry["mtime"] = src["mtime"]
        if "fd" not in src:
            entries.append(entry)
            continue
        start = _logs.tail_start(src["fd"], src["size"], k)
        lines, first, last = _logs.scan(src["fd"], start, src["size"])
        entry.update(lines=lines, bytes=src["size"] - start, first=first, last=last, cut=None)
        unread = src["unread"]["bytes"] if isinstance(src["unread"], dict) else src["unread"]
        if start or unread:
            entry["cut"] = cut(src, start)
        if src["size"] - start > 0:
            entry["member"] = "%s/%s.log" % (("journal", src["unit"]) if src["kind"] == "journal" else ("files", src["name"]))
            members.append((entry["member"], src["fd"], start, src["size"] - start))
        entries.append(entry)
    return entries, members


def would_collect(sources, manifest):
    """Check mode: what would be read, each file's state; nothing built."""
    for src in sources:
        src["status"] = "would collect"
        if src["kind"] == "file":
            fd, why = _logs.open_log_file(src["path"])
            if fd is None:
                src["status"], src["reason"] = ("missing" if why.startswith("missing") else "refused"), why
            else:
                os.close(fd)
    manifest["sources"] = [dict(public(s), status=s["status"], **({"reason": s["reason"]} if "reason" in s else {})) for s in sources]
    return dict(changed=False, archive=None, tmp=None, archive_bytes=None, manifest=manifest)


def pack(sources, manifest, max_bytes, work):
    """The archive in ``work`` from the sources read, shrinking the content until the archive fits max_bytes."""
    budget = max_bytes - RESERVE - RESERVE_PER_SOURCE * len(sources)
    archive = os.path.join(work, "logs.tar.gz")
    for attempt in range(6):
        keep = _logs.split_budget([s.get("size", 0) for s in sources], budget)
        entries, members = describe(sources, keep)
        manifest.update(sources=entries, content_bytes=sum(e.get("bytes", 0) for e in entries))
        if os.path.exists(archive):
            os.unlink(archive)
        size = _logs.build_archive(archive, manifest, members)
        if size <= max_bytes:
            return archive, size
        if attempt == 5 or budget <= 0:
            break
        budget -= (size - max_bytes) + 4096
    raise _logs.LogInputError("the archive of %d bytes does not fit max_mb (%d bytes): give a larger max_mb" % (size, max_bytes))


def run(module):
    p = module.params
    try:
        max_bytes = int(MAX_MB.check("max_mb", p["max_mb"]) * _logs.MIB)
    except v.InvalidInput as e:
        raise _logs.LogInputError(str(e)) from None
    # a second back, so that every entry journald stamped inside the window is already in its files when it is read
    until = time.time() - 1.0
    since = _logs.parse_since(p["since"], until)
    sources = plan(p)
    manifest = dict(since=_logs.iso(since), until=_logs.iso(until), since_epoch=since, until_epoch=until, max_bytes=max_bytes)
    if module.check_mode:
        return would_collect(sources, manifest)
    if os.geteuid() != 0:
        raise _logs.LogInputError("log_bundle needs root to read every unit's journal: run it with become")
    _safefile.check_path(p["tmp_dir"], "tmp_dir")
    work = tempfile.mkdtemp(prefix="quantops-logs-", dir=p["tmp_dir"])
    try:
        collect(sources, (since, until), max_bytes, work)
        archive, size = pack(sources, manifest, max_bytes, work)
        for s in sources:
            if "fd" in s:
                os.close(s.pop("fd"))
        for name in os.listdir(work):
            if name != "logs.tar.gz":
                os.unlink(os.path.join(work, name))
        return dict(changed=False, archive=archive, tmp=work, archive_bytes=size, manifest=manifest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        for s in sources:
            if "fd" in s:
                os.close(s.pop("fd"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            system_units=dict(type="list", elements="str", default=[]),
            user_units=dict(type="list", elements="str", default=[]),
            user=dict(type="str"),
            files=dict(type="list", elements="dict", default=[],
                       options=dict(name=dict(type="str", required=True), path=dict(type="path", required=True))),
            since=dict(type="str", default="1h"),
            max_mb=dict(type="float", default=20),
            tmp_dir=dict(type="path", default="/var/tmp"),
        ),
        supports_check_mode=True,
    )
    v.check(module, lists=dict(system_units=v.Items(max_items=100), user_units=v.Items(max_items=100), files=v.Items(max_items=20)),
            texts=dict(user=v.Text(max_length=USER_MAX_LENGTH), since=v.Text(max_length=100)))
    try:
        module.exit_json(**run(module))
    except (_logs.LogInputError, _units.UnitsError, _safefile.UnsafePathError) as e:
        module.fail_json(msg=to_native(e))


if __name__ == "__main__":
    main()
