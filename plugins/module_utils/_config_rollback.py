# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the config rollback of openclaw-ai-quant's git-tracked strategy config: which keys differ between
two versions, whether a restart is needed, parsing of git's output, the shadow tree the validator runs in, and the
last-known-good tag's name and message. No I/O here (the shadow plan lists directories through a callable)."""

import posixpath
import shlex
import string
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

DEFAULT_PATH = "config/strategy_overrides.yaml"
DEFAULT_VALIDATE = "uv run python tools/validate_config.py"
LKG_PREFIX = "quantops/lkg/"
# How far back the file's history is searched for the commit whose version equals some content.
HISTORY_SEARCH_LIMIT = 200
# One record per commit: fields separated by US (0x1f), records by RS (0x1e). %aI is the strict ISO-8601 author date.
HISTORY_FORMAT = "%H%x1f%aI%x1f%an%x1f%s%x1e"
WHOLE_DOCUMENT = ""
# Longest commit-ish accepted (git's own refs are far shorter); the validator's argv is bounded below what execve takes.
MAX_REF = 1024
MAX_VALIDATE_ARGS = 1000
MAX_VALIDATE_CHARS = 131072

_MISSING = object()
# Bytes a tag name may hold as they are. Everything else (also '/', '%', '@', '~', '^', ':', spaces, non-ASCII) is
# percent-encoded, and '.' is encoded where git would refuse it.
_REF_SAFE = frozenset(string.ascii_letters + string.digits + "-_+,=")


def _option_like(name, value, shown):
    if value.lstrip().startswith("-"):
        what = "is not a commit-ish: it" if name == "to" else "is not a file's path: it"
        raise ValueError("%s=%r %s starts with '-' (once the blanks around it are removed), which git would read as an option: give %s"
                         % (name, shown, what, "a commit, a tag or a branch" if name == "to" else "the file's path relative to repo"))


def normalize_rel_path(path: Optional[str]) -> str:
    """The config path relative to the repo, normalized ('./config//x.yaml' -> 'config/x.yaml').

    Raises ValueError for an empty or absolute path, one that starts with '-' (blanks stripped, or once normalized),
    holds a control character (a newline), is longer than 4096 characters, leaves the repo through '..', or is
    inside .git. Symlinks are not checked here (that needs the filesystem)."""
    if path is None or path.strip() == "":
        raise ValueError("path is empty: set it to the config file relative to repo, e.g. %s" % DEFAULT_PATH)
    _option_like("path", path, path)
    v.path("path", path)
    if path.startswith("/"):
        raise ValueError("path %s is absolute: give it relative to repo, e.g. %s" % (path, DEFAULT_PATH))
    norm = posixpath.normpath(path)
    if norm in (".", "..") or norm.startswith("../"):
        raise ValueError("path %s resolves outside repo: give a file inside the repo, e.g. %s" % (path, DEFAULT_PATH))
    if ".git" in norm.split("/"):
        raise ValueError("path %s is inside git's own .git directory, not a tracked file" % path)
    _option_like("path", norm, path)
    return norm


def check_commitish(value: Optional[str]) -> str:
    """A commit-ish given by the user, stripped; refused when empty, when git could take it for an option (it
    starts with '-' once stripped), when it holds a control character or is longer than MAX_REF characters."""
    if value is None or value.strip() == "":
        raise ValueError("to is empty: give a commit, a tag, a branch, 'previous' or 'last_known_good'")
    if len(value) > MAX_REF:
        raise ValueError("to is %d characters long; at most %d are accepted: give a commit, a tag or a branch" % (len(value), MAX_REF))
    _option_like("to", value, value)
    ref = value.strip()
    v.text("to", ref, v.Text(max_length=MAX_REF))
    return ref


