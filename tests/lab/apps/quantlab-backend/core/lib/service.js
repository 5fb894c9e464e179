'use strict';
// Shared helper of every QuantLab stand-in node process (node 18, built-in modules only):
// core/.env loading, logging, bearer auth, a tiny JSON HTTP server, dependency health polling,
// SIGTERM handling. Each service file only declares its routes and extra health fields.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..'); // repo root, from this file's location (not the cwd)
const DOTENV = path.join(ROOT, 'core', '.env');

// Every service: port env var + default, health path, token env var, whether /health needs the token,
// and the runbook's dependency order (deps are polled on 127.0.0.1:<port><health>).
const SERVICES = {
  replayd: { portEnv: 'REPLAYD_PORT', port: 3030, health: '/health', tokenEnv: 'REPLAYD_TOKEN', healthAuth: false, deps: [] },
  collector: { portEnv: 'COLLECTOR_PORT', port: 9100, health: '/health', deps: [] },
  featurexd: { portEnv: 'FEATUREXD_PORT', port: 3051, health: '/health', tokenEnv: 'FEATUREXD_TOKEN', healthAuth: true, deps: ['replayd'] },
  labeld: { portEnv: 'LABELD_PORT', port: 3061, health: '/health', tokenEnv: 'LABELD_TOKEN', healthAuth: true, deps: ['featurexd'] },
  strategyd: { portEnv: 'STRATEGYD_PORT', port: 3031, health: '/health', tokenEnv: 'STRATEGYD_TOKEN', healthAuth: true, deps: ['replayd'] },
  backtestd: { portEnv: 'BACKTESTD_PORT', port: 3041, health: '/health', tokenEnv: 'BACKTESTD_TOKEN', healthAuth: true, deps: ['replayd', 'strategyd'] },
  'job-worker': { portEnv: 'WORKER_HEALTH_PORT', port: null, health: '/health', deps: ['strategyd'] },
  observer: { portEnv: 'OBSERVER_HEALTH_PORT', port: null, health: '/health', tokenEnv: 'OBSERVER_TOKEN', healthAuth: true, deps: ['strategyd'] },
  'observer-api': { portEnv: 'OBSERVER_API_PORT', port: 3000, health: '/ping', tokenEnv: 'OBSERVER_TOKEN', healthAuth: false, deps: ['strategyd'] },
  'console-ui': { portEnv: 'CONSOLE_UI_PORT', port: 8080, health: '/health', deps: ['observer-api', 'replayd', 'strategyd', 'backtestd'] },
};

function makeLogger(name, logFile) {
  let fileBroken = false;
  const write = (stream, msg) => {
    const line = `${new Date().toISOString()} [${name}] ${msg}\n`;
    stream.write(line);
    if (logFile && !fileBroken) {
      try {
        fs.appendFileSync(logFile, line);
      } catch (e) {
        fileBroken = true;
        process.stderr.write(`${new Date().toISOString()} [${name}] cannot append to ${logFile}: ${e.code || e.message}\n`);
      }
    }
  };
  return { info: (m) => write(process.stdout, m), error: (m) => write(process.stderr, m) };
}

// dotenv semantics: KEY=VALUE, optional "export ", # comments, '...' or "..." quotes (\n escapes in "..."),
// inline " #" comments after unquoted values. Returns {key: value}.
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

// Loads core/.env without overriding variables already in the environment (like dotenv).
function loadEnv(log) {
  let text;
  try {
    text = fs.readFileSync(DOTENV, 'utf8');
  } catch (e) {
    if (log) log.info(`no ${DOTENV} (${e.code}); using the environment only`);
    return { loaded: false };
  }
  const vars = parseDotenv(text);
  let applied = 0;
  for (const [k, v] of Object.entries(vars)) {
    if (process.env[k] === undefined) {
      process.env[k] = v;
      applied += 1;
    }
  }
  if (log) log.info(`loaded ${DOTENV} (${Object.keys(vars).length} variables, ${applied} not already set)`);
  return { loaded: true, applied };
}

const envFlag = (name, env = process.env) => ['1', 'true', 'yes', 'on', 'enabled'].includes(String(env[name] || '').trim().toLowerCase());

