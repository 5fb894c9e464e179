'use strict';
// observer-api stand-in. Real: core/observer-api/index.ts (Express, run with tsx; unit quantlab-observer).
// The stand-in runs as `node index.js` (node built-ins only: no tsx, no npm install on the lab hosts).
// Order of the real module graph, kept on purpose:
//   1. middleware/auth.ts reads OBSERVER_TOKEN from the process environment, BEFORE
//   2. config.ts loads core/.env (path from its own location; logs "[CONFIG] Loaded .env from: ...");
//   3. index.ts exits 1 with "CRITICAL: OBSERVER_MODE=1 is required to start the API." unless OBSERVER_MODE is
//      exactly 1 (from the environment or core/.env).
// So OBSERVER_TOKEN only in core/.env is NOT seen by the auth guard: /api/* and /v1/* then always answer 401.
// Port OBSERVER_PORT (3000) on 0.0.0.0. Open: GET /ping, /health/config, /runs, /metrics. GET /health is 404.
// Bearer OBSERVER_TOKEN (header only, no ?token=): GET /api/state, /api/runs[?limit=N], /api/jobs.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { loadDotenv } = require('../lib/service');

const TOKEN = process.env.OBSERVER_TOKEN || ''; // (1)
const envPath = path.resolve(__dirname, '../.env'); // (2)
if (fs.existsSync(envPath)) {
  loadDotenv(envPath);
  console.log(`[CONFIG] Loaded .env from: ${envPath}`);
} else {
  console.log(`[CONFIG] No .env found at: ${envPath}`);
}
if (process.env.OBSERVER_MODE !== '1') { // (3)
  console.error('CRITICAL: OBSERVER_MODE=1 is required to start the API.');
  process.exit(1);
}

const RUNS_DIR = path.resolve(__dirname, '../../services/strategyd/runs');
const LEDGER = path.resolve(__dirname, '../research/jobs.jsonl');
const port = process.env.OBSERVER_PORT || 3000;
const host = '0.0.0.0';
const hits = new Map();

function json(res, code, body) {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

function authGuard(req, res, p) {
  const ip = req.socket.remoteAddress || 'unknown';
  const now = Date.now();
  const key = `${ip} ${p}`;
  const ts = (hits.get(key) || []).filter((t) => t >= now - 60000);
  hits.set(key, ts);
  if (ts.length >= 120) {
    console.error(`[AUTH] code=TOO_MANY_REQUESTS ip=${ip} path=${p}`);
    json(res, 429, { error: 'TOO_MANY_REQUESTS', message: 'Limit 120/min' });
    return false;
  }
  ts.push(now);
  const h = req.headers.authorization;
  const token = h && h.startsWith('Bearer ') ? h.substring(7) : '';
  if (!TOKEN || token !== TOKEN) {
    console.error(`[AUTH] code=UNAUTHORIZED ip=${ip} path=${p}`);
    json(res, 401, { error: 'UNAUTHORIZED', message: 'Bearer token required' });
    return false;
  }
  return true;
}

function readRuns(limit) {
  let files = [];
  try {
    files = fs.readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json')).sort().reverse();
  } catch (e) {
    return null;
  }
  return files.slice(0, limit).map((f) => JSON.parse(fs.readFileSync(path.join(RUNS_DIR, f), 'utf8')));
}

function handle(req, res, url) {
  const p = url.pathname;
  if (req.method !== 'GET') return [404, null];
  if (p === '/ping') return [200, { status: 'pong', mode: 'READ-ONLY', time: new Date().toISOString() }];
  if (p === '/health/config') return [200, { env_path: envPath, observer_mode: process.env.OBSERVER_MODE, key_scheme_version: 'v1' }];
  if (p === '/runs') return [200, { runs: [] }]; // the in-process ObserverRegistry: empty in this process
  if (p === '/metrics') return [200, '# observer-api stand-in\n'];
  if (p.startsWith('/api/') || p.startsWith('/v1/')) {
    if (!authGuard(req, res, p.slice(p.indexOf('/', 1)))) return null;
    if (p === '/api/state') return [200, { status: 'ok', service: 'observer-api', time: new Date().toISOString() }];
    if (p === '/api/runs') {
      const runs = readRuns(Number(url.searchParams.get('limit') || 50));
      if (runs === null) return [500, { error: 'RUNS_READ_FAILED', message: `ENOENT: ${RUNS_DIR}` }];
      return [200, { count: runs.length, runs }];
    }
    if (p === '/api/jobs') {
      let lines = [];
      try { lines = fs.readFileSync(LEDGER, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)); } catch (e) { lines = []; }
      return [200, { count: lines.length, jobs: lines }];
    }
  }
  return [404, null];
}

const server = http.createServer((req, res) => {
  const id = crypto.randomUUID();
  const start = Date.now();
  const url = new URL(req.url, 'http://localhost');
  res.setHeader('x-request-id', id);
  res.on('finish', () => { // req.path as Express has it when the request ends: relative to a router's mount point
    const m = /^\/(health|pipeline|gates|decisions|alerts|debug|v1|api)(\/.*)$/.exec(url.pathname);
    console.log(`[REQ] ${id} | ${req.method} ${m ? m[2] : url.pathname} | date=${url.searchParams.get('date') || 'N/A'} | status=${res.statusCode} | ${Date.now() - start}ms | result_count=n/a`);
  });
  const out = handle(req, res, url);
  if (!out) return;
  const [code, body] = out;
  if (body === null) { // Express's own 404 page
    const page = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${req.method} ${url.pathname}</pre>\n</body>\n</html>\n`;
    res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page) });
    res.end(page);
  } else if (typeof body === 'string') {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
  } else {
    json(res, code, body);
  }
});

function shutdown() {
  console.log('Shutting down Observer API...');
  server.close(() => {
    console.log('Server closed.');
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(1), 5000);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(Number(port), host, () => {
  console.log('============================================================');
  console.log('QuantLab Observer API');
  console.log('Mode: READ-ONLY (Verified)');
  console.log(`Listening on http://${host}:${port}`);
  console.log('============================================================');
});
