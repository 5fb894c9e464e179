"""Finding 10 of issue 11, the data side: a value of the wrong type in a numeric column (TEXT where the bot writes
an integer or a real) is a problem reported for that symbol, never a crash of the module; and a check that was
given nothing to check, or whose patterns match nothing, is never healthy."""

import json
import sqlite3

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.modules import bbo_db_info, candle_db_info, funding_db_info, sqlite_integrity

NOW = 1795273930000
HOUR = 3600000
STEP = 180000
OPEN = NOW - NOW % STEP


def run(capsys, module, **args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


def test_text_in_the_candles_time_column_is_a_problem_of_that_series(tmp_path, capsys):
    path = tmp_path / "candles_3m.db"
    conn = sqlite3.connect(str(path))
    # a hand-made or foreign table whose t has no INTEGER affinity: the text compares as text and comes back as text
    conn.execute("CREATE TABLE candles (symbol TEXT, interval TEXT, t, t_close, o, h, l, c, v, n, PRIMARY KEY (symbol, interval, t))")
    rows = [("BTC", "3m", OPEN - i * STEP, OPEN - i * STEP + STEP - 1) for i in range(10)]
    rows += [("ETH", "3m", OPEN - i * STEP, OPEN - i * STEP + STEP - 1) for i in range(1, 10)] + [("ETH", "3m", "soon", "later")]
    conn.executemany("INSERT INTO candles VALUES (?, ?, ?, ?, 1, 1, 1, 1, 1, 1)", rows)
    conn.commit()
    conn.close()
    result = run(capsys, candle_db_info, paths=[str(path)], now=NOW)
    assert result["rc"] == 0 and not result["healthy"]
    btc, eth = result["databases"][0]["series"]
    assert btc["error"] is None and not btc["stale"]
    assert "'soon'" in eth["error"] and "t" in eth["error"]
    assert any("ETH 3m" in p and "'soon'" in p for p in result["problems"])
    assert not any("BTC" in p for p in result["problems"])


def test_text_funding_rate_is_an_anomaly_of_that_symbol(tmp_path, capsys):
    path = tmp_path / "funding_rates.db"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE funding_rates (symbol TEXT, time INTEGER, funding_rate REAL, premium REAL, PRIMARY KEY (symbol, time))")
    last = NOW - NOW % HOUR
    conn.executemany("INSERT INTO funding_rates VALUES (?, ?, ?, 0)", [(s, last - h * HOUR, 0.0001) for s in ("BTC", "ETH") for h in range(10)])
    conn.execute("UPDATE funding_rates SET funding_rate = 'n/a' WHERE symbol = 'ETH' AND time = ?", (last - 2 * HOUR,))
    conn.commit()
    conn.close()
    result = run(capsys, funding_db_info, paths=[str(path)], now=NOW)
    assert result["rc"] == 0 and not result["healthy"]
    btc, eth = result["databases"][0]["symbols"]
    assert btc["anomaly_count"] == 0 and eth["anomaly_count"] == 1 and eth["anomalies"][0]["funding_rate"] == "n/a"
    assert any("ETH" in p and "anomalous" in p for p in result["problems"])


def test_text_funding_time_is_a_problem_of_that_symbol(tmp_path, capsys):
    path = tmp_path / "funding_rates.db"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE funding_rates (symbol TEXT, time, funding_rate REAL, premium REAL, PRIMARY KEY (symbol, time))")
    last = NOW - NOW % HOUR
    conn.executemany("INSERT INTO funding_rates VALUES (?, ?, 0.0001, 0)", [("BTC", last - h * HOUR) for h in range(10)] + [("ETH", "yesterday")])
    conn.commit()
    conn.close()
    result = run(capsys, funding_db_info, paths=[str(path)], now=NOW)
    assert result["rc"] == 0 and not result["healthy"]
    eth = [s for s in result["databases"][0]["symbols"] if s["symbol"] == "ETH"][0]
    assert "'yesterday'" in eth["error"]
    assert any("ETH" in p and "'yesterday'" in p for p in result["problems"])


def test_text_bbo_timestamp_is_a_problem_of_that_symbol(tmp_path, capsys):
    path = tmp_path / "bbo_snapshots.db"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE bbo_snapshots (symbol TEXT NOT NULL, ts_ms NOT NULL, bid REAL, ask REAL, mid REAL, PRIMARY KEY (symbol, ts_ms))")
    conn.executemany("INSERT INTO bbo_snapshots VALUES (?, ?, 1, 2, 1.5)", [("BTC", NOW - i * 1000) for i in range(5)] + [("ETH", "now")])
    conn.commit()
    conn.close()
    result = run(capsys, bbo_db_info, paths=[str(path)], now=NOW)
    assert result["rc"] == 0 and not result["healthy"]
    btc, eth = result["databases"][0]["symbols"]
    assert btc["error"] is None and not btc["stale"]
    assert "'now'" in eth["error"] and eth["stale"] is None
    assert any("ETH" in p and "'now'" in p for p in result["problems"])


@pytest.mark.parametrize("module", [bbo_db_info, candle_db_info, funding_db_info, sqlite_integrity])
def test_nothing_to_check_is_never_healthy(tmp_path, capsys, module):
    result = run(capsys, module, paths=[str(tmp_path / "nothing_*.db")])
    assert result["rc"] == 0 and not result["healthy"] and "no file matches" in result["problems"][0]
    result = run(capsys, module, paths=[])
    assert result["rc"] == 1 and result["failed"] and "paths must have at least 1 item" in result["msg"]
