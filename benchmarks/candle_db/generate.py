"""Generate a large, realistic openclaw-ai-quant candle DB (candles_<interval>.db) for benchmarks.

    python benchmarks/candle_db/generate.py --out /tmp/bench-candles/candles_3m.db
        [--symbols 100] [--days 365] [--interval 3m] [--end-ms MS] [--scale 1] [--gaps 25] [--seed 42] [--jobs 2]

Writes the bot's schema (rowid table + primary-key index, like the WS sidecar), one row per (symbol, bar):
--days x --scale of bars ending with the bar opening at --end-ms (default: the bar open now, i.e. the newest bar is
the forming one), then deletes --gaps planted runs of 1..20 missing bars (a fifth, at least 3, inside the last
24 h, the others older), and records them in the summary.

Fast because SQLite makes the rows itself: a temp table of bars (times, market factors, volatility regime, random
bits; built once in Python) is turned into each symbol's rows by one INSERT ... SELECT whose parameters are the
symbol's constants (factor loadings, tick and size decimals, volume level), symbols in primary-key order, journal
off, in one transaction. With --jobs 2 a forked worker writes the second half of the symbols into its own file,
appended at the end (same rows, same rowids). Prices are base x exp(loadings . factors): mean-reverting random
walks with volatility clustering, correlated across symbols, each bar opening at the previous close, rounded to
5 significant figures of the newest price like Hyperliquid; the newest prices are today's (BTC ~ 95000, ...).
Volume follows the volatility regime, the time of day and week, and the market's moves. Deterministic for a
given --seed and --end-ms (and the same whatever --jobs).

At the end the DB is switched to WAL (like the bot) and closed cleanly, so no -wal/-shm is left. Prints a JSON
summary (also written to OUT.gaps.json): path, rows, symbols, interval, first/last t, size, seconds and the
planted gaps {symbol, start, end, missing} (start/end = open times of the first/last missing bar).
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import sqlite3
import sys
import time
from itertools import accumulate
from pathlib import Path

INTERVALS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}
DAY_MS = 86_400_000
MAX_GAP = 20
K_FACTORS = 4  # factor 0 is the market

SCHEMA = (
    "CREATE TABLE candles (symbol TEXT, interval TEXT, t INTEGER, t_close INTEGER, o REAL, h REAL, l REAL, c REAL, "
    "v REAL, n INTEGER, PRIMARY KEY (symbol, interval, t));"
)

# Hyperliquid-style perp names with a plausible current price, most traded first. Daily volatility in brackets.
KNOWN = [
    ("BTC", 95_000, 0.028), ("ETH", 3_300, 0.037), ("SOL", 180, 0.048), ("HYPE", 25, 0.065), ("XRP", 2.3, 0.045),
    ("DOGE", 0.3, 0.055), ("SUI", 3.5, 0.06), ("BNB", 650, 0.03), ("kPEPE", 0.015, 0.07), ("ENA", 0.8, 0.065),
    ("LINK", 20, 0.05), ("AVAX", 35, 0.052), ("ADA", 0.9, 0.05), ("WIF", 1.5, 0.075), ("TRUMP", 20, 0.08),
    ("FARTCOIN", 1.1, 0.09), ("LTC", 100, 0.042), ("BCH", 450, 0.042), ("AAVE", 300, 0.055), ("ONDO", 1.3, 0.06),
    ("TAO", 450, 0.065), ("NEAR", 5, 0.055), ("APT", 9, 0.055), ("ARB", 0.7, 0.058), ("OP", 1.8, 0.058),
    ("TIA", 5, 0.065), ("SEI", 0.4, 0.065), ("INJ", 22, 0.06), ("kBONK", 0.025, 0.07), ("kSHIB", 0.02, 0.05),
    ("TRX", 0.25, 0.03), ("DOT", 6, 0.05), ("ATOM", 6.5, 0.05), ("FIL", 5, 0.055), ("ETC", 26, 0.045),
    ("UNI", 13, 0.055), ("MKR", 1_600, 0.05), ("LDO", 1.8, 0.06), ("CRV", 0.9, 0.065), ("PENDLE", 5, 0.068),
    ("JUP", 0.9, 0.065), ("PYTH", 0.35, 0.065), ("W", 0.3, 0.07), ("STRK", 0.5, 0.068), ("ZRO", 5, 0.062),
    ("EIGEN", 3, 0.07), ("TON", 5.5, 0.045), ("NOT", 0.006, 0.075), ("ORDI", 35, 0.07), ("POPCAT", 0.7, 0.085),
    ("VIRTUAL", 2.5, 0.09), ("AI16Z", 0.8, 0.095), ("XLM", 0.4, 0.045), ("HBAR", 0.3, 0.05), ("ALGO", 0.4, 0.05),
    ("ICP", 10, 0.055), ("STX", 1.6, 0.06), ("IMX", 1.3, 0.06), ("SAND", 0.6, 0.058), ("GALA", 0.035, 0.06),
    ("APE", 1.2, 0.062), ("DYDX", 1.4, 0.062), ("GMX", 25, 0.055), ("SNX", 2.2, 0.065), ("COMP", 80, 0.055),
    ("ZEC", 50, 0.06), ("RENDER", 7, 0.06), ("FET", 1.3, 0.065), ("BERA", 7, 0.08), ("KAITO", 1.5, 0.085),
    ("MOVE", 0.6, 0.08), ("S", 0.7, 0.07), ("IP", 6, 0.08), ("BRETT", 0.12, 0.08), ("MEW", 0.008, 0.08),
]  # fmt: skip


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="DB to write (replaced if it exists)")
    p.add_argument("--symbols", type=int, default=100, help="number of symbols (default 100)")
    p.add_argument("--days", type=int, default=365, help="days of history at --scale 1 (default 365)")
    p.add_argument("--interval", choices=list(INTERVALS), default="3m", help="bar interval (default 3m)")
    p.add_argument("--end-ms", type=int, default=None, help="open time of the newest bar, epoch ms (default: the bar open now)")
    p.add_argument("--scale", type=int, default=1, help="multiply the history length (4 => 4 x --days of bars)")
    p.add_argument("--gaps", type=int, default=25, help="planted runs of 1..20 missing bars (default 25)")
    p.add_argument("--seed", type=int, default=42, help="seed of prices, volumes and gaps (default 42)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes writing symbols in parallel (default 2)")
    args = p.parse_args(argv)
    if min(args.symbols, args.scale, args.days, args.jobs) < 1 or args.gaps < 0:
        p.error("--symbols, --scale, --days and --jobs must be >= 1, --gaps >= 0")
    return args


def decimals(price, sig=5):
    """Decimals giving `sig` significant figures at `price` (Hyperliquid quotes 5)."""
    return max(0, sig - 1 - math.floor(math.log10(price)))


def make_symbols(n, rng):
    """Per-symbol constants, sorted by name (= primary-key order)."""
    names = list(KNOWN[:n])
    width = max(3, len(str(n)))
    for i in range(len(names), n):
        names.append((f"SYM{i:0{width}d}", math.exp(rng.uniform(math.log(0.005), math.log(500))), rng.uniform(0.05, 0.09)))
    out = []
    for rank, (name, base, vol_day) in enumerate(names):
        market = 0.95 if name == "BTC" else rng.uniform(0.35, 0.85)  # share of variance from the market factor
        other = [rng.gauss(0, 1) for _factor in range(K_FACTORS - 1)]
        norm = math.sqrt(sum(x * x for x in other))
        loadings = [math.sqrt(market)] + [x / norm * math.sqrt(1 - market) for x in other]
        out.append({
            "name": name,
            "base": base,
            "vol_day": vol_day,
            "w": [vol_day * x for x in loadings],
            "pdec": min(decimals(base), 8),
            "szdec": max(0, min(5, math.floor(math.log10(base)) + 1)),
            "usd_day": 3e9 * (rank + 1) ** -1.3 * rng.uniform(0.7, 1.3),
            "trade_usd": 300 + 3000 / math.sqrt(rank + 1),
            "k": [rng.getrandbits(16) for _word in range(3)],
        })
    out.sort(key=lambda s: s["name"])
    return out


def make_bars(n_bars, first_t, ms, rng):
    """Rows of the bars temp table: i, t, t_close, volatility regime, volume multiplier, three random 16-bit ints, and
    the factors at the bar's open (x0..) and close (y0..). Factors are in units of one day's volatility, mean-revert
    over about a year, share a volatility regime (clustering, about 3 days), and are all 0 at the close of the
    newest bar, so the newest prices are the base prices. Volume follows the regime, the time of day and week, and
    the size of the market's move in the bar."""
    per_day = DAY_MS / ms
    gauss, bits = rng.gauss, rng.getrandbits
    a = 1 / (per_day * 3)  # log-volatility mean reversion
    b = 0.45 * math.sqrt(2 * a)
    regime = [math.exp(lv - 0.1) for lv in accumulate((b * gauss(0, 1) for _bar in range(n_bars)), lambda lv, e: lv * (1 - a) + e)]
    step = 1 / math.sqrt(per_day)
    keep = 1 - 1 / (per_day * 365)  # factor mean reversion
    factors = []
    for _factor in range(K_FACTORS):
        start = gauss(0, 0.5 * math.sqrt(365 / 2))
        xs = list(accumulate((step * rg * gauss(0, 1) for rg in regime), lambda x, e: x * keep + e, initial=start))
        last = xs[-1]
        factors.append([x - last for x in xs])
    market = factors[0]
    rows = []
    for i in range(n_bars):
        t = first_t + i * ms
        hour = (t % DAY_MS) / 3_600_000
        weekend = (t // DAY_MS + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        season = (1 + 0.35 * math.cos(2 * math.pi * (hour - 15) / 24)) * (0.7 if weekend else 1.0)
        move = abs(market[i + 1] - market[i]) / step
        rows.append((i, t, t + ms - 1, regime[i], regime[i] * season * (0.6 + 0.4 * move), bits(16), bits(16), bits(16),
                     *(f[i] for f in factors), *(f[i + 1] for f in factors)))
    return rows


def plant_gaps(n_gaps, symbols, n_bars, per_day, rng):
    """[(symbol, first index, last index)]: a fifth (at least 3) strictly inside the last 24 h, never the newest
    bar, the rest older; runs of one symbol never touch each other."""
    recent = min(n_gaps, max(3, n_gaps // 5))
    lo_recent = n_bars - per_day + 1  # the bar opening 24 h - 2 intervals before the newest one
    taken = {}
    gaps = []
    for g in range(n_gaps):
        for _attempt in range(10_000):
            sym = rng.choice(symbols)
            length = rng.randint(1, MAX_GAP)
            lo, hi = (lo_recent, n_bars - 1 - length) if g < recent else (1, lo_recent - 2 - length)
            if hi < lo:
                continue
            start = rng.randint(lo, hi)
            end = start + length - 1
            if all(end < s - 1 or start > e + 1 for s, e in taken.get(sym, [])):
                taken.setdefault(sym, []).append((start, end))
                gaps.append((sym, start, end))
                break
        else:
            sys.exit(f"cannot place {n_gaps} gaps in {n_bars} bars x {len(symbols)} symbols: use more --days or fewer --gaps")
    return gaps


def remove_db(path):
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def rounded(expr, scale):
    """expr (> 0) rounded to 1/scale, by arithmetic (SQLite's round() goes through printf: 3-4x slower)."""
    return f"CAST(({expr}) * {scale} + 0.5 AS INTEGER) / {scale}"


def insert_sql():
    """One symbol's rows, computed by SQLite from the bars table; :parameters are the symbol's constants.
    The subquery computes o and c once (OFFSET keeps SQLite from flattening it into the outer query, which would
    evaluate exp() once per use of o and c). z1..z3 are per-(symbol, bar) random 16-bit ints."""
    x = " + ".join(f":w{k} * x{k}" for k in range(K_FACTORS))
    y = " + ".join(f":w{k} * y{k}" for k in range(K_FACTORS))
    return f"""
INSERT INTO candles (symbol, interval, t, t_close, o, h, l, c, v, n)
SELECT :sym, :iv, t, tc, o,
       {rounded("max(o, c) * (1 + :wick * rg * z1 * z1)", ":p")},
       {rounded("min(o, c) * (1 - :wick * rg * z2 * z2)", ":p")},
       c,
       {rounded("vusd / c", ":q")},
       1 + CAST(vusd * :per_trade AS INTEGER)
FROM (
    SELECT t, tc, rg,
           {rounded(f":base * exp({x})", ":p")} AS o,
           {rounded(f":base * exp({y})", ":p")} AS c,
           (r1 + :k0) % 65536 AS z1,
           (r2 + :k1) % 65536 AS z2,
           vm * (:v0 + :v1 * ((r3 + :k2) % 65536)) AS vusd
    FROM bars
    LIMIT -1 OFFSET 0
)
"""


def has_math_functions():
    try:
        sqlite3.connect(":memory:").execute("SELECT exp(0.5)").fetchall()
    except sqlite3.OperationalError:
        return False
    return True


def open_db(path):
    """Connection for bulk loading: no journal, no syncs, exp() even without SQLite's math functions."""
    con = sqlite3.connect(path, isolation_level=None)
    if not has_math_functions():  # SQLite built without SQLITE_ENABLE_MATH_FUNCTIONS: same values, slower
        con.create_function("exp", 1, math.exp, deterministic=True)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY"):
        con.execute("PRAGMA " + pragma).fetchall()
    return con


def fill(path, symbols, bars, interval):
    """Write the candles of `symbols` (a slice of the sorted list) into a new DB at path; rows written."""
    ms = INTERVALS[interval]
    per_day = DAY_MS // ms
    con = open_db(path)
    con.execute(SCHEMA)
    factor_cols = ", ".join([f"x{k}" for k in range(K_FACTORS)] + [f"y{k}" for k in range(K_FACTORS)])
    # no column types: SQLite would spend an affinity opcode per column read
    con.execute(f"CREATE TEMP TABLE bars (i INTEGER PRIMARY KEY, t, tc, rg, vm, r1, r2, r3, {factor_cols})")
    con.execute("BEGIN")
    con.executemany(f"INSERT INTO bars VALUES ({', '.join('?' * len(bars[0]))})", bars)
    sql = insert_sql()
    inserted = 0
    for s in symbols:
        bar_vol = s["vol_day"] / math.sqrt(per_day)
        params = {
            "sym": s["name"], "iv": interval, "base": s["base"], "p": float(10 ** s["pdec"]), "q": float(10 ** s["szdec"]),
            "wick": 0.9 * bar_vol / 65536**2, "per_trade": 1 / s["trade_usd"],
            "v0": 0.35 * s["usd_day"] / per_day, "v1": 1.3 / 65536 * s["usd_day"] / per_day,
            **{f"k{j}": k for j, k in enumerate(s["k"])},
            **{f"w{k}": w for k, w in enumerate(s["w"])},
        }  # fmt: skip
        inserted += con.execute(sql, params).rowcount
    con.execute("COMMIT")
    con.execute("DROP TABLE temp.bars")
    con.close()
    return inserted


def fill_worker(path, symbols, bars, interval):
    try:
        fill(path, symbols, bars, interval)
    except BaseException as exc:  # reported by the parent through the exit code
        print(f"worker {path}: {exc!r}", file=sys.stderr)
        os._exit(1)


def generate(args):
    t0 = time.monotonic()
    ms = INTERVALS[args.interval]
    per_day = DAY_MS // ms
    end_ms = args.end_ms if args.end_ms is not None else int(time.time() * 1000)
    end_ms -= end_ms % ms
    n_bars = args.days * per_day * args.scale
    if n_bars < 2 * per_day + 2 * MAX_GAP:
        sys.exit(f"history too short: {n_bars} bars, need at least {2 * per_day + 2 * MAX_GAP} (2 days + {2 * MAX_GAP} bars)")
    first_t = end_ms - (n_bars - 1) * ms

    rng = random.Random(args.seed)
    symbols = make_symbols(args.symbols, random.Random(rng.getrandbits(64)))
    bars = make_bars(n_bars, first_t, ms, random.Random(rng.getrandbits(64)))
    gaps = plant_gaps(args.gaps, [s["name"] for s in symbols], n_bars, per_day, random.Random(rng.getrandbits(64)))
    t_prepare = time.monotonic() - t0

    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out) + ".tmp")
    # Contiguous slices of the sorted symbols: this process writes the first into tmp while workers write the
    # others into their own files, then they are appended in order, so rows (and rowids) come in key order
    # and the DB is the same whatever --jobs.
    jobs = max(1, min(args.jobs, len(symbols)))
    slices = [symbols[j * len(symbols) // jobs:(j + 1) * len(symbols) // jobs] for j in range(jobs)]
    parts = [Path(f"{out}.part{j}.tmp") for j in range(1, jobs)]
    for path in [tmp, *parts]:
        remove_db(path)
    ctx = multiprocessing.get_context("fork")  # the workers inherit bars instead of pickling them
    workers = [ctx.Process(target=fill_worker, args=(path, part, bars, args.interval)) for path, part in zip(parts, slices[1:], strict=True)]
    for w in workers:
        w.start()
    try:
        inserted = fill(tmp, slices[0], bars, args.interval)
        del bars
        for w in workers:
            w.join()
        failed = [w.exitcode for w in workers if w.exitcode != 0]
        if failed:
            sys.exit(f"{len(failed)} worker(s) failed (exit codes {failed})")
        t_fill = time.monotonic() - t0 - t_prepare
        con = open_db(tmp)
        for path in parts:
            con.execute("ATTACH DATABASE ? AS part", (str(path),))
            inserted += con.execute("INSERT INTO main.candles SELECT * FROM part.candles").rowcount
            con.execute("DETACH DATABASE part")
            remove_db(path)
        t_merge = time.monotonic() - t0 - t_prepare - t_fill
        con.execute("BEGIN")
        deleted = 0
        gap_list = []
        for sym, start, end in gaps:
            t_start, t_end = first_t + start * ms, first_t + end * ms
            deleted += con.execute("DELETE FROM candles WHERE symbol = ? AND interval = ? AND t BETWEEN ? AND ?",
                                   (sym, args.interval, t_start, t_end)).rowcount
            gap_list.append({"symbol": sym, "start": t_start, "end": t_end, "missing": end - start + 1})
        con.execute("COMMIT")
        mode = con.execute("PRAGMA journal_mode=WAL").fetchall()[0][0]
        con.close()  # the last connection to close checkpoints and removes -wal and -shm
    finally:
        for w in workers:
            if w.is_alive():
                w.kill()
                w.join()
        for path in parts:
            remove_db(path)
    if mode != "wal":
        sys.exit(f"could not switch {tmp} to WAL (journal_mode={mode})")
    leftovers = [p.name for p in (Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")) if p.exists()]
    if leftovers:
        sys.exit(f"left behind after close: {leftovers}")
    remove_db(out)  # a stale -wal of an older DB at this path would be replayed into the new one
    os.replace(tmp, out)

    rows = inserted - deleted
    expected = n_bars * len(symbols) - sum(g["missing"] for g in gap_list)
    if rows != expected:
        sys.exit(f"wrote {rows} rows, expected {expected}")
    gap_list.sort(key=lambda g: (g["symbol"], g["start"]))
    summary = {
        "path": str(out),
        "rows": rows,
        "symbols": len(symbols),
        "interval": args.interval,
        "interval_ms": ms,
        "bars_per_symbol": n_bars,
        "first_t": first_t,
        "last_t": end_ms,
        "days": args.days,
        "scale": args.scale,
        "seed": args.seed,
        "size_bytes": out.stat().st_size,
        "seconds": round(time.monotonic() - t0, 2),
        "seconds_prepare": round(t_prepare, 2),
        "seconds_fill": round(t_fill, 2),
        "seconds_merge": round(t_merge, 2),
        "jobs": jobs,
        "sqlite_version": sqlite3.sqlite_version,
        "sqlite_math_functions": has_math_functions(),
        "journal_mode": mode,
        "gaps_in_last_24h": sum(1 for g in gap_list if g["start"] > end_ms - DAY_MS),
        "gaps": gap_list,
    }
    text = json.dumps(summary, indent=2)
    gaps_path = Path(str(out) + ".gaps.json")
    gaps_tmp = Path(str(gaps_path) + ".tmp")
    gaps_tmp.write_text(text + "\n")
    os.replace(gaps_tmp, gaps_path)
    return text


def main(argv=None):
    print(generate(parse_args(argv)))


if __name__ == "__main__":
    main()
