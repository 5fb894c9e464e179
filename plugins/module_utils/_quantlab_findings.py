# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the QuantLab probes found, read as decisions, in plain Python: whether a host is healthy and why not
(quantlab_health), and the findings with a likely cause of the runbook's troubleshooting probes for one service
("Service Won't Start", "Replay Not Returning Data", "Collector Not Writing"; quantlab_troubleshoot and the deadline
miss of quantlab_restart).

The input is what the module quantlab_probe gathered on the host (see its RETURN): no I/O here, so the unit tests
call these functions directly, and the filter plugins and the module share them.

Collector facts checked against the real collector (alisitki/quantlab-backend 115a7dd, collector/): ``/health`` gives
``last_write_ts`` in milliseconds (``now * 1000``, 0 before the first write); ``/metrics`` gives ``queue_size``,
``queue_maxsize``, ``queue_utilization_pct``, ``dropped_events_total`` and ``writer``, which the real code never fills
(``state.writer_stats`` stays ``{}``: the assignment is commented out), so the writer's failures are read from its
journal: ``[Writer] SPOOL WRITE FAILED``/``FLUSH FAILED``/... lines and the ``[Writer] Stats: {...}`` line printed
every 30 s. ``/status`` gives ``state`` (READY, DEGRADED, OFFLINE, ERROR)."""

import ast
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

USERS = re.compile(r'\("([^"]*)",pid=(\d+)')
WRITER_FAILURE = re.compile(r"\[Writer\] (?:SPOOL WRITE FAILED|FLUSH FAILED|FLUSH CRITICAL ERROR|POST-WRITE VERIFICATION FAILED|"
                            r"LOCAL WRITE FAILED)")
WRITER_STATS = re.compile(r"\[Writer\] (?:Final )?[Ss]tats: (\{.*\})\s*$")
JOURNAL_MARK = re.compile(r"EADDRINUSE|address already in use|(?i:\berror\b)|Traceback|CRITICAL|FATAL")
PORT_IN_USE = re.compile(r"EADDRINUSE|address already in use")
# replayd reads its data from LOCAL_DATA_DIR (services/replayd/config.js) or from S3, which needs all three of these
# (core/replay/MetaLoader.js: "CREDENTIAL_ERROR: Missing required S3_COMPACT_* variables").
REPLAY_S3 = ("S3_COMPACT_ENDPOINT", "S3_COMPACT_ACCESS_KEY", "S3_COMPACT_SECRET_KEY")
REPLAY_ENV_NAMES = REPLAY_S3 + ("S3_COMPACT_BUCKET", "LOCAL_DATA_DIR")
ENV_MODES = ("0600", "0400")
DEFAULT_LIMITS = dict(max_write_age=300.0, min_free_mb=100.0, max_queue_pct=90.0, max_ml_log_age=26 * 3600.0)


def _one_line(text: Any, width: int = 300) -> str:
    return " ".join(str(text).split())[:width]


def _age(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 120:
        return "%.1fs" % seconds
    if seconds < 7200:
        return "%.0fmin" % (seconds / 60)
    if seconds < 172800:
        return "%.1fh" % (seconds / 3600)
    return "%.1fd" % (seconds / 86400)


def _bytes(n: Optional[float]) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return "%.0f %s" % (n, unit) if unit == "B" else "%.1f %s" % (n, unit)
        n /= 1024.0
    return "%.1f TB" % n


def listeners(ss_out: str) -> List[Dict[str, Any]]:
    """The listening TCP sockets of ``ss -ltnp`` output: address, port and the processes holding each (name, pid)."""
    out = []
    for line in (ss_out or "").splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] != "LISTEN":
            continue
        host, dummy, port = fields[3].rpartition(":")
        if not port.isdigit():
            continue
        holders = [dict(name=name, pid=int(pid)) for name, pid in USERS.findall(line)]
        out.append(dict(address=host, port=int(port), holders=holders))
    return out


def port_findings(service: str, port: Optional[int], socks: Sequence[Mapping[str, Any]], main_pid: Optional[int]) -> Tuple[List[str], List[str]]:
    """(findings, causes) of who holds the service's port: another process is the likely cause of a failed start."""
    if port is None:
        return [], []
    holders = [h for s in socks or [] if s.get("port") == port for h in s.get("holders") or []]
    others = [h for h in holders if h.get("pid") != main_pid]
    if others:
        who = ", ".join("%s (pid %d)" % (h["name"], h["pid"]) for h in others)
        return ["port %d is held by %s" % (port, who)], ["port %d is taken by another process, %s: stop it or move it, then restart %s"
                                                         % (port, who, service)]
    if holders:
        return ["port %d is held by %s itself (pid %s)" % (port, service, main_pid)], []
    return ["nothing listens on port %d" % port], []


