#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: quantlab_probe
short_description: Read a QuantLab host's health and the troubleshooting probes of one service in one run
version_added: 1.1.0
description:
  - Gathers on the QuantLab host, in one module run, everything the runbook's "Health Check Commands", "Check
    Collector Status", "View Active Runs", "Cron Jobs" and "Troubleshooting" sections read by hand, and decides from
    it whether the host is healthy and why not.
  - Every unit's state in one C(systemctl show); every service's health endpoint, the collector's C(/status) and
    C(/metrics) and observer-api's C(/api/runs) at the same time (the concurrent checker of
    M(quantops.runbooks.http_health), tokens read on the host from the env files by reference, never returned).
  - The collector's writer is judged from its C(/health) C(last_write_ts) (milliseconds in the real collector), its
    C(/metrics) queue, and its journal of the running invocation (C([Writer] SPOOL WRITE FAILED) and similar lines,
    and the C([Writer] Stats) line); the real collector's C(/metrics) C(writer) is always empty.
    Its spool directory is checked as the service user would meet it (exists, write permission for
    O(service_user) by its mode, read-only filesystem, free space).
  - The cron file, the ML log (last line and age) and the env files (present, regular, mode 0600, owner; never their
    content) are read as root without following a symbolic link a user could have made (the ML log, C(core/.env) and
    the checkout belong to the deploy user).
  - With O(troubleshoot), also the last O(journal_lines) journal lines of that service, who holds its port
    (C(ss -ltnp), process name and pid), its dependencies' health and, for replayd, which of the variable names it
    needs for its data are set in its env file (names only); for the collector, its spool, queue and writer. The
    result then holds RV(findings) and a likely RV(cause).
  - Fails only on bad options or when systemd cannot be read; an unhealthy host is RV(healthy=false) with RV(causes).
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
options:
  services:
    description:
      - The QuantLab service graph as the filter P(quantops.runbooks.quantlab_probe_services#filter) gives it from the
        role's C(quantlab_services).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The service's name, unique; not starting with C(@).
        type: str
        required: true
      unit:
        description: Its systemd unit.
        type: str
        required: true
      critical:
        description: Whether its failure makes the host unhealthy (V(false) makes it a warning).
        type: bool
        default: true
      after:
        description: The services it depends on (their health is part of its troubleshooting).
        type: list
        elements: str
        default: []
      port:
        description: The port it listens on.
        type: int
      env_file:
        description: Absolute path of its env file (checked present, root-owned, mode 0600).
        type: path
      token_var:
        description: The name of its token variable in O(services[].env_file) (a name, never a value).
        type: str
      health:
        description: Its health endpoint, C(port), C(path) and optionally C(token) (C(env_file), C(var)) as in M(quantops.runbooks.http_health).
        type: dict
  service_user:
    description: The user the services run as (the spool directory must be writable by it).
    type: str
    default: deploy
  collector:
    description: The collector's service name (C(service)) and spool directory (C(spool_dir)).
    type: dict
  runs:
    description: The service answering the run list (C(service), observer-api) and its C(path) (default C(/api/runs)).
    type: dict
  env_files:
    description: More env files to check besides the services' own, each a C(path) and its expected C(owner) (C(core/.env) is the deploy user's).
    type: list
    elements: dict
    default: []
  cron:
    description: The cron file (C(path)) and what its entry runs (C(match)).
    type: dict
  ml_log:
    description: The ML log, whose last line and age are reported.
    type: path
  troubleshoot:
    description: A service to run the troubleshooting probes for.
    type: str
  journal_lines:
    description: Journal lines of the O(troubleshoot) service to read, 1 to 1000.
    type: int
    default: 50
  timeout:
    description: Seconds each HTTP request may take, above 0 and at most 60.
    type: float
    default: 3
  max_body:
    description: Largest answer parsed as JSON, in bytes (1 to 16777216).
    type: int
    default: 4194304
  limits:
    description:
      - Thresholds of the verdict, any of C(max_write_age) (seconds since the collector's last write, default 300, as the
        real writer flushes each buffer at least every 180 s), C(min_free_mb) (the spool's free space, default 100),
        C(max_queue_pct) (default 90), C(max_ml_log_age) (seconds, default 93600; a warning only).
    type: dict
    default: {}
notes:
  - Run as root (C(become)); the env files, the journal and C(ss -p) need it.
  - Write permission is judged from the mode bits and groups, not ACLs.
"""

EXAMPLES = r"""
- name: The health of a QuantLab host, one module run
  quantops.runbooks.quantlab_probe:
    services: "{{ quantlab_services | quantops.runbooks.quantlab_probe_services(quantlab_ports, quantlab_env_dir) }}"
    collector: {service: collector, spool_dir: /opt/quantlab/spool}
    runs: {service: observer-api}
    env_files: [{path: /home/deploy/quantlab-backend/core/.env, owner: deploy}]
    cron: {path: /etc/cron.d/quantlab-ml, match: run_daily_ml.js}
    ml_log: /var/log/quantlab-ml.log
  become: true
  register: probe

- name: Why featurexd does not start
  quantops.runbooks.quantlab_probe:
    services: "{{ quantlab_services | quantops.runbooks.quantlab_probe_services(quantlab_ports, quantlab_env_dir) }}"
    troubleshoot: featurexd
  become: true
  register: probe
"""

RETURN = r"""
healthy:
  description: Whether nothing makes the host unhealthy.
  returned: always
  type: bool
causes:
  description: What makes the host unhealthy, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["collector spool directory /opt/quantlab/spool is not writable by deploy (mode 0550, owner deploy (uid 1000)): the writer cannot write"]
notices:
  description: What a non-critical service or the ML log shows, without making the host unhealthy.
  returned: always
  type: list
  elements: str
table:
  description: The compact report, one line each.
  returned: always
  type: list
  elements: str
services:
  description: Per service, its unit (C(unit), C(load_state), C(active_state), C(sub_state), C(main_pid), C(since_s), C(n_restarts),
    C(result)), its health answer (C(healthy), C(status), C(latency_s), C(error), C(path); null without an endpoint), C(critical),
    C(after), C(port), C(env_file).
  returned: always
  type: dict
collector:
  description: The collector's C(queue_size), C(queue_maxsize), C(queue_utilization_pct), C(dropped_events_total), C(state) (of C(/status)),
    C(write_failures), C(verification_failures), C(writer_stats_source), C(journal_write_failures), C(last_failure_line),
    C(last_write_epoch), C(last_write_age_s), C(uptime_s) and C(spool) (C(path), C(exists), C(mode), C(owner), C(writable_by_user),
    C(read_only_fs), C(free_bytes), C(free_pct)).
  returned: with O(collector)
  type: dict
runs:
  description: C(status), C(error), C(count), C(active) (manifests without C(ended_at)), C(newest_run_id), C(newest_age_s).
  returned: with O(runs)
  type: dict
env_files:
  description: Per env file C(path), C(exists), C(kind), C(mode), C(owner), C(expected_owner), C(problem); never its content.
  returned: always
  type: list
  elements: dict
cron:
  description: C(path), C(present), C(line), C(problem).
  returned: with O(cron)
  type: dict
ml_log:
  description: C(path), C(exists), C(size), C(age_s), C(last_line), C(problem).
  returned: with O(ml_log)
  type: dict
troubleshoot:
  description: C(service), C(journal) (its last lines), C(listeners) (C(address), C(port), C(holders) with C(name) and C(pid)),
    C(env_names) (replayd only, each name C(set), C(empty) or C(absent)).
  returned: with O(troubleshoot)
  type: dict
findings:
  description: What the troubleshooting probes found, one sentence each.
  returned: with O(troubleshoot)
  type: list
  elements: str
cause:
  description: The likely cause, or that no problem was found.
  returned: with O(troubleshoot)
  type: str
  sample: "port 3051 is taken by another process, python3 (pid 4242): stop it or move it, then restart featurexd"
ok:
  description: With O(troubleshoot), whether the service is active and healthy and no probe found a problem.
  returned: with O(troubleshoot)
  type: bool
skipped:
  description: What the troubleshooting could not check from the host (replayd's S3 connectivity and dataset).
  returned: with O(troubleshoot)
  type: list
  elements: str
now:
  description: The host's time of the reading, seconds since the epoch.
  returned: always
  type: float
elapsed:
  description: Seconds the probes took.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _http_health as hh
from ansible_collections.quantops.runbooks.plugins.module_utils import _journal, _safefile, _systemd, _units
from ansible_collections.quantops.runbooks.plugins.module_utils import _quantlab_findings as qf
from ansible_collections.quantops.runbooks.plugins.module_utils import _quantlab_probe as qp
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

LIMITS = dict(max_write_age=v.Range(1, 86400 * 30, "seconds"), min_free_mb=v.Range(0, 1024 * 1024, "MB"),
              max_queue_pct=v.Range(1, 100, "percent"), max_ml_log_age=v.Range(60, 86400 * 365, "seconds"))


def argument_spec():
    return dict(
        services=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            unit=dict(type="str", required=True),
            critical=dict(type="bool", default=True),
            after=dict(type="list", elements="str", default=[]),
            port=dict(type="int"),
            env_file=dict(type="path"),
            token_var=dict(type="str", no_log=False),  # a variable's name, never its value
            health=dict(type="dict"),
        )),
        service_user=dict(type="str", default="deploy"),
        collector=dict(type="dict"),
        runs=dict(type="dict"),
        env_files=dict(type="list", elements="dict", default=[]),
        cron=dict(type="dict"),
        ml_log=dict(type="path"),
        troubleshoot=dict(type="str"),
        journal_lines=dict(type="int", default=50),
        timeout=dict(type="float", default=3),
        max_body=dict(type="int", default=4 * 1024 * 1024),
        limits=dict(type="dict", default={}),
    )


