'use strict';
// Daily health report (stand-in): GET each service's open health endpoint on 127.0.0.1 (no token needed: the
// real auth middleware skips /health; observer-api answers /ping) and write
// core/reports/daily_health_<YYYYMMDD>.json. Exit 0, or with --strict 1 when any service does not answer 200.
const http = require('http');
const path = require('path');
const { ROOT, cli, parseArgs, writeJson } = require('../lib/service');

const log = cli('generate_daily_health');
const port = (name, def) => Number(process.env[name]) || def;
const TARGETS = {
  replayd: [port('REPLAYD_PORT', 3030), '/health'],
  strategyd: [port('STRATEGYD_PORT', 3031), '/health'],
  backtestd: [port('BACKTESTD_PORT', 3041), '/health'],
  featurexd: [port('FEATUREXD_PORT', 3051), '/health'],
  labeld: [port('LABELD_PORT', 3061), '/health'],
  collector: [port('API_PORT', 9100), '/health'],
  'observer-api': [port('OBSERVER_PORT', 3000), '/ping'],
};

function get(p, route) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: p, path: route, timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? { ok: true } : { ok: false, reason: `HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, reason: e.code || e.message }));
  });
}

async function main() {
  let a;
  try {
    a = parseArgs(process.argv.slice(2), { strict: 'bool' });
  } catch (e) {
    log.error(`bad arguments: ${e.message}; usage: node scheduler/generate_daily_health.js [--strict]`);
    return 2;
  }
  const names = Object.keys(TARGETS);
  const results = await Promise.all(names.map((n) => get(...TARGETS[n])));
  const report = { generated_at: new Date().toISOString(), services: {} };
  names.forEach((n, i) => {
    report.services[n] = { port: TARGETS[n][0], healthy: results[i].ok, reason: results[i].reason || null };
    log.info(`${n} :${TARGETS[n][0]} ${results[i].ok ? 'healthy' : `NOT healthy (${results[i].reason})`}`);
  });
  const out = path.join(ROOT, 'core', 'reports', `daily_health_${report.generated_at.slice(0, 10).replace(/-/g, '')}.json`);
  writeJson(out, report);
  const bad = results.filter((r) => !r.ok).length;
  log.info(`${names.length - bad}/${names.length} healthy; wrote ${out}`);
  return a.strict && bad ? 1 : 0;
}

main().then((rc) => { process.exitCode = rc; });