def env_findings(path: str, st: Optional[Mapping[str, Any]]) -> Tuple[List[str], List[str]]:
    """(findings, causes) of a service's env file: present, a regular file, mode 0600 (never its content)."""
    st = st or {}
    if not st.get("exists"):
        return ["env file %s is missing" % path], ["its env file %s is missing: redeploy the role (quantops.runbooks.quantlab)" % path]
    if st.get("problem") and st.get("kind") not in (None, "a regular file"):
        return ["env file %s: %s" % (path, st["problem"])], ["its env file %s is %s: redeploy the role" % (path, st.get("kind"))]
    mode = st.get("mode")
    found = ["env file %s present, mode %s, owner %s" % (path, mode, st.get("owner", st.get("pw_name", st.get("uid"))))]
    if mode not in ENV_MODES:
        found.append("env file %s has mode %s: a file with a token must be 0600" % (path, mode))
        return found, ["its env file %s has mode %s, open to others: chmod 0600 it (or redeploy the role)" % (path, mode)]
    return found, []


def dep_findings(deps_health: Optional[Mapping[str, Any]]) -> Tuple[List[str], List[str]]:
    """(findings, causes) of the dependencies' health answers (rows of http_health's endpoints)."""
    found, causes = [], []
    for row in (deps_health or {}).get("endpoints") or []:
        if row.get("healthy"):
            found.append("dependency %s healthy" % row.get("name"))
        else:
            found.append("dependency %s unhealthy: %s" % (row.get("name"), row.get("error")))
            causes.append("its dependency %s does not answer: restart it first" % row.get("name"))
    return found, causes


def journal_findings(journal: Sequence[str], count: int = 50) -> Tuple[List[str], List[str], List[str]]:
    """(findings, causes, tail) of the service's last journal lines: the last one that looks like an error."""
    lines = [_one_line(line) for line in journal or []]
    found, causes = [], []
    marks = [line for line in lines if JOURNAL_MARK.search(line)]
    if marks:
        found.append("journal: %s" % marks[-1])
        if PORT_IN_USE.search(marks[-1]):
            causes.append("its port is in use (the journal says so)")
    found.append("journal: %d line(s) read (last %d)" % (len(lines), count))
    return found, causes, lines[-10:]


# PLR0913: the probes' results, keyword-only
def start_findings(service: str, unit: str, *, port: Optional[int] = None, env_path: Optional[str] = None,  # noqa: PLR0913
                   env_stat: Optional[Mapping[str, Any]] = None, journal: Sequence[str] = (), socks: Sequence[Mapping[str, Any]] = (),
                   deps_health: Optional[Mapping[str, Any]] = None, main_pid: Optional[int] = None) -> Dict[str, Any]:
    """The runbook's "Service Won't Start" probes read as findings and a likely cause: who holds the service's port,
    its env file (present, mode: never its content), its dependencies' health and its last journal lines."""
    found, causes = port_findings(service, port, socks, main_pid)
    if env_path:
        more, why = env_findings(env_path, env_stat)
        found, causes = found + more, causes + why
    more, why = dep_findings(deps_health)
    found, causes = found + more, causes + why
    more, why, tail = journal_findings(journal)
    found = found + more
    if not causes:
        causes = why
    if not causes:
        causes.append("no probe explains it: read the last journal lines (journalctl -u %s -n 50)" % unit)
    return dict(findings=found, cause="; ".join(causes), journal_tail=tail)


def epoch_of_ts(value: Any) -> Optional[float]:
    """A collector timestamp as seconds since the epoch: the real collector gives milliseconds (``now * 1000``) and 0
    before its first write; a value in seconds is taken as it is. None for none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return value / 1000.0 if value > 1e11 else float(value)


def writer_stats_from_journal(lines: Sequence[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The last ``[Writer] Stats: {...}`` dict the real collector printed (a Python literal: read with literal_eval,
    never eval), or None."""
    for row in reversed(list(lines or [])):
        m = WRITER_STATS.search(str(row.get("line", "")))
        if m:
            try:
                value = ast.literal_eval(m.group(1))
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(value, dict):
                return value
    return None


