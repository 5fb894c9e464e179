"""The read-only database checks driven through main() on real SQLite files: what they find, and that they leave
every file and directory exactly as it was, even while a writer is busy."""

import hashlib
import json
import os
import sqlite3

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _candles as cd
from ansible_collections.quantops.runbooks.plugins.modules import bbo_db_info, candle_db_info, funding_db_info, sqlite_integrity

STEP = cd.INTERVALS["3m"]
NOW = 1795273930000  # 2026-11-21T15:12:10Z, 10 s into a 3m bar
OPEN = NOW - NOW % STEP
CANDLES = ("CREATE TABLE candles (symbol TEXT, interval TEXT, t INTEGER, t_close INTEGER, o REAL, h REAL, l REAL, c REAL, v REAL, n INTEGER{pk})")


def run(capsys, module, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


def snapshot(directory):
    """Names, sizes and content hashes of every file in the directory."""
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


# PLR0913: keyword-only fixture options with defaults
def candle_db(path, *, symbols=("BTC", "ETH"), bars=600, skip=(), pk=True, wal=True, extra=()):  # noqa: PLR0913
    conn = sqlite3.connect(str(path))
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(CANDLES.format(pk=", PRIMARY KEY (symbol, interval, t)" if pk else ""))
    rows = [(s, "3m", OPEN - i * STEP, OPEN - i * STEP + STEP - 1) for s in symbols for i in range(bars) if (s, i) not in skip]
    conn.executemany("INSERT INTO candles VALUES (?, ?, ?, ?, 1, 2, 0.5, 1.5, 10, 3)", list(rows) + list(extra))
    conn.commit()
    conn.close()
    return path


def test_fresh_database_is_healthy_and_untouched(tmp_path, capsys):
    candle_db(tmp_path / "candles_3m.db")
    before = snapshot(tmp_path)
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_*.db")], now=NOW, min_bars={"3m": 600}, count_rows=True)
    assert result["healthy"] and result["problems"] == [] and not result["changed"]
    db = result["databases"][0]
    assert (db["access"], db["duplicates"], db["duplicates_method"], db["schema_ok"]) == ("immutable", 0, "primary key", True)
    assert [(s["symbol"], s["latest"], s["latest_close"], s["bars_behind"], s["rows"], s["below_min_bars"]) for s in db["series"]] == [
        ("BTC", OPEN, OPEN + STEP - 1, 0, 600, False), ("ETH", OPEN, OPEN + STEP - 1, 0, 600, False)]
    assert snapshot(tmp_path) == before  # same files, same bytes: no -wal, no -shm, nothing written


def test_stale_gappy_and_retention(tmp_path, capsys):
    skip = {("ETH", i) for i in [0, 1, 2, 3] + list(range(100, 110))}
    candle_db(tmp_path / "candles_3m.db", skip=skip)
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], now=NOW, min_bars={"3m": 590})
    eth = result["databases"][0]["series"][1]
    assert (eth["bars_behind"], eth["stale"], eth["missing_in_lookback"], eth["below_min_bars"]) == (4, True, 10, True)
    assert eth["gaps"] == [dict(start=OPEN - 109 * STEP, end=OPEN - 100 * STEP, missing=10)]
    assert not result["healthy"] and result["totals"]["stale"] == 1 and result["totals"]["below_min_bars"] == 1
    assert any("ETH 3m stale: newest bar" in p and "4 bars behind (max 2)" in p for p in result["problems"])
    assert any("ETH 3m: 10 bars missing in the last 24 h" in p for p in result["problems"])
    assert any("ETH 3m: fewer than 590 bars" in p for p in result["problems"])
    assert not any(": BTC " in p for p in result["problems"])


def test_now_makes_it_reproducible_and_ignores_later_rows(tmp_path, capsys):
    candle_db(tmp_path / "candles_3m.db")
    args = dict(paths=[str(tmp_path / "candles_3m.db")], now=NOW - 50 * STEP)
    first = run(capsys, candle_db_info, **args)
    assert first["healthy"] and first["databases"][0]["series"][0]["latest"] == OPEN - 50 * STEP
    second = run(capsys, candle_db_info, **args)
    first.pop("elapsed"), second.pop("elapsed")
    assert first == second
    later = run(capsys, candle_db_info, paths=args["paths"], now=NOW + 10 * STEP)
    assert later["totals"]["stale"] == 2


