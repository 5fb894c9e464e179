# -*- coding: utf-8 -*-
# Copyright: quantops.runbooks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read-only access to the bot's SQLite databases, shared by the database check modules.

A check must never lock, change or litter a live database:
- it opens the file with SQLite's read-only URI mode (``mode=ro``) and ``PRAGMA query_only``;
- a WAL database that no process has open (no ``-wal`` file) is opened ``immutable=1``: a read-only connection would
  otherwise create ``-wal`` and ``-shm`` files (owned by whoever runs the check) and leave them behind;
- if a writer appears, or comes and goes, while such a read runs (the file's fingerprint moved), and whenever such a
  read fails or finds the database damaged, the read is done again in ordinary read-only mode, so no verdict of
  corruption ever rests on an immutable read alone; while no process has the database open, that read runs on a
  private copy of its bytes, so it leaves nothing beside the database either;
- a busy timeout lets it wait for a writer's commit instead of failing at once.
Everything that can go wrong with one file is raised as DatabaseError, which the modules report as a problem of that
database instead of crashing.
"""

import copy
import datetime
import glob
import math
import os
import shutil
import sqlite3
import tempfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote

from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

HEADER = b"SQLite format 3\x00"
GLOB_CHARS = ("*", "?", "[")


class DatabaseError(Exception):
    """A problem of one database file: missing, unreadable, not SQLite, corrupt, locked, wrong schema."""


def sqlite_argument_spec(now: bool = True) -> Dict[str, Dict[str, Any]]:
    """Options every read-only database check takes (the quantops.runbooks._sqlite fragment; with now=True also its
    now section)."""
    spec = dict(
        paths=dict(type="list", elements="path", required=True),
        busy_timeout=dict(type="int", default=5000),
        fail_on_problems=dict(type="bool", default=False),
    )
    if now:
        spec["now"] = dict(type="int")
    return spec


# What the shared options accept (see the fragment): at least one path, none empty or holding a control character.
MAX_PATHS = 1000
BUSY_TIMEOUT = v.Range(0, 600000, "milliseconds", integer=True)
NOW = v.Range(0, v.MAX_EPOCH_MS, "epoch milliseconds", integer=True)


def check_options(module: Any, numbers: Optional[Dict[str, Any]] = None, now: bool = True) -> None:
    """Fail the task on a bad value of the shared options or of numbers (the module's own {option: _validate.Range}),
    before any database is opened."""
    rules = dict(busy_timeout=BUSY_TIMEOUT)
    if now:
        rules["now"] = NOW
    rules.update(numbers or {})
    v.check(module, numbers=rules, lists=dict(paths=(v.Items(min_items=1, max_items=MAX_PATHS), v.Path())))


class BadValue(DatabaseError):
    """A row whose numeric column holds something else (TEXT, BLOB, a NaN): a problem of its symbol or series."""


def sql_type(value: Any) -> str:
    return {str: "TEXT", bytes: "BLOB", float: "REAL", int: "INTEGER", type(None): "NULL"}.get(type(value), type(value).__name__)


def numeric(value: Any, column: str) -> Any:
    """value when it is a finite number (None passes), else BadValue naming the column, the type and the value."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
        return value
    shown = repr(value if len(repr(value)) <= 40 else value[:40])
    raise BadValue("column %s holds %s %s, not a number: fix or delete that row" % (column, sql_type(value), shown))


def greatest(conn: sqlite3.Connection, table: str, column: str, where: str, params: Sequence[Any]) -> Any:
    """MAX(column) of the rows where holds, in one index seek when an index starts with where's columns and column.
    SQLite sorts TEXT and BLOB after every number, so a row whose numeric column holds text is what this returns:
    pass it to numeric() to find such rows, which a comparison with a number (t <= now) silently skips."""
    sql = "SELECT MAX(%s) FROM %s WHERE %s" % (quote_ident(column), quote_ident(table), where)
    return conn.execute(sql, params).fetchone()[0]


def damaged(result: Any) -> bool:
    """Whether a read's result says the database is damaged: a failed integrity check of a freshness check
    (integrity option) or of sqlite_integrity. Such a result read immutable is confirmed in read-only mode."""
    if not isinstance(result, dict):
        return False
    integrity = result.get("integrity")
    if isinstance(integrity, dict) and not integrity.get("ok", True):
        return True
    return "messages" in result and result.get("ok") is False


def check_paths(patterns: Iterable[str], busy_timeout_ms: int, read: Callable[[sqlite3.Connection], Dict[str, Any]], defaults: Dict[str, Any],
                suspect: Callable[[Any], bool] = damaged) -> List[Dict[str, Any]]:
    """Run read(conn) on every file the patterns name: [dict(defaults, path, error, access, size, **read's dict)].
    A pattern that matches nothing and a file that cannot be read become entries with an error. suspect(result):
    whether a result read immutable must be confirmed in read-only mode (see ReadOnly.read)."""
    out = []
    for pattern, files in expand_paths(patterns):
        if not files:
            out.append(dict(copy.deepcopy(defaults), path=pattern, ok=False, error="no file matches this pattern", access=None, size=None))
        for path in files:
            db = dict(copy.deepcopy(defaults), path=path, ok=True, error=None, access=None, size=None)
            try:
                reader = ReadOnly(path, busy_timeout_ms)
                db["size"] = reader.facts["size"]
                db.update(reader.read(read, suspect))
                db["access"] = reader.method
            except DatabaseError as exc:
                db["error"] = str(exc)
            out.append(db)
    return out


def now_ms(value: Optional[float] = None) -> int:
    """The moment a check is evaluated as of: the option when given, else the current time (epoch ms)."""
    if value is not None:
        return int(value)
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)


def iso(ms: Optional[float]) -> Optional[str]:
    """Epoch ms as an ISO 8601 UTC time an operator can read, or None."""
    if ms is None:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand_paths(patterns: Iterable[str]) -> List[Tuple[str, List[str]]]:
    """[(pattern, [files])]: a glob expands to its sorted matches (maybe none), a plain path stays itself."""
    out = []
    for pattern in patterns:
        if any(c in pattern for c in GLOB_CHARS):
            out.append((pattern, sorted(p for p in glob.glob(pattern) if not p.endswith(("-wal", "-shm", "-journal")))))
        else:
            out.append((pattern, [pattern]))
    return out


def file_facts(path: str) -> Dict[str, Any]:
    """Size and journal mode from the file itself, without SQLite: raises DatabaseError for what is not a database."""
    if not os.path.lexists(path):
        raise DatabaseError("no such file")
    if not os.path.isfile(path):
        raise DatabaseError("not a regular file")
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except (IOError, OSError) as exc:
        raise DatabaseError("cannot read it: %s" % (exc.strerror or exc)) from None
    if head and not head.startswith(HEADER):  # an empty file is an empty database, as SQLite sees it
        raise DatabaseError("not an SQLite database (wrong file header)")
    # Bytes 18 and 19 of the header are the write and read format versions: 2 means WAL.
    wal = len(head) >= 20 and head[18] == 2 and head[19] == 2
    return dict(size=os.path.getsize(path), wal=wal)


def _uri(path, immutable):
    uri = "file:%s?mode=ro" % quote(os.path.abspath(path))
    return uri + "&immutable=1" if immutable else uri


def _describe(exc):
    text = str(exc)
    if "not a database" in text:
        return "not an SQLite database (%s)" % text
    if "malformed" in text:
        return "corrupt (%s)" % text
    if "locked" in text or "busy" in text:
        return "locked by a writer beyond the busy timeout (%s)" % text
    return text


class ReadOnly:
    """One read-only connection to one database; use read(fn) to run fn(conn) and get its result."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.timeout = max(0, busy_timeout_ms) / 1000.0
        self.facts = file_facts(path)
        self.method = None

    def _open(self, immutable, path=None):
        try:
            conn = sqlite3.connect(_uri(path or self.path, immutable), uri=True, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError("cannot open it read-only: %s" % _describe(exc)) from None
        try:
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise DatabaseError(_describe(exc)) from None
        self.method = "immutable" if immutable else "read-only"
        return conn

    def _run(self, fn, immutable, path=None):
        conn = self._open(immutable, path)
        try:
            # One read transaction: every query of fn sees the same snapshot, even while the sidecar writes.
            conn.execute("BEGIN")
            return fn(conn)
        except sqlite3.Error as exc:
            raise DatabaseError(_describe(exc)) from None
        except (TypeError, ValueError, OverflowError) as exc:
            # data the check did not expect (a value of the wrong type): a problem of this database, not a crash
            raise DatabaseError("unexpected data: %s" % exc) from None
        finally:
            conn.close()

    def read(self, fn: Callable[[sqlite3.Connection], Any], suspect: Optional[Callable[[Any], bool]] = None) -> Any:
        """fn(conn) in one read transaction. An immutable read (a WAL database no process had open) takes no locks,
        so a writer that opens the file, commits and exits while it runs is seen by no lock: the file is fingerprinted
        before and after (inode, size, mtime, the header's change counter, the -wal file), and when anything moved,
        the read is done again in ordinary read-only mode. An immutable read that fails (SQLite says "malformed") or
        whose result suspect(result) calls suspicious (an integrity check that is not ok) is never the verdict
        either: it is confirmed in read-only mode, which sees a consistent snapshot under the writers' locks."""
        wal_file = self.path + "-wal"
        immutable = self.facts["wal"] and not os.path.exists(wal_file)
        if not immutable:
            return self._run(fn, False)
        before = fingerprint(self.path)
        try:
            result = self._run(fn, True)
        except DatabaseError as exc:
            return self._confirm(fn, exc)
        if fingerprint(self.path) != before or (suspect is not None and suspect(result)):
            # A writer came and went during the read, or the read saw something wrong: read again, with locks.
            return self._confirm(fn, None)
        return result

    def _confirm(self, fn, immutable_error):
        try:
            if os.path.exists(self.path + "-wal"):
                return self._run(fn, False)  # a writer has it open: its -wal and -shm are there already
            return self._confirm_on_copy(fn)
        except DatabaseError as exc:
            if immutable_error is None or str(exc) == str(immutable_error):
                raise
            raise DatabaseError("%s (immutable read: %s)" % (exc, immutable_error)) from None

    def _confirm_on_copy(self, fn):
        """The read-only confirmation of a database no process has open. Opened in place, SQLite would create -wal and
        -shm files beside it and leave them (a check must not litter the bot's directories): with no -wal file, the
        main file holds the whole database, so its bytes are copied, unchanged across the copy, into a private
        directory and read there in ordinary read-only mode. A writer that turns up meanwhile gets the read in place."""
        before = fingerprint(self.path)
        with tempfile.TemporaryDirectory(prefix="quantops-sqlite-") as tmp:
            copy_path = os.path.join(tmp, "db")
            try:
                shutil.copyfile(self.path, copy_path)
            except OSError as exc:
                raise DatabaseError("cannot read it: %s" % exc) from None
            if fingerprint(self.path) != before or os.path.exists(self.path + "-wal"):
                return self._run(fn, False)
            result = self._run(fn, False, copy_path)
        self.method = "read-only"
        return result


def fingerprint(path: str) -> Tuple[Any, ...]:
    """What changes when any writer touches a database: the main file's identity, size, times and header change
    counter (bytes 24-27), and the -wal file's existence, identity, size and mtime."""
    out = []
    for name in (path, path + "-wal"):
        try:
            st = os.stat(name)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    try:
        with open(path, "rb") as f:
            out.append(f.read(28)[24:28])
    except (IOError, OSError):
        out.append(None)
    return tuple(out)


def quote_ident(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


class TableInfo:
    """What the checks need of one table's schema, read once: its columns, the keys that prove rows unique (the
    primary key and every full unique index) and the column lists of every index (which lookups are seeks)."""

    def __init__(self, conn: sqlite3.Connection, table: str) -> None:
        self.table = table
        self.columns = dict((row[1], row[5]) for row in conn.execute("PRAGMA table_info(%s)" % quote_ident(table)))
        self.unique = []
        self.indexes = []
        pk = [name for name, pos in sorted(self.columns.items(), key=lambda item: item[1]) if pos]
        if pk:
            self.unique.append(("primary key", pk))
            self.indexes.append(pk)
        for row in conn.execute("PRAGMA index_list(%s)" % quote_ident(table)):
            name, unique, origin, partial = row[1], row[2], row[3], row[4]
            cols = [r[2] for r in conn.execute("PRAGMA index_info(%s)" % quote_ident(name))]
            if None in cols:  # an index on an expression proves nothing about the columns
                continue
            self.indexes.append(cols)
            if unique and origin != "pk" and not partial:
                self.unique.append(("unique index %s" % name, cols))

    def problems(self, expected: Iterable[str]) -> List[str]:
        """"no table T" alone when it does not exist, else the expected columns it lacks."""
        if not self.columns:
            return ["no table %s" % self.table]
        missing = [c for c in expected if c not in self.columns]
        return ["table %s has no column %s" % (self.table, ", ".join(missing))] if missing else []

    def has(self, *cols: str) -> bool:
        return all(c in self.columns for c in cols)

    def unique_key(self, cols: Iterable[str]) -> Optional[str]:
        """How rows are proved unique on (a subset of) cols: "primary key", "unique index NAME", or None."""
        return next((how for how, key in self.unique if set(key) <= set(cols)), None)

    def seek(self, *cols: str) -> bool:
        """Whether some index starts with these columns, so a lookup on them is an index seek."""
        return any(index[:len(cols)] == list(cols) for index in self.indexes)


# PLR0913: the parts of one SQL query; seek is keyword-only
def distinct(conn: sqlite3.Connection, table: str, column: str, where: str = "", params: Sequence[Any] = (), *,  # noqa: PLR0913
             seek: bool = True) -> List[Any]:
    """Sorted distinct non-NULL values of column. With an index that starts with (where's columns..., column), one
    index seek per value (a skip scan) instead of a scan of the whole table."""
    t, c = quote_ident(table), quote_ident(column)
    cond = (where + " AND ") if where else ""
    if not seek:
        sql = "SELECT DISTINCT %s FROM %s WHERE %s%s IS NOT NULL ORDER BY 1" % (c, t, cond, c)
        return [r[0] for r in conn.execute(sql, params)]
    values = []
    row = conn.execute("SELECT MIN(%s) FROM %s WHERE %s%s IS NOT NULL" % (c, t, cond, c), params).fetchone()
    sql = "SELECT MIN(%s) FROM %s WHERE %s%s > ?" % (c, t, cond, c)
    while row is not None and row[0] is not None:
        values.append(row[0])
        row = conn.execute(sql, tuple(params) + (row[0],)).fetchone()
    return values


def integrity_report(conn: sqlite3.Connection, mode: str) -> Optional[Dict[str, Any]]:
    """The optional integrity check of the freshness checks (their integrity option): None for none, else
    {ok, messages} of quick_check (quick) or integrity_check (full)."""
    if mode == "none":
        return None
    ok, messages = integrity(conn, quick=mode == "quick")
    return dict(ok=ok, messages=messages)


def database_lines(db: Dict[str, Any], what: str, items: Any, schema_extra: Iterable[str] = ()) -> Tuple[List[str], bool]:
    """The operator's lines every freshness check starts a database with: its error (and nothing else: it could not
    be read), its schema problems (then schema_extra, lines of the check's own), a failed integrity check, no WHAT
    at all, no WHAT for a symbol asked for. Returns (lines, readable)."""
    where = db["path"]
    if db["error"]:
        return ["%s: %s" % (where, db["error"])], False
    lines = ["%s: %s" % (where, x) for x in db["schema_problems"]] + list(schema_extra)
    if db["integrity"] and not db["integrity"]["ok"]:
        lines.append("%s: integrity check failed: %s" % (where, "; ".join(db["integrity"]["messages"][:5])))
    if db["schema_ok"] is not False and not items and not db["missing_symbols"] and not db.get("unknown_intervals"):
        lines.append("%s: no %s" % (where, what))
    lines.extend("%s: no %s for %s" % (where, what, symbol) for symbol in db["missing_symbols"])
    return lines, True


def finish(module: Any, result: Dict[str, Any], what: str) -> Dict[str, Any]:
    """The result, or with fail_on_problems and problems a failure that carries it."""
    if result["problems"] and module.params["fail_on_problems"]:
        module.fail_json(msg="%d %s problem(s): %s" % (len(result["problems"]), what, "; ".join(result["problems"][:10])), **result)
    return result


def integrity(conn: sqlite3.Connection, quick: bool = False, max_errors: int = 100) -> Tuple[bool, List[str]]:
    """PRAGMA integrity_check / quick_check: (ok, messages)."""
    pragma = "quick_check" if quick else "integrity_check"
    messages = [r[0] for r in conn.execute("PRAGMA %s(%d)" % (pragma, max(1, int(max_errors))))]
    return messages == ["ok"], messages