def collector_facts(health: Any, metrics: Any, status: Any, journal: Sequence[Mapping[str, Any]], now: float) -> Dict[str, Any]:
    """The collector's queue, writer and last write from its /health, /metrics, /status answers (parsed JSON, or None)
    and its journal lines ({epoch, line}) of the running invocation."""
    metrics = metrics if isinstance(metrics, Mapping) else {}
    health = health if isinstance(health, Mapping) else {}
    writer = metrics.get("writer") if isinstance(metrics.get("writer"), Mapping) else {}
    source = "metrics"
    if not any(k in writer for k in ("write_failures", "verification_failures")):
        writer = writer_stats_from_journal(journal) or {}
        source = "journal [Writer] Stats" if writer else None
    failures = [row for row in journal or [] if WRITER_FAILURE.search(str(row.get("line", "")))]
    last_write = epoch_of_ts(health.get("last_write_ts"))
    last_failure = max([float(row.get("epoch") or 0) for row in failures] or [0]) or None
    return dict(
        queue_size=metrics.get("queue_size"), queue_maxsize=metrics.get("queue_maxsize"),
        queue_utilization_pct=metrics.get("queue_utilization_pct"), dropped_events_total=metrics.get("dropped_events_total"),
        state=status.get("state") if isinstance(status, Mapping) else None,
        write_failures=writer.get("write_failures"), verification_failures=writer.get("verification_failures"),
        total_written=writer.get("total_written"), writer_stats_source=source,
        journal_write_failures=len(failures), last_failure_epoch=last_failure,
        last_failure_line=_one_line(failures[-1]["line"]) if failures else None,
        last_write_epoch=last_write, last_write_age_s=None if last_write is None else round(max(0.0, now - last_write), 3),
        uptime_s=health.get("uptime") if isinstance(health.get("uptime"), (int, float)) else None,
    )


def spool_causes(spool: Optional[Mapping[str, Any]], user: str, min_free_mb: float) -> List[str]:
    """Why the spool directory cannot take the collector's writes (empty when it can)."""
    spool = spool or {}
    path = spool.get("path")
    if spool.get("problem"):
        return ["collector spool %s: %s" % (path, spool["problem"])]
    if not spool.get("exists"):
        return ["collector spool directory %s is missing: the writer cannot write (redeploy the role, or mkdir it owned by %s)" % (path, user)]
    out = []
    if spool.get("read_only_fs"):
        out.append("collector spool %s is on a read-only filesystem" % path)
    if not spool.get("writable_by_user"):
        out.append("collector spool directory %s is not writable by %s (mode %s, owner %s): the writer cannot write" % (
            path, user, spool.get("mode"), spool.get("owner")))
    free = spool.get("free_bytes")
    if free is not None and free < min_free_mb * 1024 * 1024:
        out.append("collector spool %s has %s free, below %g MB" % (path, _bytes(free), min_free_mb))
    return out


def collector_causes(col: Mapping[str, Any], limits: Mapping[str, float]) -> List[str]:
    """Why the collector is not writing (empty when it is): the writer failing since its last good write, its last
    write too old, its queue nearly full, its /status state."""
    out = []
    last_write, last_failure = col.get("last_write_epoch"), col.get("last_failure_epoch")
    if last_failure and (last_write is None or last_failure > last_write):
        out.append("collector writer failing since its last good write (%d failure line(s) in its journal, last: %s)" % (
            col.get("journal_write_failures") or 0, col.get("last_failure_line")))
    age = col.get("last_write_age_s")
    if age is not None and age > limits["max_write_age"]:
        out.append("collector's last write was %s ago (more than %gs)" % (_age(age), limits["max_write_age"]))
    elif last_write is None and (col.get("uptime_s") or 0) > limits["max_write_age"]:
        out.append("collector has written nothing in %s of uptime" % _age(col.get("uptime_s")))
    pct = col.get("queue_utilization_pct")
    if isinstance(pct, (int, float)) and pct >= limits["max_queue_pct"]:
        out.append("collector queue %s%% full (%s of %s)" % (pct, col.get("queue_size"), col.get("queue_maxsize")))
    if col.get("state") in ("OFFLINE", "ERROR"):
        out.append("collector /status state %s" % col["state"])
    return out


