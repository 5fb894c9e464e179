'use strict';
// Strategy v1 backtest with the ExecutionEngine flags from the environment (and core/.env):
//   EXECUTION_STREAMING_MAXDD=1 EXECUTION_STREAM_FILLS=1 node core/strategy/v1/tests/test-strategy-v1.js
const fs = require('fs');
const { cli, series } = require('../../../lib/service');
const { readExecutionFlags, runBacktest } = require('../../../execution/ExecutionEngine');

const log = cli('test-strategy-v1');
const flags = readExecutionFlags();
log.info(`execution flags: ${JSON.stringify(flags)}`);
const r = runBacktest(series('strategy-v1:btcusdt', 20000), flags);
log.info(`result: ${JSON.stringify(r)}`);
if (r.fills_path && !flags.fills_stream_path_custom) fs.unlinkSync(r.fills_path); // keep a file the user asked for
if (r.fills !== 19999) {
  log.error(`FAIL: expected 19999 fills, got ${r.fills}`);
  process.exit(1);
}
console.log('PASS test-strategy-v1');
