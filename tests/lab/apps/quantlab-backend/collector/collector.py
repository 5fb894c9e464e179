"""QuantLab collector (lab stand-in, stdlib only): collects synthetic BBO events into a queue; a writer thread
appends them to JSONL spool files in COLLECTOR_SPOOL_DIR. HTTP on COLLECTOR_PORT (9100): /health /status /metrics.

Run as: cd collector && python3 collector.py
"""
import json
import os
import queue
import random
import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # repo root, from this file's location (not the cwd)
DOTENV = ROOT / 'core' / '.env'
STARTED = time.time()


def log(msg, err=False):
    stamp = datetime.now(UTC).isoformat(timespec='milliseconds').replace('+00:00', 'Z')
    print(f'{stamp} [collector] {msg}', file=sys.stderr if err else sys.stdout, flush=True)


def parse_dotenv(text):
    """dotenv semantics: KEY=VALUE, optional export, # comments, '...' or "..." quotes, inline ' #' comments."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$', line)
        if not m:
            continue
        v = m.group(2).strip()
        end = v.find(v[0], 1) if v[:1] in ('"', "'") else -1
        if end > 0:
            q, v = v[0], v[1:end]
            if q == '"':
                v = v.replace('\\n', '\n').replace('\\r', '\r').replace('\\"', '"')
        else:
            v = re.sub(r'(^|\s)#.*$', '', v).strip()
        out[m.group(1)] = v
    return out


def load_env():
    """Load core/.env without overriding variables already in the environment."""
    try:
        found = parse_dotenv(DOTENV.read_text(encoding='utf-8'))
    except OSError as e:
        log(f'no {DOTENV} ({e.strerror}); using the environment only')
        return
    applied = [k for k in found if k not in os.environ]
    for k in applied:
        os.environ[k] = found[k]
    log(f'loaded {DOTENV} ({len(found)} variables, {len(applied)} not already set)')


def env_int(name, default, lo, hi):
    raw = os.environ.get(name, '')
    if raw == '':
        return default
    if not re.fullmatch(r'\d+', raw) or not lo <= int(raw) <= hi:
        fatal(f'{name}={raw} is not an integer in {lo}..{hi}')
    return int(raw)


def fatal(msg):
    log(f'FATAL: {msg}; refusing to start', err=True)
    sys.exit(2)


class Collector:
    def __init__(self, spool, rate, flush_ms, symbols):
        self.spool, self.rate, self.flush_s, self.symbols = spool, rate, flush_ms / 1000.0, symbols
        self.queue = queue.Queue(maxsize=100000)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.received = self.dropped = 0
        self.files = set()
        self.writer = {'files_written': 0, 'bytes_written': 0, 'events_written': 0, 'flushes': 0, 'last_write_ms': None,
                       'last_write_at': None, 'last_file': None, 'errors': 0, 'last_error': None}

    def produce(self):
        rnd = random.Random(os.getpid())
        mids = {s: 100.0 + 900 * rnd.random() for s in self.symbols}
        while not self.stop.wait(1.0 / self.rate):
            sym = rnd.choice(self.symbols)
            mids[sym] *= 1 + (rnd.random() - 0.5) / 500
            ev = {'ts': int(time.time() * 1000), 'exchange': 'binance', 'stream': 'bbo', 'symbol': sym,
                  'bid': round(mids[sym] - 0.01, 4), 'ask': round(mids[sym] + 0.01, 4)}
            try:
                self.queue.put_nowait(ev)
                self.received += 1
            except queue.Full:
                self.dropped += 1

    def flush(self):
        events = []
        while True:
            try:
                events.append(self.queue.get_nowait())
            except queue.Empty:
                break
        if not events:
            return
        data = ''.join(json.dumps(e, separators=(',', ':')) + '\n' for e in events).encode()
        path = self.spool / f'bbo_{datetime.now(UTC).strftime("%Y%m%dT%H")}.jsonl'
        t0 = time.monotonic()
        try:
            with open(path, 'ab') as f:
                f.write(data)
        except OSError as e:
            with self.lock:
                self.writer['errors'] += 1
                self.writer['last_error'] = f'{path}: {e.strerror}'
            log(f'writer error: {path}: {e.strerror} ({len(events)} events dropped)', err=True)
            return
        with self.lock:
            w = self.writer
            if path not in self.files:
                self.files.add(path)
                w['files_written'] += 1
                log(f'writing spool file {path}')
            w['bytes_written'] += len(data)
            w['events_written'] += len(events)
            w['flushes'] += 1
            w['last_write_ms'] = round((time.monotonic() - t0) * 1000, 3)
            w['last_write_at'] = datetime.now(UTC).isoformat()
            w['last_file'] = str(path)
            w['last_error'] = None

    def write_loop(self):
        while not self.stop.wait(self.flush_s):
            self.flush()

    def healthy(self):
        return self.writer['last_error'] is None

    def health(self):
        return {'service': 'collector', 'status': 'ok' if self.healthy() else 'error', 'waiting_for': [], 'start_order_ok': True,
                'dependencies': {}, 'pid': os.getpid(), 'uptime_s': round(time.time() - STARTED), 'spool_dir': str(self.spool)}

    def metrics(self):
        with self.lock:
            return {'queue_size': self.queue.qsize(), 'writer': dict(self.writer), 'events_received': self.received,
                    'events_dropped': self.dropped}


def make_handler(col):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            route = self.path.split('?', 1)[0]
            if route == '/health':
                body = col.health()
                code = 200 if col.healthy() else 503
            elif route == '/status':
                body = {**col.health(), **col.metrics(), 'symbols': col.symbols, 'events_per_s': col.rate, 'flush_ms': int(col.flush_s * 1000)}
                code = 200
            elif route == '/metrics':
                body, code = col.metrics(), 200
            else:
                body, code = {'error': 'not_found', 'path': route}, 404
            data = (json.dumps(body) + '\n').encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # no per-request logging (health checks poll every second)
            pass

    return Handler


def main():
    load_env()
    port = env_int('COLLECTOR_PORT', 9100, 1, 65535)
    host = os.environ.get('COLLECTOR_HOST') or '127.0.0.1'
    rate = env_int('COLLECTOR_EVENTS_PER_S', 2, 1, 10000)
    flush_ms = env_int('COLLECTOR_FLUSH_MS', 1000, 50, 3600000)
    symbols = [s for s in os.environ.get('COLLECTOR_SYMBOLS', 'btcusdt,ethusdt').lower().split(',') if s]
    spool = Path(os.environ.get('COLLECTOR_SPOOL_DIR') or '/opt/quantlab/spool/')
    try:
        spool.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fatal(f'cannot create spool dir {spool}: {e.strerror} (set COLLECTOR_SPOOL_DIR or create it for this user)')
    if not os.access(spool, os.W_OK | os.X_OK):
        fatal(f'spool dir {spool} is not writable by uid {os.getuid()} (set COLLECTOR_SPOOL_DIR or fix its owner)')
    log(f'spool dir {spool}; {rate} events/s for {",".join(symbols)}; flush every {flush_ms} ms')

    col = Collector(spool, rate, flush_ms, symbols)
    try:
        server = ThreadingHTTPServer((host, port), make_handler(col))
    except OSError as e:
        log(f'FATAL: cannot listen on {host}:{port}: {e.strerror}', err=True)
        sys.exit(1)
    server.daemon_threads = True

    def on_signal(signum, _frame):
        log(f'received {signal.Signals(signum).name}, shutting down')
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=t, daemon=True) for t in (col.produce, col.write_loop)]
    for t in threads:
        t.start()
    log(f'listening on :{port} (host {host})')
    log('healthy')
    server.serve_forever(poll_interval=0.2)
    col.stop.set()
    for t in threads:
        t.join(timeout=2)
    col.flush()
    server.server_close()
    log(f'stopped (final queue_size {col.queue.qsize()}, {col.writer["events_written"]} events written)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