def _svc_problem(name: str, unit: Mapping[str, Any], row: Optional[Mapping[str, Any]]) -> Optional[str]:
    if unit.get("load_state") not in (None, "loaded"):
        return "%s: unit %s is %s" % (name, unit.get("unit"), unit.get("load_state"))
    if unit.get("active_state") != "active":
        return "%s: unit %s is %s (%s), result %s" % (name, unit.get("unit"), unit.get("active_state"), unit.get("sub_state"), unit.get("result"))
    if row is not None and not row.get("healthy"):
        return "%s: %s answers %s" % (name, row.get("path", "health"), row.get("error"))
    return None


def _file_cause(f: Mapping[str, Any]) -> Optional[str]:
    if not f.get("exists"):
        return "env file %s is missing" % f.get("path")
    if f.get("problem"):
        return "env file %s: %s" % (f.get("path"), f["problem"])
    return None


def health(facts: Mapping[str, Any], limits: Optional[Mapping[str, float]] = None) -> Dict[str, Any]:
    """healthy, causes (what makes the host unhealthy) and notices (what a non-critical service or the ML log shows)
    of quantlab_probe's facts."""
    limits = dict(DEFAULT_LIMITS, **dict(limits or {}))
    causes, warnings = [], []
    services = facts.get("services") or {}
    for name, svc in services.items():
        problem = _svc_problem(name, svc.get("unit") or {}, svc.get("health"))
        if problem:
            (causes if svc.get("critical", True) else warnings).append(problem)
    col = facts.get("collector")
    if col:
        causes += spool_causes(col.get("spool"), facts.get("service_user") or "the service user", limits["min_free_mb"])
        causes += collector_causes(col, limits)
        if col.get("metrics_error"):
            causes.append("collector /metrics: %s" % col["metrics_error"])
    runs = facts.get("runs")
    if runs and runs.get("error"):
        causes.append("observer-api /api/runs: %s" % runs["error"])
    for f in facts.get("env_files") or []:
        why = _file_cause(f)
        if why:
            causes.append(why)
    cron = facts.get("cron")
    if cron and not cron.get("present"):
        causes.append("cron entry missing: %s" % (cron.get("problem") or "no line running %s in %s" % (cron.get("match"), cron.get("path"))))
    ml = facts.get("ml_log")
    if ml:
        if ml.get("problem"):
            causes.append("ML log %s: %s" % (ml.get("path"), ml["problem"]))
        elif not ml.get("exists"):
            warnings.append("ML log %s does not exist (no ML run yet)" % ml.get("path"))
        elif ml.get("size") and (ml.get("age_s") or 0) > limits["max_ml_log_age"]:
            warnings.append("ML log %s last written %s ago: the daily ML run may not be running" % (ml.get("path"), _age(ml.get("age_s"))))
    return dict(healthy=not causes, causes=causes, notices=warnings)


def table(facts: Mapping[str, Any]) -> List[str]:
    """The compact on-screen report of one host: a line per service, then the collector, runs, cron, ML log, env files."""
    lines = ["%-13s %-24s %-17s %-5s %s" % ("service", "unit", "state", "http", "latency / error")]
    for name, svc in (facts.get("services") or {}).items():
        unit, row = svc.get("unit") or {}, svc.get("health")
        state = "%s/%s" % (unit.get("active_state"), unit.get("sub_state"))
        if row is None:
            http, lat = "-", "(no endpoint)"
        else:
            http = str(row.get("status") or "-")
            lat = "%.0f ms %s" % (1000 * row["latency_s"], row.get("path", "")) if row.get("healthy") and row.get("latency_s") is not None \
                else _one_line(row.get("error"), 80)
        lines.append("%-13s %-24s %-17s %-5s %s" % (name, unit.get("unit"), state, http, lat))
    col = facts.get("collector")
    if col:
        spool = col.get("spool") or {}
        errors = col.get("write_failures")
        lines.append("collector: queue %s/%s (%s%%), writer errors %s (%s), failure lines %d, last write %s ago, state %s" % (
            col.get("queue_size"), col.get("queue_maxsize"), col.get("queue_utilization_pct"),
            "-" if errors is None else errors + (col.get("verification_failures") or 0), col.get("writer_stats_source") or "not reported",
            col.get("journal_write_failures") or 0, _age(col.get("last_write_age_s")), col.get("state") or "-"))
        lines.append("spool: %s %s, %s free, %s by %s" % (
            spool.get("path"), spool.get("mode") or "missing", _bytes(spool.get("free_bytes")),
            "writable" if spool.get("writable_by_user") else "NOT writable", facts.get("service_user")))
    runs = facts.get("runs")
    if runs:
        if runs.get("error"):
            lines.append("runs: %s" % runs["error"])
        else:
            lines.append("runs: %s listed, %s active, newest %s (%s ago)" % (
                runs.get("count"), runs.get("active"), runs.get("newest_run_id"), _age(runs.get("newest_age_s"))))
    cron = facts.get("cron")
    if cron:
        lines.append("cron: %s %s" % (cron.get("path"), "present: %s" % cron.get("line") if cron.get("present") else "MISSING"))
    ml = facts.get("ml_log")
    if ml:
        last = "empty" if not ml.get("last_line") else repr(ml.get("last_line"))
        lines.append("ML log: %s %s, written %s ago, last line %s" % (ml.get("path"), "present" if ml.get("exists") else "missing",
                                                                      _age(ml.get("age_s")), last))
    files = facts.get("env_files") or []
    bad = [f for f in files if _file_cause(f)]
    lines.append("env files: %d of %d present with mode 0600%s" % (len(files) - len(bad), len(files),
                                                                   "; " + "; ".join(_file_cause(f) for f in bad) if bad else ""))
    return lines


