'use strict';
// Shared helper of the QuantLab stand-in node processes (node 18, built-in modules only). It copies the
// contracts of the real services at alisitki/quantlab-backend@115a7dd (see ../../FIDELITY.md), not their code:
// - `.env` is read from the process's working directory, like `import 'dotenv/config'` (never overrides);
// - log lines look like pino-pretty's (`[HH:MM:ss.l] INFO (pid): message`), plus plain console.log lines;
// - the auth of core/common/authMiddlewareFactory.js: per-IP, per-path rate limit first (also on /health),
//   then /health is open, then `Authorization: Bearer <token>` or `?token=<token>`; AUTH_REQUIRED=false
//   turns auth off. A service whose token is unset still starts; every route but /health then answers 401;
// - /health answers 200 {"status":"ok",...} whenever the process is up: no service checks another.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..'); // repo root, from this file's location

// dotenv semantics: KEY=VALUE, optional "export ", # comments, '...' or "..." quotes (\n escapes in "...").
function parseDotenv(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    const q = v[0];
    const end = (q === '"' || q === "'") ? v.indexOf(q, 1) : -1;
    if (end > 0) {
      v = v.slice(1, end);
      if (q === '"') v = v.replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\"/g, '"');
    } else {
      v = v.replace(/(^|\s)#.*$/, '').trim();
    }
    out[m[1]] = v;
  }
  return out;
}

// dotenv.config({path}): fills in what the environment lacks; silent, like dotenv 16. Returns true if read.
function loadDotenv(file = path.resolve(process.cwd(), '.env')) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return false;
  }
  for (const [k, v] of Object.entries(parseDotenv(text))) {
    if (process.env[k] === undefined) process.env[k] = v;
  }
  return true;
}

// The real code tests flags with === '1' (engine.js, ManifestArchiver.js, observer-api index.ts).
const envOne = (name, env = process.env) => env[name] === '1';

// pino-pretty's default line: [HH:MM:ss.l] LEVEL (pid): message
function pino(level, msg) {
  const t = new Date().toISOString().slice(11, 23);
  const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
  stream.write(`[${t}] ${level} (${process.pid}): ${msg}\n`);
}
const plog = { info: (m) => pino('INFO', m), warn: (m) => pino('WARN', m), error: (m) => pino('ERROR', m) };

// Plain "<ISO time> [name] message" logger of the stand-in's own scripts (scheduler, tests).
function makeLogger(name) {
  const write = (stream, msg) => stream.write(`${new Date().toISOString()} [${name}] ${msg}\n`);
  return { info: (m) => write(process.stdout, m), error: (m) => write(process.stderr, m) };
}

function validDate(s) {
  if (!/^\d{8}$/.test(s || '')) return false;
  const d = new Date(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8)));
  return d.toISOString().slice(0, 10).replace(/-/g, '') === s;
}

const yesterday = () => new Date(Date.now() - 86400000).toISOString().slice(0, 10).replace(/-/g, '');

// Deterministic synthetic price series for (key, n).
function series(key, n) {
  let seed = crypto.createHash('sha256').update(String(key)).digest().readUInt32BE(0);
  let price = 100 + (seed % 900);
  const out = [];
  for (let i = 0; i < n; i += 1) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    price = Math.max(1, price * (1 + ((seed / 2147483648) - 0.5) / 100));
    out.push(Math.round(price * 100) / 100);
  }
  return out;
}

function writeJson(file, obj) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(obj, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

// For scheduler scripts and tests: logger + `.env` of the working directory (cron runs them from core/).
function cli(name) {
  loadDotenv();
  return makeLogger(name);
}

// argv -> {key: value|true}; spec: {name: 'string'|'bool'}. Throws on unknown or valueless options.
function parseArgs(argv, spec) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z][a-z0-9_-]*)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !spec[m[1]]) throw new Error(`unknown argument: ${argv[i]}`);
    if (spec[m[1]] === 'bool') {
      if (m[2] !== undefined) throw new Error(`--${m[1]} takes no value`);
      out[m[1]] = true;
    } else {
      const v = m[2] !== undefined ? m[2] : argv[(i += 1)];
      if (v === undefined || v === '' || v.startsWith('--')) throw new Error(`--${m[1]} needs a value`);
      out[m[1]] = v;
    }
  }
  return out;
}

