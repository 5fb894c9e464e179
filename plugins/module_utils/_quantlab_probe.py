# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything the QuantLab health report and the troubleshooting probes read on the host, in one module run.

Root reads files that the deploy user controls (the ML log's directory is root's, but the log, core/.env and the
whole checkout are the deploy user's): every path is walked with _safefile (no symlink another user made is
followed), files are opened with O_NOFOLLOW | O_NONBLOCK and checked with fstat, and an env file is only ever
lstat'ed, except replayd's, read as root-owned 0600 only to say which variable NAMES it sets (never a value).
Tokens are read by http_health's reader and scrubbed from everything returned.

The decisions (healthy or not, the likely cause) are in _quantlab_findings."""

import errno
import grp
import json
import os
import pwd
import stat
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.quantops.runbooks.plugins.module_utils import _http_health as hh
from ansible_collections.quantops.runbooks.plugins.module_utils import _journal, _safefile, _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _quantlab_findings as qf
from ansible_collections.quantops.runbooks.plugins.module_utils._lifecycle import iso_epoch
from ansible_collections.quantops.runbooks.plugins.module_utils._trader import parse_env_file

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
TAIL_BYTES = 8192
MAX_CRON = 65536
MAX_ENV = 1024 * 1024
COLLECTOR_JOURNAL_LINES = 400
# names of the extra requests (a service name never starts with "@")
METRICS, STATUS, RUNS = "@collector /metrics", "@collector /status", "@observer-api /api/runs"


class ProbeInputError(ValueError):
    """Options the module cannot probe as given; the message names the option and what to give instead."""


def mode_text(st: os.stat_result) -> str:
    return "%04o" % stat.S_IMODE(st.st_mode)


def lstat_path(path: str) -> Dict[str, Any]:
    """exists, kind, mode, owner, uid of ``path`` itself (a symlink is reported as one, never followed), its
    directories walked safely; ``problem`` when the walk was refused."""
    out = dict(path=path, exists=False, kind=None, mode=None, owner=None, uid=None, problem=None)  # type: Dict[str, Any]
    try:
        dir_fd = _safefile.open_dir(os.path.dirname(path))
    except FileNotFoundError:
        return out
    except (_safefile.UnsafePathError, OSError) as e:
        out["problem"] = str(e)
        return out
    try:
        st = os.stat(os.path.basename(path), dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return out
    except OSError as e:
        out["problem"] = "cannot stat it: %s" % (e.strerror or e)
        return out
    finally:
        os.close(dir_fd)
    out.update(exists=True, kind=_safefile.kind(st.st_mode), mode=mode_text(st), owner=_safefile.owner_name(st.st_uid), uid=st.st_uid)
    return out


def env_file_info(path: str, owner: Optional[str]) -> Dict[str, Any]:
    """lstat_path of an env file plus ``problem`` when it is not a regular file of mode 0600 owned by ``owner``."""
    out = lstat_path(path)
    out["expected_owner"] = owner
    if out["exists"] and not out["problem"]:
        if out["kind"] != "a regular file":
            out["problem"] = "it is %s, not a regular file" % out["kind"]
        elif out["mode"] not in qf.ENV_MODES:
            out["problem"] = "mode %s, not 0600: a file with a token must be readable by its owner only" % out["mode"]
        elif owner is not None and _uid_of(owner) != out["uid"]:
            out["problem"] = "owned by %s, not %s" % (out["owner"], owner)
    return out


def _uid_of(user: str) -> Optional[int]:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def _groups_of(user: str) -> List[int]:
    entry = pwd.getpwnam(user)
    try:
        return list(os.getgrouplist(user, entry.pw_gid))
    except OSError:
        return [entry.pw_gid] + [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]


def writable_by(st: os.stat_result, user: str) -> bool:
    """Whether ``user`` may create files in the directory of ``st`` (write and search permission by its mode bits,
    as the kernel checks them for that user; root always may)."""
    entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        return True
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid == entry.pw_uid:
        return mode & 0o300 == 0o300
    if st.st_gid in _groups_of(user):
        return mode & 0o030 == 0o030
    return mode & 0o003 == 0o003


def spool_info(path: str, user: str) -> Dict[str, Any]:
    """The collector's spool directory: exists, mode, owner, writable by the service user, read-only filesystem, free
    space (statvfs of the directory itself, opened without following a user's symlink)."""
    out = dict(path=path, exists=False, mode=None, owner=None, writable_by_user=False, read_only_fs=False, free_bytes=None,
               free_pct=None, problem=None)  # type: Dict[str, Any]
    try:
        fd = _safefile.open_dir(path)
    except FileNotFoundError:
        return out
    except (_safefile.UnsafePathError, OSError) as e:
        out["problem"] = str(e) if isinstance(e, _safefile.UnsafePathError) else "cannot open it: %s" % (e.strerror or e)
        return out
    try:
        st = os.fstat(fd)
        vfs = os.fstatvfs(fd)
    finally:
        os.close(fd)
    out.update(exists=True, mode=mode_text(st), owner=_safefile.owner_name(st.st_uid), read_only_fs=bool(vfs.f_flag & os.ST_RDONLY),
               free_bytes=vfs.f_bavail * vfs.f_frsize,
               free_pct=round(100.0 * vfs.f_bavail / vfs.f_blocks, 1) if vfs.f_blocks else None)
    try:
        out["writable_by_user"] = writable_by(st, user) and not out["read_only_fs"]
    except KeyError:
        out["problem"] = "the service user %s does not exist on this host" % user
    return out


def _open_nofollow(path: str):
    """(fd, st) of a regular file opened without following any symlink on its path; (None, info) otherwise."""
    info = dict(path=path, exists=False, problem=None)  # type: Dict[str, Any]
    try:
        dir_fd = _safefile.open_dir(os.path.dirname(path))
    except FileNotFoundError:
        return None, info
    except (_safefile.UnsafePathError, OSError) as e:
        info["problem"] = str(e)
        return None, info
    try:
        fd = os.open(os.path.basename(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None, info
    except OSError as e:
        info["exists"] = True
        if e.errno in (errno.ELOOP, errno.EMLINK):
            info["problem"] = "it is a symbolic link: not followed"
        else:
            info["problem"] = "cannot open it: %s" % (e.strerror or e)
        return None, info
    finally:
        os.close(dir_fd)
    st = os.fstat(fd)
    info.update(exists=True, kind=_safefile.kind(st.st_mode), mode=mode_text(st), owner=_safefile.owner_name(st.st_uid))
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        info["problem"] = "it is %s, not a regular file: not read" % info["kind"]
        return None, info
    return (fd, st), info


def log_info(path: str, now: float) -> Dict[str, Any]:
    """A log file the service user owns: exists, size, age of its last write, its last line (from the last 8 KB)."""
    opened, info = _open_nofollow(path)
    info.update(size=None, age_s=None, last_line=None)
    if opened is None:
        return info
    fd, st = opened
    try:
        info.update(size=st.st_size, age_s=round(max(0.0, now - st.st_mtime), 3))
        os.lseek(fd, max(0, st.st_size - TAIL_BYTES), os.SEEK_SET)
        data = os.read(fd, TAIL_BYTES)
    finally:
        os.close(fd)
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    info["last_line"] = " ".join(lines[-1].split())[:300] if lines else None
    return info


def cron_info(path: str, match: str) -> Dict[str, Any]:
    """The cron file: present when it is a root-owned regular file, not writable by others, with a line running
    ``match`` that is not a comment."""
    opened, info = _open_nofollow(path)
    info.update(match=match, present=False, line=None)
    if opened is None:
        if not info["problem"] and not info["exists"]:
            info["problem"] = "%s does not exist" % path
        return info
    fd, st = opened
    try:
        data = os.read(fd, MAX_CRON)
    finally:
        os.close(fd)
    if st.st_uid != 0 or stat.S_IMODE(st.st_mode) & 0o022:
        info["problem"] = "%s is owned by %s with mode %s: cron ignores a file others can write" % (path, info["owner"], info["mode"])
        return info
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    hits = [line for line in lines if line and not line.startswith("#") and match in line]
    if hits:
        info.update(present=True, line=hits[0][:300])
    else:
        info["problem"] = "no line running %s in %s" % (match, path)
    return info


def env_names(path: str, names: Sequence[str]) -> Dict[str, str]:
    """For each name: ``set``, ``empty`` or ``absent`` in a root-owned 0600 env file (``unreadable: why`` for all when
    the file is refused). Values are read to say whether they are empty and dropped at once."""
    try:
        data, odd, st = _safefile.read_path(path, limit=MAX_ENV)
    except (_safefile.UnsafePathError, OSError) as e:
        return dict((n, "unreadable: %s" % e) for n in names)
    if data is None:
        return dict((n, "absent (no file)") for n in names)
    if odd or st.st_uid != 0 or st.st_mode & 0o077:
        return dict((n, "unreadable: not a root-owned 0600 regular file") for n in names)
    values = parse_env_file(data.decode("utf-8", "replace"))
    out = dict((n, "absent" if n not in values else "set" if values[n].strip() else "empty") for n in names)
    del values, data
    return out


def journal_lines(module: Any, target: Any, unit: str, count: int, invocation_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """The last ``count`` journal lines of the unit (of one invocation when given): [{epoch, line}]."""
    argv = ["journalctl", "--no-pager", "-o", "json", "-n", str(int(count))] + target.journal_match(_units.full_name(unit))
    if invocation_id:
        argv.append("_SYSTEMD_INVOCATION_ID=%s" % invocation_id)
    rc, out, err = module.run_command(argv, environ_update=target.environ())
    if rc != 0:
        raise _journal.JournalError("journalctl failed for %s: %s" % (unit, (err or out).strip()))
    rows = []
    for line in out.splitlines():
        if line.strip():
            entry = json.loads(line)
            rows.append(dict(epoch=_journal.entry_epoch(entry), line=_journal.message_text(entry)))
    return rows


def _endpoint(name: str, port: int, path: str, token: Optional[Mapping[str, str]] = None, parse: bool = False) -> Dict[str, Any]:
    out = dict(name=name, port=int(port), path=path, json=parse)  # type: Dict[str, Any]
    if token:
        out["token"] = dict(token)
    return out


def plan_endpoints(p: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Every HTTP request of the run, checked at once: each service's health endpoint (named by the service), the
    collector's /status and /metrics, observer-api's /api/runs."""
    eps = []
    for name, svc in services.items():
        h = svc.get("health")
        if h:
            eps.append(_endpoint(name, h["port"], h["path"], h.get("token"), parse=name == (p.get("collector") or {}).get("service")))
    col = p.get("collector")
    if col:
        port = services[col["service"]]["port"]
        eps += [_endpoint(METRICS, port, "/metrics", parse=True), _endpoint(STATUS, port, "/status", parse=True)]
    runs = p.get("runs")
    if runs:
        svc = services[runs["service"]]
        if not svc.get("port") or not svc.get("env_file") or not svc.get("token_var"):
            raise ProbeInputError("runs.service %r needs a port, an env_file and a token_var in services" % runs["service"])
        eps.append(_endpoint(RUNS, svc["port"], runs.get("path") or "/api/runs", dict(env_file=svc["env_file"], var=svc["token_var"]), True))
    return eps


def check_services(services: Any) -> Dict[str, Dict[str, Any]]:
    """{name: service} of the services option, checked: unique names, unit names, absolute env file paths."""
    out = {}
    for i, svc in enumerate(services or []):
        name = svc.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ProbeInputError("services[%d] has no name: give each service its name from the graph" % i)
        if name.startswith("@"):
            raise ProbeInputError("services[%d]: the name %r starts with @, which names the probe's own requests" % (i, name))
        if name in out:
            raise ProbeInputError("services[%d]: %r is listed twice: give each service once" % (i, name))
        try:
            _units.check_unit_name(svc.get("unit"), "services[%d].unit" % i)
        except _units.UnitsError as e:
            raise ProbeInputError(str(e)) from None
        for key in ("env_file",):
            if svc.get(key) is not None:
                try:
                    _safefile.check_path(svc[key], "services[%d].%s" % (i, key))
                except _safefile.UnsafePathError as e:
                    raise ProbeInputError(str(e)) from None
        out[name] = svc
    if not out:
        raise ProbeInputError("services is empty: give the QuantLab graph (quantlab_services | quantops.runbooks.quantlab_probe_services(...))")
    for name, svc in out.items():
        unknown = [d for d in svc.get("after") or [] if d not in out]
        if unknown:
            raise ProbeInputError("service %r depends on %s, not in services" % (name, ", ".join(unknown)))
    return out


def runs_facts(row: Mapping[str, Any], now: float) -> Dict[str, Any]:
    """count, active (manifests with a run_id and no ended_at) and the newest run's age of /api/runs' answer
    ({"count", "runs": [manifest...]}, routes/api.ts at 115a7dd; strategyd's index.json, an array, is among them)."""
    out = dict(status=row.get("status"), latency_s=row.get("latency_s"), error=None, count=None, active=None, newest_run_id=None,
               newest_age_s=None)  # type: Dict[str, Any]
    body = row.get("json")
    if not row.get("healthy"):
        out["error"] = row.get("error")
        return out
    if not isinstance(body, Mapping) or not isinstance(body.get("runs"), list):
        out["error"] = "the answer is not {count, runs: [...]}"
        return out
    manifests = [m for m in body["runs"] if isinstance(m, Mapping) and m.get("run_id")]
    out.update(count=body.get("count"), active=len([m for m in manifests if not m.get("ended_at")]))
    newest = None
    for m in manifests:
        when = max([t for t in (iso_epoch(m.get("started_at")), iso_epoch(m.get("ended_at"))) if t is not None] or [0]) or None
        if when is not None and (newest is None or when > newest[0]):
            newest = (when, m.get("run_id"))
    if newest:
        out.update(newest_run_id=str(newest[1])[:200], newest_age_s=round(max(0.0, now - newest[0]), 3))
    return out


# PLR0912/PLR0915: one pass over every source, in the order the report shows them
def probe(module: Any, target: Any, p: Mapping[str, Any], secrets: hh.Secrets, clock=time.time) -> Dict[str, Any]:  # noqa: PLR0912, PLR0915
    """The facts of one host: units, health answers, collector, runs, cron, ML log, env files and, for the
    ``troubleshoot`` service, its journal tail, the port holders and (replayd) its env names."""
    services = check_services(p["services"])
    for key in ("collector", "runs"):
        if p.get(key) and p[key]["service"] not in services:
            raise ProbeInputError("%s.service %r is not one of services (%s)" % (key, p[key]["service"], ", ".join(services)))
    if p.get("troubleshoot") and p["troubleshoot"] not in services:
        raise ProbeInputError("troubleshoot=%r is not a service; the services are: %s" % (p["troubleshoot"], ", ".join(services)))
    endpoints = plan_endpoints(p, services)
    items = hh.targets(endpoints, p["timeout"]) if endpoints else []  # every request checked before anything is asked
    started = time.monotonic()
    shown = _units.show(module, target, [_units.full_name(s["unit"]) for s in services.values()], _units.INFO_PROPERTIES,
                        options=[_units.TIMESTAMP_OPTION])
    now = clock()
    rows = {}
    if items:
        result = hh.run(items, secrets=secrets, max_body=p["max_body"])
        rows = dict((r["name"], r) for r in result["endpoints"])
    facts = dict(now=now, service_user=p["service_user"], services={})  # type: Dict[str, Any]
    for name, svc in services.items():
        info = _units.unit_info(shown[_units.full_name(svc["unit"])], now)
        unit = dict((k, info[k]) for k in ("load_state", "active_state", "sub_state", "main_pid", "since_s", "n_restarts", "result"))
        unit["unit"] = svc["unit"]
        row = rows.get(name)
        health = None
        if row is not None:
            health = dict((k, row[k]) for k in ("healthy", "status", "latency_s", "error"))
            health["path"] = (svc.get("health") or {}).get("path")
        facts["services"][name] = dict(unit=unit, health=health, critical=svc.get("critical", True), after=list(svc.get("after") or []),
                                       port=svc.get("port"), env_file=svc.get("env_file"))
    col = p.get("collector")
    if col:
        csvc = services[col["service"]]
        inv = shown[_units.full_name(csvc["unit"])].get("InvocationID") or None
        jlines = journal_lines(module, target, csvc["unit"], COLLECTOR_JOURNAL_LINES, inv) if inv else []
        mrow, srow, hrow = rows.get(METRICS) or {}, rows.get(STATUS) or {}, rows.get(col["service"]) or {}
        facts["collector"] = dict(qf.collector_facts(hrow.get("json"), mrow.get("json"), srow.get("json"), jlines, now),
                                  service=col["service"], spool=spool_info(col["spool_dir"], p["service_user"]),
                                  metrics_error=None if mrow.get("healthy") else mrow.get("error") or "not asked")
    if p.get("runs"):
        facts["runs"] = runs_facts(rows.get(RUNS) or {}, now)
    files = [(s["env_file"], "root") for s in services.values() if s.get("env_file")]
    files += [(f["path"], f.get("owner")) for f in p.get("env_files") or []]
    facts["env_files"] = [env_file_info(path, owner) for path, owner in files]
    if p.get("cron"):
        facts["cron"] = cron_info(p["cron"]["path"], p["cron"]["match"])
    if p.get("ml_log"):
        facts["ml_log"] = log_info(p["ml_log"], now)
    if p.get("troubleshoot"):
        tsvc = services[p["troubleshoot"]]
        rc, out, err = module.run_command(["ss", "-ltnpH"])
        ts = dict(service=p["troubleshoot"], listeners=qf.listeners(out) if rc == 0 else [], ss_error=None if rc == 0 else (err or out).strip()[:300],
                  journal=[r["line"] for r in journal_lines(module, target, tsvc["unit"], p["journal_lines"])])
        if p["troubleshoot"] == "replayd" and tsvc.get("env_file"):
            ts["env_names"] = env_names(tsvc["env_file"], qf.REPLAY_ENV_NAMES)
        facts["troubleshoot"] = ts
    facts["elapsed"] = round(time.monotonic() - started, 3)
    return secrets.scrub(facts)