def test_reads_while_a_writer_holds_a_write_transaction(tmp_path, capsys):
    path = candle_db(tmp_path / "candles_3m.db", bars=10)
    writer = sqlite3.connect(str(path), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO candles VALUES ('SOL', '3m', ?, ?, 1, 1, 1, 1, 1, 1)", (OPEN, OPEN + STEP - 1))
        before = snapshot(tmp_path)
        result = run(capsys, candle_db_info, paths=[str(path)], now=NOW, busy_timeout=200)
        assert result["databases"][0]["access"] == "read-only"  # the writer's -wal exists: ordinary read-only mode
        assert [s["symbol"] for s in result["databases"][0]["series"]] == ["BTC", "ETH"]  # uncommitted SOL is not seen
        assert snapshot(tmp_path) == before
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_rollback_journal_database_with_a_reserved_lock(tmp_path, capsys):
    path = candle_db(tmp_path / "candles_3m.db", bars=10, wal=False)
    writer = sqlite3.connect(str(path), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # RESERVED: readers may still read
        writer.execute("INSERT INTO candles VALUES ('SOL', '3m', ?, ?, 1, 1, 1, 1, 1, 1)", (OPEN, OPEN + STEP - 1))
        result = run(capsys, candle_db_info, paths=[str(path)], now=NOW, busy_timeout=200)
        assert result["healthy"] and result["databases"][0]["access"] == "read-only"
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_broken_files_are_problems_of_their_database(tmp_path, capsys):
    good = candle_db(tmp_path / "candles_3m.db", bars=10)
    text = tmp_path / "candles_5m.db"
    text.write_text("symbol,t\nBTC,1\n")
    corrupt = tmp_path / "candles_1h.db"
    candle_db(corrupt, bars=2000, wal=False)
    data = bytearray(corrupt.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page
    corrupt.write_bytes(bytes(data))
    notable = tmp_path / "candles_15m.db"
    sqlite3.connect(str(notable)).execute("CREATE TABLE other (x)").connection.close()
    before = snapshot(tmp_path)
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_*.db"), str(tmp_path / "nothing_*.db")], now=NOW)
    by_name = dict((os.path.basename(d["path"]), d) for d in result["databases"])
    assert by_name["candles_3m.db"]["ok"] and by_name["candles_3m.db"]["series"]
    assert "not an SQLite database" in by_name["candles_5m.db"]["error"]
    assert "corrupt" in by_name["candles_1h.db"]["error"] or "not an SQLite database" in by_name["candles_1h.db"]["error"]
    assert by_name["candles_15m.db"]["schema_problems"] == ["no table candles"] and by_name["candles_15m.db"]["error"] is None
    assert by_name["nothing_*.db"]["error"] == "no file matches this pattern"
    assert result["rc"] == 0 and not result["healthy"] and len(result["problems"]) == 4
    assert snapshot(tmp_path) == before
    assert good.exists()


def test_table_without_primary_key_and_with_duplicates(tmp_path, capsys):
    dupes = [("BTC", "3m", OPEN - i * STEP, OPEN - i * STEP + STEP - 1) for i in (1, 2, 2)]
    candle_db(tmp_path / "candles_3m.db", bars=20, pk=False, extra=dupes)
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], now=NOW)
    db = result["databases"][0]
    assert (db["duplicates_method"], db["duplicates"], db["duplicate_rows"]) == ("scan", 2, 3)
    assert not db["schema_ok"] and "no primary key" in db["schema_problems"][0]
    assert any("2 duplicated (symbol, interval, t) keys, 3 extra rows" in p for p in result["problems"])


def test_unique_index_proves_no_duplicates(tmp_path, capsys):
    path = candle_db(tmp_path / "candles_3m.db", bars=5, pk=False)
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE UNIQUE INDEX candles_key ON candles (symbol, interval, t)")
    conn.close()
    db = run(capsys, candle_db_info, paths=[str(path)], now=NOW)["databases"][0]
    assert (db["duplicates_method"], db["duplicates"], db["schema_ok"]) == ("unique index candles_key", 0, True)


def test_filters_and_missing_symbol(tmp_path, capsys):
    candle_db(tmp_path / "candles_3m.db", bars=5)
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], now=NOW, symbols=["ETH", "XRP"])
    db = result["databases"][0]
    assert [s["symbol"] for s in db["series"]] == ["ETH"] and db["missing_symbols"] == ["XRP"]
    assert result["problems"] == ["%s: no candles for XRP" % (tmp_path / "candles_3m.db")]
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], now=NOW, intervals=["5m"])
    assert result["databases"][0]["series"] == [] and not result["healthy"]  # nothing of that interval: "no candles"


def test_fail_on_problems_and_bad_input(tmp_path, capsys):
    candle_db(tmp_path / "candles_3m.db", bars=5)
    before = snapshot(tmp_path)
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], now=NOW + 100 * STEP, fail_on_problems=True)
    assert result["rc"] == 1 and result["failed"] and "stale" in result["msg"]
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], min_bars={"2m": 10})
    assert result["rc"] == 1 and "2m is not a Hyperliquid candle interval" in result["msg"]
    result = run(capsys, candle_db_info, paths=[str(tmp_path / "candles_3m.db")], min_bars={"3m": "many"})
    assert result["rc"] == 1 and "min_bars[3m] must be a whole number" in result["msg"]
    assert snapshot(tmp_path) == before


