# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the collect_logs and quantlab_ml_run flows: where a host's bundle goes on the control node, and each
host's outcome line from its module results."""

import os
import re

_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,254}$")
_STAMP = re.compile(r"^\d{8}T\d{6}Z$")


def log_dir(dest, host, stamp):
    """The control node's directory for one host's bundle: DEST/<host>/<UTC time>, DEST made absolute from the
    directory ansible-playbook runs in (never the playbook's own, which is inside the collection)."""
    if not isinstance(dest, str) or not dest.strip() or any(ord(c) < 32 for c in dest):
        raise ValueError("log_dir: dest %r is not a directory path: give one, absolute or relative to the current directory" % (dest,))
    if not isinstance(host, str) or not _HOST.match(host) or host in (".", ".."):
        raise ValueError("log_dir: the host name %r cannot name a directory (letters, digits and _.:@- only)" % (host,))
    if not isinstance(stamp, str) or not _STAMP.match(stamp):
        raise ValueError("log_dir: stamp %r is not a UTC time as YYYYMMDDTHHMMSSZ" % (stamp,))
    return os.path.join(os.path.abspath(os.path.expanduser(dest)), host, stamp)


def _msg(result, default):
    return " ".join(str((result or {}).get("msg") or default).split())[:300]


def _kib(n):
    return "%.1f KiB" % (n / 1024.0)


def collect_logs_outcome(bundle, check_mode=False, fetched=None, local_dir=None):
    """One host's outcome of collect_logs: COLLECTED (or WOULD_COLLECT in check mode) with what the manifest says,
    UNREACHABLE, or FAILED with the reason (the module's, or the fetch's)."""
    bundle = bundle or {}
    if bundle.get("unreachable"):
        return dict(status="UNREACHABLE", summary=_msg(bundle, "no connection to the host"))
    if bundle.get("failed") or "manifest" not in bundle:
        return dict(status="FAILED", summary="log_bundle: %s" % _msg(bundle, "no result"))
    sources = bundle["manifest"].get("sources", [])
    journals = [s for s in sources if s.get("kind") == "journal"]
    files = [s for s in sources if s.get("kind") == "file"]
    odd = ["%s %s" % (os.path.basename(s.get("path", "")), s.get("reason", s.get("status"))) for s in files
           if s.get("status") not in ("collected", "empty", "would collect")]
    if check_mode:
        text = "would read %d journals since %s and %d files" % (len(journals), bundle["manifest"].get("since"), len(files))
        return dict(status="WOULD_COLLECT", summary=text + ("; " + "; ".join(odd) if odd else ""))
    fetched = fetched or {}
    if fetched.get("unreachable") or fetched.get("failed") or fetched.get("skipped"):
        return dict(status="FAILED", summary="fetch of %s: %s" % (bundle.get("archive"), _msg(fetched, "not fetched")))
    cut = ["%s (%s)" % (s.get("unit") or os.path.basename(s.get("path", "")),
                        "older entries" if s["cut"].get("dropped_lines") is None else "%d lines" % s["cut"]["dropped_lines"])
           for s in sources if s.get("cut")]
    errors = ["%s: %s" % (s.get("unit"), s.get("reason")) for s in journals if s.get("status") == "error"]
    parts = ["%s/logs.tar.gz (%s)" % (local_dir, _kib(bundle.get("archive_bytes") or 0)),
             "%d journals, %d lines" % (len(journals), sum(s.get("lines", 0) for s in journals)),
             "files: %s" % (", ".join("%s %d lines" % (os.path.basename(s["path"]), s.get("lines", 0)) for s in files
                                      if s.get("status") in ("collected", "empty")) or "none")]
    if cut:
        parts.append("cut to max_mb, oldest lines dropped: %s" % ", ".join(cut))
    if odd:
        parts.append("not collected: %s" % "; ".join(odd))
    if errors:
        return dict(status="FAILED", summary="; ".join(parts + ["journal errors: %s" % "; ".join(errors)]))
    return dict(status="COLLECTED", summary="; ".join(parts))


def ml_run_outcome(result, check_mode=False):
    """One host's outcome of quantlab_ml_run: SUCCEEDED, FAILED (exit code), REFUSED (another run active), WOULD_RUN or
    WOULD_BE_REFUSED in check mode, UNREACHABLE."""
    result = result or {}
    if result.get("unreachable"):
        return dict(status="UNREACHABLE", summary=_msg(result, "no connection to the host"))
    status = result.get("status")
    cmd = " ".join(result.get("cmd") or [])
    if status in ("refused", "would be refused"):
        return dict(status="WOULD_BE_REFUSED" if check_mode else "REFUSED", summary=_msg(result, "another run is active"))
    if status == "would run":
        return dict(status="WOULD_RUN", summary="would run `%s` in %s as %s" % (cmd, result.get("cwd"), result.get("user")))
    if status == "succeeded":
        return dict(status="SUCCEEDED", summary="exit 0 after %ss: `%s` as %s, %d bytes appended to %s" % (
            result.get("duration_s"), cmd, result.get("user"), result.get("log_bytes") or 0, result.get("log")))
    if status in ("failed", "timed out"):
        return dict(status="FAILED", summary="%s: exit %s after %ss: `%s`; last line: %s" % (
            status, result.get("rc"), result.get("duration_s"), cmd, ((result.get("output_tail") or [""])[-1])[:200]))
    return dict(status="FAILED", summary="ml_run: %s" % _msg(result, "no result"))


class FilterModule:
    def filters(self):
        return dict(log_dir=log_dir, collect_logs_outcome=collect_logs_outcome, ml_run_outcome=ml_run_outcome)
