'use strict';
// replayd stand-in. Real: services/replayd/server.js (Fastify). Port REPLAYD_PORT (3030), host REPLAYD_HOST
// (0.0.0.0). GET /health open; GET /metrics and GET /stream (SSE) need REPLAYD_TOKEN (Bearer or ?token=).
// The stream is synthetic: REPLAYD_STUB_EVENTS events (lab-only knob, default 200), then the connection ends;
// a reconnect with ?cursor= past the last event gets {"error":"EMPTY_STREAM"}, as the real one sends at the end.
const { fastifyLike, loadDotenv, plog, portFrom, series } = require('../../core/lib/service');

loadDotenv(); // import 'dotenv/config': .env of the working directory
const PORT = portFrom('REPLAYD_PORT', 3030);
const REPLAY_VERSION = '1.2';
let streams = 0;

function stream({ res, query }) {
  const total = Number(process.env.REPLAYD_STUB_EVENTS) || 200;
  const symbol = String(query.symbol || 'BTCUSDT');
  const date = String(query.date || '2024-01-15');
  const from = query.cursor === undefined ? 0 : Number(query.cursor) + 1;
  streams += 1;
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  if (!(from < total)) {
    console.log(`[replayd] ${symbol} ${date} EMPTY_STREAM`);
    res.write(`data: ${JSON.stringify({ error: 'EMPTY_STREAM' })}\n\n`);
    return res.end();
  }
  const prices = series(`${symbol}:${date}`, total);
  const t0 = BigInt(Date.parse(`${date.slice(0, 10)}T00:00:00Z`) || 0) * 1000000n;
  let i = from;
  const timer = setInterval(() => {
    for (let n = 0; n < 20 && i < total; n += 1, i += 1) {
      const ts = (t0 + BigInt(i) * 1000000000n).toString();
      res.write(`data: ${JSON.stringify({ cursor: String(i), payload: { ts_event: ts, seq: i, symbol, bid_price: prices[i] - 0.01, ask_price: prices[i] + 0.01 } })}\n\n`);
    }
    if (i >= total) { clearInterval(timer); res.end(); }
  }, 10);
  res.on('close', () => clearInterval(timer));
  return undefined;
}

const app = fastifyLike({
  tokenEnv: 'REPLAYD_TOKEN',
  defaultLimit: 120,
  pathLimits: { '/stream': 30 },
  host: process.env.REPLAYD_HOST || '0.0.0.0',
  port: PORT,
  routes: {
    'GET /health': () => ({ status: 'ok', replay_version: REPLAY_VERSION, ordering_contract: ['ts_event', 'seq'] }),
    'GET /metrics': () => [200, `# TYPE replayd_streams_total counter\nreplayd_streams_total ${streams}\n`, 'text/plain; version=0.0.4; charset=utf-8'],
    'GET /stream': stream,
  },
});

async function shutdown(signal) {
  plog.info(`Received ${signal}, shutting down...`);
  await app.close();
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

app.listen().then(() => {
  plog.info(`🚀 replayd v${REPLAY_VERSION} running on ${process.env.REPLAYD_HOST || '0.0.0.0'}:${PORT}`);
}).catch((err) => {
  plog.error(String(err));
  process.exit(1);
});