function send(res, code, body, type) {
  const isText = typeof body === 'string';
  const data = isText ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': isText ? (type || 'text/plain; charset=utf-8') : 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

// Sliding one-minute window per (ip, path), like isRateLimited() of the real auth middlewares.
function rateLimiter() {
  const seen = new Map();
  return (ip, p, limit) => {
    const now = Date.now();
    const key = `${ip} ${p}`;
    const ts = (seen.get(key) || []).filter((t) => t >= now - 60000);
    seen.set(key, ts);
    if (ts.length >= limit) return true;
    ts.push(now);
    return false;
  };
}

// A Fastify-like service: routes {'GET /path/:param': handler(ctx)}; handler returns a body (200) or
// [code, body, contentType], or handles ctx.res itself and returns undefined.
// opts: tokenEnv, defaultLimit, pathLimits {prefix: limit}, routes, host, port.
function fastifyLike(opts) {
  const limited = rateLimiter();
  const routes = Object.entries(opts.routes).map(([k, handler]) => {
    const [method, pattern] = k.split(' ');
    const names = [];
    const re = new RegExp(`^${pattern.replace(/:([a-z_]+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}$`);
    return { method, re, names, handler };
  });

  function auth(req, res, url) {
    const p = url.pathname;
    let limit = opts.defaultLimit;
    for (const [prefix, l] of Object.entries(opts.pathLimits || {})) {
      if (p === prefix || p.startsWith(prefix)) { limit = l; break; }
    }
    if (limited(req.socket.remoteAddress, p, limit)) {
      send(res, 429, { error: 'TOO_MANY_REQUESTS', message: `Rate limit exceeded for ${p}. Limit: ${limit}/min` });
      return false;
    }
    if (p === '/health' || process.env.AUTH_REQUIRED === 'false') return true;
    const token = process.env[opts.tokenEnv];
    const header = req.headers.authorization;
    let value;
    if (header && header.startsWith('Bearer ')) [, value] = header.split(' ');
    else if (url.searchParams.get('token')) value = url.searchParams.get('token');
    if (!value) {
      send(res, 401, { error: 'UNAUTHORIZED', message: 'Token required (Bearer or query ?token=)' });
      return false;
    }
    if (!token || value !== token) {
      send(res, 401, { error: 'UNAUTHORIZED', message: 'Invalid token' });
      return false;
    }
    return true;
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    plog.info('incoming request');
    res.on('finish', () => plog.info('request completed'));
    let match = null;
    for (const r of routes) {
      const m = r.method === req.method && r.re.exec(url.pathname);
      if (m) { match = { r, params: Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) }; break; }
    }
    if (!auth(req, res, url)) return undefined;
    if (!match) return send(res, 404, { message: `Route ${req.method}:${url.pathname} not found`, error: 'Not Found', statusCode: 404 });
    let out = await match.r.handler({ req, res, url, query: Object.fromEntries(url.searchParams), params: match.params });
    if (out === undefined) return undefined;
    if (!Array.isArray(out)) out = [200, out];
    return send(res, out[0], out[1], out[2]);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      plog.error(e.stack || String(e));
      if (!res.headersSent) send(res, 500, { statusCode: 500, error: 'Internal Server Error', message: e.message });
    });
  });
  return {
    server,
    // fastify.listen: resolves once listening; on error the caller logs it and exits 1, as the real ones do.
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        plog.info(`Server listening at http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${opts.port}`);
        resolve();
      });
    }),
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

// Number(process.env.X) || default, as the real configs read their ports.
const portFrom = (name, def) => Number(process.env[name]) || def;

module.exports = {
  ROOT, cli, envOne, fastifyLike, loadDotenv, makeLogger, parseArgs, parseDotenv, plog, portFrom, send, series,
  validDate, writeJson, yesterday,
};
