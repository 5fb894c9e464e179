# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files root touches for the flows, where another local user may have planted something.

Every path is walked one component at a time from ``/`` with ``O_NOFOLLOW``: a symlink is followed only
when root (or the user we run as, when that is not root) owns both the link and the directory that holds
it (``/var/run -> /run``), because no other user can have made such a link. Files are opened with
``O_NONBLOCK`` (a FIFO never hangs us) and checked with ``fstat``; directories we create are given their
owner and mode by descriptor, never by path, and files are written to a temporary name in the same
directory, fsynced, renamed into place and the directory fsynced."""

import errno
import os
import pwd
import stat
from typing import Any, Callable, Optional, Tuple

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
MAX_SYMLINKS = 40
KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))


class UnsafePathError(Exception):
    """A path we refuse to use: a user's symlink on the way, a component of the wrong type, a bad name."""


def kind(mode: int) -> str:
    """What a file of this st_mode is, in words."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def owner_name(uid: int) -> str:
    try:
        return "%s (uid %d)" % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return "uid %d" % uid


def check_path(path: Any, what: str = "path") -> str:
    """An absolute, normalised path without control characters; the reason otherwise."""
    if not isinstance(path, str) or not path:
        raise UnsafePathError("%s is empty: give an absolute path" % what)
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise UnsafePathError("%s %r contains a control character (newline, tab, ...): give a plain absolute path" % (what, path))
    if not os.path.isabs(path):
        raise UnsafePathError("%s %r is relative: give an absolute path" % (what, path))
    if ".." in path.split("/"):
        raise UnsafePathError("%s %r contains '..': give the path without it" % (what, path))
    if len(path) > 4000:
        raise UnsafePathError("%s is %d characters long; paths on Linux are at most 4095 bytes" % (what, len(path)))
    return path


def _components(path):
    return [c for c in path.split("/") if c and c != "."]


def open_dir(path: str, create: Optional[Tuple[int, int, int]] = None) -> int:
    """A descriptor of directory ``path``, walked from ``/`` without following any symlink a user could have made.

    ``create``, when given, is ``(uid, gid, mode)``: missing components are created with that owner and mode,
    set by descriptor. Raises UnsafePathError for a refused symlink or a component that is not a directory,
    and FileNotFoundError for a missing one when nothing is created."""
    check_path(path)
    todo = _components(path)
    fd = os.open("/", _DIR_FLAGS)
    hops = 0
    done = "/"
    try:
        while todo:
            name = todo.pop(0)
            if name == "..":  # only ever from a root-owned link's target: re-walk the parent we came from
                done = os.path.dirname(done.rstrip("/")) or "/"
                os.close(fd)
                fd = open_dir(done)
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                if e.errno == errno.ENOENT and create is not None:
                    child = _make_dir(fd, name, create, os.path.join(done, name))
                elif e.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if not stat.S_ISLNK(st.st_mode):
                        raise UnsafePathError("%s is %s, not a directory" % (os.path.join(done, name), kind(st.st_mode))) from None
                    parent = os.fstat(fd)
                    trusted = (0, os.geteuid())  # root's links, and our own when we are not root
                    if st.st_uid not in trusted or parent.st_uid not in trusted:
                        raise UnsafePathError(
                            "%s is a symbolic link owned by %s in a directory owned by %s: root does not follow links "
                            "another user could have made; give the real path" % (
                                os.path.join(done, name), owner_name(st.st_uid), owner_name(parent.st_uid))) from None
                    hops += 1
                    if hops > MAX_SYMLINKS:
                        raise UnsafePathError("%s: too many levels of symbolic links" % path) from None
                    target = os.readlink(name, dir_fd=fd)
                    todo = _components(target) + todo
                    if target.startswith("/"):
                        os.close(fd)
                        fd = os.open("/", _DIR_FLAGS)
                        done = "/"
                    continue
                else:
                    raise
            os.close(fd)
            fd = child
            done = os.path.join(done, name)
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_dir_if_exists(path: str) -> Optional[int]:
    """open_dir(path), or None when the directory (or one on the way) does not exist."""
    try:
        return open_dir(path)
    except FileNotFoundError:
        return None


def _make_dir(parent_fd, name, create, shown):
    uid, gid, mode = create
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        pass  # someone made it meanwhile: it is opened and checked like any other component
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePathError("%s was replaced while it was being created; refusing it" % shown) from None
        raise
    st = os.fstat(fd)
    if st.st_uid == os.geteuid():  # ours: give it away by descriptor, never by path
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    return fd


def read_file(dir_fd: int, name: str, limit: int = 65536) -> Tuple[Optional[bytes], Optional[str], Optional[os.stat_result]]:
    """(content, odd, st) of ``name`` in the directory ``dir_fd``: content None when there is no such file.
    A symlink, FIFO, socket or device is never followed or read: content b"" and ``odd`` naming it."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None, None, None
    except OSError as e:
        if e.errno == errno.ELOOP:
            return b"", "a symbolic link", os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return b"", kind(st.st_mode), st
        return os.read(fd, limit), None, st
    finally:
        os.close(fd)


def read_path(path: str, limit: int = 65536) -> Tuple[Optional[bytes], Optional[str], Optional[os.stat_result]]:
    """read_file for a whole path: the directory is walked safely."""
    check_path(path)
    dir_fd = open_dir(os.path.dirname(path))
    try:
        return read_file(dir_fd, os.path.basename(path), limit)
    finally:
        os.close(dir_fd)


# PLR0913: mode/owner mirror os.open/os.fchown; before_rename is keyword-only
def write_file(dir_fd: int, name: str, data: bytes, mode: int = 0o644, owner: Optional[Tuple[int, int]] = None, *,  # noqa: PLR0913
               before_rename: Optional[Callable[[int, str], Any]] = None) -> None:
    """Replace ``name`` in ``dir_fd`` atomically with ``data``: a new file of ``mode`` (and ``owner``, a
    (uid, gid) pair), set by descriptor before it gets its name. Whatever was at the name (a file planted by
    another user, a symlink, a FIFO) is replaced, never written through. The directory is fsynced.
    ``before_rename(dir_fd, temporary_name)``, when given, runs on the complete file before it gets its name."""
    tmp = None
    for attempt in range(100):
        candidate = ".%s.%d.%d.tmp" % (name, os.getpid(), attempt)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
        tmp = candidate
        break
    if tmp is None:
        raise OSError(errno.EEXIST, "cannot create a temporary file next to %s" % name)
    try:
        try:
            if owner is not None:
                os.fchown(fd, owner[0], owner[1])
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_rename is not None:
            before_rename(dir_fd, tmp)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
    os.fsync(dir_fd)


def remove_file(dir_fd: int, name: str) -> bool:
    """Remove ``name`` (whatever it is, a symlink itself and not its target); True when something was removed."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    os.fsync(dir_fd)
    return True


def append_line(path: str, line: str, mode: int = 0o640) -> None:
    """Append one line to a log file in one write (appends never interleave); never through a symlink or into a
    FIFO or device."""
    check_path(path)
    dir_fd = open_dir(os.path.dirname(path))
    try:
        try:
            fd = os.open(os.path.basename(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC,
                         mode, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UnsafePathError("%s is a symbolic link: the log is not written through it" % path) from None
            if e.errno == errno.ENXIO:  # a FIFO nobody reads, or a socket
                st = os.stat(os.path.basename(path), dir_fd=dir_fd, follow_symlinks=False)
                raise UnsafePathError("%s is %s, not a log file" % (path, kind(st.st_mode))) from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafePathError("%s is %s, not a log file" % (path, kind(st.st_mode)))
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
