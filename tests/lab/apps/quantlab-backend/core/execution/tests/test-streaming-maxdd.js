'use strict';
// Streaming (O(1)) max drawdown must equal the full equity-curve computation.
const { cli, series } = require('../../lib/service');
const { runBacktest } = require('../ExecutionEngine');

const log = cli('test-streaming-maxdd');
const prices = series('test-streaming-maxdd', 5000);
const a = runBacktest(prices, { streaming_maxdd: false, stream_fills: false });
const b = runBacktest(prices, { streaming_maxdd: true, stream_fills: false });
if (a.max_drawdown !== b.max_drawdown || a.pnl !== b.pnl) {
  log.error(`FAIL: curve maxDD ${a.max_drawdown} != streaming maxDD ${b.max_drawdown}`);
  process.exit(1);
}
log.info(`maxDD ${b.max_drawdown} over ${b.fills} fills (both modes)`);
console.log('PASS test-streaming-maxdd');
