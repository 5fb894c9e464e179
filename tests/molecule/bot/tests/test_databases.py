"""The read-only database checks against the stand-in sidecar's live databases: what they report matches what is on
the host, they leave every file as it was, and check_databases summarises, fails and remediates per host."""

import os
import re
import shlex
import time

import pytest
import testinfra.utils.ansible_runner
from labtools import adhoc, playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("openclaw")
testinfra_hosts = HOSTS[:1]
APP = "/home/trader/openclaw-ai-quant"
DBS = APP + "/candles_dbs"
UNITS = ["openclaw-ai-quant-ws-sidecar", "openclaw-ai-quant-trader", "openclaw-ai-quant-monitor"]


def status(output, word):
    return sorted(re.findall(r"- ['\"]?(h\d+)\s+%s\s" % word, output))


def flat(output):
    """The output with YAML's line folding undone (every run of whitespace one space)."""
    return " ".join(output.split())


def as_trader(host, *argv):
    return host.run("runuser -u trader -- env XDG_RUNTIME_DIR=/run/user/1000 " + " ".join(argv))


def units(host, action):
    assert as_trader(host, "systemctl --user", action, *UNITS).rc == 0


def files(host, pattern):
    """Every file the glob matches with its owner, mode and sha256; a -shm file without its bytes.

    The real trader has no SIGTERM handler, so a stopped trader leaves its trading DB's -wal and -shm behind (the
    lab's stand-in does the same). The -shm is SQLite's wal-index, shared memory that any reader, even a read-only
    one, rebuilds after such a stop; the data (the DB and its -wal) must not change."""
    listing = host.check_output("stat -c '%%n %%U %%a' %s" % pattern).splitlines()
    sums = [line for line in host.check_output("sha256sum %s" % pattern).splitlines() if not line.endswith("-shm")]
    return sorted(listing), sorted(sums)


def now_ms(host):
    return int(host.check_output("date +%s%3N"))


def sql(host, db, query):
    return as_trader(host, "sqlite3 -readonly", db, "'%s'" % query).stdout.strip()


@pytest.fixture
def sidecar_back(host):
    """The host ends with the bot's units running again."""
    yield
    units(host, "start")


def test_fleet_is_healthy(host):
    rc, output = playbook("check_databases")
    assert rc == 0, output[-3000:]
    assert status(output, "HEALTHY") == sorted(HOSTS)
    text = flat(output)
    assert "candles: 5 DBs 15 series 0 stale 0 gaps (0 bars missing) 0 dupes | funding: 3 symbols 0 stale 0 gaps | bbo: 3 symbols 0 stale" in text
    assert "trading: trading_engine.db ok" in text and "trading: trading_engine_live.db ok" in text
    assert "all %d host(s) OK" % len(HOSTS) in text


def test_modules_read_the_live_databases_while_the_sidecar_writes(host):
    before_listing = files(host, DBS + "/*")[0]
    first = sql(host, DBS + "/candles_1m.db", "SELECT MAX(t) FROM candles WHERE symbol = \"BTC\"")
    result = adhoc(HOSTS[0], "quantops.runbooks.candle_db_info", dict(paths=[DBS + "/candles_*.db"], count_rows=True, integrity="quick",
                                                                      min_bars={"3m": 300, "5m": 300}), user="trader")[HOSTS[0]]
    assert result["_rc"] == 0 and result["healthy"], result["problems"]
    assert [os.path.basename(d["path"]) for d in result["databases"]] == ["candles_15m.db", "candles_1h.db", "candles_1m.db", "candles_3m.db",
                                                                          "candles_5m.db"]
    assert {d["access"] for d in result["databases"]} == {"read-only"}  # the sidecar has them open: WAL files exist
    assert all(d["integrity"]["ok"] and d["duplicates_method"] == "primary key" for d in result["databases"])
    btc_1m = next(s for d in result["databases"] for s in d["series"] if s["symbol"] == "BTC" and s["interval"] == "1m")
    last = sql(host, DBS + "/candles_1m.db", "SELECT MAX(t) FROM candles WHERE symbol = \"BTC\"")
    assert int(first) <= btc_1m["latest"] <= int(last) and btc_1m["bars_behind"] <= 1
    # The module counts the snapshot its read saw: the bar that opened just before `now` may be written by the
    # sidecar after that read (this failed once as 301 == 302). Every bar opened a whole interval before `now` was
    # written before the read, and none the read saw can be missing afterwards: the count lies between the two.
    count = "SELECT COUNT(*) FROM candles WHERE symbol = \"BTC\" AND t <= %d"
    settled, current = (int(sql(host, DBS + "/candles_1m.db", count % t)) for t in (result["now"] - 60000, result["now"]))
    assert settled <= btc_1m["rows"] <= current and current - settled <= 1
    after_listing = files(host, DBS + "/*")[0]
    assert after_listing == before_listing  # no file added, none changed owner or mode

    funding = adhoc(HOSTS[0], "quantops.runbooks.funding_db_info", dict(paths=[DBS + "/funding_rates.db"]), user="trader")[HOSTS[0]]
    assert funding["healthy"] and [s["symbol"] for s in funding["databases"][0]["symbols"]] == ["BTC", "ETH", "SOL"]
    bbo = adhoc(HOSTS[0], "quantops.runbooks.bbo_db_info", dict(paths=[DBS + "/bbo_snapshots.db"]), user="trader")[HOSTS[0]]
    assert bbo["healthy"] and all(s["age_seconds"] < 10 for s in bbo["databases"][0]["symbols"])