def check(p):
    """The options the argument spec cannot check; ProbeInputError or v.InvalidInput naming the option."""
    v.number("journal_lines", p["journal_lines"], v.Range(1, 1000, "lines", integer=True))
    v.number("timeout", p["timeout"], v.Range(0, 60, "seconds", above=True))
    v.number("max_body", p["max_body"], hh.MAX_BODY)
    v.text("service_user", p["service_user"], v.Text(max_length=32))
    for key, value in (p["limits"] or {}).items():
        if key not in LIMITS:
            raise qp.ProbeInputError("limits.%s is not a limit; the limits are %s" % (key, ", ".join(sorted(LIMITS))))
        v.number("limits." + key, value, LIMITS[key])
    for key, needed in (("collector", ("service", "spool_dir")), ("runs", ("service",)), ("cron", ("path", "match"))):
        if p[key] is not None:
            missing = [k for k in needed if not isinstance(p[key].get(k), str) or not p[key][k]]
            if missing:
                raise qp.ProbeInputError("%s needs %s" % (key, " and ".join(missing)))
    paths = [("ml_log", p["ml_log"])] + [("env_files[%d].path" % i, f.get("path")) for i, f in enumerate(p["env_files"])]
    paths += [("collector.spool_dir", (p["collector"] or {}).get("spool_dir")), ("cron.path", (p["cron"] or {}).get("path"))]
    for name, path in paths:
        if path is not None or name.startswith("env_files"):
            try:
                _safefile.check_path(path, name)
            except _safefile.UnsafePathError as e:
                raise qp.ProbeInputError(str(e)) from None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    secrets = hh.Secrets()
    try:
        check(p)
        target = _systemd.SystemdTarget("system")
        facts = qp.probe(module, target, p, secrets)
    except (qp.ProbeInputError, v.InvalidInput, hh.HealthInputError) as e:
        module.fail_json(msg="quantlab_probe: %s" % e, changed=False)
    except (_units.UnitsError, _journal.JournalError, _systemd.SystemdTargetError) as e:
        module.no_log_values.update(secrets.values)
        module.fail_json(msg=secrets.scrub("quantlab_probe: %s" % e), changed=False)
    except Exception as e:  # noqa: BLE001 - never a traceback: it could carry a token
        module.no_log_values.update(secrets.values)
        module.fail_json(msg=secrets.scrub("quantlab_probe failed: %s: %s" % (type(e).__name__, e)), changed=False)
    verdict = qf.health(facts, p["limits"])
    result = dict(facts, changed=False, table=qf.table(facts), **verdict)
    if p["troubleshoot"]:
        found = qf.troubleshoot(facts, p["limits"])
        result.update(findings=found["findings"], cause=found["cause"], ok=found["ok"], skipped=found["skipped"])
    module.no_log_values.update(secrets.values)  # Ansible masks them too, should anything have slipped through
    module.exit_json(**secrets.scrub(result))


if __name__ == "__main__":
    main()
