# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release directories of an application deployed from git, as Capistrano and Ansistrano lay them out, written for
quantops.runbooks.app_release (QuantLab's deploy now, the bot's later):

    <releases_dir>/.cache.git      a bare mirror of the repository, fetched on each deploy
    <releases_dir>/<40-hex sha>    one work tree per deployed commit (a clone of the cache, HEAD detached at the sha)
    <shared_dir>/<path>            runtime state that outlives a release (env file, logs, run outputs)
    <app_dir> -> <releases_dir>/<sha>   the stable path units and cron run from, a symlink switched with rename(2)

Every shared path of a release is a symlink to the same path under shared_dir. The newest ``keep`` releases stay
installed (by the time they were last switched to: each switch sets the release directory's mtime), so a revert is a
switch, without fetch or npm ci. node_modules of a directory whose package-lock.json did not change is carried over
from the current release (hard links, ``cp -al``: npm ci replaces node_modules whole, it never writes into it), and
``npm ci`` runs only where the lockfile changed.

Who runs this: the owner of the directories (the deploy user, through become_user), never root on a user's tree. Every
directory worked in must belong to the user running this or to root; anything else is refused before a change.

No Ansible here: the module and the unit tests call these functions."""

import errno
import fcntl
import os
import re
import shutil
import stat
import subprocess
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

SHA = re.compile(r"^[0-9a-f]{40}$")
# A branch, a tag or a commit id: what git check-ref-format accepts, less what a shell or an option parser could take
# for something else. No leading '-' or '.', no '..', '@{', '//', '.lock' ending.
REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./+@-]{0,254}$")
CACHE = ".cache.git"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
BUILDING = ".building-"  # <releases_dir>/.building-<sha>: that release's build has not finished
GIT_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GIT_ASKPASS": "/bin/true"}
LOCKFILE = "package-lock.json"


class ReleaseError(Exception):
    """A deploy that cannot go on; the message says what is wrong and what to do."""


def check_ref(ref: Any) -> str:
    """A git ref or commit id that is safe to hand to git (argv, after --end-of-options); ReleaseError otherwise."""
    if not isinstance(ref, str) or not ref.strip():
        raise ReleaseError("version is empty: give a branch, a tag or a commit id (e.g. -e quantlab_version=v1.2.0)")
    if not REF.match(ref) or ".." in ref or "@{" in ref or "//" in ref or ref.endswith((".lock", "/", ".")) or "/." in ref:
        raise ReleaseError("version %r is not a git branch, tag or commit id: use letters, digits and ._/+@- , not starting with "
                           "'-' or '.', without '..', '@{' or '//', at most 255 characters" % ref[:300])
    return ref


def check_repo_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ReleaseError("repo is empty: give the git URL or path of the application")
    if url.startswith("-") or re.search(r"[\x00-\x20\x7f]", url) or len(url) > 4096:
        raise ReleaseError("repo %r is not a git URL or path: no leading '-', no blank or control character, at most 4096 "
                           "characters" % url[:300])
    if url.lower().startswith("ext::") or "::" in url.split("/")[0]:
        raise ReleaseError("repo %r uses a git remote helper (<transport>::<address>): give a plain URL or path" % url[:300])
    return url


def check_shared(paths: Any) -> List[Tuple[str, bool]]:
    """The shared paths as (relative path, is_dir): a trailing '/' marks a directory. Refuses absolute paths, '..',
    '.git', empty components, duplicates and a path inside another one."""
    out: List[Tuple[str, bool]] = []
    for i, raw in enumerate(paths or []):
        name = "shared[%d]" % i
        if not isinstance(raw, str) or not raw.strip("/ "):
            raise ReleaseError("%s is empty: give a path relative to the release, e.g. core/.env or services/strategyd/runs/" % name)
        if re.search(r"[\x00-\x1f\x7f]", raw) or raw.startswith("/") or raw.startswith("-") or len(raw) > 1000:
            raise ReleaseError("%s %r must be a relative path without control characters, not starting with '/' or '-'" % (name, raw[:300]))
        is_dir = raw.endswith("/")
        parts = raw.rstrip("/").split("/")
        if any(p in ("", ".", "..", ".git") for p in parts):
            raise ReleaseError("%s %r has an empty, '.', '..' or '.git' component: give a plain relative path" % (name, raw))
        rel = "/".join(parts)
        for other, _other_dir in out:
            if rel == other or rel.startswith(other + "/") or other.startswith(rel + "/"):
                raise ReleaseError("%s %r overlaps shared path %r: list each path once, none inside another" % (name, raw, other))
        out.append((rel, is_dir))
    return out


def _owner_ok(st: os.stat_result) -> bool:
    return st.st_uid in (os.geteuid(), 0)


def check_owned(path: str, what: str) -> None:
    """The directory ``path`` and its parent belong to us or to root (no other user can swap what is in them)."""
    for p in (os.path.dirname(path.rstrip("/")) or "/", path):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode) and p != path:
            raise ReleaseError("%s: %s is a symbolic link; give the real directory" % (what, p))
        if not _owner_ok(st):
            raise ReleaseError("%s: %s belongs to uid %d, not to the user running this (uid %d) nor to root: run the task as "
                               "its owner (become_user)" % (what, p, st.st_uid, os.geteuid()))
        if p == path and stat.S_ISDIR(st.st_mode) and st.st_mode & 0o022 and st.st_uid != 0:
            raise ReleaseError("%s: %s is writable by its group or by others (mode %04o): make it 0755 or stricter"
                               % (what, p, stat.S_IMODE(st.st_mode)))


class Runner:
    """argv commands, never a shell; stdout and stderr captured; a deadline each."""

    def __init__(self, env: Optional[Dict[str, str]] = None, timeout: float = 1800.0) -> None:
        self.env = dict(os.environ, **GIT_ENV)
        self.env.update(env or {})
        self.timeout = timeout
        self.log: List[List[str]] = []

    def __call__(self, argv: Sequence[str], cwd: Optional[str] = None, timeout: Optional[float] = None,
                 check: bool = True) -> Tuple[int, str, str]:
        self.log.append(list(argv))
        try:
            proc = subprocess.run(list(argv), cwd=cwd, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout or self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ReleaseError("%s did not finish within %ss (in %s)" % (" ".join(argv[:3]), timeout or self.timeout, cwd)) from None
        except OSError as e:
            raise ReleaseError("cannot run %s: %s" % (argv[0], e)) from None
        out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            tail = " ".join((err or out).split())[-600:]
            raise ReleaseError("%s failed (exit %d): %s" % (" ".join(argv[:4]), proc.returncode, tail))
        return proc.returncode, out, err


class Layout:
    """The paths of one application's releases."""

    def __init__(self, app_dir: str, releases_dir: str, shared_dir: str) -> None:
        for name, p in (("app_dir", app_dir), ("releases_dir", releases_dir), ("shared_dir", shared_dir)):
            if not isinstance(p, str) or not os.path.isabs(p) or ".." in p.split("/") or re.search(r"[\x00-\x1f\x7f]", p):
                raise ReleaseError("%s %r must be an absolute path without '..' or control characters" % (name, p))
        self.app_dir = os.path.normpath(app_dir)
        self.releases_dir = os.path.normpath(releases_dir)
        self.shared_dir = os.path.normpath(shared_dir)
        if len({self.app_dir, self.releases_dir, self.shared_dir}) < 3:
            raise ReleaseError("app_dir, releases_dir and shared_dir must be three different paths")
        for a in (self.app_dir, self.releases_dir, self.shared_dir):
            for b in (self.app_dir, self.releases_dir, self.shared_dir):
                if a != b and a.startswith(b + "/"):
                    raise ReleaseError("%s lies inside %s: keep app_dir, releases_dir and shared_dir apart (siblings)" % (a, b))
        self.cache = os.path.join(self.releases_dir, CACHE)

    def release(self, sha: str) -> str:
        return os.path.join(self.releases_dir, sha)

    def current(self) -> Tuple[Optional[str], str]:
        """(sha, kind): kind is 'release' (app_dir links to a release), 'plain' (a directory: a checkout to migrate,
        sha its HEAD or None) or 'missing'."""
        try:
            st = os.lstat(self.app_dir)
        except FileNotFoundError:
            return None, "missing"
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(self.app_dir)
            if not os.path.isabs(target):
                target = os.path.normpath(os.path.join(os.path.dirname(self.app_dir), target))
            sha = os.path.basename(target)
            if os.path.dirname(target) != self.releases_dir or not SHA.match(sha):
                raise ReleaseError("app_dir %s links to %s, which is not a release of %s: move it away (or point it at a release) "
                                   "and deploy again" % (self.app_dir, target, self.releases_dir))
            return sha, "release"
        if stat.S_ISDIR(st.st_mode):
            return None, "plain"
        raise ReleaseError("app_dir %s is %s, not a directory or a link to a release: move it away" % (self.app_dir, _kind(st.st_mode)))

    def releases(self) -> List[Tuple[str, float]]:
        """Installed releases, newest switch first: (sha, mtime)."""
        out = []
        try:
            names = os.listdir(self.releases_dir)
        except FileNotFoundError:
            return []
        for name in names:
            if SHA.match(name):
                st = os.lstat(os.path.join(self.releases_dir, name))
                if stat.S_ISDIR(st.st_mode):
                    out.append((name, st.st_mtime))
        return sorted(out, key=lambda x: (-x[1], x[0]))


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISREG, "a regular file"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "not a directory"


def mkdirs(path: str, mode: int = 0o755) -> None:
    """mkdir -p without following a symlink on the way (each existing component must be a real directory)."""
    done = "/"
    for part in [p for p in path.split("/") if p]:
        done = os.path.join(done, part)
        try:
            st = os.lstat(done)
        except FileNotFoundError:
            os.mkdir(done, mode)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ReleaseError("%s is %s, not a directory" % (done, "a symbolic link" if stat.S_ISLNK(st.st_mode) else _kind(st.st_mode)))


class Lock:
    """An exclusive flock on <releases_dir>/.lock: one deploy of an application at a time."""

    def __init__(self, layout: Layout, wait: float = 60.0) -> None:
        self.path = os.path.join(layout.releases_dir, LOCK)
        self.wait = wait
        self.fd: Optional[int] = None

    def __enter__(self) -> "Lock":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
        if not stat.S_ISREG(os.fstat(self.fd).st_mode):
            raise ReleaseError("%s is not a regular file: remove it" % self.path)
        end = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > end:
                    raise ReleaseError("another deploy holds %s (waited %ss): let it finish" % (self.path, self.wait)) from None
                time.sleep(0.2)

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)