def test_a_check_changes_no_byte_of_idle_databases(host, sidecar_back):
    units(host, "stop")  # every writer and reader of the bot stopped; the candle DBs' WAL files are checkpointed away
    before = files(host, DBS + "/*"), files(host, APP + "/trading_engine.db*")
    assert not any(name.endswith(("-wal", "-shm")) for name in before[0][0])
    rc, output = playbook("check_databases", "-e", "db_hosts=%s" % HOSTS[0], "-e", "candle_integrity=full")
    assert status(output, "HEALTHY") == [HOSTS[0]], output[-3000:]
    assert rc == 0
    assert (files(host, DBS + "/*"), files(host, APP + "/trading_engine.db*")) == before  # same names, owners, modes and bytes


def test_broken_files_are_reported_not_fatal(host):
    setup = "; ".join([
        "rm -rf /tmp/dbcheck && mkdir /tmp/dbcheck && cd /tmp/dbcheck",
        "printf 'symbol,t\\nBTC,1\\n' > candles_text.db",
        "sqlite3 candles_notable.db 'CREATE TABLE other (x)'",
        "sqlite3 candles_nopk.db \"CREATE TABLE candles (symbol TEXT, interval TEXT, t INTEGER, t_close INTEGER, o REAL, h REAL, l REAL, "
        "c REAL, v REAL, n INTEGER); INSERT INTO candles VALUES ('BTC','1m',0,59999,1,1,1,1,1,1),('BTC','1m',0,59999,1,1,1,1,1,1)\"",
        "cp %s/candles_1h.db candles_corrupt.db && dd if=/dev/urandom of=candles_corrupt.db bs=1 seek=100 count=3900 conv=notrunc status=none" % DBS,
    ])
    assert host.run("runuser -u trader -- sh -c %s" % shlex.quote(setup)).rc == 0
    before = files(host, "/tmp/dbcheck/*")
    result = adhoc(HOSTS[0], "quantops.runbooks.candle_db_info", dict(paths=["/tmp/dbcheck/*.db"], now=60000), user="trader")[HOSTS[0]]
    assert result["_rc"] == 0 and not result["healthy"]
    by_name = {os.path.basename(d["path"]): d for d in result["databases"]}
    assert "not an SQLite database" in by_name["candles_text.db"]["error"]
    assert by_name["candles_corrupt.db"]["error"]
    assert by_name["candles_notable.db"]["schema_problems"] == ["no table candles"]
    assert (by_name["candles_nopk.db"]["duplicates"], by_name["candles_nopk.db"]["duplicates_method"]) == (1, "scan")
    assert files(host, "/tmp/dbcheck/*") == before
    host.run("rm -rf /tmp/dbcheck")


def test_stale_host_fails_then_remediation_fixes_it(host, sidecar_back):
    assert as_trader(host, "systemctl --user stop openclaw-ai-quant-ws-sidecar").rc == 0
    now = now_ms(host)
    hour = now - now % 3600000
    assert as_trader(host, "sqlite3", DBS + "/funding_rates.db", "'DELETE FROM funding_rates WHERE time > %d'" % (hour - 6 * 3600000)).rc == 0
    # Stale for real, not by a moved clock: with max_bars_behind=0 a 1m series is stale once a new minute has begun
    # without its bar, which the other hosts' running sidecars write within a second.
    time.sleep(61 - (now % 60000) / 1000.0)

    rc, output = playbook("check_databases", "-e", "max_bars_behind=0")
    assert rc != 0
    assert status(output, "UNHEALTHY") == [HOSTS[0]] and status(output, "HEALTHY") == sorted(HOSTS[1:]), output[-3000:]
    assert re.search(r"candles_1m.db: BTC 1m stale: newest bar \S+ is 1 bars behind \(max 0\)", flat(output))
    assert re.search(r"funding_rates.db: BTC stale: newest rate \S+ is [67](\.\d+)? h old \(max 4 h\)", flat(output))
    assert "not OK: %s" % HOSTS[0] in output

    rc, output = playbook("check_databases", "-e", "db_hosts=%s" % HOSTS[0], "-e", "max_bars_behind=0", "-e", "remediate=true")
    assert rc == 0, output[-3000:]
    assert status(output, "HEALTHY") == [HOSTS[0]]
    assert "remediated: funding backfilled (fetch_funding_rates.py --days 7), ws sidecar restarted" in flat(output)
    assert as_trader(host, "systemctl --user is-active openclaw-ai-quant-ws-sidecar").stdout.strip() == "active"
    latest = int(sql(host, DBS + "/funding_rates.db", "SELECT MAX(time) FROM funding_rates WHERE symbol = \"ETH\""))
    assert latest >= hour  # backfilled up to the current hour
    assert now_ms(host) - int(sql(host, DBS + "/candles_1m.db", "SELECT MAX(t) FROM candles WHERE symbol = \"SOL\"")) < 2 * 60000


def test_check_now_evaluates_as_of_a_moment(host):
    later = now_ms(host) + 10 * 60000  # ten minutes on, every 1m, 3m and 5m series is more than 2 bars behind
    rc, output = playbook("check_databases", "-e", "db_hosts=%s" % HOSTS[0], "-e", "check_now=%d" % later)
    assert rc != 0 and status(output, "UNHEALTHY") == [HOSTS[0]]
    assert re.search(r"candles_1m.db: ETH 1m stale: newest bar \S+ is 1\d bars behind \(max 2\)", flat(output))
