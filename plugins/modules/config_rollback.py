#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: config_rollback
short_description: Roll openclaw-ai-quant's git-tracked strategy config back to an earlier version, validated first
version_added: 1.0.0
description:
  - Puts the version of the strategy config (C(config/strategy_overrides.yaml)) that O(to) names back in the bot's
    checkout, the way the runbook's config rollback does it by hand (C(git log --oneline -- file),
    C(git checkout <commit> -- file), C(uv run python tools/validate_config.py)), but validates the candidate before
    the live file is touched, writes it atomically and leaves it staged, exactly as C(git checkout <commit> -- file)
    leaves it. Nothing is committed.
  - O(to) is a commit-ish, V(previous) (the file's content before its newest commit) or V(last_known_good) (the
    content last marked healthy with M(quantops.runbooks.config_known_good)).
  - B(Validation in a shadow tree.) The trader hot-reloads the file when its stat (mtime, inode, size) changes, so
    writing a candidate in place to validate it would make the trader load a file that may then be rejected. The
    validator (O(validate)) therefore runs first, with its working directory in a temporary directory outside the repo
    that mirrors the repo's top level with symlinks to the real entries, except the directories on the way to the
    config, which are real directories of symlinks, and the config itself, which is a real file holding the candidate.
    C(tools/validate_config.py) run there reads C(config/strategy_overrides.yaml) relative to its working directory,
    which is the candidate. The live file is written only when the validator exits 0. The shadow is always removed.
  - A version that does not parse as YAML is refused before any validator runs.
  - Local edits (the file on disk differs from the index, as C(git diff -- file) shows, or the file is not tracked)
    are never overwritten without O(force). Differences between the index and C(HEAD), such as those an earlier
    rollback staged, are not local edits. With O(force) the replaced file is backed up next to it and returned in
    RV(replaced_content).
  - When the file on disk already holds the target's bytes nothing is written or staged and the task reports no change.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes
requirements:
  - git and PyYAML on the managed host.
options:
  repo:
    description:
      - The bot's git checkout (a git work tree). O(path) and the validator's working directory are relative to it.
    type: path
    required: true
  path:
    description:
      - The config file, relative to O(repo). Absolute paths, paths leaving the repo (through C(..) or a symlink),
        paths through a symlinked directory and symlinks are refused, and so are paths that start with C(-) (once
        stripped of blanks) or hold a newline or another control character.
    type: str
    default: config/strategy_overrides.yaml
  to:
    description:
      - The version to put back. A commit-ish (sha, tag, branch, C(HEAD~2)) whose version of O(path) is wanted;
        V(previous), the file's content at the parent of the newest commit of C(HEAD) that changed it
        (C(git rev-list -n1 HEAD -- path), then its C(^)); or V(last_known_good), the content marked with
        M(quantops.runbooks.config_known_good).
      - The two keywords win over a branch of the same name (write C(refs/heads/previous) for the branch).
      - Blanks around it are stripped; what starts with C(-) then (git would read an option), holds a control
        character or is longer than 1024 characters is refused.
    type: str
    required: true
  validate:
    description:
      - The validator, run in the shadow tree (see the description) before the live file is written. A list of
        arguments, or a string split as a shell would split it (no shell runs, no variables are expanded). Exit 0 means
        valid; anything else refuses the rollback with the validator's output in RV(validation).
      - V(null), an empty string or an empty list skips validation.
      - At most 1000 arguments and 131072 characters in all.
    type: raw
    default: uv run python tools/validate_config.py
  restart_keys:
    description:
      - Dotted keys whose change the trader does not hot-reload. RV(restart_required) is true when a changed key is one
        of them, below one (C(global.engine.interval.x)) or above one (the whole C(global.engine) mapping). The
        real trader reads C(global.engine.interval) only at start.
      - At most 1000 keys.
    type: list
    elements: str
    default: [global.engine.interval]
  history:
    description: How many of the newest commits touching O(path) RV(history) lists (V(0) for none, at most 10000).
    type: int
    default: 10
  force:
    description:
      - Replace the file even when it has local edits. They are backed up next to the file first (RV(backup_file)) and
        returned in RV(replaced_content).
    type: bool
    default: false