def git(run: Callable, repo_dir: str, *args: str, check: bool = True) -> Tuple[int, str, str]:
    return run(["git", "-C", repo_dir] + list(args), check=check)


def resolve(run: Callable, repo_dir: str, ref: str) -> Optional[str]:
    """The commit id ``ref`` names in a repository, or None."""
    rc, out, _err = git(run, repo_dir, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}", check=False)
    sha = out.strip()
    return sha if rc == 0 and SHA.match(sha) else None


def resolve_remote(run: Callable, url: str, ref: str) -> Optional[str]:
    """The commit id ``ref`` names on the remote, without fetching (check mode): a full id as is, else the branch, then
    the tag (peeled), then any ref ending in /ref."""
    if SHA.match(ref):
        return ref
    _rc, out, _err = run(["git", "ls-remote", "--", url], check=True)
    refs = {}
    for line in out.splitlines():
        sha, _sep, name = line.partition("\t")
        refs[name] = sha
    for name in ("refs/heads/%s" % ref, "refs/tags/%s^{}" % ref, "refs/tags/%s" % ref, ref):
        if name in refs:
            return refs[name]
    ends = sorted(n for n in refs if n.endswith("/" + ref))
    return refs[ends[0]] if ends else None


def update_cache(run: Callable, layout: Layout, url: str) -> bool:
    """Create or fetch the bare mirror; True when it was created."""
    if os.path.isdir(layout.cache):
        git(run, layout.cache, "remote", "set-url", "origin", url)
        git(run, layout.cache, "fetch", "--quiet", "--prune", "--tags", "origin")
        return False
    tmp = os.path.join(layout.releases_dir, "%scache-%d" % (TMP_PREFIX, os.getpid()))
    _rmtree(tmp)
    run(["git", "clone", "--quiet", "--mirror", "--", url, tmp])
    os.rename(tmp, layout.cache)
    return True


