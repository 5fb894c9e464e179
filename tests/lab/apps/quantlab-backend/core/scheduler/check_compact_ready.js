'use strict';
// Check S3 compacted data readiness (stand-in: no network). Exit 1 when S3_COMPACT_BUCKET is not configured.
// Usage: node scheduler/check_compact_ready.js [--symbol SYMBOL] [--date YYYYMMDD]
const { cli, parseArgs, validDate, yesterday } = require('../lib/service');

const log = cli('check_compact_ready');
let a;
try {
  a = parseArgs(process.argv.slice(2), { symbol: 'string', date: 'string' });
} catch (e) {
  log.error(`bad arguments: ${e.message}; usage: node scheduler/check_compact_ready.js [--symbol SYMBOL] [--date YYYYMMDD]`);
  process.exit(2);
}
const symbol = String(a.symbol || 'btcusdt').toLowerCase();
const date = a.date || yesterday();
const bucket = process.env.S3_COMPACT_BUCKET;
const endpoint = process.env.S3_COMPACT_ENDPOINT || '(AWS default)';
if (!validDate(date)) {
  log.error(`bad --date ${JSON.stringify(date)} (expected YYYYMMDD)`);
  process.exit(2);
}
if (!bucket) {
  log.error('S3_COMPACT_BUCKET is not set: compacted data readiness unknown');
  process.exit(1);
}
log.info(`would check s3://${bucket}/exchange=binance/stream=bbo/symbol=${symbol}/date=${date}/ at ${endpoint} (simulated: ready)`);
