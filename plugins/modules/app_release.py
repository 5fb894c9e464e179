#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: app_release
short_description: Deploy a git ref of an application into its own release directory and switch a stable path to it
version_added: 1.0.0
description:
  - Capistrano's layout, for an application run from git (QuantLab's quantlab-backend; the bot's repository later). Each
    deployed commit lives in its own directory C(<releases_dir>/<commit id>), a clone of a bare mirror kept in
    C(<releases_dir>/.cache.git). The units and the cron run from O(app_dir), a symbolic link to the current release,
    switched atomically (a link made under a temporary name beside it, then C(rename(2)) over O(app_dir)).
  - Runtime state that lives inside the checkout (an env file, a log, run outputs) is kept in O(shared_dir) and each
    release has symbolic links to it at the same relative paths (O(shared)), so a switch loses none of it.
  - O(state=deployed) fetches the mirror, resolves O(version), and when it is not already the current release builds its
    directory. In the new release, C(node_modules) of each package directory whose C(package-lock.json) did not change
    is carried over from the current release (hard links), and C(npm ci) runs only where the lockfile changed (in every
    lockfile directory on a first deploy). Then O(app_dir) is switched and the releases beyond the newest O(keep) are
    removed (never the current one nor the one just left). A release still installed is switched to again without
    fetch into it or C(npm ci).
  - A first deploy over a plain checkout at O(app_dir) migrates it, changing none of its files. Its runtime state at
    the O(shared) paths moves to O(shared_dir) (a rename, so a running service keeps writing to the same file). The
    checkout becomes the release of its HEAD, and O(app_dir) becomes a link to it.
  - O(state=rolled_back) switches O(app_dir) back to an installed release (O(release), or the one switched to before
    the current one), without fetch or C(npm ci).
  - Run it as the owner of the directories (C(become_user), the deploy user). Every directory it works in, and the
    parent of each, must belong to that user or to root; the module refuses to work on a tree another user controls.
  - The result lists the paths that changed between the two releases (RV(changed_paths)), for the caller to decide
    which services to restart.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes
requirements:
  - git on the managed host; npm where a lockfile changed.
