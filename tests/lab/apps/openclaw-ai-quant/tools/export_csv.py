#!/usr/bin/env python3
"""
Export a single consolidated CSV for LIVE (only) covering the last N hours, and a JSON of the rules in effect.

Usage (real argv, tools/export_csv.py at 9603e63):
  python tools/export_csv.py [--hours 4] [--live-db PATH] [--interval 1m] [--candles-db PATH] [--out CSV] [--rules-out JSON]

Outputs (defaults as real, under the repo whatever the working directory):
  - exports/live_consolidated_last{hours}h_<YYYYmmdd_HHMMSSUTC>.csv
  - exports/live_rules_last{hours}h_<YYYYmmdd_HHMMSSUTC>.json
Both paths are printed on stdout. `--hours` <= 0 and a missing live DB exit 1 with the real messages.

Stand-in: the live DB has no trades/signals/oms_fills tables. TRADE rows come from the stand-in's fills (joined with
their orders), AUDIT rows from audit_events as real; there are no SIGNAL rows. Columns: the real header's names and
order for what the stand-in fills. The rules JSON has the real keys minus the strategy excerpt.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sqlite3
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

AIQ_ROOT = Path(__file__).resolve().parents[1]

HEADER = [
    "key", "mode", "row_kind", "ts_utc", "ts_minute_utc", "hhmm_utc", "symbol", "open_close", "transaction_id",
    "candle_interval", "candle_t_ms", "candle_t_utc", "candle_o", "candle_h", "candle_l", "candle_c", "candle_v", "candle_n",
    "candle_updated_at",
    "trade_id", "trade_action", "trade_type", "trade_price", "trade_size", "trade_notional", "trade_pnl", "trade_fee_usd",
    "order_kind", "order_px_est",
    "audit_id", "audit_event", "audit_level", "audit_data_json", "audit_data_signal", "audit_data_confidence",
    "audit_data_reason", "audit_data_kind", "audit_px_est", "audit_size", "audit_notional_est", "audit_leverage",
    "audit_margin_est",
]
AUDIT_FIELDS = [
    ("signal", "audit_data_signal"), ("confidence", "audit_data_confidence"), ("reason", "audit_data_reason"),
    ("kind", "audit_data_kind"), ("px_est", "audit_px_est"), ("size", "audit_size"), ("notional_est", "audit_notional_est"),
    ("leverage", "audit_leverage"), ("margin_est", "audit_margin_est"),
]
ENV_KEEP = {
    "AI_QUANT_MODE", "AI_QUANT_DB_PATH", "AI_QUANT_TOP_N", "AI_QUANT_INTERVAL", "AI_QUANT_LOOKBACK_BARS",
    "AI_QUANT_LIVE_ENABLE", "AI_QUANT_KILL_SWITCH", "AI_QUANT_HARD_KILL_SWITCH", "AI_QUANT_LIVE_MAX_OPEN_POSITIONS",
    "AI_QUANT_LIVE_MAX_NOTIONAL_USD_PER_ORDER", "AI_QUANT_LIVE_MIN_MARGIN_USD", "AI_QUANT_LIVE_STATE_SYNC_SECS",
    "AI_QUANT_HL_TIMEOUT_S", "HL_LIVE_MARKET_SLIPPAGE_PCT",
}


def _connect(db_path: Path) -> sqlite3.Connection:
    con = sqlite3.connect("file:" + urllib.parse.quote(str(db_path.resolve())) + "?mode=ro", uri=True, timeout=10.0)
    con.row_factory = sqlite3.Row
    return con


def _parse_iso_utc(ts: str | None) -> datetime | None:
    s = str(ts or "").strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def _sha1_file(path: Path) -> str | None:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()  # the real tool's file fingerprint
    except OSError:
        return None


def _open_close(row_kind: str, value: str) -> str | None:
    v = str(value or "").strip().upper()
    if row_kind == "TRADE":
        return {"OPEN": "OPEN", "ADD": "OPEN", "CLOSE": "CLOSE", "REDUCE": "CLOSE"}.get(v, v or None)
    if "EXIT" in v or "CLOSE" in v:
        return "CLOSE"
    if "OPEN" in v or v.startswith("ENTRY_"):
        return "OPEN"
    return None


def _base(row_kind: str, dt: datetime, symbol: str, tid: int) -> dict[str, Any]:
    m = _minute(dt)
    return {"mode": "live", "row_kind": row_kind, "ts_utc": dt.isoformat(), "ts_minute_utc": m.isoformat(),
            "hhmm_utc": m.strftime("%H%M"), "symbol": symbol, "transaction_id": tid}


def _load_candles(path: Path | None, interval: str, symbols: set[str], t_min: int, t_max: int) -> dict:
    if path is None or not path.exists() or not symbols:
        return {}
    con = _connect(path)
    try:
        ph = ",".join("?" * len(symbols))
        rows = con.execute(
            f"SELECT symbol, t, o, h, l, c, v, n, updated_at FROM candles WHERE interval = ? AND t BETWEEN ? AND ? AND symbol IN ({ph})",
            [interval, t_min, t_max, *sorted(symbols)]).fetchall()
    finally:
        con.close()
    return {(r["symbol"], int(r["t"])): dict(r) for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--live-db", default=str(os.getenv("AI_QUANT_LIVE_DB_PATH", str(AIQ_ROOT / "trading_engine_live.db"))))
    ap.add_argument("--interval", default=str(os.getenv("AI_QUANT_INTERVAL", "1m") or "1m"))
    ap.add_argument("--candles-db", default=str(os.getenv("AI_QUANT_CANDLES_DB_PATH", "")))
    ap.add_argument("--out", default="")
    ap.add_argument("--rules-out", default="")
    args = ap.parse_args()

    hours = float(args.hours)
    if hours <= 0:
        raise SystemExit("--hours must be > 0")
    live_db_path = Path(str(args.live_db))
    if not live_db_path.exists():
        raise SystemExit(f"live db missing: {live_db_path}")
    interval = str(args.interval or "1m").strip() or "1m"
    candles_db_path = Path(args.candles_db.strip()) if args.candles_db.strip() else None
    if candles_db_path is None or not candles_db_path.exists():
        cand = AIQ_ROOT / "candles_dbs" / f"candles_{interval}.db"
        candles_db_path = cand if cand.exists() or not (AIQ_ROOT / "market_data.db").exists() else AIQ_ROOT / "market_data.db"

    now = datetime.now(timezone.utc)
    start = now - timedelta(hours=hours)
    start_ms = int(start.timestamp() * 1000)

    con = _connect(live_db_path)
    try:
        fills = con.execute(
            "SELECT f.rowid AS id, f.ts_ms, f.symbol, f.side, f.qty, f.price, f.fee, f.realized_pnl, o.kind, o.price AS order_px "
            "FROM fills f LEFT JOIN orders o ON o.id = f.order_id WHERE f.ts_ms >= ? ORDER BY f.rowid", (start_ms,)).fetchall()
        audits = con.execute("SELECT * FROM audit_events WHERE datetime(timestamp) >= datetime('now', ?) ORDER BY id ASC",
                             (f"-{hours} hours",)).fetchall()
    finally:
        con.close()

    rows_out: list[dict[str, Any]] = []
    for f in fills:
        dt = datetime.fromtimestamp(f["ts_ms"] / 1000, tz=timezone.utc)
        sym = str(f["symbol"] or "").strip().upper()
        action = "OPEN" if f["kind"] == "entry" else "CLOSE"
        long_side = (f["side"] == "buy") == (action == "OPEN")
        row = _base("TRADE", dt, sym, int(f["id"]))
        row.update(trade_id=int(f["id"]), trade_action=action, trade_type="LONG" if long_side else "SHORT", trade_price=f["price"],
                   trade_size=f["qty"], trade_notional=f["qty"] * f["price"], trade_pnl=f["realized_pnl"], trade_fee_usd=f["fee"],
                   order_kind=action, order_px_est=f["order_px"])
        rows_out.append(row)
    for a in audits:
        dt = _parse_iso_utc(a["timestamp"])
        sym = str(a["symbol"] or "").strip().upper()
        if dt is None or not sym:
            continue
        row = _base("AUDIT", dt, sym, int(a["id"]))
        row.update(audit_id=int(a["id"]), audit_event=a["event"], audit_level=a["level"], audit_data_json=a["data_json"] or "")
        try:
            data = json.loads(a["data_json"] or "null")
        except ValueError:
            data = None
        if isinstance(data, dict):
            row.update({dst: data[src] for src, dst in AUDIT_FIELDS if src in data})
        rows_out.append(row)

    syms = {r["symbol"] for r in rows_out}
    t_min = int(_minute(start).timestamp() * 1000)
    candles = _load_candles(candles_db_path, interval, syms, t_min, int(_minute(now).timestamp() * 1000))
    for row in rows_out:
        row["open_close"] = _open_close(row["row_kind"], row.get("trade_action") or row.get("audit_event"))
        row["key"] = f"{row['hhmm_utc']}_{row['symbol']}_{row['open_close'] or 'NA'}_{row['transaction_id']}"
        dtm = datetime.fromisoformat(row["ts_minute_utc"])
        t_ms = int(dtm.timestamp() * 1000)
        row.update(candle_interval=interval, candle_t_ms=t_ms, candle_t_utc=dtm.isoformat())
        c = candles.get((row["symbol"], t_ms))
        if c:
            row.update({f"candle_{k}": c[k] for k in ("o", "h", "l", "c", "v", "n", "updated_at")})
    rows_out.sort(key=lambda x: (x["ts_utc"], x["row_kind"], x["symbol"], x["transaction_id"]))

    ts_tag = now.strftime("%Y%m%d_%H%M%SUTC")
    out_path = Path(args.out.strip()) if args.out.strip() else AIQ_ROOT / "exports" / f"live_consolidated_last{hours:g}h_{ts_tag}.csv"
    rules_out_path = (Path(args.rules_out.strip()) if args.rules_out.strip()
                      else AIQ_ROOT / "exports" / f"live_rules_last{hours:g}h_{ts_tag}.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rules_out_path.parent.mkdir(parents=True, exist_ok=True)

    with out_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=HEADER, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows_out)

    rules: dict[str, Any] = {
        "window_start_utc": start.isoformat(), "window_end_utc": now.isoformat(), "hours": hours, "mode": "live",
        "live_db_path": str(live_db_path), "candles_db_path": str(candles_db_path), "interval": interval,
        "symbols_included": sorted(syms),
    }
    for sp in [AIQ_ROOT / "config" / "strategy_overrides.yaml", AIQ_ROOT / "strategy_changelog.json"]:
        if sp.exists():
            rules.setdefault("local_strategy_files", []).append({"path": str(sp), "sha1": _sha1_file(sp)})
    env_path = Path.home() / ".config" / "openclaw" / "ai-quant-live.env"
    if env_path.exists():
        env_vals = {}
        for raw in env_path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                if k.strip() in ENV_KEEP:
                    env_vals[k.strip()] = v.strip()
        rules["live_env_subset"] = env_vals
    rules_out_path.write_text(json.dumps(rules, indent=2, sort_keys=True), encoding="utf-8")

    print(str(out_path))
    print(str(rules_out_path))


if __name__ == "__main__":
    main()
