'use strict';
// Daily ML training orchestration (stand-in). Cron (cwd core/):
//   15 0 * * * cd /home/deploy/quantlab-backend/core && node scheduler/run_daily_ml.js >> /var/log/quantlab-ml.log 2>&1
// Usage: node scheduler/run_daily_ml.js [--symbol SYMBOL] [--date YYYYMMDD] [--dry-run]
// Defaults: --symbol $ML_SYMBOL or btcusdt, --date yesterday (UTC). Writes core/ml/out/<symbol>_<date>.json.
const path = require('path');
const { ROOT, cli, parseArgs, series, validDate, writeJson, yesterday } = require('../lib/service');

const USAGE = 'usage: node scheduler/run_daily_ml.js [--symbol SYMBOL] [--date YYYYMMDD] [--dry-run]';
const log = cli('run_daily_ml');

function main(argv) {
  let a;
  try {
    a = parseArgs(argv, { symbol: 'string', date: 'string', 'dry-run': 'bool' });
  } catch (e) {
    log.error(`bad arguments: ${e.message}; ${USAGE}`);
    return 2;
  }
  const symbol = String(a.symbol || process.env.ML_SYMBOL || 'btcusdt').toLowerCase();
  const date = a.date || yesterday();
  if (!/^[a-z0-9]{2,20}$/.test(symbol)) {
    log.error(`bad --symbol ${JSON.stringify(symbol)} (expected [a-z0-9]{2,20}); ${USAGE}`);
    return 2;
  }
  if (!validDate(date)) {
    log.error(`bad --date ${JSON.stringify(date)} (expected a real date as YYYYMMDD); ${USAGE}`);
    return 2;
  }
  const dry = Boolean(a['dry-run']);
  const out = path.join(ROOT, 'core', 'ml', 'out', `${symbol}_${date}.json`);
  log.info(`start: symbol=${symbol} date=${date} dry_run=${dry}`);
  log.info(`would train model xgb_direction_v1 on features_v1/${symbol}/${date} (labels from labeld)`);
  if (dry) {
    log.info(`dry run: not writing ${out}`);
  } else {
    const p = series(`ml:${symbol}:${date}`, 200);
    const up = p.slice(1).filter((x, i) => x > p[i]).length;
    writeJson(out, { symbol, date, model: 'xgb_direction_v1', trained_at: new Date().toISOString(), samples: p.length, metrics: { up_ratio: up / (p.length - 1) } });
    log.info(`wrote ${out}`);
  }
  log.info('done');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