notes:
  - Limitation of the shadow tree. A validator that resolves its own location or the config's real path (C(realpath),
    C(Path.resolve())) before reading the config reads the live tree, not the candidate; one that writes through the
    symlinks (a lock file, a cache) writes into the live tree. The top-level directory of a validator script named by a
    relative path in O(validate) (C(tools/) for the runbook's C(tools/validate_config.py)) is therefore copied into the
    shadow, not linked, because the real script finds the repo from C(Path(__file__).resolve()).
  - In check mode the validator does not run (RV(validation_skipped=check mode)); the target is still resolved, parsed
    and compared, and local edits are still refused.
  - Run the task as the owner of the checkout (C(become_user)). Staging rewrites C(.git/index); as root that leaves
    files of the repo owned by root, which the module warns about.
  - The file gets the blob's bytes as git stores them; smudge filters and end-of-line conversion (C(core.autocrlf),
    C(.gitattributes) C(eol)), which a real C(git checkout) would apply, are not. A config repo does not use them.
  - Changed keys are computed between the file on disk and the target. When the file on disk does not parse, the whole
    document counts as changed (RV(changed_keys=[""])), and so every restart key matches.
seealso:
  - module: quantops.runbooks.config_known_good
"""

EXAMPLES = r"""
- name: Roll back the config change that broke the trader (the version before the file's newest commit)
  quantops.runbooks.config_rollback:
    repo: /home/trader/openclaw-ai-quant
    to: previous
  become: true
  become_user: trader
  register: rollback

- name: The trader reloads the file by itself; engine.interval needs a restart
  ansible.builtin.systemd_service:
    name: openclaw-ai-quant-trader
    scope: user
    state: restarted
  become: true
  become_user: trader
  when: rollback.changed and rollback.restart_required

- name: Back to the last known-good config, validated with the system python, showing the diff
  quantops.runbooks.config_rollback:
    repo: /home/trader/openclaw-ai-quant
    to: last_known_good
    validate: [python3, tools/validate_config.py]
  diff: true

- name: Back to a given commit, replacing a hand edit made on the host (kept as a backup)
  quantops.runbooks.config_rollback:
    repo: /home/trader/openclaw-ai-quant
    to: 3f2c1ab
    force: true
"""

RETURN = r"""
path:
  description: O(path), normalized.
  returned: always
  type: str
  sample: config/strategy_overrides.yaml
from_commit:
  description:
    - The newest commit (of the file's 200 newest) whose version of the file equals the bytes on disk before the run;
      V(null) when none does (local edits, a staged version older than that, no file).
  returned: always
  type: str
  sample: 8d0c6a1f5e0b9a7a2c1e3f4d5b6a7980c1d2e3f4
to_commit:
  description:
    - The resolved commit of O(to). For V(last_known_good), the newest commit of the file's history holding that
      content, V(null) when none does.
  returned: always
  type: str
  sample: 3f2c1ab0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4
to_blob:
  description: The git blob of the version put back.
  returned: always
  type: str
  sample: 5b1d9a0e7c3f2a4b6d8e0f1a3c5e7b9d1f3a5c7e
history:
  description: The newest O(history) commits touching the file, newest first (the runbook's C(git log --oneline -- file)).
  returned: always
  type: list
  elements: dict
  contains:
    sha:
      description: The commit.
      type: str
      returned: always
    date:
      description: The author date, strict ISO 8601.
      type: str
      returned: always
    author:
      description: The author's name.
      type: str
      returned: always
    subject:
      description: The first line of the commit message.
      type: str
      returned: always
  sample: [{"sha": "8d0c6a1f5e0b9a7a2c1e3f4d5b6a7980c1d2e3f4", "date": "2025-11-20T14:03:11+00:00", "author": "Ada",
            "subject": "faster interval"}]
strategy_sha1:
  description:
    - The C(strategy_sha1) the trader's heartbeat shows once it has loaded the target (C(engine/utils.py) C(sha1_json) of
      the parsed YAML, 8 hex digits). A comment-only change keeps it; the proof of a rollback is a heartbeat with it.
  returned: always
  type: str
  sample: 1a2b3c4d
changed_keys:
  description:
    - Dotted paths of the keys that differ between the file on disk and the target (lists compare whole). V([""]) means
      the whole document (the file on disk does not parse, or a top level is not a mapping).
  returned: always
  type: list
  elements: str
  sample: [engine.interval, trade.leverage]
restart_required:
  description: Whether a changed key matches O(restart_keys), so the trader must restart to apply the rollback.
  returned: always
  type: bool
  sample: true
restart_keys_changed:
  description: The changed keys that make RV(restart_required) true.
  returned: always
  type: list
  elements: str
  sample: [engine.interval]
validation:
  description: The validator's run, V(null) when it did not run (see RV(validation_skipped)).
  returned: always
  type: dict
  contains:
    cmd:
      description: The argv run.
      type: list
      elements: str
      returned: success
    rc:
      description: Its exit status.
      type: int
      returned: success
    stdout:
      description: Its standard output.
      type: str
      returned: success
    stderr:
      description: Its standard error.
      type: str
      returned: success
  sample: {"cmd": ["uv", "run", "python", "tools/validate_config.py"], "rc": 0, "stdout": "config OK\n", "stderr": ""}
validation_skipped:
  description: Why the validator did not run (V(unchanged), V(check mode), V(disabled)), V(null) when it ran.
  returned: always
  type: str
  sample: null
local_edits:
  description: Whether the file on disk had local edits (differed from the index, or was not tracked).
  returned: always
  type: bool
  sample: false
backup_file:
  description: The backup of the file replaced over local edits (not made in check mode).
  returned: when O(force=true) replaced local edits
  type: str
  sample: /home/trader/openclaw-ai-quant/config/strategy_overrides.yaml.4242.2025-11-21@10:00:00~
replaced_content:
  description: The text of the file replaced over local edits.
  returned: when O(force=true) replaced local edits
  type: str
  sample: "engine:\n  interval: 1m\n"
"""

import os
import shutil
import stat
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _config_rollback as cr
from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile, _trader
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._config_git import (
    ConfigGitError,
    ConfigRepo,
    check_repo_options,
    config_repo_argument_spec,
)

HISTORY = v.Range(0, 10000, "commits", integer=True)
RESTART_KEYS = (v.Items(max_items=1000), v.Text(max_length=1024, allow_empty=True))

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None


class RollbackError(Exception):
    """A refusal: msg for the operator, extra for the failed result."""

    def __init__(self, msg, **extra):
        super(RollbackError, self).__init__(msg)
        self.extra = extra


def resolve_target(repo, to, commit_blobs):
    """(to_commit, to_blob) of O(to); to_commit is None for a last-known-good content no commit holds."""
    if to == "previous":
        if not commit_blobs:
            raise RollbackError("no commit of HEAD in %s changes %s: there is no previous version to go back to" % (repo.repo, repo.rel))
        newest = commit_blobs[0][0]
        parent = repo.resolve_commit(newest + "^")
        if parent is None:
            raise RollbackError("%s's newest change %s is the first commit of %s: there is no previous version" % (repo.rel, newest, repo.repo))
        blob = repo.blob_at(parent)
        if blob is None:
            raise RollbackError("%s does not exist at %s, the parent of %s, which added it: there is no previous version in %s"
                                % (repo.rel, parent, newest, repo.repo))
        return parent, blob
    if to == "last_known_good":
        name = cr.lkg_tag_name(repo.git_path)
        blob = repo.tag_blob(name)
        if blob is None:
            raise RollbackError("no last-known-good version of %s is recorded in %s (tag %s): mark one with "
                                "quantops.runbooks.config_known_good after a healthy deploy" % (repo.rel, repo.repo, name))
        return cr.newest_commit_with_blob(commit_blobs, blob), blob
    commit = repo.resolve_commit(to)
    if commit is None:
        raise RollbackError("to=%s names no commit in %s: pick one from `git -C %s log --oneline -- %s` (or the history this "
                            "module returns)" % (to, repo.repo, repo.repo, repo.rel))
    blob = repo.blob_at(commit)
    if blob is None:
        raise RollbackError("%s does not exist at commit %s (to=%s) in %s: pick a commit that has it" % (repo.rel, commit, to, repo.repo))
    return commit, blob


def describe(to, to_commit, to_blob):
    if to_commit:
        return "commit %s" % to_commit
    return "the last-known-good blob %s" % to_blob if to == "last_known_good" else "blob %s" % to_blob


def replace_file(module, path, data, st):
    """The one atomic writer of the collection (module_utils._safefile): temp file in the same directory, fsync,
    the old mode (and owner, as root) set by descriptor, then a rename and a directory fsync. A reader (the trader
    polling the file) sees the old file or the new one, never a partial one. A file that did not exist gets 0644."""
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o644
    owner = (st.st_uid, st.st_gid) if st is not None and os.geteuid() == 0 else None

    def label(dir_fd, tmp):
        if module.selinux_enabled():
            module.set_context_if_different("/proc/self/fd/%d/%s" % (dir_fd, tmp), module.selinux_context(path), False)

    dir_fd = _safefile.open_dir(os.path.dirname(path))
    try:
        _safefile.write_file(dir_fd, os.path.basename(path), data, mode, owner, before_rename=label)
    finally:
        os.close(dir_fd)


def validate_in_shadow(module, repo, argv, content, st):
    """Run the validator with its working directory in a shadow of the repo whose config holds the candidate."""
    shadow = tempfile.mkdtemp(prefix="quantops-config-rollback-")
    # The validator's own directory is copied, not linked: the real tools/validate_config.py finds the repo from
    # Path(__file__).resolve(), which through a link would lead back to the live tree and its live config.
    script_dirs = set(cr.validator_dirs(argv, lambda rel: os.path.isfile(os.path.join(repo.repo_real, rel))))
    try:
        for kind, rel in cr.shadow_plan(repo.rel, lambda d: os.listdir(os.path.join(repo.repo_real, d))):
            dest = os.path.join(shadow, rel)
            if kind == "dir":
                os.mkdir(dest)
            elif kind == "link" and rel in script_dirs and os.path.isdir(os.path.join(repo.repo_real, rel)):
                shutil.copytree(os.path.join(repo.repo_real, rel), dest, symlinks=True)
            elif kind == "link":
                os.symlink(os.path.join(repo.repo_real, rel), dest)
            else:
                with open(dest, "wb") as f:
                    f.write(content)
                os.chmod(dest, stat.S_IMODE(st.st_mode) if st is not None else 0o644)
        try:
            rc, out, err = module.run_command(argv, cwd=shadow, expand_user_and_vars=False, handle_exceptions=False, errors="replace")
        except OSError as e:
            raise RollbackError("the validator %s could not run on this host (%s): install it, or set validate to a command "
                                "that exists here (null skips validation)" % (argv[0], to_native(e))) from None
    finally:
        shutil.rmtree(shadow, ignore_errors=True)
    return dict(cmd=argv, rc=rc, stdout=out, stderr=err)


def write_and_stage(module, repo, content, before):
    """Replace the file and stage it; when that fails, put the previous bytes, mode, owner and index entry back.
    before: {content, stat, entries (of the index)} as they were; content and stat are None for a missing file."""
    current, st, entries = before["content"], before["stat"], before["entries"]
    try:
        replace_file(module, repo.abs_path, content, st)
    except (OSError, _safefile.UnsafePathError) as e:
        raise RollbackError("writing %s in %s failed, the file is unchanged: %s" % (repo.rel, repo.repo, to_native(e))) from None
    try:
        repo.stage()
    except ConfigGitError as e:
        problems = []
        try:
            if current is None:
                os.unlink(repo.abs_path)
            else:
                replace_file(module, repo.abs_path, current, st)
                os.utime(repo.abs_path, ns=(st.st_atime_ns, st.st_mtime_ns))
        except (OSError, _safefile.UnsafePathError) as restore_error:
            problems.append("restoring the file failed: %s" % to_native(restore_error))
        try:
            if repo.index_entries() != entries:
                repo.restore_index(entries, len(before["sha"]))
        except ConfigGitError as restore_error:
            problems.append(to_native(restore_error))
        if problems:
            raise RollbackError("%s; then %s: check `git -C %s status` by hand" % (to_native(e), "; ".join(problems), repo.top)) from None
        raise RollbackError("%s; the previous content, mode, owner and index entry of %s were restored" % (to_native(e), repo.rel)) from None


def parse_yaml(data):
    return yaml.safe_load(data)


def read_target_version(repo, to, commit_blobs):
    """(commit, blob, description, content, parsed document) of the version to roll back to; it must parse as YAML."""
    to_commit, to_blob = resolve_target(repo, to, commit_blobs)
    where = describe(to, to_commit, to_blob)
    content = repo.blob_content(to_blob)
    try:
        new_doc = parse_yaml(content)
    except yaml.YAMLError as e:
        raise RollbackError("the version of %s at %s does not parse as YAML, so the trader would reject it; pick another "
                            "version: %s" % (repo.rel, where, to_native(e)), to_commit=to_commit, to_blob=to_blob) from None
    return to_commit, to_blob, where, content, new_doc


def changed_keys(module, repo, current, new_doc):
    """The top-level keys the rollback changes; every key when the file on disk does not parse."""
    try:
        return cr.changed_keys(parse_yaml(current) if current is not None else None, new_doc)
    except yaml.YAMLError:
        module.warn("%s on disk does not parse as YAML: every key counts as changed" % repo.rel)
        return [cr.WHOLE_DOCUMENT]


def refuse_local_edits(repo, entries, result):
    """RollbackError: the file on disk has edits git does not hold, and force is off."""
    if entries:
        state = "has local edits (it differs from the index, as `git -C %s diff -- %s` shows)" % (repo.repo, repo.rel)
    else:
        state = "is not tracked by git, so its content is a local edit"
    raise RollbackError("%s in %s %s: commit or stash the edits, or set force=true to replace them (a backup is kept)"
                        % (repo.rel, repo.repo, state), **result)


def refuse_invalid(repo, where, validation, result):
    """RollbackError with the validator's verdict when it refused the new version."""
    if validation["rc"] != 0:
        # a validator's verdict is at the end of what it prints (the runbook's prints a table, then the missing keys)
        said = [line.strip() for line in (validation["stderr"] or validation["stdout"]).splitlines() if line.strip()]
        reason = " | ".join(said[-4:]) or "no output"
        raise RollbackError("the validator refused the version of %s at %s (rc=%d: %s); %s was not touched"
                            % (repo.rel, where, validation["rc"], reason, repo.rel), **result)


def warn_root_in_users_repo(module, repo):
    if os.geteuid() == 0:
        owner = os.stat(repo.top).st_uid
        if owner != 0:
            module.warn("staging as root in %s, which uid %d owns: .git/index is now root's; run as the repo's owner (become_user)"
                        % (repo.top, owner))


def back_up(module, repo, result):
    try:
        result["backup_file"] = module.backup_local(repo.abs_path)
    except Exception as e:  # backup_local raises a bare Exception
        raise RollbackError("backing up %s failed, nothing was changed: %s" % (repo.abs_path, to_native(e)), **result) from None


def run(module):
    p = module.params
    try:
        to = cr.check_commitish(p["to"])
        argv = cr.split_validate(p["validate"])
    except ValueError as e:
        raise RollbackError(to_native(e)) from None
    repo = ConfigRepo(module, p["repo"], p["path"])
    commit_blobs = repo.commit_blobs()
    to_commit, to_blob, where, content, new_doc = read_target_version(repo, to, commit_blobs)

    current, st = repo.read_live()
    from_commit = cr.newest_commit_with_blob(commit_blobs, repo.hash_file() if current is not None else None)
    changed = current != content
    keys = changed_keys(module, repo, current, new_doc) if changed else []
    restart_keys = cr.restart_matches(keys, p["restart_keys"])

    entries = repo.index_entries() if changed else []
    local_edits = False
    if changed and current is not None:
        local_edits = not entries or repo.has_unstaged_changes()
    result = dict(
        changed=changed,
        path=repo.rel,
        from_commit=from_commit,
        to_commit=to_commit,
        to_blob=to_blob,
        history=repo.history(p["history"]),
        changed_keys=keys,
        strategy_sha1=_trader.strategy_sha1(new_doc),
        restart_required=bool(restart_keys),
        restart_keys_changed=restart_keys,
        validation=None,
        validation_skipped="unchanged" if not changed else ("disabled" if argv is None else ("check mode" if module.check_mode else None)),
        local_edits=local_edits,
    )
    if local_edits and not p["force"]:
        refuse_local_edits(repo, entries, result)
    if local_edits:
        result["replaced_content"] = cr.to_text(current)
        result["backup_file"] = None
    if module._diff:
        result["diff"] = dict(
            before=cr.to_text(current),
            after=cr.to_text(content),
            before_header="%s (working tree%s)" % (repo.rel, ", as in %s" % from_commit if from_commit else ""),
            after_header="%s (%s)" % (repo.rel, where),
        )
    if not changed or module.check_mode:
        return result

    if argv is not None:
        result["validation"] = validate_in_shadow(module, repo, argv, content, st)
        refuse_invalid(repo, where, result["validation"], result)
    warn_root_in_users_repo(module, repo)
    if local_edits:
        back_up(module, repo, result)
    write_and_stage(module, repo, content, dict(content=current, stat=st, entries=entries, sha=to_blob))
    return result


def main():
    argument_spec = config_repo_argument_spec()
    argument_spec.update(
        to=dict(type="str", required=True),
        validate=dict(type="raw", default=cr.DEFAULT_VALIDATE),
        restart_keys=dict(type="list", elements="str", default=["global.engine.interval"], no_log=False),
        history=dict(type="int", default=10),
        force=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_repo_options(module, numbers=dict(history=HISTORY), lists=dict(restart_keys=RESTART_KEYS))
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        module.exit_json(**run(module))
    except RollbackError as e:
        extra = dict(e.extra)
        extra["changed"] = False
        module.fail_json(msg=to_native(e), **extra)
    except (ConfigGitError, OSError, ValueError) as e:
        module.fail_json(msg=to_native(e), changed=False)


if __name__ == "__main__":
    main()
