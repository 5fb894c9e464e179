"""Runbook section 6 as a fleet flow (the export_state playbook) on h1 (paper) and h2 (live), against running traders.

Every claim is checked on real state: the fetched bytes against SHA256SUMS, `sha256sum -c` and the checksums the run
reported from the hosts; the exported positions against the host's trading DB, read read-only on the host after the
run; the hosts' /tmp before and after; the files each host gets (live ones only where a live trader runs).

The traders keep trading during the export (the lab's paper trader opens and closes a position every few seconds), so
"the DB at that moment" is rebuilt from the DB's own history: a position is open at time t when the symbol's last fill
at or before t is an entry fill (the stand-in's positions row is written in the same transaction as that fill, with
the fill's time). The replay is first checked against the positions table as it is now, in the same read transaction.
The export's positions must then equal the replay at exported_at_ms, or at a moment in the 2 s before it, the only
rows allowed to differ being fills inside that window (the tool reads the DB a few milliseconds before it stamps
exported_at_ms).
"""

import hashlib
import json
import os
import re
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import testinfra
import testinfra.utils.ansible_runner
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
HOSTS = RUNNER.get_hosts("openclaw")
LIVE = RUNNER.get_hosts("openclaw_live")
testinfra_hosts = HOSTS[:1]  # the tests reach every bot host themselves (bots fixture)
APP = "/home/trader/openclaw-ai-quant"
DBS = {"paper": APP + "/trading_engine.db", "live": APP + "/trading_engine_live.db"}
# tools/export_state.py at 9603e63: the JSON's keys and each position's (the real tool exports no open orders)
STATE_KEYS = {"version", "source", "exported_at_ms", "balance", "positions"}
POSITION_KEYS = {"symbol", "side", "size", "entry_price", "entry_atr", "trailing_sl", "confidence", "leverage", "margin_used",
                 "adds_count", "tp1_taken", "open_time_ms", "last_add_time_ms", "entry_adx_threshold"}
WINDOW_MS = 2000
PAPER_START_BALANCE = 10_000.0  # AI_QUANT_PAPER_BALANCE, unset in the lab

# Read-only on the host (SQLite mode=ro): the positions table, and for every moment asked the symbols' last fills up
# to it, the cash balance after those fills and the one before the last of them (the trader writes the account row
# just after a fill's transaction).
HISTORY = r"""
import json, sqlite3, sys
db, moments = sys.argv[1], json.loads(sys.argv[2])
conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
conn.execute("BEGIN")
out = {"positions": [list(r) for r in conn.execute("SELECT symbol, side, qty, entry_price, opened_ts_ms FROM positions ORDER BY symbol")],
       "now": conn.execute("SELECT COALESCE(MAX(ts_ms), 0) FROM fills").fetchone()[0], "at": {}}
moments.append(out["now"])
for t in moments:
    last = conn.execute("SELECT f.symbol, f.side, f.qty, f.price, f.ts_ms, o.kind FROM fills f JOIN orders o ON o.id = f.order_id "
                        "WHERE f.rowid IN (SELECT MAX(rowid) FROM fills WHERE ts_ms <= ? GROUP BY symbol) ORDER BY f.symbol", (t,))
    cash = [r[0] for r in conn.execute("SELECT realized_pnl - fee FROM fills WHERE ts_ms <= ? ORDER BY rowid", (t,))]
    out["at"][str(t)] = {"last": [list(r) for r in last], "cash": cash}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def bots():
    return {name: testinfra.get_host("ansible://" + name, ansible_inventory=INVENTORY) for name in HOSTS}


def flat(output):
    return " ".join(output.split())


def summary_of(output, name):
    """One host's summary line and its detail lines: (status, text, {file: sha256 the host reported})."""
    section = flat(output).split("TASK [Every targeted host]", 1)[1].split("TASK [Every targeted host OK]", 1)[0]
    entries, current = {}, None
    for item in re.findall(r"- '((?:[^']|'')*)'", section):
        head = re.match(r"(h\d+) (\w+) (.*)", item)
        if head:
            current = head.group(1)
            entries[current] = [head.group(2), head.group(3), {}]
        elif current:
            digest, _sep, file = item.strip().partition(" ")
            entries[current][2][file] = digest
    assert name in entries, "no summary line for %s in:\n%s" % (name, output[-3000:])
    return tuple(entries[name])


def tmp_entries(host):
    return set(host.check_output("ls -A /tmp").split())


def history(host, db, moments):
    if not host.file(db).exists:
        return None
    script = "python3 -c %s %s %s" % (shlex.quote(HISTORY), shlex.quote(db), shlex.quote(json.dumps(moments)))
    return json.loads(host.check_output(script))


def replay(at):
    """The open positions a moment's last fills give: {symbol: (side, size, entry_price, open_time_ms)}."""
    return {sym: ("long" if side == "buy" else "short", round(qty, 10), round(px, 10), ts)
            for sym, side, qty, px, ts, kind in at["last"] if kind == "entry"}


def exported(state):
    return {p["symbol"]: (p["side"], p["size"], p["entry_price"], p["open_time_ms"]) for p in state["positions"]}


def cash(entries):
    balance = PAPER_START_BALANCE
    for delta in entries:
        balance += delta
    return balance


