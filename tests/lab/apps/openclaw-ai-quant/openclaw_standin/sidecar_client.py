"""Client of the WS sidecar's unix socket, as exchange/sidecar.py SidecarWSClient: one persistent connection, one JSON
line per request ({"id": N, "method": M, "params": {...}}), one JSON line per reply ({"id": N, "ok": true, "result": ...}
or {"id": N, "ok": false, "error": "..."}). Any failure closes the connection and raises; the next call reconnects."""

import json
import os
import socket
import threading

from openclaw_standin.common import sidecar_sock_path


class SidecarError(RuntimeError):
    pass


class SidecarClient:
    def __init__(self, sock_path=None, client_id=None):
        self.sock_path = sock_path or sidecar_sock_path()
        mode = (os.environ.get("AI_QUANT_MODE", "paper") or "paper").strip().lower() or "paper"
        self.client_id = client_id or (os.environ.get("AI_QUANT_WS_CLIENT_ID", "").strip() or f"{mode}:{os.getpid()}")
        self.lock = threading.RLock()
        self.sock = self.file = None
        self.next_id = 1
        self.connected = False

    def close(self):
        for item in (self.file, self.sock):
            if item is not None:
                try:
                    item.close()
                except OSError:
                    pass
        self.sock = self.file = None
        self.connected = False

    def rpc(self, method, params=None, timeout_s=2.0):
        with self.lock:
            try:
                if self.sock is None:
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    sock.settimeout(timeout_s)
                    sock.connect(self.sock_path)
                    self.sock, self.file, self.connected = sock, sock.makefile("rwb"), True
                self.sock.settimeout(timeout_s)
                rid = self.next_id
                self.next_id += 1
                self.file.write((json.dumps({"id": rid, "method": method, "params": params or {}}, separators=(",", ":")) + "\n").encode())
                self.file.flush()
                raw = self.file.readline()
                if not raw:
                    raise ConnectionError("sidecar closed")
                resp = json.loads(raw.decode("utf-8", errors="replace"))
                if int(resp.get("id", -1)) != rid:
                    raise SidecarError("sidecar response id mismatch")
                if not resp.get("ok", False):
                    raise SidecarError(str(resp.get("error") or "sidecar error"))
                return resp.get("result")
            except Exception:
                self.close()
                raise

    def status(self):
        return {"running": True, "connected": bool(self.connected)}

    def ensure_started(self, symbols, interval, candle_limit, user=None):
        self.rpc("ensure_started", {"client_id": self.client_id, "symbols": [str(s) for s in symbols], "interval": str(interval),
                                    "candle_limit": int(candle_limit), "user": user})

    def health(self, symbols, interval):
        res = self.rpc("health", {"symbols": [str(s) for s in symbols], "interval": str(interval)})
        return res if isinstance(res, dict) else {}

    def candles_ready(self, symbols, interval):
        res = self.rpc("candles_ready", {"symbols": [str(s) for s in symbols], "interval": str(interval)})
        if not isinstance(res, dict):
            return False, [str(s).upper() for s in symbols]
        return bool(res.get("ready", False)), [str(s).upper() for s in (res.get("not_ready") or [])]

    def get_mid(self, symbol, max_age_s=None):
        res = self.rpc("get_mid", {"symbol": str(symbol).upper(), "max_age_s": max_age_s}, timeout_s=1.0)
        return float(res) if isinstance(res, (int, float)) else None

    def get_mids(self, symbols, max_age_s=None):
        res = self.rpc("get_mids", {"symbols": [str(s).upper() for s in symbols], "max_age_s": max_age_s}, timeout_s=1.0)
        if not isinstance(res, dict):
            return {}, None
        return {str(k).upper(): float(v) for k, v in (res.get("mids") or {}).items()}, res.get("mids_age_s")

    def get_last_closed_candle_times(self, symbol, interval, grace_ms=2000):
        res = self.rpc("get_last_closed_candle_times", {"symbol": str(symbol).upper(), "interval": str(interval), "grace_ms": int(grace_ms)},
                       timeout_s=1.0)
        return (res[0], res[1]) if isinstance(res, list) and len(res) >= 2 else (None, None)
