"""The engine's trading DB side effects that automation reads: runtime_logs (a tee of stdout/stderr, as
engine/sqlite_logger.py) and audit_events (as strategy/mei_alpha_v1.log_audit_event)."""

import atexit
import datetime
import json
import os
import queue
import sqlite3
import sys
import threading
import time

from openclaw_standin import schema


def infer_level(line, stream):
    """engine/sqlite_logger.py _infer_level."""
    s = (line or "").lstrip()
    if not s:
        return "info"
    if s.startswith("🔥") or "traceback (most recent call last)" in s.lower():
        return "error"
    if s.startswith("⚠️") or s.startswith("❌"):
        return "warning"
    return "warning" if stream == "stderr" else "info"


def _int_env(name, default):
    try:
        return int(os.environ.get(name, str(default)).strip())
    except ValueError:
        return default


class LogSink(threading.Thread):
    """Background writer: a bounded queue (drops when full), batches committed every AI_QUANT_SQLITE_LOG_FLUSH_SECS."""

    def __init__(self, db_path, mode):
        super().__init__(name="sqlite_log_sink", daemon=True)
        self.db_path, self.mode, self.pid = db_path, (mode or "").strip().lower() or None, os.getpid()
        self.max_chars = max(200, _int_env("AI_QUANT_SQLITE_LOG_MAX_CHARS", 8000))
        try:
            self.flush_s = max(0.05, float(os.environ.get("AI_QUANT_SQLITE_LOG_FLUSH_SECS", "0.25") or 0.25))
        except ValueError:
            self.flush_s = 0.25
        self.batch = max(10, _int_env("AI_QUANT_SQLITE_LOG_BATCH", 200))
        self.q = queue.Queue(maxsize=max(1000, _int_env("AI_QUANT_SQLITE_LOG_MAX_QUEUE", 10000)))
        self.stopping = threading.Event()
        self.start()
        atexit.register(self.close)

    def emit(self, stream, message):
        msg = (message or "").rstrip("\n")
        if not msg.strip():
            return
        if len(msg) > self.max_chars:
            msg = msg[: self.max_chars] + "…(truncated)"
        try:
            self.q.put_nowait((int(time.time() * 1000), stream, infer_level(msg, stream), msg))
        except queue.Full:
            pass

    def close(self):
        if not self.stopping.is_set():
            self.stopping.set()
            self.join(timeout=1.5)

    def run(self):
        conn, pending, backoff = None, [], 0.05
        while True:
            try:
                if self.stopping.is_set() and self.q.empty() and not pending:
                    break
                if not pending:
                    try:
                        pending.append(self.q.get(timeout=self.flush_s))
                    except queue.Empty:
                        continue
                while len(pending) < self.batch:
                    try:
                        pending.append(self.q.get_nowait())
                    except queue.Empty:
                        break
                if conn is None:
                    os.makedirs(os.path.dirname(os.path.abspath(self.db_path)), exist_ok=True)
                    conn = sqlite3.connect(self.db_path, timeout=0.25)
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.executescript(schema.RUNTIME_LOGS)
                rows = [(ts, datetime.datetime.fromtimestamp(ts / 1000, tz=datetime.UTC).isoformat(), self.pid, self.mode, stream, level, msg)
                        for ts, stream, level, msg in pending]
                conn.executemany("INSERT INTO runtime_logs (ts_ms, ts, pid, mode, stream, level, message) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                conn.commit()
                pending.clear()
                backoff = 0.05
            except Exception:  # noqa: BLE001 - best effort, never block the engine (real: same)
                if conn is not None:
                    conn.close()
                conn = None
                pending.clear()
                time.sleep(backoff)
                backoff = min(2.0, backoff * 1.8)
        if conn is not None:
            conn.close()


class LineTee:
    """Replaces sys.stdout/sys.stderr: writes through, and hands every complete line to the sink."""

    def __init__(self, stream, sink, name):
        self.stream, self.sink, self.name, self.buf = stream, sink, name, ""

    def write(self, text):
        self.stream.write(text)
        self.buf += str(text)
        if "\n" in self.buf:
            *lines, self.buf = self.buf.split("\n")
            for line in lines:
                self.sink.emit(self.name, line)
        return len(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False

    @property
    def encoding(self):
        return getattr(self.stream, "encoding", "utf-8")


def install_stdio_logger(db_path, mode):
    """Tee stdout/stderr into runtime_logs unless AI_QUANT_SQLITE_LOG is 0/false/no/off (engine/sqlite_logger.py)."""
    if os.environ.get("AI_QUANT_SQLITE_LOG", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    sink = LogSink(db_path, mode)
    sys.stdout = LineTee(sys.stdout, sink, "stdout")
    sys.stderr = LineTee(sys.stderr, sink, "stderr")
    return sink


def log_audit_event(db_path, symbol, event, *, level="info", data=None):
    """INSERT INTO audit_events (timestamp ISO-8601 UTC, SYMBOL, event, level, compact JSON); never raises."""
    try:
        timeout = float(os.environ.get("AI_QUANT_AUDIT_DB_TIMEOUT_S", "0.2"))
    except ValueError:
        timeout = 0.2
    conn = None
    try:
        conn = sqlite3.connect(db_path, timeout=max(0.01, min(2.0, timeout)))
        conn.execute("INSERT INTO audit_events (timestamp, symbol, event, level, data_json) VALUES (?, ?, ?, ?, ?)",
                     (datetime.datetime.now(datetime.UTC).isoformat(), str(symbol or "").strip().upper() or None, str(event or ""),
                      str(level or "info"), json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str) if data else None))
        conn.commit()
    except Exception:  # noqa: BLE001, S110 - audit logging must never affect trading (real: same)
        pass
    finally:
        if conn is not None:
            conn.close()
