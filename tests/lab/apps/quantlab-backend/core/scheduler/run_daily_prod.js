'use strict';
// Daily production run (stand-in): logs the strategies it would run; writes core/scheduler/out/prod_<date>.json.
// Usage: node scheduler/run_daily_prod.js [--date YYYYMMDD] [--dry-run]
const path = require('path');
const { ROOT, cli, parseArgs, validDate, writeJson, yesterday } = require('../lib/service');

const STRATEGIES = ['momentum_v1', 'meanrev_v1'];
const SYMBOLS = ['btcusdt', 'ethusdt'];

function main(name, argv, forceDry) {
  const log = cli(name);
  let a;
  try {
    a = parseArgs(argv, { date: 'string', 'dry-run': 'bool' });
  } catch (e) {
    log.error(`bad arguments: ${e.message}; usage: node scheduler/${name}.js [--date YYYYMMDD]${forceDry ? '' : ' [--dry-run]'}`);
    return 2;
  }
  const date = a.date || yesterday();
  if (!validDate(date)) {
    log.error(`bad --date ${JSON.stringify(date)} (expected YYYYMMDD)`);
    return 2;
  }
  const dry = forceDry || Boolean(a['dry-run']);
  log.info(`start: date=${date} dry_run=${dry}${forceDry ? ' (no GPU)' : ''}`);
  for (const s of STRATEGIES) log.info(`would run ${s} on ${SYMBOLS.join(',')} for ${date} via strategyd`);
  if (!dry) {
    const out = path.join(ROOT, 'core', 'scheduler', 'out', `prod_${date}.json`);
    writeJson(out, { date, strategies: STRATEGIES, symbols: SYMBOLS, finished_at: new Date().toISOString() });
    log.info(`wrote ${out}`);
  }
  log.info('done');
  return 0;
}

if (require.main === module) process.exitCode = main('run_daily_prod', process.argv.slice(2), false);
module.exports = { main };
