'use strict';
// Daily ML training orchestration (stand-in). Cron (cwd core/):
//   15 0 * * * cd /home/deploy/quantlab-backend/core && node scheduler/run_daily_ml.js >> /var/log/quantlab-ml.log 2>&1
// Usage: node scheduler/run_daily_ml.js [--symbol SYMBOL] [--date YYYYMMDD] [--dry-run] [--promote MODE] [--canary BOOL]
//        [--live] [--ensure-features] [--featureset V] [--help]
// The argument contract of the real core/scheduler/run_daily_ml.js (alisitki/quantlab-backend@115a7dd, parseArgs):
// the flags above, a value flag takes the next argument, anything else is ignored; the header lines on stdout; exit 0
// when done (a dry run always), 1 on a failed job, 143 on SIGTERM, 130 on SIGINT. No lock, no PID file.
// Defaults: --symbol $ML_SYMBOL or btcusdt, --date yesterday (UTC). Writes core/ml/out/<symbol>_<date>.json.
// Lab-only knob: ML_STUB_HOLD_S, seconds the run lasts before it ends (the real one waits for a GPU job).
const path = require('path');
const { ROOT, cli, series, validDate, writeJson, yesterday } = require('../lib/service');

const USAGE = 'usage: node scheduler/run_daily_ml.js [--symbol SYMBOL] [--date YYYYMMDD] [--dry-run]';
const log = cli('run_daily_ml');
const VALUE_FLAGS = { '--symbol': 'symbol', '--date': 'date', '--promote': 'promote', '--canary': 'canary', '--featureset': 'featureset' };
const BOOL_FLAGS = { '--live': 'live', '--dry-run': 'dryRun', '--ensure-features': 'ensureFeatures', '--help': 'help' };

// The real parseArgs: a switch over the known flags; unknown arguments are skipped.
function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i += 1) {
    if (VALUE_FLAGS[argv[i]]) a[VALUE_FLAGS[argv[i]]] = argv[(i += 1)];
    else if (BOOL_FLAGS[argv[i]]) a[BOOL_FLAGS[argv[i]]] = true;
  }
  return a;
}

process.on('SIGTERM', () => { log.error('SIGTERM: stopping'); process.exit(143); });
process.on('SIGINT', () => { log.error('SIGINT: stopping'); process.exit(130); });

function main(argv) {
  const a = parseArgs(argv);
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  const symbol = String(a.symbol || process.env.ML_SYMBOL || 'btcusdt').toLowerCase();
  const date = a.date || yesterday();
  console.log('='.repeat(60));
  console.log('ML Daily Training Orchestrator v1');
  console.log('='.repeat(60));
  console.log(`Start Time: ${new Date().toISOString()}`);
  console.log(`Mode: ${a.dryRun ? 'DRY RUN' : 'LIVE'}`);
  console.log(`Symbols: ${symbol}`);
  console.log(`Date: ${date}`);
  // Stricter than the real script, which checks neither: the stand-in writes a file named after them.
  if (!/^[a-z0-9]{2,20}$/.test(symbol)) {
    log.error(`bad --symbol ${JSON.stringify(symbol)} (expected [a-z0-9]{2,20}); ${USAGE}`);
    return 1;
  }
  if (!validDate(date)) {
    log.error(`bad --date ${JSON.stringify(date)} (expected a real date as YYYYMMDD); ${USAGE}`);
    return 1;
  }
  const dry = Boolean(a.dryRun);
  const out = path.join(ROOT, 'core', 'ml', 'out', `${symbol}_${date}.json`);
  log.info(`start: symbol=${symbol} date=${date} dry_run=${dry}`);
  log.info(`would train model xgb_direction_v1 on features_v1/${symbol}/${date} (labels from labeld)`);
  if (dry) {
    log.info(`dry run: not writing ${out}`);
    console.log('[DRY RUN] No GPU instance launched.');
  } else {
    const p = series(`ml:${symbol}:${date}`, 200);
    const up = p.slice(1).filter((x, i) => x > p[i]).length;
    writeJson(out, { symbol, date, model: 'xgb_direction_v1', trained_at: new Date().toISOString(), samples: p.length, metrics: { up_ratio: up / (p.length - 1) } });
    log.info(`wrote ${out}`);
  }
  log.info('done');
  return 0;
}

const code = main(process.argv.slice(2));
const hold = Number(process.env.ML_STUB_HOLD_S || 0);
if (hold > 0 && code === 0) {
  log.info(`holding ${hold}s (ML_STUB_HOLD_S)`);
  setTimeout(() => { process.exitCode = code; }, hold * 1000);
} else {
  process.exitCode = code;
}
