'use strict';
// Stand-in ExecutionEngine (the real one is core/execution/engine.js) with the runbook's memory flags (default
// OFF; on only for the exact value 1, as engine.js tests them):
//   EXECUTION_STREAMING_MAXDD=1   O(1) max drawdown instead of keeping the equity curve
//   EXECUTION_STREAM_FILLS=1      append fills to a JSONL file instead of keeping them in memory
//   EXECUTION_FILLS_STREAM_PATH   that file ({ts} is replaced by a timestamp), default /tmp/fills_{ts}.jsonl
const fs = require('fs');
const { envOne } = require('../lib/service');

const DEFAULT_FILLS_PATH = '/tmp/fills_{ts}.jsonl';

function readExecutionFlags(env = process.env) {
  return {
    streaming_maxdd: envOne('EXECUTION_STREAMING_MAXDD', env),
    stream_fills: envOne('EXECUTION_STREAM_FILLS', env),
    fills_stream_path: env.EXECUTION_FILLS_STREAM_PATH || DEFAULT_FILLS_PATH,
    fills_stream_path_custom: Boolean(env.EXECUTION_FILLS_STREAM_PATH),
  };
}

class ExecutionEngine {
  constructor(flags = readExecutionFlags()) {
    this.flags = flags;
    this.fills = [];
    this.curve = [];
    this.count = 0;
    this.equity = 0;
    this.peak = 0;
    this.maxDD = 0;
    this.fillsPath = null;
    this.fd = null;
    if (flags.stream_fills) {
      this.fillsPath = flags.fills_stream_path.replace('{ts}', `${Date.now()}_${process.pid}`);
      this.fd = fs.openSync(this.fillsPath, 'a');
    }
  }

  fill(f) {
    this.count += 1;
    this.equity += f.pnl;
    if (this.flags.streaming_maxdd) {
      this.peak = Math.max(this.peak, this.equity);
      this.maxDD = Math.max(this.maxDD, this.peak - this.equity);
    } else {
      this.curve.push(this.equity);
    }
    if (this.fd !== null) fs.writeSync(this.fd, `${JSON.stringify(f)}\n`);
    else this.fills.push(f);
  }

  finish() {
    if (!this.flags.streaming_maxdd) {
      let peak = 0;
      for (const e of this.curve) {
        peak = Math.max(peak, e);
        this.maxDD = Math.max(this.maxDD, peak - e);
      }
    }
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    const r6 = (x) => Math.round(x * 1e6) / 1e6;
    return { fills: this.count, pnl: r6(this.equity), max_drawdown: r6(this.maxDD), fills_path: this.fillsPath, in_memory_fills: this.fills.length };
  }
}

// Buy-on-up / sell-on-down toy strategy over a price series: one fill per tick.
function runBacktest(prices, flags) {
  const engine = new ExecutionEngine(flags);
  for (let i = 1; i < prices.length; i += 1) {
    const side = prices[i] >= prices[i - 1] ? 'buy' : 'sell';
    const next = prices[i + 1] === undefined ? prices[i] : prices[i + 1];
    engine.fill({ i, side, price: prices[i], pnl: side === 'buy' ? next - prices[i] : prices[i] - next });
  }
  return engine.finish();
}

module.exports = { ExecutionEngine, readExecutionFlags, runBacktest, DEFAULT_FILLS_PATH };
