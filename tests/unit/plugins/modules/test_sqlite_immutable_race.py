"""Finding 5 of issue 11: a writer that opens the database, commits and exits while a check reads it with
``immutable=1`` must not go unnoticed, and an immutable read must never be the only evidence of corruption.

The race is made deterministic: the check's read is hooked between two of its steps and a real writer process
(another Python, its own SQLite connection) runs there to completion, then the read goes on."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _candles as cd
from ansible_collections.quantops.runbooks.plugins.module_utils import _sqlite as sq
from ansible_collections.quantops.runbooks.plugins.modules import candle_db_info, sqlite_integrity

STEP = cd.INTERVALS["3m"]
NOW = 1795273930000
OPEN = NOW - NOW % STEP
BARS = 3000
PAD = "x" * 200  # big rows: the table spans hundreds of pages, so a VACUUM moves what the reader has cached

# Fills ETH's gap (bars 100..109): after it, the database is healthy.
FILL_GAP = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO candles VALUES ('ETH', '3m', ?, ?, 1, 2, 0.5, 1.5, 10, 3, ?)",
              [(int(sys.argv[2]) - i * int(sys.argv[3]), int(sys.argv[2]) - i * int(sys.argv[3]) + int(sys.argv[3]) - 1, 'x' * 200)
               for i in range(100, 110)])
c.commit()
c.close()
"""
# Drops the SOL rows and compacts the file: every page the reader cached may now hold something else.
VACUUM = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM candles WHERE symbol = 'SOL'")
c.commit()
c.execute("VACUUM")
c.close()
"""


def make_db(path, skip_eth=()):
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE candles (symbol TEXT, interval TEXT, t INTEGER, t_close INTEGER, o REAL, h REAL, l REAL, c REAL, "
                 "v REAL, n INTEGER, pad TEXT, PRIMARY KEY (symbol, interval, t))")
    rows = [(s, "3m", OPEN - i * STEP, OPEN - i * STEP + STEP - 1, PAD) for s in ("BTC", "ETH", "SOL") for i in range(BARS)
            if not (s == "ETH" and i in skip_eth)]
    conn.executemany("INSERT INTO candles VALUES (?, ?, ?, ?, 1, 2, 0.5, 1.5, 10, 3, ?)", rows)
    conn.commit()
    conn.close()
    assert not os.path.exists(str(path) + "-wal")  # no process has it open: the check reads it immutable=1
    return path


def writer(code, *args):
    """A real writer process: opens, commits, exits (and, as the last connection, checkpoints and removes -wal)."""
    subprocess.run([sys.executable, "-c", code] + [str(a) for a in args], check=True, timeout=60)


def hook_once(monkeypatch, owner, name, action):
    """Run action() the first time owner.name is called, in the middle of the module's read."""
    original = getattr(owner, name)
    fired = []

    def hooked(*args, **kwargs):
        if not fired:
            fired.append(True)
            action()
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, hooked)
    return fired


def run(capsys, module, **args):
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def test_writer_that_commits_and_exits_during_an_immutable_read_is_noticed(tmp_path, capsys, monkeypatch):
    path = make_db(tmp_path / "candles_3m.db", skip_eth=range(100, 110))
    fired = hook_once(monkeypatch, candle_db_info.CandleCheck, "series", lambda: writer(FILL_GAP, path, OPEN, STEP))
    result = run(capsys, candle_db_info, paths=[str(path)], now=NOW, symbols=["ETH"])
    assert fired
    db = result["databases"][0]
    assert db["error"] is None
    assert db["access"] == "read-only", "the write during the immutable read went unnoticed"
    assert db["series"][0]["missing_in_lookback"] == 0 and result["healthy"]  # the re-read sees the writer's commit


def test_no_false_corrupt_when_a_writer_rewrote_the_file_during_an_immutable_read(tmp_path, capsys, monkeypatch):
    path = make_db(tmp_path / "candles_3m.db")
    fired = hook_once(monkeypatch, candle_db_info.CandleCheck, "series", lambda: writer(VACUUM, path))
    result = run(capsys, candle_db_info, paths=[str(path)], now=NOW, symbols=["BTC", "ETH"])
    assert fired
    db = result["databases"][0]
    assert db["error"] is None, "a healthy database was reported: %s" % db["error"]
    assert db["access"] == "read-only" and result["healthy"]
    assert [(s["symbol"], s["bars_in_lookback"]) for s in db["series"]] == [("BTC", 480), ("ETH", 480)]


def test_integrity_check_is_confirmed_in_read_only_mode(tmp_path, capsys, monkeypatch):
    path = make_db(tmp_path / "trading_engine.db")
    fired = hook_once(monkeypatch, sq, "integrity", lambda: writer(VACUUM, path))
    result = run(capsys, sqlite_integrity, paths=[str(path)], mode="quick")
    assert fired
    db = result["databases"][0]
    assert (db["error"], db["ok"], db["messages"], db["access"]) == (None, True, ["ok"], "read-only")
    assert result["healthy"]


def test_quiet_wal_database_is_still_read_immutable_and_left_alone(tmp_path, capsys):
    path = make_db(tmp_path / "candles_3m.db")
    before = sorted(os.listdir(tmp_path))
    result = run(capsys, candle_db_info, paths=[str(path)], now=NOW, symbols=["BTC"])
    assert result["databases"][0]["access"] == "immutable" and result["healthy"]
    assert sorted(os.listdir(tmp_path)) == before  # no -wal, no -shm


def test_real_corruption_is_still_reported_after_the_read_only_confirmation(tmp_path, capsys):
    path = make_db(tmp_path / "candles_3m.db")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(data))
    before = sorted(os.listdir(tmp_path))
    result = run(capsys, candle_db_info, paths=[str(path)], now=NOW)
    error = result["databases"][0]["error"]
    assert error and ("corrupt" in error or "not an SQLite database" in error) and not result["healthy"]
    assert sorted(os.listdir(tmp_path)) == before  # confirmed on a private copy: no -wal, no -shm left beside it
