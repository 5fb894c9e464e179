# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The git side of config_rollback and config_known_good: one config file in one work tree, read and staged only
through `git -C <top> ...` argv lists run by the module's run_command. Shared options: config_repo_argument_spec."""

import os
import stat
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.quantops.runbooks.plugins.module_utils import _config_rollback as cr
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

# No prompt for credentials, C messages (this module reads some), pathspecs taken literally (a path holding '*' or
# ':(' is a file name, not a pattern), and no opportunistic index refresh by the read-only commands.
GIT_ENV = {
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_LITERAL_PATHSPECS": "1",
    "GIT_OPTIONAL_LOCKS": "0",
}
DEFAULT_IDENTITY = {"GIT_COMMITTER_NAME": "quantops.runbooks", "GIT_COMMITTER_EMAIL": "quantops@localhost"}


class ConfigGitError(Exception):
    pass


def config_repo_argument_spec() -> Dict[str, Dict[str, Any]]:
    """repo and path, as both config modules take them."""
    return dict(
        repo=dict(type="path", required=True),
        path=dict(type="str", default=cr.DEFAULT_PATH),
    )


def check_repo_options(module: Any, numbers: Optional[Dict[str, Any]] = None, texts: Optional[Dict[str, Any]] = None,
                       lists: Optional[Dict[str, Any]] = None) -> None:
    """Fail the task on a bad repo or path (empty, a control character, too long, absolute, leaving the repo, starting
    with '-') or on a bad value of the module's own options (see _validate.check), before git runs."""
    v.check(module, numbers=numbers, paths=dict(repo=v.Path()), texts=texts, lists=lists)
    try:
        cr.normalize_rel_path(module.params["path"])
    except ValueError as e:
        module.fail_json(msg=str(e), changed=False)


