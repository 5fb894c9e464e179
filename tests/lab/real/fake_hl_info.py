"""Loopback stand-in for the Hyperliquid REST API (POST /info, POST /exchange). Offline only.

Answers the /info request types the engine + hyperliquid-python-sdk 0.21.0 use in dry_live with an empty
1000-USDC account (no positions, no orders, no fills). /exchange always refuses (dry_live must never
send); every request is appended to LOG_JSONL so you can see exactly what the engine asked for.

usage: fake_hl_info.py PORT [LOG_JSONL] [--symbols BTC,ETH,SOL]
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else None
SYMS = ["BTC", "ETH", "SOL"]
if "--symbols" in sys.argv:
    SYMS = sys.argv[sys.argv.index("--symbols") + 1].split(",")
SZ_DEC = {"BTC": 5, "ETH": 4, "SOL": 2}
MAXLEV = {"BTC": 40, "ETH": 25, "SOL": 20}
PX = {"BTC": "91000.0", "ETH": "3100.0", "SOL": "140.0"}

universe = [{"name": s, "szDecimals": SZ_DEC.get(s, 2), "maxLeverage": MAXLEV.get(s, 10), "marginTableId": MAXLEV.get(s, 10)}
            for s in SYMS]
margin_tables = [[MAXLEV.get(s, 10), {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": MAXLEV.get(s, 10)}]}]
                 for s in SYMS]
META = {"universe": universe, "marginTables": margin_tables}
CTXS = [{"funding": "0.00001", "openInterest": "5000.0", "prevDayPx": PX.get(s, "1.0"), "dayNtlVlm": str(5e8 / (i + 1)),
         "premium": "0.0", "oraclePx": PX.get(s, "1.0"), "markPx": PX.get(s, "1.0"), "midPx": PX.get(s, "1.0"),
         "impactPxs": [PX.get(s, "1.0"), PX.get(s, "1.0")], "dayBaseVlm": "1000.0"} for i, s in enumerate(SYMS)]
# NB: the SDK indexes spot_meta["tokens"] by list position, so token "index" must equal its position.
SPOT_META = {"tokens": [{"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0, "tokenId": "0x" + "0" * 32, "isCanonical": True},
                        {"name": "HYPE", "szDecimals": 2, "weiDecimals": 8, "index": 1, "tokenId": "0x" + "1" * 32, "isCanonical": True}],
             "universe": [{"name": "@107", "tokens": [1, 0], "index": 0, "isCanonical": False}]}


def account():
    summ = {"accountValue": "1000.0", "totalNtlPos": "0.0", "totalRawUsd": "1000.0", "totalMarginUsed": "0.0"}
    return {"marginSummary": dict(summ), "crossMarginSummary": dict(summ), "crossMaintenanceMarginUsed": "0.0",
            "withdrawable": "1000.0", "assetPositions": [], "time": int(time.time() * 1000)}


def info(body):
    t = body.get("type")
    table = {
        "meta": lambda: META,
        "spotMeta": lambda: SPOT_META,
        "metaAndAssetCtxs": lambda: [META, CTXS],
        "perpDexs": lambda: [None],
        "allMids": lambda: {s: PX.get(s, "1.0") for s in SYMS},
        "clearinghouseState": account,
        "spotClearinghouseState": lambda: {"balances": [{"coin": "USDC", "token": 0, "total": "0.0", "hold": "0.0", "entryNtl": "0.0"}]},
        "openOrders": lambda: [], "frontendOpenOrders": lambda: [],
        "userFills": lambda: [], "userFillsByTime": lambda: [],
        "userFunding": lambda: [], "userNonFundingLedgerUpdates": lambda: [],
        "fundingHistory": lambda: [], "candleSnapshot": lambda: [],
        "userRateLimit": lambda: {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": 10000},
        "orderStatus": lambda: {"status": "unknownOid"},
    }
    f = table.get(t)
    return (f(), True) if f else ([], False)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except Exception:
            body = {}
        if self.path.rstrip("/") == "/info":
            res, known = info(body)
            tag = body.get("type")
        else:  # /exchange or anything else: refuse, never pretend an order was placed
            res, known = {"status": "err", "response": "fake_hl_info: offline, orders refused"}, False
            tag = "exchange:" + str((body.get("action") or {}).get("type"))
        if LOG:
            with open(LOG, "a") as fh:
                fh.write(json.dumps({"ts": round(time.time(), 3), "path": self.path, "type": tag, "known": known}) + "\n")
        out = json.dumps(res).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


print(f"fake_hl_info on http://127.0.0.1:{PORT}", flush=True)
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