function envInt(name, def, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw} is not an integer in ${min}..${max}`);
  return n;
}

const portOf = (name) => envInt(SERVICES[name].portEnv, SERVICES[name].port, 1, 65535);

function validDate(s) {
  if (!/^\d{8}$/.test(s || '')) return false;
  const d = new Date(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8)));
  return d.toISOString().slice(0, 10).replace(/-/g, '') === s;
}

const yesterday = () => new Date(Date.now() - 86400000).toISOString().slice(0, 10).replace(/-/g, '');

// Deterministic synthetic price series for (key, n): what replayd "replays" and others compute on.
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

function sha(s) {
  return crypto.createHash('sha256').update(String(s)).digest();
}

function bearerOk(req, token) {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization || '');
  return Boolean(m) && crypto.timingSafeEqual(sha(m[1]), sha(token)); // constant time, any length
}

// GET <dep health> on 127.0.0.1 with the dep's token from the environment -> {ok, reason}
function probe(dep, timeoutMs = 800) {
  const d = SERVICES[dep];
  const headers = {};
  if (d.healthAuth && process.env[d.tokenEnv]) headers.Authorization = `Bearer ${process.env[d.tokenEnv]}`;
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: portOf(dep), path: d.health, headers, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { if (body.length < 65536) body += c; });
      res.on('end', () => {
        let status;
        try { status = JSON.parse(body).status; } catch (e) { status = undefined; }
        if (res.statusCode === 200 && status === 'ok') return resolve({ ok: true });
        const hint = res.statusCode === 401 ? ` (check ${d.tokenEnv})` : '';
        return resolve({ ok: false, reason: `HTTP ${res.statusCode}${status ? ` status=${status}` : ''}${hint}` });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve({ ok: false, reason: e.code || e.message }));
  });
}

function send(res, code, body, type) {
  const isText = typeof body === 'string';
  const data = isText ? body : `${JSON.stringify(body)}\n`;
  const headers = { 'Content-Type': isText ? (type || 'text/plain; charset=utf-8') : 'application/json', 'Content-Length': Buffer.byteLength(data) };
  if (code === 401) headers['WWW-Authenticate'] = 'Bearer';
  res.writeHead(code, headers);
  res.end(data);
}

function fatal(log, msg) {
  log.error(`FATAL: ${msg}; refusing to start`);
  process.exit(2);
}

// For scheduler scripts and tests: logger + core/.env.
function cli(name) {
  const log = makeLogger(name);
  loadEnv(null);
  return log;
}

// argv -> {key: value|true}; spec: {name: 'string'|'bool'}. Throws on unknown or valueless options.
function parseArgs(argv, spec) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(argv[i]);
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

// createService(name, opts): opts.routes {'GET /path': {auth, handler(ctx), always}}, 'GET /prefix/*' matches a
// sub-path (ctx.rest); handler returns a body (200) or [code, body, contentType]. opts.info() adds health fields;
// opts.onHealthy() runs once, the first time all deps are healthy; opts.preflight() returns an error string to
// refuse to start; opts.logFile also appends log lines there. Routes other than health answer 503 while waiting.
function createService(name, opts = {}) {
  const spec = SERVICES[name];
  const log = makeLogger(name, opts.logFile);
  const started = Date.now();
  const timers = [];
  const deps = Object.fromEntries(spec.deps.map((d) => [d, { healthy: false, last_error: null, checked_at: null }]));
  const state = { healthy: spec.deps.length === 0, everHealthy: false, firstPoll: spec.deps.length > 0, startOrderOk: true };
  let server = null;

  loadEnv(log);
  let token = null;
  if (spec.tokenEnv) {
    token = process.env[spec.tokenEnv];
    if (!token) fatal(log, `${spec.tokenEnv} is not set (environment or ${DOTENV})`);
    log.info(`${spec.tokenEnv} set (${token.length} chars)`);
  }
  let port;
  let pollMs;
  try {
    port = spec.port === null ? envInt(spec.portEnv, 0, 0, 65535) : portOf(name);
    pollMs = envInt('DEP_POLL_MS', 1000, 100);
    for (const d of spec.deps) portOf(d);
  } catch (e) {
    fatal(log, e.message);
  }
  const preflightError = opts.preflight && opts.preflight();
  if (preflightError) fatal(log, preflightError);
  for (const d of spec.deps) {
    const t = SERVICES[d].tokenEnv;
    if (SERVICES[d].healthAuth && !process.env[t]) log.error(`warning: ${t} not set: cannot authenticate to ${d} /health`);
  }

  const waitingFor = () => spec.deps.filter((d) => !deps[d].healthy);
  const svc = {
    name, log, root: ROOT,
    isHealthy: () => state.healthy,
    every(ms, fn) { // fn errors are logged, never fatal
      const t = setInterval(() => Promise.resolve().then(fn).catch((e) => log.error(`error: ${e.message}`)), ms);
      timers.push(t);
      return t;
    },
    health() {
      const body = {
        service: name, status: state.healthy ? 'ok' : 'waiting', waiting_for: waitingFor(),
        start_order_ok: state.startOrderOk, start_order_checked: !state.firstPoll, dependencies: deps,
        pid: process.pid, uptime_s: Math.round((Date.now() - started) / 1000),
        ...(opts.info ? opts.info() : {}),
      };
      return [state.healthy ? 200 : 503, body];
    },
  };

  function becameHealthy() {
    log.info('healthy');
    if (!state.everHealthy) {
      state.everHealthy = true;
      try {
        if (opts.onHealthy) opts.onHealthy();
      } catch (e) {
        log.error(`error: ${e.message}`);
      }
    }
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    const results = await Promise.all(spec.deps.map((d) => probe(d, 800)));
    results.forEach((r, i) => {
      const d = spec.deps[i];
      const st = deps[d];
      if (state.firstPoll) {
        if (r.ok) log.info(`dependency ${d} healthy`);
        else {
          state.startOrderOk = false;
          log.error(`start order violated: started before ${d} was healthy`);
          log.info(`waiting for ${d} (${r.reason})`);
        }
      } else if (r.ok && !st.healthy) log.info(`dependency ${d} healthy`);
      else if (!r.ok && st.healthy) {
        log.error(`dependency ${d} down (${r.reason})`);
        log.info(`waiting for ${d}`);
      }
      Object.assign(st, { healthy: r.ok, last_error: r.ok ? null : r.reason, checked_at: new Date().toISOString() });
    });
    state.firstPoll = false;
    const now = waitingFor().length === 0;
    if (now && !state.healthy) {
      state.healthy = true;
      becameHealthy();
    } else if (!now && state.healthy) {
      state.healthy = false;
      log.error(`unhealthy: waiting for ${waitingFor().join(', ')}`);
    }
    polling = false;
  }

  function startPolling() {
    if (spec.deps.length === 0) return becameHealthy();
    poll();
    return svc.every(pollMs, poll);
  }

  const routes = { ...(opts.routes || {}) };
  for (const p of [spec.health, '/health']) routes[`GET ${p}`] = { auth: spec.healthAuth, always: true, handler: () => svc.health() };

  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    let rest = null;
    let route = routes[`${req.method} ${url.pathname}`];
    if (!route) {
      const i = url.pathname.lastIndexOf('/');
      route = routes[`${req.method} ${url.pathname.slice(0, i)}/*`];
      try {
        rest = decodeURIComponent(url.pathname.slice(i + 1));
      } catch (e) {
        rest = '';
      }
    }
    if (!route) {
      const known = Object.keys(routes).some((k) => k.split(' ')[1] === url.pathname);
      return send(res, known ? 405 : 404, { error: known ? 'method_not_allowed' : 'not_found', path: url.pathname });
    }
    if (route.auth && !bearerOk(req, token)) {
      return send(res, 401, { error: 'unauthorized', message: `missing or invalid bearer token (${spec.tokenEnv})` });
    }
    if (!route.always && !state.healthy) return send(res, 503, { error: 'unavailable', status: 'waiting', waiting_for: waitingFor() });
    const query = Object.fromEntries(url.searchParams);
    let out = await route.handler({ req, url, query, rest, svc });
    if (!Array.isArray(out)) out = [200, out];
    return send(res, out[0], out[1], out[2]);
  }

  function stop(sig) {
    log.info(`received ${sig}, shutting down`);
    timers.forEach(clearInterval);
    if (opts.onStop) opts.onStop();
    if (server) server.close();
    log.info('stopped');
    process.exit(0);
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.env.npm_lifecycle_event) { // under `npm start`, SIGTERM to npm stops at its `sh -c`: follow the parent
    const ppid = process.ppid;
    svc.every(1000, () => { if (process.ppid !== ppid) stop('parent exit (npm stopped)'); });
  }

  if (port) {
    const host = process.env[spec.portEnv.replace(/_PORT$/, '_HOST')] || '127.0.0.1';
    server = http.createServer((req, res) => {
      handle(req, res).catch((e) => {
        log.error(`error handling ${req.method} ${req.url}: ${e.stack || e}`);
        if (!res.headersSent) send(res, 500, { error: 'internal_error' });
      });
    });
    server.on('error', (e) => {
      log.error(`FATAL: cannot listen on ${host}:${port}: ${e.code || e.message}`);
      process.exit(1);
    });
    server.listen(port, host, () => {
      log.info(`listening on :${port} (host ${host})`);
      startPolling();
    });
  } else {
    log.info(`no HTTP port (set ${spec.portEnv} to expose ${spec.health})`);
    setImmediate(startPolling);
  }
  return svc;
}

module.exports = {
  ROOT, DOTENV, SERVICES, createService, cli, loadEnv, parseDotenv, parseArgs, envFlag, envInt, portOf, probe,
  validDate, yesterday, series, writeJson, makeLogger,
};