def changed_paths(run: Callable, repo_dir: str, old: str, new: str) -> Optional[List[str]]:
    """Paths that differ between two commits (both sides of a rename), or None when the old commit is not there."""
    rc, out, _err = git(run, repo_dir, "diff", "--name-only", "--no-renames", "-z", old, new, "--", check=False)
    if rc != 0:
        return None
    return sorted(p for p in out.split("\0") if p)


def tree_paths(run: Callable, repo_dir: str, sha: str) -> List[str]:
    _rc, out, _err = git(run, repo_dir, "ls-tree", "-r", "-z", "--name-only", sha)
    return sorted(p for p in out.split("\0") if p)


def npm_plan(tree: Sequence[str], changed: Optional[Sequence[str]]) -> Dict[str, List[str]]:
    """Which package directories of a new release need npm ci (their package-lock.json changed, or every one when
    nothing is known of the previous release), which carry node_modules over (lockfile unchanged), and which changed
    their package.json without a lockfile (npm ci cannot install those: reported, carried over as they were)."""
    locks = sorted(os.path.dirname(p) or "." for p in tree if os.path.basename(p) == LOCKFILE)
    pkgs = sorted(os.path.dirname(p) or "." for p in tree if os.path.basename(p) == "package.json")
    changed_set = None if changed is None else set(changed)

    def path_in(d, name):
        return name if d == "." else "%s/%s" % (d, name)

    ci = [d for d in locks if changed_set is None or path_in(d, LOCKFILE) in changed_set]
    carry = [d for d in pkgs if d not in ci]
    no_lock = [d for d in pkgs if d not in locks and changed_set is not None and path_in(d, "package.json") in changed_set]
    return dict(npm_ci=ci, carry=carry, no_lockfile_changed=no_lock)


