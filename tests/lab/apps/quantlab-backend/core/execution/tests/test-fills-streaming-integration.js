'use strict';
// Both optimisations on give exactly the metrics of both off.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { cli, series } = require('../../lib/service');
const { runBacktest } = require('../ExecutionEngine');

const log = cli('test-fills-streaming-integration');
const prices = series('test-fills-streaming-integration', 3000);
const off = runBacktest(prices, { streaming_maxdd: false, stream_fills: false });
const on = runBacktest(prices, { streaming_maxdd: true, stream_fills: true, fills_stream_path: path.join(os.tmpdir(), 'ql-it-fills_{ts}.jsonl') });
fs.unlinkSync(on.fills_path);
if (off.pnl !== on.pnl || off.max_drawdown !== on.max_drawdown || off.fills !== on.fills) {
  log.error(`FAIL: off=${JSON.stringify(off)} on=${JSON.stringify(on)}`);
  process.exit(1);
}
log.info(`identical metrics: fills=${on.fills} pnl=${on.pnl} maxDD=${on.max_drawdown}`);
console.log('PASS test-fills-streaming-integration');
