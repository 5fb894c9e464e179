# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of the kill_switch module. With ``fast: true`` it first tries the fast path: one POSIX sh script over the
task's connection, no Python on the host, that engages the kill file and waits there for each trader's proof. The
fast path takes only the plain, common case; for anything else (or when its script does not finish) it has changed
nothing, says why, and the module runs as usual in the same task."""

import datetime

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.quantops.runbooks.plugins.plugin_utils import _kill_fast


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        args = dict(self._task.args)
        fast = boolean(args.pop("fast", False), strict=False)
        params = dict(args)
        for key, default in (("method", "file"), ("scope", "user"), ("verify", False), ("verify_timeout", 150.0),
                             ("units", ["openclaw-ai-quant-trader", "openclaw-ai-quant-live"])):
            params.setdefault(key, default)
        params["verify"] = boolean(params["verify"], strict=False)
        if isinstance(params["units"], str):
            params["units"] = [u.strip() for u in params["units"].split(",")]
        why = _kill_fast.why_not_fast(params) if fast else "fast is false"
        if why is None:
            fast_result = self._run_fast(params, task_vars or {})
            if fast_result.get("engine") == "fast":
                result.update(fast_result)
                return result
            why = fast_result["fallback"]
        module_result = self._execute_module(module_name="quantops.runbooks.kill_switch", module_args=args,
                                             task_vars=task_vars)
        result.update(module_result)
        if fast:
            result["engine"] = "module"
            result["fallback"] = why
        return result

    def _run_fast(self, params, task_vars):
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        user = to_text(task_vars.get("ansible_user") or self._play_context.remote_user or "")
        head = _kill_fast.audit_head(params, now, user)
        script = _kill_fast.build_script(params, self._task.check_mode, head)
        res = self._low_level_execute_command(script, sudoable=True, executable="/bin/sh")  # unreachable: raised as is
        report = _kill_fast.parse(to_text(res.get("stdout", ""), errors="surrogate_or_strict"))
        if report["fallback"]:
            return dict(fallback="fast path declined: %s" % report["fallback"])
        if not report["complete"] or report["errors"]:
            tail = (report["errors"] or [to_text(res.get("stderr", "")).strip()[-300:] or "rc %s" % res.get("rc")])[0]
            return dict(fallback="fast path did not finish (%s)" % tail)
        params = dict(params, _check_mode=self._task.check_mode)
        judged = _kill_fast.judge(report, params)
        if self._task.diff:
            src = report["sources"]
            judged["diff"] = dict(before="file: %s\nenv: %s\n" % (src.get("file"), src.get("env")),
                                  after="file: %s\nenv: %s\n" % (src.get("target"), src.get("env")),
                                  before_header="kill switch", after_header="kill switch")
        return judged