def _rmtree(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)  # fd-based on Linux: symlinks inside are removed, never followed
    else:
        os.unlink(path)


def ensure_shared(layout: Layout, shared: Sequence[Tuple[str, bool]], seed_from: Optional[str], check_mode: bool) -> List[str]:
    """Create missing shared paths (a directory, or a file seeded from the release's tracked copy when there is one,
    else empty, mode 0600); returns those created."""
    made = []
    for rel, is_dir in shared:
        target = os.path.join(layout.shared_dir, rel)
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode) != is_dir:
                raise ReleaseError("shared path %s is %s, expected %s: fix or remove it" % (
                    target, "a symbolic link" if stat.S_ISLNK(st.st_mode) else ("a directory" if stat.S_ISDIR(st.st_mode) else "a file"),
                    "a directory" if is_dir else "a regular file"))
            continue
        made.append(rel)
        if check_mode:
            continue
        mkdirs(os.path.dirname(target), 0o750)
        if is_dir:
            os.mkdir(target, 0o750)
            continue
        src = os.path.join(seed_from, rel) if seed_from else None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if src and os.path.isfile(src) and not os.path.islink(src):
                with open(src, "rb") as f:
                    os.write(fd, f.read())
        finally:
            os.close(fd)
    return made


def link_shared(release_dir: str, layout: Layout, shared: Sequence[Tuple[str, bool]], move_existing: bool = False) -> List[str]:
    """Make every shared path of a release a symlink to shared_dir. What the release has there (a tracked file, a
    runtime dir of a migrated checkout) is removed, or with move_existing moved to shared_dir when that has nothing."""
    linked = []
    for rel, is_dir in shared:
        here = os.path.join(release_dir, rel)
        there = os.path.join(layout.shared_dir, rel)
        mkdirs(os.path.dirname(here))
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode) and os.readlink(here) == there:
            continue
        if st is not None:
            if move_existing and not os.path.lexists(there) and not stat.S_ISLNK(st.st_mode) and stat.S_ISDIR(st.st_mode) == is_dir:
                mkdirs(os.path.dirname(there), 0o750)
                os.rename(here, there)  # same inode: a process holding it open (a log) goes on writing to it
            else:
                _rmtree(here)
        tmp = "%s%s%d" % (here, ".link-", os.getpid())
        _rmtree(tmp)
        os.symlink(there, tmp)
        os.rename(tmp, here)
        linked.append(rel)
    _exclude(release_dir, shared)
    return linked


def _exclude(release_dir: str, shared: Sequence[Tuple[str, bool]]) -> None:
    """List the shared links in the release's .git/info/exclude, so git status there does not show them as new files
    (a tracked shared path still shows as changed: the release's copy was replaced by the link)."""
    info = os.path.join(release_dir, ".git", "info")
    if not os.path.isdir(os.path.join(release_dir, ".git")) or os.path.islink(os.path.join(release_dir, ".git")):
        return
    mkdirs(info)
    path = os.path.join(info, "exclude")
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            have = f.read()
    except FileNotFoundError:
        have = ""
    want = ["/%s" % rel for rel, _is_dir in shared if "/%s" % rel not in have.splitlines()]
    if not want:
        return
    text = have + ("" if not have or have.endswith("\n") else "\n") + "# shared runtime state (quantops.runbooks.app_release)\n"
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text + "".join(line + "\n" for line in want))
    os.rename(tmp, path)