def replay_findings(env_names: Optional[Mapping[str, str]], env_path: str) -> Tuple[List[str], List[str], List[str]]:
    """(findings, causes, skipped) of "Replay Not Returning Data" as far as it can be checked on the host: the names
    replayd needs in its env file (set, empty or absent: never a value)."""
    names = env_names or {}
    found = ["replayd env %s: %s" % (env_path, ", ".join("%s %s" % (n, names.get(n, "absent")) for n in REPLAY_ENV_NAMES))]
    causes = []
    s3 = all(names.get(n) == "set" for n in REPLAY_S3)
    local = names.get("LOCAL_DATA_DIR") == "set"
    if not s3 and not local:
        causes.append("replayd has neither LOCAL_DATA_DIR nor all of %s set in %s: its /stream answers CREDENTIAL_ERROR" % (
            ", ".join(REPLAY_S3), env_path))
    skipped = ["S3 connectivity (core/replay/tools/verify-credentials.js) and the dataset listing (aws s3 ls): not reached from here; "
               "run them as the runbook says when the names above are set"]
    return found, causes, skipped


def collector_findings(facts: Mapping[str, Any], limits: Mapping[str, float]) -> Tuple[List[str], List[str]]:
    """(findings, causes) of "Collector Not Writing": the spool directory, the queue and the writer."""
    col = facts.get("collector") or {}
    spool = col.get("spool") or {}
    found = ["spool %s: %s, mode %s, owner %s, %s by %s, %s free" % (
        spool.get("path"), "present" if spool.get("exists") else "missing", spool.get("mode"), spool.get("owner"),
        "writable" if spool.get("writable_by_user") else "not writable", facts.get("service_user"), _bytes(spool.get("free_bytes"))),
        "queue %s of %s (%s%%), dropped %s" % (
            col.get("queue_size"), col.get("queue_maxsize"), col.get("queue_utilization_pct"), col.get("dropped_events_total")),
        "writer: %s write failures, %s verification failures (%s); %d failure line(s) in this run's journal; last write %s ago" % (
            col.get("write_failures"), col.get("verification_failures"), col.get("writer_stats_source") or "not reported",
            col.get("journal_write_failures") or 0, _age(col.get("last_write_age_s")))]
    if col.get("last_failure_line"):
        found.append("writer journal: %s" % col["last_failure_line"])
    causes = spool_causes(spool, facts.get("service_user") or "the service user", limits["min_free_mb"]) + collector_causes(col, limits)
    return found, causes


