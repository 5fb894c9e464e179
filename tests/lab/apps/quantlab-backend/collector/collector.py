"""QuantLab collector (lab stand-in, stdlib only). The real collector/collector.py reads exchange WebSockets
(hard-coded URLs, so it cannot run offline) with aiohttp, websockets, pandas, psutil and pyarrow, and writes
Parquet files to SPOOL_DIR. This one queues synthetic BBO events and appends them to JSONL spool files.

Kept from the real one (collector/config.py, status_api.py): the variables API_HOST (0.0.0.0), API_PORT (9100)
and SPOOL_DIR (/opt/quantlab/spool), read from the environment only (no .env file); `--symbols`; the start
banner; GET /health 200 {"status": "ok", "uptime", "last_event_ts", "last_write_ts"} whenever the process is up;
/status and /metrics with the real top-level keys (queue_size, writer, ...); no auth anywhere.
Lab-only knobs: COLLECTOR_EVENTS_PER_S (2), COLLECTOR_FLUSH_MS (1000).

Run as: cd collector && python3 collector.py
"""
import argparse
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

STARTED = time.time()


def log(msg, err=False):
    print(msg, file=sys.stderr if err else sys.stdout, flush=True)


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
        self.total_events = self.dropped = 0
        self.last_event_ts = self.last_write_ts = None
        self.files = set()
        self.writer = {'total_written': 0, 'files_written': 0, 'pending_events': 0, 'active_buffers': 0,
                       'write_failures': 0, 'verification_failures': 0, 'drain_mode': 'normal'}

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
                self.total_events += 1
                self.last_event_ts = time.time()
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
        try:
            with open(path, 'ab') as f:
                f.write(data)
        except OSError as e:
            with self.lock:
                self.writer['write_failures'] += 1
            log(f'[Writer] SPOOL WRITE FAILED: binance/bbo/{len(events)} events - {e}')
            return
        with self.lock:
            if path not in self.files:
                self.files.add(path)
                self.writer['files_written'] += 1
            self.writer['total_written'] += len(events)
            self.last_write_ts = time.time()

    def write_loop(self):
        while not self.stop.wait(self.flush_s):
            self.flush()

    def health(self):
        return {'status': 'ok', 'uptime': time.time() - STARTED, 'last_event_ts': self.last_event_ts,
                'last_write_ts': self.last_write_ts}

    def metrics(self):
        size, cap = self.queue.qsize(), self.queue.maxsize
        with self.lock:
            writer = dict(self.writer)
        return {'queue_size': size, 'queue_maxsize': cap, 'queue_utilization_pct': round(size / cap * 100, 1),
                'dropped_events_total': self.dropped, 'total_events': self.total_events, 'writer': writer}


def make_handler(col):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            route = self.path.split('?', 1)[0]
            if route == '/health':
                body = col.health()
            elif route == '/status':
                body = {'status': 'ok', 'uptime_seconds': int(time.time() - STARTED), 'queue': {'size': col.queue.qsize(),
                        'max': col.queue.maxsize}, 'symbols': col.symbols, **col.metrics()}
            elif route == '/metrics':
                body = col.metrics()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json; charset=utf-8')
            self.send_header('Access-Control-Allow-Origin', '*')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # the real status API logs no requests either
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description='Multi-Exchange Futures Data Collector')
    parser.add_argument('--symbols', type=str, help='Comma-separated list of symbols (default: all configured symbols)')
    args = parser.parse_args()
    symbols = [s.strip().upper() for s in (args.symbols or 'BTCUSDT,ETHUSDT').split(',') if s.strip()]
    host = os.getenv('API_HOST', '0.0.0.0')
    port = int(os.getenv('API_PORT', '9100'))
    spool = Path(os.getenv('SPOOL_DIR', '/opt/quantlab/spool'))
    rate = env_int('COLLECTOR_EVENTS_PER_S', 2, 1, 10000)
    flush_ms = env_int('COLLECTOR_FLUSH_MS', 1000, 50, 3600000)
    col = Collector(spool, rate, flush_ms, symbols)

    print('=' * 60)
    print('Multi-Exchange Futures Data Collector')
    print('=' * 60)
    print(f'[Config] Parsed symbols ({len(symbols)}):')
    for sym in symbols:
        print(f'  - {sym}')
    print(f'[Config] Queue size: {col.queue.maxsize}')
    print('=' * 60, flush=True)
    log(f'[Writer] Backend: SPOOL\n[Writer] Spool directory: {spool}')
    spool.mkdir(parents=True, exist_ok=True)  # the real writer creates it too, and dies if it cannot

    server = ThreadingHTTPServer((host, port), make_handler(col))
    server.daemon_threads = True

    def on_signal(_signum, _frame):
        log('\n[Collector] Shutting down...')
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=t, daemon=True) for t in (col.produce, col.write_loop)]
    for t in threads:
        t.start()
    server.serve_forever(poll_interval=0.2)
    col.stop.set()
    for t in threads:
        t.join(timeout=2)
    col.flush()
    server.server_close()
    log('[Collector] Shutdown complete')
    return 0


if __name__ == '__main__':
    sys.exit(main())