def switch(layout: Layout, sha: str) -> None:
    """Point app_dir at a release: a symlink made under a temporary name beside it, renamed over app_dir (atomic:
    app_dir always resolves to the old or to the new release). The release's mtime records the switch."""
    target = layout.release(sha)
    tmp = os.path.join(os.path.dirname(layout.app_dir), ".%s.switch-%d" % (os.path.basename(layout.app_dir), os.getpid()))
    _rmtree(tmp)
    os.symlink(target, tmp)
    os.rename(tmp, layout.app_dir)
    now = time.time()
    os.utime(target, (now, now), follow_symlinks=False)


def carry_node_modules(run: Callable, old_dir: str, new_dir: str, dirs: Sequence[str]) -> List[str]:
    """Hard-link copies of node_modules from the current release for the directories whose lockfile did not change."""
    done = []
    for d in dirs:
        src = os.path.join(old_dir, d, "node_modules")
        dst = os.path.join(new_dir, d, "node_modules")
        if os.path.isdir(src) and not os.path.islink(src) and not os.path.lexists(dst):
            run(["cp", "-al", "--", src, dst])
            done.append(d)
    return done


def in_use(layout: Layout, proc: str = "/proc") -> List[str]:
    """Releases that a running process works in (its cwd below the release: a service not restarted since that release
    was current still runs its code, and may load more of it). Only the processes we may read (our own user's)."""
    found = set()
    prefix = layout.releases_dir + "/"
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        try:
            cwd = os.readlink(os.path.join(proc, pid, "cwd"))
        except OSError:
            continue
        if cwd.startswith(prefix):
            name = cwd[len(prefix):].split("/", 1)[0]
            if SHA.match(name):
                found.add(name)
    return sorted(found)


def prune(layout: Layout, keep: int, protect: Sequence[str], check_mode: bool) -> List[str]:
    """Remove the oldest releases beyond ``keep`` (by last switch), never one of ``protect`` nor one in use."""
    protect = list(protect) + in_use(layout)
    gone = []
    for sha, _mtime in layout.releases()[keep:]:
        if sha in protect:
            continue
        gone.append(sha)
        if not check_mode:
            _rmtree(layout.release(sha))
    return gone


def sweep_tmp(layout: Layout) -> None:
    """Remove what an interrupted deploy left: .tmp-* names, and a release whose build did not finish."""
    try:
        names = os.listdir(layout.releases_dir)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(TMP_PREFIX):
            _rmtree(os.path.join(layout.releases_dir, name))
        elif name.startswith(BUILDING) and SHA.match(name[len(BUILDING):]):
            _rmtree(layout.release(name[len(BUILDING):]))
            _rmtree(os.path.join(layout.releases_dir, name))


def valid_release(run: Callable, layout: Layout, sha: str) -> bool:
    """A release directory of ``sha`` is installed: a real directory whose HEAD is that commit."""
    path = layout.release(sha)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode) or os.path.lexists(os.path.join(layout.releases_dir, BUILDING + sha)):
        return False
    return resolve(run, path, "HEAD") == sha


def _migrate(run: Callable, layout: Layout, shared: Sequence[Tuple[str, bool]], res: Dict[str, Any]) -> str:
    """Make the plain checkout at app_dir the first release: its runtime state moved to shared_dir (same inodes, so the
    running services keep writing to them), its shared paths linked, the directory renamed into releases_dir and app_dir
    made a link to it. Returns its commit."""
    res["step"] = "migrate"
    sha = resolve(run, layout.app_dir, "HEAD")
    if sha is None:
        raise ReleaseError("app_dir %s is a directory but not a git checkout with a commit: move it away and deploy again" % layout.app_dir)
    if os.path.lexists(layout.release(sha)):
        raise ReleaseError("app_dir %s is a plain checkout of %s, and release %s exists too: remove one of them"
                           % (layout.app_dir, sha[:12], layout.release(sha)))
    for rel, is_dir in shared:
        here, there = os.path.join(layout.app_dir, rel), os.path.join(layout.shared_dir, rel)
        if os.path.lexists(there) and os.path.lexists(here) and not os.path.islink(here):
            raise ReleaseError("%s exists both in the checkout (%s) and in shared_dir (%s): keep one of them and deploy again"
                               % (rel, here, there))
        st = os.lstat(here) if os.path.lexists(here) else None
        if st is not None and not stat.S_ISLNK(st.st_mode) and stat.S_ISDIR(st.st_mode) == is_dir:
            mkdirs(os.path.dirname(there), 0o750)
            os.rename(here, there)
            res["moved_to_shared"].append(rel)
    res["shared_created"] += ensure_shared(layout, shared, None, False)
    link_shared(layout.app_dir, layout, shared)
    os.rename(layout.app_dir, layout.release(sha))
    switch(layout, sha)
    res.update(migrated=True, changed=True)
    return sha


