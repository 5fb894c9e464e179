'use strict';
// Clean old data: strategyd runs, ML outputs, reports, backtest jobs and collector spool files older than
// --days (default $RETENTION_DAYS or 30), by modification time. Usage: node scheduler/cleanup_retention.js [--days N] [--dry-run]
const fs = require('fs');
const path = require('path');
const { ROOT, cli, parseArgs } = require('../lib/service');

const log = cli('cleanup_retention');
let a;
try {
  a = parseArgs(process.argv.slice(2), { days: 'string', 'dry-run': 'bool' });
} catch (e) {
  log.error(`bad arguments: ${e.message}; usage: node scheduler/cleanup_retention.js [--days N] [--dry-run]`);
  process.exit(2);
}
const days = Number(a.days || process.env.RETENTION_DAYS || 30);
if (!Number.isInteger(days) || days < 0) {
  log.error(`bad --days ${a.days} (expected an integer >= 0)`);
  process.exit(2);
}
const dirs = ['services/strategyd/runs', 'core/ml/out', 'core/reports', 'core/scheduler/out', 'services/strategyd/backtests']
  .map((d) => path.join(ROOT, d)).concat(process.env.SPOOL_DIR || '/opt/quantlab/spool');
const cutoff = Date.now() - days * 86400000;
let removed = 0;
for (const dir of dirs) {
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((f) => /\.(json|jsonl)$/.test(f));
  } catch (e) {
    continue;
  }
  for (const f of names) {
    const p = path.join(dir, f);
    if (fs.statSync(p).mtimeMs >= cutoff) continue;
    if (!a['dry-run']) fs.unlinkSync(p);
    removed += 1;
  }
}
log.info(`${a['dry-run'] ? 'would remove' : 'removed'} ${removed} files older than ${days} days from ${dirs.length} dirs`);