class ConfigRepo:
    """A config file tracked in a git work tree.

    module is anything with run_command (an AnsibleModule). repo is the directory the config path is relative to
    (the validator's working directory); it may be below the top of the work tree."""

    def __init__(self, module: Any, repo: str, path: str) -> None:
        self.module = module
        self.repo = repo
        self.path = path
        if not os.path.isdir(repo):
            raise ConfigGitError("repo %s is not a directory: set repo to the bot's git checkout" % repo)
        self.repo_real = os.path.realpath(repo)
        rc, out, err = self.git_in(self.repo_real, "rev-parse", "--is-inside-work-tree", "--show-toplevel", "--show-prefix")
        lines = out.split("\n")
        if rc != 0 or lines[0].strip() != "true":
            hint = ""
            if "dubious ownership" in err:
                hint = "; run the task as the repo's owner (become_user) rather than trusting it in git's safe.directory"
            raise ConfigGitError("repo %s is not a git work tree (git: %s)%s: set repo to the bot's git checkout"
                                 % (repo, (err or out).strip() or "not inside a work tree", hint))
        self.top = lines[1].strip()
        prefix = lines[2].strip() if len(lines) > 2 else ""
        self.rel = cr.normalize_rel_path(path)
        self.git_path = prefix + self.rel
        self.abs_path = os.path.join(self.repo_real, self.rel)
        self._check_inside()

    def _check_inside(self):
        parent = os.path.dirname(self.abs_path)
        real_parent = os.path.realpath(parent)
        if real_parent != parent:
            if os.path.commonpath([real_parent, self.repo_real]) != self.repo_real:
                raise ConfigGitError("path %s resolves outside repo %s (through a symlink to %s): give a file inside the repo"
                                     % (self.path, self.repo, real_parent))
            raise ConfigGitError("path %s passes through a symlink (%s is %s); git tracks no file beyond a symlink: "
                                 "give the real path inside repo %s" % (self.path, os.path.dirname(self.rel), real_parent, self.repo))
        if not os.path.isdir(parent):
            raise ConfigGitError("the directory of path %s does not exist in repo %s: check repo and path" % (self.path, self.repo))
        if os.path.islink(self.abs_path):
            target = os.path.realpath(self.abs_path)
            if os.path.commonpath([target, self.repo_real]) != self.repo_real:
                raise ConfigGitError("path %s resolves outside repo %s (it is a symlink to %s): give a file inside the repo"
                                     % (self.path, self.repo, target))
            raise ConfigGitError("path %s in repo %s is a symlink (to %s): give the path of the file it points to"
                                 % (self.path, self.repo, target))
        if os.path.isdir(self.abs_path):
            raise ConfigGitError("path %s in repo %s is a directory, not a config file" % (self.path, self.repo))

    # -- running git

    def git_in(self, where: str, *args: str, **kwargs: Any) -> Tuple[int, Any, Any]:
        environ = dict(GIT_ENV)
        environ.update(kwargs.pop("environ", None) or {})
        binary = kwargs.pop("binary", False)
        return self.module.run_command(
            ["git", "-C", where] + list(args), environ_update=environ, expand_user_and_vars=False,
            encoding=None if binary else "utf-8", errors="replace", **kwargs)

    def git(self, *args: str, **kwargs: Any) -> Tuple[int, Any, Any]:
        return self.git_in(self.top, *args, **kwargs)

    def must(self, what: str, *args: str, **kwargs: Any) -> Any:
        rc, out, err = self.git(*args, **kwargs)
        if rc != 0:
            if isinstance(err, bytes):
                err = err.decode("utf-8", "replace")
            lines = [line for line in (err or "").splitlines() if line.strip()]
            raise ConfigGitError("%s failed in %s (git %s, rc=%d): %s" % (what, self.top, args[0], rc, lines[0] if lines else "no message"))
        return out

    # -- objects

    def resolve_commit(self, commitish: str) -> Optional[str]:
        """The sha of a commit-ish, None when it names no commit."""
        rc, out, dummy = self.git("rev-parse", "--verify", "--quiet", "%s^{commit}" % commitish)
        return out.strip() if rc == 0 and out.strip() else None

    def blob_at(self, commit: str) -> Optional[str]:
        """The blob of the config in a commit, None when the file is absent there."""
        rc, out, dummy = self.git("rev-parse", "--verify", "--quiet", "%s:%s" % (commit, self.git_path))
        sha = out.strip()
        if rc != 0 or not sha:
            return None
        kind = self.must("reading the type of %s:%s" % (commit, self.git_path), "cat-file", "-t", sha).strip()
        if kind != "blob":
            raise ConfigGitError("%s is a %s in commit %s, not a file: check path" % (self.path, kind, commit))
        return sha

    def blob_content(self, blob: str) -> bytes:
        return self.must("reading blob %s" % blob, "cat-file", "blob", blob, binary=True)

    def tag_blob(self, name: str) -> Optional[str]:
        """The blob a tag points at, None when there is no such tag."""
        rc, out, dummy = self.git("rev-parse", "--verify", "--quiet", "refs/tags/%s^{blob}" % name)
        return out.strip() if rc == 0 and out.strip() else None

    def hash_file(self, write: bool = False) -> str:
        """The blob sha git gives the file on disk (with the repo's filters), stored in the object database if write."""
        args = ["hash-object"] + (["-w"] if write else []) + ["--", self.git_path]
        return self.must("hashing %s" % self.path, *args).strip()

    # -- history

    def history(self, count: int) -> List[Dict[str, str]]:
        if count <= 0:
            return []
        out = self.must("reading the history of %s" % self.path, "log", "-n", str(count), "--format=" + cr.HISTORY_FORMAT,
                        "HEAD", "--", self.git_path)
        return cr.parse_history(out)

    def commit_blobs(self, limit: int = cr.HISTORY_SEARCH_LIMIT) -> List[Tuple[str, Optional[str]]]:
        """[(commit, blob or None)] of the newest commits touching the file, newest first."""
        rc, out, err = self.git("rev-list", "-n", str(limit), "HEAD", "--", self.git_path)
        if rc != 0:
            if "unknown revision" in err or "ambiguous argument 'HEAD'" in err:
                return []  # no commit yet
            raise ConfigGitError("listing the history of %s failed in %s: %s" % (self.path, self.top, err.strip()))
        commits = out.split()
        if not commits:
            return []
        names = ["%s:%s" % (commit, self.git_path) for commit in commits]
        out = self.must("reading the versions of %s" % self.path, "cat-file", "--batch-check", data="\n".join(names))
        return list(zip(commits, cr.parse_batch_check(out, names)))

    # -- the file and the index

    def read_live(self) -> Tuple[Optional[bytes], Optional[os.stat_result]]:
        """(bytes, stat) of the file on disk, (None, None) when there is none."""
        try:
            st = os.lstat(self.abs_path)
        except FileNotFoundError:
            return None, None
        if not stat.S_ISREG(st.st_mode):
            raise ConfigGitError("path %s in repo %s is not a regular file" % (self.path, self.repo))
        with open(self.abs_path, "rb") as f:
            return f.read(), st

    def index_entries(self) -> List[Tuple[str, str, str, str]]:
        out = self.must("reading the index entry of %s" % self.path, "ls-files", "-s", "-z", "--", self.git_path)
        return cr.parse_ls_files_stage(out)

    def has_unstaged_changes(self) -> bool:
        """Whether the file on disk differs from the index (git diff, worktree against index)."""
        rc, dummy, err = self.git("diff", "--no-ext-diff", "--quiet", "--", self.git_path)
        if rc not in (0, 1):
            raise ConfigGitError("checking %s for local edits failed in %s: %s" % (self.path, self.top, err.strip()))
        return rc == 1

    def stage(self) -> None:
        self.must("staging %s" % self.path, "add", "--", self.git_path)

    def restore_index(self, entries: List[Tuple[str, str, str, str]], sha_length: int) -> None:
        data = cr.index_restore_data(entries, self.git_path, sha_length)
        self.must("restoring the index entry of %s" % self.path, "update-index", "-z", "--index-info", data=data, binary_data=True)

    def identity_environ(self) -> Dict[str, str]:
        """GIT_COMMITTER_NAME/EMAIL defaults for an annotated tag, only for what neither git config nor the environment
        sets."""
        environ = {}
        for key, var, fallbacks in (("user.name", "GIT_COMMITTER_NAME", ()), ("user.email", "GIT_COMMITTER_EMAIL", ("EMAIL",))):
            if any(os.environ.get(name) for name in (var,) + fallbacks):
                continue
            rc, out, dummy = self.git("config", "--get", key)
            if rc != 0 or not out.strip():
                environ[var] = DEFAULT_IDENTITY[var]
        return environ