def _build(run: Callable, layout: Layout, sha: str, *, cur: Optional[str], shared: Sequence[Tuple[str, bool]],  # noqa: PLR0913
           res: Dict[str, Any], url: str, npm: Optional[Sequence[str]], npm_timeout: float) -> None:
    """A new release directory of ``sha``: cloned from the cache, shared paths linked, node_modules carried over and
    npm ci run where the lockfile changed, then renamed into place. On any failure it is removed (nothing switched)."""
    tmp = layout.release(sha)  # built in place (npm builds may record their path), marked unfinished until done
    marker = os.path.join(layout.releases_dir, BUILDING + sha)
    try:
        res["step"] = "checkout"
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        _rmtree(tmp)  # a broken leftover (its HEAD was not the commit)
        run(["git", "clone", "--quiet", "--no-checkout", "--", layout.cache, tmp])
        git(run, tmp, "checkout", "--quiet", "--detach", sha)
        git(run, tmp, "remote", "set-url", "origin", url)
        res["step"] = "shared"
        res["shared_created"] += ensure_shared(layout, shared, tmp, False)
        link_shared(tmp, layout, shared)
        res["step"] = "npm"
        if cur:
            res["node_modules_carried"] = carry_node_modules(run, layout.release(cur), tmp, res["npm_plan"]["carry"])
        for d in res["npm_ci"]:
            if npm is None:
                continue
            run(list(npm) + ["ci", "--no-audit", "--no-fund"], cwd=os.path.join(tmp, d), timeout=npm_timeout)
            res["npm_ran"].append(d)
        os.unlink(marker)
    except BaseException:
        _rmtree(tmp)
        _rmtree(marker)
        raise


def new_result() -> Dict[str, Any]:
    return dict(changed=False, migrated=False, previous=None, release=None, path=None, changed_paths=None, npm_ci=[], npm_ran=[],
                npm_plan=None, node_modules_carried=[], no_lockfile_changed=[], reused=False, pruned=[], moved_to_shared=[],
                shared_created=[], switched=False, step="validate")


