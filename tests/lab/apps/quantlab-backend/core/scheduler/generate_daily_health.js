'use strict';
// Daily health report: probes every HTTP service on 127.0.0.1 (tokens from the env / core/.env) and writes
// core/reports/daily_health_<YYYYMMDD>.json. Exit 0, or with --strict 1 when any service is not healthy.
const path = require('path');
const { ROOT, SERVICES, cli, parseArgs, portOf, probe, writeJson } = require('../lib/service');

const log = cli('generate_daily_health');

async function main() {
  let a;
  try {
    a = parseArgs(process.argv.slice(2), { strict: 'bool' });
  } catch (e) {
    log.error(`bad arguments: ${e.message}; usage: node scheduler/generate_daily_health.js [--strict]`);
    return 2;
  }
  const names = Object.keys(SERVICES).filter((n) => SERVICES[n].port !== null);
  const results = await Promise.all(names.map((n) => probe(n, 2000)));
  const report = { generated_at: new Date().toISOString(), services: {} };
  names.forEach((n, i) => {
    report.services[n] = { port: portOf(n), healthy: results[i].ok, reason: results[i].reason || null };
    log.info(`${n} :${portOf(n)} ${results[i].ok ? 'healthy' : `NOT healthy (${results[i].reason})`}`);
  });
  const out = path.join(ROOT, 'core', 'reports', `daily_health_${report.generated_at.slice(0, 10).replace(/-/g, '')}.json`);
  writeJson(out, report);
  const bad = results.filter((r) => !r.ok).length;
  log.info(`${names.length - bad}/${names.length} healthy; wrote ${out}`);
  return a.strict && bad ? 1 : 0;
}

main().then((rc) => { process.exitCode = rc; });