def _same(a, b):
    """Equality that tells 1, 1.0 and true apart (YAML types matter to the trader), recursing into containers."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _diff(old, new, prefix, out):
    for key in set(old) | set(new):
        path = "%s.%s" % (prefix, key) if prefix else str(key)
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a is _MISSING or b is _MISSING:
            out.append(path)  # added or removed
        elif isinstance(a, dict) and isinstance(b, dict):
            _diff(a, b, path, out)
        elif not _same(a, b):
            out.append(path)  # a leaf (scalar or whole list) changed, or a mapping became a leaf or back


def changed_keys(old: Any, new: Any) -> List[str]:
    """Sorted dotted paths that differ between two parsed YAML documents.

    Mappings recurse; lists and scalars are leaves compared whole (with their types: 5 and '5' differ); a key added or
    removed is a changed path; a mapping replaced by a scalar (or the reverse) is the path itself. An empty document
    (None) counts as an empty mapping, so every key of the other side is changed. When either top level is something
    else than a mapping (a list, a scalar) and they differ, the result is [''] (WHOLE_DOCUMENT): the whole document
    changed, which matches every restart key."""
    old = {} if old is None else old
    new = {} if new is None else new
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if _same(old, new) else [WHOLE_DOCUMENT]
    out = []
    _diff(old, new, "", out)
    return sorted(out)


def _matches(key, restart_key):
    if key == WHOLE_DOCUMENT:
        return True
    return key == restart_key or key.startswith(restart_key + ".") or restart_key.startswith(key + ".")


def restart_matches(changed: Iterable[str], restart_keys: Optional[Iterable[str]]) -> List[str]:
    """The changed keys that need a restart: k matches r when k == r, k is below r (k starts with r + '.'), or r is
    below k (r starts with k + '.', e.g. the whole 'engine' mapping changed). The whole document ('') matches all."""
    keys = [r for r in (restart_keys or []) if r]
    return sorted(k for k in changed if any(_matches(k, r) for r in keys))


def parse_history(text: Optional[str]) -> List[Dict[str, str]]:
    """Entries of `git log --format=HISTORY_FORMAT`, newest first: [{sha, date, author, subject}]."""
    entries = []
    for raw in (text or "").split("\x1e"):
        record = raw.strip("\n")
        if not record:
            continue
        fields = record.split("\x1f")
        if len(fields) != 4:
            raise ValueError("unexpected git log record %r" % (record,))
        entries.append({"sha": fields[0], "date": fields[1], "author": fields[2], "subject": fields[3]})
    return entries


def parse_batch_check(text: Optional[str], names: Sequence[str]) -> List[Optional[str]]:
    """Objects of `git cat-file --batch-check` output for the given input names: [sha or None], in order.
    A line '<name> missing' (the path is absent from that commit) gives None; a tree (a directory) too."""
    lines = (text or "").splitlines()
    if len(lines) != len(names):
        raise ValueError("git cat-file answered %d lines for %d objects" % (len(lines), len(names)))
    out = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[1] == "blob":
            out.append(fields[0])
        else:
            out.append(None)
    return out


def newest_commit_with_blob(commit_blobs: Iterable[Tuple[str, Optional[str]]], blob: Optional[str]) -> Optional[str]:
    """The first (newest) commit of [(commit, blob)] whose blob is the given one, None when there is none."""
    if blob is None:
        return None
    for commit, candidate in commit_blobs:
        if candidate == blob:
            return commit
    return None


def parse_ls_files_stage(text: Optional[str]) -> List[Tuple[str, str, str, str]]:
    """Entries of `git ls-files -s -z`: [(mode, sha, stage, path)] (several stages while a merge conflicts)."""
    entries = []
    for record in (text or "").split("\0"):
        if not record:
            continue
        meta, sep, path = record.partition("\t")
        fields = meta.split()
        if not sep or len(fields) != 3:
            raise ValueError("unexpected git ls-files record %r" % (record,))
        entries.append((fields[0], fields[1], fields[2], path))
    return entries


def index_restore_data(entries: Iterable[Tuple[str, str, str, str]], path: str, sha_length: int = 40) -> str:
    """Input of `git update-index -z --index-info` that puts the index entries of path back as they were: a mode-0
    record drops whatever is there now, then each saved entry (with its stage) is added again."""
    records = ["0 %s\t%s" % ("0" * sha_length, path)]
    records.extend("%s %s %s\t%s" % (mode, sha, stage, entry_path) for mode, sha, stage, entry_path in entries)
    return "".join(record + "\0" for record in records)


def shadow_plan(rel_path: str, listdir: Callable[[str], Iterable[str]]) -> List[Tuple[str, str]]:
    """What to create, in order, for a shadow of the repo in which rel_path holds a candidate.

    listdir(rel_dir) returns the entry names of a directory of the real tree ('' is the root). The result is a list
    of (kind, rel) with kind 'dir' (a real directory: one on the way to the config), 'link' (a symlink to the real
    entry of the same relative path) or 'file' (the config itself, holding the candidate bytes)."""
    parts = rel_path.split("/")
    plan = []
    current = ""
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        for name in sorted(listdir(current)):
            if name != part:
                plan.append(("link", posixpath.join(current, name)))
        current = posixpath.join(current, part)
        plan.append(("file" if last else "dir", current))
    return plan


def split_validate(value: Any) -> Optional[List[str]]:
    """The validator's argv from the validate option: a list as it is, a string split as a shell would (no shell is
    run), None for no validation (None, '' or []). Refused: more than MAX_VALIDATE_ARGS arguments, more than
    MAX_VALIDATE_CHARS characters in all (the kernel would refuse to run it), a NUL byte."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        v.items("validate", value, v.Items(max_items=MAX_VALIDATE_ARGS))
        argv = [str(arg) for arg in value]
    elif isinstance(value, str):
        v.text("validate", value, v.Text(max_length=MAX_VALIDATE_CHARS, multiline=True, allow_empty=True))
        argv = shlex.split(value)
    else:
        raise ValueError("validate must be a command line (string), a list of arguments or null, not %r" % (value,))
    for i, arg in enumerate(argv):
        v.text("validate[%d]" % i, arg, v.Text(max_length=MAX_VALIDATE_CHARS, multiline=True, allow_empty=True))
    total = sum(len(arg) for arg in argv)
    if total > MAX_VALIDATE_CHARS:
        raise ValueError("validate is %d characters long in all; at most %d are accepted" % (total, MAX_VALIDATE_CHARS))
    return argv or None