# PLR0913: the deploy's options, keyword-only
def deploy(run: Callable, layout: Layout, *, url: str, ref: str, shared: Any, keep: int = 3,  # noqa: PLR0913
           npm: Optional[Sequence[str]] = ("npm",), npm_timeout: float = 1800.0, check_mode: bool = False,
           res: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Make the release of ``ref`` the current one (see the module's documentation). ``res`` is filled as it goes, so a
    caller that catches ReleaseError still knows the step that failed. npm=None skips npm ci (reported in npm_ci)."""
    res = new_result() if res is None else res
    check_ref(ref)
    check_repo_url(url)
    shared = check_shared(shared)
    if not 1 <= int(keep) <= 100:
        raise ReleaseError("keep=%s: keep from 1 to 100 releases" % keep)
    for what, p in (("app_dir", layout.app_dir), ("releases_dir", layout.releases_dir), ("shared_dir", layout.shared_dir)):
        check_owned(p, what)
    cur, kind = layout.current()
    if check_mode:
        return _deploy_check(run, layout, url=url, ref=ref, cur=cur, kind=kind, res=res)
    mkdirs(layout.releases_dir)
    mkdirs(layout.shared_dir, 0o750)
    with Lock(layout):
        sweep_tmp(layout)
        res["step"] = "fetch"
        update_cache(run, layout, url)
        sha = resolve(run, layout.cache, ref)
        if sha is None:
            raise ReleaseError("version %r is neither a branch, a tag nor a commit of %s" % (ref, url))
        if kind == "plain":
            cur = _migrate(run, layout, shared, res)
        res.update(previous=cur, release=sha, path=layout.release(sha))
        if sha == cur:
            res["step"] = "shared"
            res["shared_created"] += ensure_shared(layout, shared, layout.release(cur), False)
            if link_shared(layout.release(cur), layout, shared):
                res["changed"] = True
            res["previous"] = None
        else:
            res["changed_paths"] = changed_paths(run, layout.cache, cur, sha) if cur else None
            res["npm_plan"] = npm_plan(tree_paths(run, layout.cache, sha), res["changed_paths"])
            res["no_lockfile_changed"] = res["npm_plan"]["no_lockfile_changed"]
            if valid_release(run, layout, sha):
                res["reused"] = True
                res["step"] = "shared"
                link_shared(layout.release(sha), layout, shared)
            else:
                res["npm_ci"] = list(res["npm_plan"]["npm_ci"])
                _build(run, layout, sha, cur=cur, shared=shared, res=res, url=url, npm=npm, npm_timeout=npm_timeout)
            res["step"] = "switch"
            switch(layout, sha)
            res.update(changed=True, switched=True)
        res["step"] = "prune"
        res["pruned"] = prune(layout, int(keep), [sha] + ([cur] if cur else []), False)
        res["changed"] = res["changed"] or bool(res["pruned"])
        res["step"] = "done"
    return res


def _deploy_check(run: Callable, layout: Layout, *, url: str, ref: str, cur: Optional[str], kind: str,  # noqa: PLR0913
                  res: Dict[str, Any]) -> Dict[str, Any]:
    """What deploy() would do, changing nothing: the ref resolved on the remote (git ls-remote), the changed paths and
    the npm plan from the cache when it already holds both commits (else None: known only after the fetch)."""
    res["step"] = "fetch"
    sha = resolve_remote(run, url, ref) if not SHA.match(ref) or not os.path.isdir(layout.cache) else ref
    if sha is None:
        raise ReleaseError("version %r is neither a branch, a tag nor a commit of %s" % (ref, url))
    if kind == "plain":
        cur = resolve(run, layout.app_dir, "HEAD")
        res.update(migrated=True, changed=True)
    res.update(previous=None if sha == cur else cur, release=sha, path=layout.release(sha))
    if sha != cur:
        res.update(changed=True, switched=True)
        if os.path.isdir(layout.cache) and resolve(run, layout.cache, sha) == sha:
            res["changed_paths"] = changed_paths(run, layout.cache, cur, sha) if cur else None
            res["npm_plan"] = npm_plan(tree_paths(run, layout.cache, sha), res["changed_paths"])
            res["reused"] = valid_release(run, layout, sha)
            res["npm_ci"] = [] if res["reused"] else list(res["npm_plan"]["npm_ci"])
    res["step"] = "done"
    return res


def rollback(run: Callable, layout: Layout, *, release: Optional[str] = None, check_mode: bool = False,
             res: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Switch app_dir back to an installed release: ``release`` (a commit id) or, without it, the one switched to most
    recently before the current one. No fetch, no npm ci."""
    res = new_result() if res is None else res
    if release is not None and not SHA.match(str(release)):
        raise ReleaseError("release %r is not a full commit id (40 lowercase hex digits): give one of the installed releases" % release)
    for what, p in (("app_dir", layout.app_dir), ("releases_dir", layout.releases_dir)):
        check_owned(p, what)
    cur, kind = layout.current()
    if kind != "release":
        raise ReleaseError("app_dir %s is %s, not a link to a release: deploy first" % (layout.app_dir, "missing" if kind == "missing" else "a plain checkout"))
    installed = [sha for sha, _m in layout.releases()]
    target = release or next((sha for sha in installed if sha != cur), None)
    if target is None:
        raise ReleaseError("no release but the current one (%s) is installed under %s: nothing to go back to" % (cur[:12], layout.releases_dir))
    if not valid_release(run, layout, target):
        raise ReleaseError("release %s is not installed under %s (installed: %s)" % (target, layout.releases_dir, ", ".join(installed) or "none"))
    res.update(previous=cur, release=target, path=layout.release(target))
    if target == cur:
        res.update(previous=None, step="done")
        return res
    if os.path.isdir(layout.cache):
        res["changed_paths"] = changed_paths(run, layout.cache, cur, target)
    res.update(changed=True, switched=True)
    if not check_mode:
        res["step"] = "switch"
        with Lock(layout):
            switch(layout, target)
    res["step"] = "done"
    return res