def funding_db(path, *, symbols=("BTC", "ETH"), hours=100, skip=(), rates=None):
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE funding_rates (symbol TEXT, time INTEGER, funding_rate REAL, premium REAL, PRIMARY KEY (symbol, time))")
    last = NOW - NOW % 3600000
    rows = [(s, last - h * 3600000, (rates or {}).get((s, h), 0.0001), 0.0) for s in symbols for h in range(hours) if (s, h) not in skip]
    conn.executemany("INSERT INTO funding_rates VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


def test_funding(tmp_path, capsys):
    funding_db(tmp_path / "funding_rates.db", skip={("ETH", h) for h in list(range(5)) + list(range(20, 26))}, rates={("BTC", 7): 0.09})
    before = snapshot(tmp_path)
    result = run(capsys, funding_db_info, paths=[str(tmp_path / "funding_rates.db")], now=NOW, symbols=["BTC", "ETH", "SOL"])
    btc, eth = result["databases"][0]["symbols"]
    assert (btc["stale"], btc["gaps"], btc["anomaly_count"]) == (False, [], 1)
    assert eth["stale"] and eth["gaps"] == [dict(start=NOW - NOW % 3600000 - 26 * 3600000, end=NOW - NOW % 3600000 - 19 * 3600000, hours=7.0)]
    assert result["databases"][0]["missing_symbols"] == ["SOL"]
    assert result["totals"] == dict(databases=1, symbols=2, stale=1, gaps=1, anomalies=1, problems=4)
    assert snapshot(tmp_path) == before


def test_bbo(tmp_path, capsys):
    path = tmp_path / "bbo_snapshots.db"
    conn = sqlite3.connect(str(path))
    # the sidecar's DDL (ws_sidecar/src/main.rs at 9603e63): the primary key is the (symbol, ts_ms) index
    conn.execute("CREATE TABLE bbo_snapshots (symbol TEXT NOT NULL, ts_ms INTEGER NOT NULL, bid REAL NOT NULL, ask REAL NOT NULL, "
                 "mid REAL NOT NULL, updated_at TEXT, PRIMARY KEY (symbol, ts_ms))")
    conn.execute("CREATE INDEX idx_bbo_snapshots_ts_ms ON bbo_snapshots(ts_ms)")
    rows = [("BTC", NOW - i * 1000, 1, 2, 1.5, None) for i in range(100)]
    rows += [("ETH", NOW - 600000 - i * 1000, 1, 2, 1.5, None) for i in range(10)] + [("ETH", NOW - 50 * 3600000, 1, 2, 1.5, None)]
    conn.executemany("INSERT INTO bbo_snapshots VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    result = run(capsys, bbo_db_info, paths=[str(path)], now=NOW)
    btc, eth = result["databases"][0]["symbols"]
    assert (btc["rows"], btc["stale"], btc["older_than_retention"]) == (100, False, 0)
    assert (eth["rows"], eth["stale"], eth["older_than_retention"], eth["age_seconds"]) == (11, True, 1, 600.0)
    assert result["totals"]["problems"] == 2 and result["databases"][0]["schema_ok"]


def test_integrity(tmp_path, capsys):
    good = candle_db(tmp_path / "trading_engine.db", bars=50)
    bad = candle_db(tmp_path / "trading_engine_live.db", bars=3000, wal=False)
    data = bytearray(bad.read_bytes())
    for page in range(3, 8):
        data[page * 4096 + 8:page * 4096 + 200] = b"\x00\xff" * 96  # garble cell pointers of a few b-tree pages
    bad.write_bytes(bytes(data))
    before = snapshot(tmp_path)
    result = run(capsys, sqlite_integrity, paths=[str(good), str(bad), str(tmp_path / "missing.db")])
    ok, broken, missing = result["databases"]
    assert ok["ok"] and ok["messages"] == ["ok"]
    assert not broken["ok"] and (broken["messages"] != ["ok"] or broken["error"])
    assert not missing["ok"] and missing["error"] == "no such file"
    assert not result["healthy"] and len(result["problems"]) == 2 and result["rc"] == 0
    assert snapshot(tmp_path) == before
    result = run(capsys, sqlite_integrity, paths=[str(good)], mode="quick", fail_on_problems=True)
    assert result["healthy"] and result["rc"] == 0


def test_empty_table_is_no_candles(tmp_path, capsys):
    path = candle_db(tmp_path / "candles_3m.db", symbols=())
    result = run(capsys, candle_db_info, paths=[str(path)], now=NOW)
    db = result["databases"][0]
    assert (db["schema_ok"], db["series"], db["duplicates"]) == (True, [], 0)
    assert result["problems"] == ["%s: no candles" % path] and not result["healthy"]