def _encode_ref_byte(data, i):
    byte = data[i:i + 1]
    char = byte.decode("latin-1")
    if char in _REF_SAFE:
        return char
    if char == ".":
        first, final = i == 0, i == len(data) - 1
        double = data[i + 1:i + 2] == b"." or (i > 0 and data[i - 1:i] == b".")
        lock = data[i:] == b".lock"
        if not (first or final or double or lock):
            return char
    return "%%%02X" % ord(byte)


def lkg_tag_name(path: str) -> str:
    """The tag holding a config file's last-known-good content: quantops/lkg/<path percent-encoded as one component>.

    The path (normalized, relative to the top of the work tree) is one ref component with '/' encoded too, so no two
    paths share a name and no file's tag is a directory of another's. Bytes git refuses in a ref (spaces, ~^:?*[\\,
    '@{', control characters) and '%' itself are encoded as %XX, and so is a '.' that starts or ends the component,
    neighbours another '.' or starts a '.lock' suffix: 'config/strategy_overrides.yaml' gives
    'quantops/lkg/config%2Fstrategy_overrides.yaml'. Decoding is plain percent-decoding."""
    data = normalize_rel_path(path).encode("utf-8", "surrogateescape")
    return LKG_PREFIX + "".join(_encode_ref_byte(data, i) for i in range(len(data)))


def lkg_message(path: str, note: Optional[str] = None, commit: Optional[str] = None) -> str:
    """The annotated tag's message: what it marks, the operator's note, and the commit the content matches."""
    lines = ["last-known-good of %s (quantops.runbooks.config_known_good)" % path, ""]
    if note:
        lines.extend([note.strip(), ""])
    if commit:
        lines.append("Content matches commit %s." % commit)
    else:
        lines.append("Content matches no commit of the file's history (the %d newest were searched)." % HISTORY_SEARCH_LIMIT)
    return "\n".join(lines) + "\n"


def to_text(data: Optional[bytes]) -> str:
    """Bytes of a file as text for the diff and the results (undecodable bytes replaced)."""
    if data is None:
        return ""
    return data.decode("utf-8", "replace")


def validator_dirs(argv: Optional[Iterable[Any]], is_repo_file: Callable[[str], bool]) -> List[str]:
    """Top-level directories of the repo that hold a validator script named by a relative path in ``argv``
    (``[uv, run, python, tools/validate_config.py]`` gives ``[tools]``)."""
    dirs = []
    for arg in argv or []:
        if not isinstance(arg, str) or arg.startswith(("-", "/")) or "/" not in arg:
            continue
        rel = posixpath.normpath(arg)
        top = rel.split("/", 1)[0]
        if top not in ("", ".", "..", ".git") and is_repo_file(rel) and top not in dirs:
            dirs.append(top)
    return dirs