options:
  app_dir:
    description: The stable path the services run from, a symbolic link to the current release (a plain checkout there is migrated).
    type: path
    required: true
  releases_dir:
    description: Where the release directories and the mirror live. A sibling of O(app_dir), not inside it.
    type: path
    required: true
  shared_dir:
    description: Where the runtime state of O(shared) lives. A sibling of O(app_dir), not inside it.
    type: path
    required: true
  state:
    description:
      - V(deployed) makes the release of O(version) the current one.
      - V(rolled_back) switches back to an installed release.
    type: str
    choices: [deployed, rolled_back]
    default: deployed
  repo:
    description: The git URL or path of the application. Required with O(state=deployed). No remote helpers (C(ext::)).
    type: str
  version:
    description:
      - The branch, tag or commit id to deploy. Required with O(state=deployed). Letters, digits and C(._/+@-), not
        starting with C(-) or C(.), without C(..), C(@{) or C(//).
    type: str
  release:
    description: With O(state=rolled_back), the full commit id of the installed release to go back to. Default the previous one.
    type: str
  shared:
    description:
      - Paths relative to a release, kept in O(shared_dir) and linked from every release. A trailing C(/) marks a
        directory; other paths are files (created empty with mode 0600 when missing, or seeded from the release's
        tracked copy). No absolute paths, C(..), C(.git), nor a path inside another.
    type: list
    elements: str
    default: []
  keep:
    description: How many releases stay installed (the current one included), from 1 to 100.
    type: int
    default: 3
  npm_ci:
    description: Run C(npm ci) where a lockfile changed. With V(false) the directories are only reported in RV(npm_ci).
    type: bool
    default: true
  npm_timeout:
    description: Seconds each C(npm ci) may take, from 1 to 86400.
    type: int
    default: 1800
notes:
  - One deploy of an application at a time, C(flock) on C(<releases_dir>/.lock).
  - In check mode the ref is resolved on the remote (C(git ls-remote)); the changed paths and the npm plan are known when
    the mirror already holds the commit, and are V(null) otherwise.
  - A shared path that git tracks (QuantLab's C(core/research/jobs.jsonl)) is seeded in O(shared_dir) from the first
    release that has it, then the release's copy is replaced by the link, so C(git status) in a release shows it as
    changed.
seealso:
  - module: quantops.runbooks.unit_gate
"""

EXAMPLES = r"""
- name: Deploy v1.2.0 of QuantLab as the deploy user
  become: true
  become_user: deploy
  quantops.runbooks.app_release:
    app_dir: /home/deploy/quantlab-backend
    releases_dir: /home/deploy/quantlab-releases
    shared_dir: /home/deploy/quantlab-shared
    repo: git@git.example.internal:research/quantlab-backend.git
    version: v1.2.0
    shared: [core/.env, core/observer-api/server.log, services/strategyd/runs/]
  register: deployed

- name: Go back to the release that was current before
  become: true
  become_user: deploy
  quantops.runbooks.app_release:
    app_dir: /home/deploy/quantlab-backend
    releases_dir: /home/deploy/quantlab-releases
    shared_dir: /home/deploy/quantlab-shared
    state: rolled_back
    release: "{{ deployed.previous }}"
"""

RETURN = r"""
release:
  description: The commit id of the release that is (or would be) current.
  returned: success
  type: str
path:
  description: Its directory.
  returned: success
  type: str
previous:
  description: The commit id of the release that was current before, when it changed; V(null) otherwise.
  returned: always
  type: str
changed_paths:
  description: Paths that differ between the previous and the new release; V(null) when unknown (first release, or check mode before the fetch).
  returned: always
  type: list
  elements: str
npm_ci:
  description: Package directories (relative to the release) whose lockfile changed, where C(npm ci) runs (or would run).
  returned: always
  type: list
  elements: str
npm_ran:
  description: Those where C(npm ci) did run.
  returned: always
  type: list
  elements: str
node_modules_carried:
  description: Package directories whose C(node_modules) was carried over from the previous release.
  returned: always
  type: list
  elements: str
no_lockfile_changed:
  description: Package directories without a lockfile whose C(package.json) changed (C(npm ci) cannot install those).
  returned: always
  type: list
  elements: str
switched:
  description: O(app_dir) was (or in check mode would be) switched to another release (a first release included).
  returned: always
  type: bool
reused:
  description: The release was still installed, and was switched to without a build.
  returned: always
  type: bool
migrated:
  description: A plain checkout at O(app_dir) was (or would be) made the first release.
  returned: always
  type: bool
pruned:
  description: Releases removed (beyond O(keep)).
  returned: always
  type: list
  elements: str
step:
  description: The step reached (validate, migrate, fetch, checkout, shared, npm, switch, prune, done); on failure, the one that failed.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quantops.runbooks.plugins.module_utils import _release as r


def _diff(res, before_sha):
    after = "release: %s\n" % res.get("release")
    if res.get("changed_paths"):
        after += "".join("changed: %s\n" % p for p in res["changed_paths"])
    if res.get("npm_ci"):
        after += "".join("npm ci: %s\n" % d for d in res["npm_ci"])
    return dict(before="release: %s\n" % before_sha, after=after, before_header="app_dir", after_header="app_dir")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app_dir=dict(type="path", required=True),
            releases_dir=dict(type="path", required=True),
            shared_dir=dict(type="path", required=True),
            state=dict(type="str", choices=["deployed", "rolled_back"], default="deployed"),
            repo=dict(type="str"),
            version=dict(type="str"),
            release=dict(type="str"),
            shared=dict(type="list", elements="str", default=[]),
            keep=dict(type="int", default=3),
            npm_ci=dict(type="bool", default=True),
            npm_timeout=dict(type="int", default=1800),
        ),
        required_if=[("state", "deployed", ("repo", "version"))],
        supports_check_mode=True,
    )
    p = module.params
    res = r.new_result()
    try:
        if not 1 <= p["keep"] <= 100:
            raise r.ReleaseError("keep=%s: keep from 1 to 100 releases" % p["keep"])
        if not 1 <= p["npm_timeout"] <= 86400:
            raise r.ReleaseError("npm_timeout=%s: give the seconds each npm ci may take, from 1 to 86400" % p["npm_timeout"])
        if len(p["shared"]) > 100:
            raise r.ReleaseError("shared has %d paths; at most 100 are accepted" % len(p["shared"]))
        layout = r.Layout(p["app_dir"], p["releases_dir"], p["shared_dir"])
        run = r.Runner(timeout=max(600.0, float(p["npm_timeout"])))
        if p["state"] == "deployed":
            r.check_ref(p["version"])
            r.check_repo_url(p["repo"])
            r.check_shared(p["shared"])
            before = layout.current()[0] if layout.current()[1] == "release" else None
            r.deploy(run, layout, url=p["repo"], ref=p["version"], shared=p["shared"], keep=p["keep"],
                     npm=("npm",) if p["npm_ci"] else None, npm_timeout=float(p["npm_timeout"]), check_mode=module.check_mode, res=res)
        else:
            before = layout.current()[0] if layout.current()[1] == "release" else None
            r.rollback(run, layout, release=p["release"], check_mode=module.check_mode, res=res)
    except (r.ReleaseError, OSError) as e:
        module.fail_json(msg="%s (step %s)" % (e, res.get("step")), **res)
    if module._diff and res["changed"]:
        res["diff"] = _diff(res, before)
    module.exit_json(**res)


if __name__ == "__main__":
    main()
