'use strict';
// backtestd: backtests through the ExecutionEngine (memory flags EXECUTION_*). Depends on replayd, strategyd.
const { createService, series, validDate } = require('../../core/lib/service');
const { readExecutionFlags, runBacktest } = require('../../core/execution/ExecutionEngine');

let execution = null; // read in preflight, after core/.env is loaded
let runs = 0;
let last = null;

const svc = createService('backtestd', {
  preflight() {
    execution = readExecutionFlags();
    return null;
  },
  info: () => ({ execution, backtests_run: runs }),
  routes: {
    'GET /status': { auth: true, always: true, handler: () => ({ service: 'backtestd', healthy: svc.isHealthy(), execution, backtests_run: runs, last_backtest: last }) },
    'GET /backtest': {
      auth: true,
      handler: ({ query }) => {
        const symbol = String(query.symbol || 'btcusdt').toLowerCase();
        const date = query.date || '20260115';
        if (!/^[a-z0-9]{2,20}$/.test(symbol) || !validDate(date)) return [400, { error: 'bad_request', message: 'need symbol=[a-z0-9]+ and date=YYYYMMDD' }];
        runs += 1;
        last = { symbol, date, at: new Date().toISOString(), ...runBacktest(series(`${symbol}:${date}`, 5000), execution) };
        svc.log.info(`backtest ${symbol} ${date}: ${last.fills} fills, maxDD ${last.max_drawdown}${last.fills_path ? `, fills streamed to ${last.fills_path}` : ''}`);
        return { execution, result: last };
      },
    },
  },
});
svc.log.info(`execution flags: streaming_maxdd=${execution.streaming_maxdd ? 'on' : 'off'} stream_fills=${execution.stream_fills ? 'on' : 'off'} fills_stream_path=${execution.fills_stream_path}`);
