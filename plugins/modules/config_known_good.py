#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: config_known_good
short_description: Mark the strategy config on disk as openclaw-ai-quant's last known-good version
version_added: 1.0.0
description:
  - Records the bytes of the config file on disk (by default C(config/strategy_overrides.yaml)) as its last known-good
    version, for M(quantops.runbooks.config_rollback) with O(quantops.runbooks.config_rollback#module:to=last_known_good).
    Run it after a deploy proved healthy.
  - The content is stored in the repo's object database (C(git hash-object -w)) and an annotated tag
    C(quantops/lkg/<path>) points at that blob, whether or not a commit holds the same content (a hot fix staged
    on the host counts too). The tag's message holds O(note) and the commit whose version equals the content, if any.
  - The path is one component of the tag's name, percent-encoded where git refuses a character in a ref (C(/),
    spaces, C(~^:?*[\), C(@{), a leading or trailing C(.), C(..), a C(.lock) suffix, C(%) itself), so
    C(config/strategy_overrides.yaml) is marked by tag C(quantops/lkg/config%2Fstrategy_overrides.yaml).
  - Nothing changes when the tag already points at the same content. O(state=absent) removes the mark.
  - A file that does not parse as YAML is refused.
author:
  - Quant Ops (@quantops)
extends_documentation_fragment:
  - quantops.runbooks._attributes
requirements:
  - git and PyYAML on the managed host.
options:
  repo:
    description: The bot's git checkout (a git work tree). O(path) is relative to it.
    type: path
    required: true
  path:
    description:
      - The config file, relative to O(repo). Absolute paths, paths leaving the repo (through C(..) or a symlink),
        paths through a symlinked directory and symlinks are refused, and so are paths that start with C(-) (once
        stripped of blanks) or hold a newline or another control character.
    type: str
    default: config/strategy_overrides.yaml
  state:
    description:
      - V(present) marks the file's current bytes on disk as last known-good; V(absent) removes the mark.
    type: str
    choices: [present, absent]
    default: present
  note:
    description: Why this version is good (a deploy, a ticket), kept in the tag's message. At most 10000 characters.
    type: str
notes:
  - Annotated tags need a committer identity. When neither the repo's git config nor the environment has one,
    C(quantops.runbooks <quantops@localhost>) is used.
  - The tags are local to the checkout. C(git push --tags) would publish them; a fetch with C(--prune-tags) would
    remove them.
  - Run the task as the owner of the checkout (C(become_user)), so the objects and the tag git writes stay its own.
seealso:
  - module: quantops.runbooks.config_rollback
"""

EXAMPLES = r"""
- name: The deploy is healthy, remember its config
  quantops.runbooks.config_known_good:
    repo: /home/trader/openclaw-ai-quant
    note: "deploy 2025-11-21, paper P&L and fills checked"
  become: true
  become_user: trader

- name: Later, go back to it
  quantops.runbooks.config_rollback:
    repo: /home/trader/openclaw-ai-quant
    to: last_known_good
  become: true
  become_user: trader
"""

RETURN = r"""
tag:
  description: The tag that holds the mark.
  returned: always
  type: str
  sample: quantops/lkg/config%2Fstrategy_overrides.yaml
blob:
  description: The blob of the file on disk (with O(state=present)); V(null) with O(state=absent).
  returned: always
  type: str
  sample: 5b1d9a0e7c3f2a4b6d8e0f1a3c5e7b9d1f3a5c7e
commit:
  description:
    - The newest commit (of the file's 200 newest) whose version of the file equals RV(blob), V(null) when none does.
  returned: always
  type: str
  sample: 3f2c1ab0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4
previous_blob:
  description: The blob the tag pointed at before, V(null) when there was no mark.
  returned: always
  type: str
  sample: null
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.quantops.runbooks.plugins.module_utils import _config_rollback as cr
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v
from ansible_collections.quantops.runbooks.plugins.module_utils._config_git import (
    ConfigGitError,
    ConfigRepo,
    check_repo_options,
    config_repo_argument_spec,
)

# The note goes to git as one argument (-m): far below what the kernel takes for one.
NOTE = v.Text(max_length=10000, multiline=True, allow_empty=True)

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None


def run(module):
    p = module.params
    repo = ConfigRepo(module, p["repo"], p["path"])
    tag = cr.lkg_tag_name(repo.git_path)
    rc, dummy, err = repo.git("check-ref-format", "refs/tags/" + tag)
    if rc != 0:
        raise ConfigGitError("git refuses %s as a tag name for %s: %s" % (tag, repo.rel, err.strip() or "invalid ref"))
    previous_blob = repo.tag_blob(tag)
    result = dict(changed=False, tag=tag, blob=None, commit=None, previous_blob=previous_blob)
    before = cr.to_text(repo.blob_content(previous_blob)) if previous_blob and module._diff else ""

    if p["state"] == "absent":
        result["changed"] = previous_blob is not None
        if result["changed"] and not module.check_mode:
            repo.must("removing tag %s" % tag, "tag", "-d", tag)
        after = ""
    else:
        current, dummy = repo.read_live()
        if current is None:
            raise ConfigGitError("%s does not exist in %s: there is nothing to mark as known-good" % (repo.rel, repo.repo))
        try:
            yaml.safe_load(current)
        except yaml.YAMLError as e:
            raise ConfigGitError("%s in %s does not parse as YAML, so it cannot be a known-good config: %s"
                                 % (repo.rel, repo.repo, to_native(e))) from None
        blob = repo.hash_file(write=False)
        commit = cr.newest_commit_with_blob(repo.commit_blobs(), blob)
        result.update(blob=blob, commit=commit, changed=blob != previous_blob)
        if result["changed"] and not module.check_mode:
            written = repo.hash_file(write=True)
            if written != blob:
                raise ConfigGitError("%s changed while it was being marked (%s, then %s): run again" % (repo.rel, blob, written))
            repo.must("tagging %s as last-known-good" % repo.rel, "tag", "-f", "-a", "--cleanup=whitespace",
                      "-m", cr.lkg_message(repo.rel, p["note"], commit), tag, blob, environ=repo.identity_environ())
        after = cr.to_text(current)
    if module._diff:
        result["diff"] = dict(
            before=before,
            after=after,
            before_header="%s (%s)" % (tag, previous_blob or "absent"),
            after_header="%s (%s)" % (tag, result["blob"] or "absent"),
        )
    return result


def main():
    argument_spec = config_repo_argument_spec()
    argument_spec.update(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        note=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    check_repo_options(module, texts=dict(note=NOTE))
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        module.exit_json(**run(module))
    except (ConfigGitError, OSError, ValueError) as e:
        module.fail_json(msg=to_native(e), changed=False)


if __name__ == "__main__":
    main()
