"""The walker root uses for paths other users may control (issue 11)."""

import os
import pwd
import shutil
import tempfile

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _safefile

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root against another user's links")
NOBODY = pwd.getpwnam("nobody")


def test_root_owned_links_in_root_owned_directories_are_followed(tmp_path):
    """/var/run -> /run is how Debian is built: such links are no user's doing."""
    (tmp_path / "real").mkdir()
    (tmp_path / "abs").symlink_to(tmp_path / "real")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "rel").symlink_to("../real")
    for link in ("abs", "sub/rel"):
        fd = _safefile.open_dir(str(tmp_path / link))
        try:
            assert os.path.samestat(os.fstat(fd), os.stat(tmp_path / "real"))
        finally:
            os.close(fd)


def test_a_users_link_is_refused_even_in_a_root_directory(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.lchown(tmp_path / "link", NOBODY.pw_uid, NOBODY.pw_gid)
    with pytest.raises(_safefile.UnsafePathError, match="owned by nobody"):
        _safefile.open_dir(str(tmp_path / "link"))


def test_a_root_link_in_a_users_directory_is_refused(tmp_path):
    """The user could have moved a link root once made into their own directory."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    (home / "link").symlink_to("/etc")
    with pytest.raises(_safefile.UnsafePathError, match="in a directory owned by nobody"):
        _safefile.open_dir(str(home / "link"))


def test_created_directories_get_their_owner_and_mode_by_descriptor(tmp_path):
    fd = _safefile.open_dir(str(tmp_path / "a" / "b"), create=(NOBODY.pw_uid, NOBODY.pw_gid, 0o750))
    os.close(fd)
    for d in (tmp_path / "a", tmp_path / "a" / "b"):
        st = d.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (NOBODY.pw_uid, 0o750)
    assert tmp_path.stat().st_uid == 0  # what existed is left alone


@pytest.mark.parametrize(("path", "message"), [
    ("", "empty"), ("relative/x", "relative"), ("/a/../etc", "'..'"), ("/tmp/x\nroot", "control character"),
    ("/" + "a" * 5000, "4095"),
])
def test_bad_paths_are_named(path, message):
    with pytest.raises(_safefile.UnsafePathError, match=message):
        _safefile.check_path(path)


def test_write_replaces_what_is_at_the_name_and_never_writes_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "f").symlink_to(victim)
    fd = _safefile.open_dir(str(tmp_path))
    try:
        _safefile.write_file(fd, "f", b"new", 0o640, (NOBODY.pw_uid, NOBODY.pw_gid))
    finally:
        os.close(fd)
    st = (tmp_path / "f").lstat()
    assert (victim.read_bytes(), (tmp_path / "f").read_bytes(), st.st_uid, st.st_mode & 0o777) == (b"keep", b"new", NOBODY.pw_uid, 0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "victim"]


def test_append_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "log")
    with pytest.raises(_safefile.UnsafePathError, match="a FIFO"):
        _safefile.append_line(str(tmp_path / "log"), "x\n")


def test_a_user_follows_their_own_links_but_not_another_users():
    """Not root, a process may follow links it made itself (a release `current` link); never another user's."""
    top = tempfile.mkdtemp(dir="/tmp")
    try:
        os.chmod(top, 0o755)
        mine = os.path.join(top, "home")
        os.mkdir(mine)
        os.mkdir(os.path.join(mine, "release-1"))
        os.symlink("release-1", os.path.join(mine, "current"))
        os.symlink("/etc", os.path.join(top, "roots"))
        for path in (mine, os.path.join(mine, "release-1"), os.path.join(mine, "current")):
            os.lchown(path, NOBODY.pw_uid, NOBODY.pw_gid)
        os.seteuid(NOBODY.pw_uid)
        try:
            os.close(_safefile.open_dir(os.path.join(mine, "current")))
            os.close(_safefile.open_dir(os.path.join(top, "roots")))  # root's link in root's directory
        finally:
            os.seteuid(0)
        os.lchown(os.path.join(mine, "current"), 1, 1)  # now another user's (daemon) link in our directory
        os.seteuid(NOBODY.pw_uid)
        try:
            with pytest.raises(_safefile.UnsafePathError, match="owned by daemon"):
                _safefile.open_dir(os.path.join(mine, "current"))
        finally:
            os.seteuid(0)
    finally:
        shutil.rmtree(top)