def check_against_db(host, db, state, source):
    """The exported positions are the DB's at exported_at_ms or within WINDOW_MS before it; the replay matches the
    positions table now. Returns the moment whose state the export holds."""
    t = state["exported_at_ms"]
    probe = history(host, db, [t])
    if probe is None:  # the real tool: no DB, balance 0 and no positions, exit 0
        assert source == "paper" and state["positions"] == [] and state["balance"] == 0
        return None
    now = probe["at"][str(probe["now"])]
    table = {sym: (side, round(qty, 10), round(px, 10), ts) for sym, side, qty, px, ts in probe["positions"]}
    assert replay(now) == table, "the fills do not replay to the positions table: %s vs %s" % (replay(now), table)
    # the moments just before each fill of the window, and the end of it
    fills_in_window = host.check_output("sqlite3 -readonly %s 'SELECT DISTINCT ts_ms FROM fills WHERE ts_ms > %d AND ts_ms <= %d'"
                                        % (db, t - WINDOW_MS, t)).split()
    moments = [t] + [int(ts) - 1 for ts in fills_in_window]
    states = history(host, db, moments)["at"]
    matching = [m for m in moments if replay(states[str(m)]) == exported(state)]
    assert matching, "positions of %s at %d match no moment of the DB in the %d ms before: %s vs %s" % (
        source, t, WINDOW_MS, exported(state), {m: replay(states[str(m)]) for m in moments})
    if source == "paper":  # the cash balance after those fills, or before the last of them (the account row follows the fill)
        entries = states[str(matching[0])]["cash"]
        assert any(abs(state["balance"] - round(cash(entries[:n]), 4)) < 1e-3 for n in (len(entries), len(entries) - 1)), (
            state["balance"], cash(entries))
    return matching[0]


def landed(root, name):
    dirs = sorted((Path(root) / name).iterdir())
    assert len(dirs) == 1, dirs
    stamp = datetime.strptime(dirs[0].name, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert abs(time.time() - stamp.timestamp()) < 300, dirs[0].name
    return dirs[0]


def verify_files(directory, reported, expected):
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}
    assert set(files) == set(expected) | {"SHA256SUMS"}
    sums = dict(reversed(line.split("  ", 1)) for line in (directory / "SHA256SUMS").read_text().splitlines())
    assert sums == {f: h for f, h in files.items() if f != "SHA256SUMS"} == reported  # the bytes = SHA256SUMS = the host's
    assert os.system("cd %s && sha256sum --quiet -c SHA256SUMS" % shlex.quote(str(directory))) == 0  # noqa: S605


def test_every_host_exports_what_its_db_holds(bots, tmp_path):
    before = {name: tmp_entries(h) for name, h in bots.items()}
    rc, output = playbook("export_state", "-e", "export_dir=%s" % tmp_path)
    assert rc == 0, output[-4000:]
    assert "all %d host(s) OK" % len(HOSTS) in output

    for name, host in bots.items():
        status, text, reported = summary_of(output, name)
        directory = landed(tmp_path, name)
        live = name in LIVE
        expected = ["paper_state.json"] + (["live_state.json", "live_consolidated_last4h.csv", "live_rules_last4h.json"] if live else [])
        assert status == "EXPORTED" and text.startswith("%s: %s" % (directory, ", ".join(expected + ["SHA256SUMS"]))), text
        verify_files(directory, reported, expected)

        for source in ["paper", "live"] if live else ["paper"]:
            state = json.loads((directory / ("%s_state.json" % source)).read_text())
            assert set(state) == STATE_KEYS and state["version"] == 1 and state["source"] == source
            assert all(set(p) == POSITION_KEYS for p in state["positions"])
            check_against_db(host, DBS[source], state, source)
        if not host.file(DBS["paper"]).exists:
            assert "no paper trading DB on the host" in text
        if live:
            header = (directory / "live_consolidated_last4h.csv").read_text().splitlines()[0]
            assert header.startswith("key,mode,row_kind,ts_utc,ts_minute_utc,hhmm_utc,symbol,open_close,transaction_id,")
            rules = json.loads((directory / "live_rules_last4h.json").read_text())
            assert rules["mode"] == "live" and rules["live_db_path"] == DBS["live"] and rules["hours"] == 4.0

        # nothing of the run is left in the host's /tmp
        after = tmp_entries(host)
        assert not after - before[name] and not [e for e in after if e.startswith("quantops-export.")], after - before[name]

    # the paper trader of h1 has positions to export: the comparison above was not between two empty lists
    paper = json.loads((landed(tmp_path, HOSTS[0]) / "paper_state.json").read_text())
    assert paper["positions"], paper


def test_a_failing_host_is_reported_and_the_others_still_land(bots, tmp_path):
    bad, good = HOSTS[0], HOSTS[1]
    host = bots[bad]
    before = tmp_entries(host)
    mode = host.file(DBS["paper"]).mode
    host.check_output("chmod 000 %s" % DBS["paper"])  # the bot's user can no longer open its paper DB
    try:
        rc, output = playbook("export_state", "-e", "export_dir=%s" % tmp_path)
    finally:
        host.check_output("chmod %o %s" % (mode, DBS["paper"]))
    assert host.file(DBS["paper"]).mode == mode
    assert rc != 0
    status, text, _details = summary_of(output, bad)
    assert status == "FAILED" and "export_state.py --source paper" in text and "unable to open database file" in text, text
    assert "1 of %d host(s) not OK: %s" % (len(HOSTS), bad) in output
    assert not (tmp_path / bad).exists()  # nothing half-landed
    assert not tmp_entries(host) - before  # the failed host's temp dir is gone too

    status, text, reported = summary_of(output, good)
    assert status == "EXPORTED", text
    verify_files(landed(tmp_path, good), reported, list(reported))