def troubleshoot(facts: Mapping[str, Any], limits: Optional[Mapping[str, float]] = None) -> Dict[str, Any]:
    """The troubleshooting findings of quantlab_probe's ``troubleshoot`` service: "Service Won't Start" for every service,
    "Replay Not Returning Data" for replayd, "Collector Not Writing" for the collector. Returns findings, cause (the
    likely one, or that none was found), ok (no problem found), skipped (what was not checked) and journal_tail."""
    limits = dict(DEFAULT_LIMITS, **dict(limits or {}))
    ts = facts.get("troubleshoot") or {}
    name = ts.get("service")
    svc = (facts.get("services") or {}).get(name) or {}
    unit = svc.get("unit") or {}
    deps = dict(endpoints=[dict(row, name=dep) for dep in svc.get("after") or []
                           for row in [((facts.get("services") or {}).get(dep) or {}).get("health")] if row is not None])
    env_stat = next((f for f in facts.get("env_files") or [] if f.get("path") == svc.get("env_file")), None)
    base = start_findings(name, unit.get("unit") or name, port=svc.get("port"), env_path=svc.get("env_file"), env_stat=env_stat,
                          journal=ts.get("journal") or [], socks=ts.get("listeners") or [], deps_health=deps, main_pid=unit.get("main_pid"))
    state = "unit %s %s/%s, main pid %s, restarts %s, result %s" % (unit.get("unit"), unit.get("active_state"), unit.get("sub_state"),
                                                                    unit.get("main_pid") or "-", unit.get("n_restarts"), unit.get("result"))
    found = [state] + base["findings"]
    own = svc.get("health")
    causes = [] if base["cause"].startswith("no probe explains it") else base["cause"].split("; ")
    if own is not None:
        found.insert(1, "its health %s: %s" % (own.get("path"), "healthy (%s)" % own.get("status") if own.get("healthy") else own.get("error")))
    problem = _svc_problem(name, unit, own)
    skipped = []
    if name == "replayd":
        more, why, skipped = replay_findings(ts.get("env_names"), svc.get("env_file"))
        found, causes = found + more, causes + why
    if name == ((facts.get("collector") or {}).get("service")):
        more, why = collector_findings(facts, limits)
        found, causes = found + more, causes + why
    ok = not causes and problem is None
    if not causes:
        causes = ["no problem found: %s is active and healthy" % name] if ok else [base["cause"]]
    return dict(service=name, ok=ok, findings=found, cause="; ".join(causes), skipped=skipped, journal_tail=base["journal_tail"],
                problem=problem)


def _failed_outcome(result: Any, key: str) -> Optional[Dict[str, Any]]:
    if not isinstance(result, Mapping):
        return dict(status="FAILED", summary="no result")
    if result.get("unreachable"):
        return dict(status="UNREACHABLE", summary="unreachable: %s" % _one_line(result.get("msg", "no connection to the host")))
    if result.get("failed") or key not in result:
        return dict(status="FAILED", summary="the probe failed: %s" % _one_line(result.get("msg", "no result"), 400))
    return None


def health_outcome(result: Any) -> Dict[str, Any]:
    """One host's outcome of quantlab_health from its quantlab_probe result: HEALTHY or UNHEALTHY (the causes named),
    FAILED or UNREACHABLE; with the table to print and the report entry (no token: the module scrubbed them)."""
    bad = _failed_outcome(result, "healthy")
    if bad:
        return dict(bad, table=[], causes=[bad["summary"]], notices=[], report=dict(bad))
    causes, warnings = list(result.get("causes") or []), list(result.get("notices") or [])
    status = "HEALTHY" if result.get("healthy") and not causes else "UNHEALTHY"
    summary = "healthy" if status == "HEALTHY" else "; ".join(causes)
    if warnings:
        summary += " (notices: %s)" % "; ".join(warnings)
    keys = ("now", "services", "collector", "runs", "cron", "ml_log", "env_files", "elapsed")
    report = dict(dict((k, result.get(k)) for k in keys if k in result), status=status, causes=causes, notices=warnings)
    return dict(status=status, summary=summary, causes=causes, notices=warnings, table=list(result.get("table") or []), report=report)


def troubleshoot_outcome(result: Any) -> Dict[str, Any]:
    """One host's outcome of quantlab_troubleshoot: NO_PROBLEM_FOUND or PROBLEM (the likely cause), FAILED or
    UNREACHABLE; with the lines to print (likely cause, findings, skipped checks and, with a problem, the journal's last 5 lines)."""
    bad = _failed_outcome(result, "ok")
    if bad:
        return dict(bad, lines=[bad["summary"]])
    status = "NO_PROBLEM_FOUND" if result.get("ok") else "PROBLEM"
    lines = ["likely cause: %s" % result.get("cause")] + ["finding: %s" % f for f in result.get("findings") or []]
    lines += ["not checked: %s" % s for s in result.get("skipped") or []]
    if status == "PROBLEM":  # the last lines only as context of a problem, never a dump
        tail = ((result.get("troubleshoot") or {}).get("journal") or [])[-5:]
        lines += ["journal: %s" % _one_line(line, 200) for line in tail]
    return dict(status=status, summary=result.get("cause"), lines=lines)
