#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: http_health
short_description: Check many HTTP health endpoints at once on the host, with bearer tokens read on the host
version_added: 1.1.0
description:
  - Sends one C(GET) to every endpoint of O(endpoints) at the same time, from the managed host (one thread each,
    Python's standard library only), and returns each one's status, latency, parsed JSON body and error, plus whether
    all are healthy. Checking ten services takes as long as the slowest one, not the sum of ten C(uri) tasks.
  - An endpoint is healthy when it answers with a status of its O(endpoints[].status) within its
    O(endpoints[].timeout) and, with O(endpoints[].json=true), its body is JSON of at most O(max_body) bytes.
  - With O(wait=true) the unhealthy endpoints are checked again every O(poll) seconds until all are healthy or
    O(wait_timeout) has passed; RV(endpoints[].ready_s) tells when each first answered.
  - A bearer token is given by reference only, O(endpoints[].token.env_file) and O(endpoints[].token.var), and read
    on the host from that env file (C(NAME=value) lines, as systemd's C(EnvironmentFile=)). The file is opened
    without following a symbolic link another user could have made, and refused unless it is a regular file owned
    by root (or the connection user) with no permission for its group or others (mode 0600). The token is never
    part of the arguments, the result, a message or an error, at any verbosity. Should an endpoint echo it, it is
    masked.
  - The module does not fail when endpoints are unhealthy; it returns RV(healthy). Use C(failed_when) to gate on it.
    Unreadable token files make their endpoint unhealthy (not contacted) with the reason.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes.read_only
options:
  endpoints:
    description:
      - The endpoints, at most 100. Each is O(endpoints[].url), or O(endpoints[].port) with O(endpoints[].host) and
        O(endpoints[].path).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Its label in the result and in messages; unique. The default is its URL.
        type: str
      url:
        description: C(http://) or C(https://) URL, without credentials in it. Excludes O(endpoints[].host), O(endpoints[].port) and O(endpoints[].path).
        type: str
      host:
        description: Host name or IP address, with O(endpoints[].port). The default is V(127.0.0.1).
        type: str
      port:
        description: Port, from 1 to 65535.
        type: int
      path:
        description: Path (and query), starting with C(/). The default is V(/health).
        type: str
      scheme:
        description: V(http) or V(https), with O(endpoints[].port).
        type: str
        choices: [http, https]
        default: http
      status:
        description: The statuses that count as healthy. The default is V([200]).
        type: list
        elements: int
      timeout:
        description: Seconds this endpoint may take to answer (connection, headers and body), above 0 and at most 3600. The default is O(timeout).
        type: float
      json:
        description: Parse the body as JSON (at most O(max_body) bytes) into RV(endpoints[].json); a body that is not JSON makes it unhealthy.
        type: bool
        default: false
      validate_certs:
        description: With C(https), check the server's certificate.
        type: bool
        default: true
      token:
        description:
          - A bearer token (C(Authorization) header), by reference. The value is read on the host and never leaves it.
        type: dict
        suboptions:
          env_file:
            description: Absolute path of the env file on the host, such as C(/etc/quantlab/strategyd.env). Must be a
              regular file owned by root with mode 0600 (no group or other permission).
            type: path
            required: true
          var:
            description: The name of the variable in the file, such as C(STRATEGYD_TOKEN).
            type: str
            required: true
  timeout:
    description: Default of O(endpoints[].timeout), in seconds.
    type: float
    default: 5
  wait:
    description: Check the unhealthy endpoints again until all are healthy or O(wait_timeout) has passed.
    type: bool
    default: false
  wait_timeout:
    description: With O(wait=true), seconds to wait for all endpoints, from 0 to 86400.
    type: float
    default: 60
  poll:
    description: With O(wait=true), seconds between two rounds, from 0.05 to 60. Mind the services' rate limits (QuantLab's are 60 a minute for some).
    type: float
    default: 1
  max_body:
    description: Largest body, in bytes, that O(endpoints[].json) parses (1 to 16777216); a larger one makes the endpoint unhealthy.
    type: int
    default: 65536
notes:
  - Runs on the managed host, so C(127.0.0.1) is the host's own loopback.
  - Redirects are not followed; their status is reported.
"""

EXAMPLES = r"""
- name: Every QuantLab health endpoint at once, strategyd's run list with its token
  quantops.runbooks.http_health:
    endpoints:
      - {name: replayd, port: 3030, json: true}
      - {name: collector, port: 9100, json: true}
      - {name: observer-api, port: 3000, path: /ping, json: true}
      - name: strategyd runs
        port: 3031
        path: /runs
        json: true
        token: {env_file: /etc/quantlab/strategyd.env, var: STRATEGYD_TOKEN}
  register: health
  failed_when: not health.healthy

- name: The core observer's health, which needs its token (read on the host from the role's env file)
  quantops.runbooks.http_health:
    endpoints:
      - name: observer
        port: 9150
        path: /observer/health
        token: {env_file: /etc/quantlab/observer.env, var: OBSERVER_TOKEN}

- name: Wait until replayd and collector answer, 2 s per try
  quantops.runbooks.http_health:
    endpoints:
      - {name: replayd, url: "http://127.0.0.1:3030/health"}
      - {name: collector, url: "http://127.0.0.1:9100/health"}
    timeout: 2
    wait: true
    wait_timeout: 90
"""

RETURN = r"""
healthy:
  description: Whether every endpoint is healthy.
  returned: always
  type: bool
  sample: true
unhealthy:
  description: The names of the endpoints that are not healthy.
  returned: always
  type: list
  elements: str
  sample: []
endpoints:
  description: One entry per endpoint, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Its name.
      type: str
    url:
      description: The URL requested (never a token).
      type: str
    healthy:
      description: Whether it answered a status of its list (and JSON, when asked) within its deadline.
      type: bool
    status:
      description: The HTTP status of its last answer, null when there was none.
      type: int
    latency_s:
      description: Seconds from the start of its last request to its status line (to the failure when there was none).
      type: float
    json:
      description: The parsed body of its last answer with O(endpoints[].json=true), else null.
      type: raw
    error:
      description: Why it is not healthy (no answer within the deadline, connection refused, an unexpected status, a body
        that is not JSON, a token file refused), null when healthy.
      type: str
    attempts:
      description: How many requests were sent to it (0 when its token file was refused).
      type: int
    ready_s:
      description: Seconds from the start of the module to its first healthy answer, null when it never had one.
      type: float
  sample:
    - {name: replayd, url: "http://127.0.0.1:3030/health", healthy: true, status: 200, latency_s: 0.0042,
       json: {status: ok, replay_version: "1.2"}, error: null, attempts: 1, ready_s: 0.006}
elapsed:
  description: Seconds the module spent.
  returned: always
  type: float
  sample: 0.021
msg:
  description: One line, naming every unhealthy endpoint and why.
  returned: always
  type: str
  sample: "1 of 3 endpoints unhealthy: strategyd runs: status 401, expected 200"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _http_health as hh
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v


def argument_spec():
    return dict(
        endpoints=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str"),
            url=dict(type="str"),
            host=dict(type="str"),
            port=dict(type="int"),
            path=dict(type="str"),
            scheme=dict(type="str", choices=["http", "https"], default="http"),
            status=dict(type="list", elements="int"),
            timeout=dict(type="float"),
            json=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            # a reference to a token (a file and a variable name), never a token: nothing to hide
            token=dict(type="dict", no_log=False, options=dict(
                env_file=dict(type="path", required=True),
                var=dict(type="str", required=True),
            )),
        )),
        timeout=dict(type="float", default=5),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="float", default=60),
        poll=dict(type="float", default=1),
        max_body=dict(type="int", default=65536),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    v.check(module, numbers=dict(timeout=hh.TIMEOUT, wait_timeout=hh.WAIT_TIMEOUT, poll=hh.POLL, max_body=hh.MAX_BODY))
    secrets = hh.Secrets()
    try:
        items = hh.targets(p["endpoints"], p["timeout"])
    except (hh.HealthInputError, v.InvalidInput) as e:
        module.fail_json(msg=str(e), changed=False)
    try:
        result = hh.run(items, secrets=secrets, wait=p["wait"], wait_timeout=p["wait_timeout"], poll=p["poll"], max_body=p["max_body"])
    except Exception as e:  # noqa: BLE001 - never a traceback: it could carry a token
        module.no_log_values.update(secrets.values)
        module.fail_json(msg=secrets.scrub("http_health failed: %s: %s" % (type(e).__name__, e)), changed=False)
    module.no_log_values.update(secrets.values)  # Ansible masks them too, should anything have slipped through
    module.exit_json(**result)


if __name__ == "__main__":
    main()
