# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Options and notes of every read-only database check (module_utils._sqlite.sqlite_argument_spec).
    DOCUMENTATION = r"""
options:
  paths:
    description:
      - Database files on the managed host, or glob patterns (C(candles_dbs/candles_*.db)).
      - A pattern that matches nothing and a file that does not exist are reported as problems.
      - At least one and at most 1000; an empty path or one holding a newline or another control character fails the
        task.
    type: list
    elements: path
    required: true
  busy_timeout:
    description:
      - Milliseconds to wait for a writer's lock before reporting the database as locked. In WAL mode (the bot's)
        readers never wait for writers. From 0 to 600000.
    type: int
    default: 5000
  fail_on_problems:
    description:
      - Fail the task when there is any problem, with the problems in the message. By default problems are only
        returned (RV(healthy=false)), so a play can check every host and every database and summarise.
    type: bool
    default: false
notes:
  - Read-only by construction. Each file is opened with SQLite's read-only URI mode (C(mode=ro)) and
    C(PRAGMA query_only), all queries of one database run in one read transaction, and the check never writes,
    never takes a write lock and never creates files.
  - A WAL database that no process holds open (no C(-wal) file) is opened with C(immutable=1), because a read-only
    connection would otherwise create C(-wal) and C(-shm) files and leave them behind, owned by the user who ran the
    check. If a writer opens the file during such a read, or opens it, commits and exits (the file's inode, size,
    mtime, header change counter or C(-wal) file moved), the read is done again in normal read-only mode.
  - A verdict of corruption (SQLite's C(database disk image is malformed), a failed integrity check) never rests on an
    immutable read alone; it is confirmed in normal read-only mode. While no process has the database open, that
    read runs on a private copy of its bytes (made and checked unchanged), so nothing is left beside the database.
  - A missing, unreadable, corrupt or non-SQLite file, a missing table and a wrong schema are problems of that
    database, never a crash of the module; a row whose numeric column holds TEXT or BLOB is a problem of its symbol.
  - Every numeric option is checked before any file is opened; C(nan), C(inf) and values out of the documented range
    fail the task with a message naming the option and its range.
  - Run it as the bot's user (C(become_user)) or as root; it only needs read access to the files.
"""

    # The moment a freshness check is evaluated as of.
    NOW = r"""
options:
  now:
    description:
      - The moment the check is evaluated as of, in epoch milliseconds. Rows after it are ignored, so a check can be
        repeated exactly, for tests and post-mortems.
      - Default is the current time on the managed host.
      - From 0 to 253402300799999 (the end of year 9999).
    type: int
"""

    # Options of the checks that can run an integrity check as well.
    INTEGRITY = r"""
options:
  integrity:
    description:
      - Also run C(PRAGMA quick_check) (V(quick)) or C(PRAGMA integrity_check) (V(full)) on each database. Both read
        the whole file, so they take time proportional to its size.
    type: str
    choices: [none, quick, full]
    default: none
"""
