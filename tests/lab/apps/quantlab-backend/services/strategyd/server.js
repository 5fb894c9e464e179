'use strict';
// strategyd stand-in. Real: services/strategyd/server.js (Fastify) + runtime/SSEStrategyRunner.js,
// RuntimeAdapterV2.js, ReplayStreamClient.js. Port STRATEGYD_PORT (3031) on 0.0.0.0. GET /health open;
// GET /runs and GET /state need STRATEGYD_TOKEN (Bearer or ?token=).
// At start it runs ONE strategy run: it streams REPLAYD_URL/stream (default http://localhost:3030) with
// REPLAYD_TOKEN and writes the run's manifest to services/strategyd/runs/<run_id>.json when the stream ends.
// replayd down: STREAM_RECONNECTING, backoff 1 s doubling to 30 s, 50 tries; it never checks replayd otherwise.
// SIGTERM/SIGINT while that run is in progress (streaming or reconnecting) hangs for good, as the real one
// does (its shutdown awaits the run's end before stopping the run): only SIGKILL ends it. After the run
// ended (or gave up), SIGTERM exits 0.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { envOne, fastifyLike, loadDotenv, plog, portFrom, writeJson } = require('../../core/lib/service');
const { readExecutionFlags, runBacktest } = require('../../core/execution/ExecutionEngine');

loadDotenv(); // import 'dotenv/config': .env of the working directory
const RUNS_DIR = path.join(__dirname, 'runs');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const random = Math.floor(Math.random() * 1000).toString().padStart(3, '0');
const config = {
  runId: process.env.RUN_ID || `ema_cross_${process.env.SYMBOL || 'BTCUSDT'}_${process.env.DATE || '2024-01-15'}_${stamp}_${random}`,
  port: portFrom('STRATEGYD_PORT', 3031),
  replaydUrl: process.env.REPLAYD_URL || 'http://localhost:3030',
  replaydToken: process.env.REPLAYD_TOKEN,
  dataset: process.env.DATASET || 'bbo',
  symbol: process.env.SYMBOL || 'BTCUSDT',
  date: process.env.DATE || '2024-01-15',
};
const run = { active: false, finalized: false, events: 0, reconnects: 0, prices: [], cursor: null, result: null };

// RuntimeAdapterV2/ManifestArchiver: archiving needs the flag and four variables, else it is disabled.
function archiver() {
  if (!envOne('RUN_ARCHIVE_ENABLED')) return null;
  const need = ['RUN_ARCHIVE_S3_BUCKET', 'RUN_ARCHIVE_S3_ENDPOINT', 'RUN_ARCHIVE_S3_ACCESS_KEY', 'RUN_ARCHIVE_S3_SECRET_KEY'];
  if (need.some((k) => !process.env[k])) {
    console.warn('[ManifestArchiver] component=strategyd action=disabled reason=missing_env');
    return null;
  }
  return process.env.RUN_ARCHIVE_S3_BUCKET;
}
const archiveBucket = archiver();

// RunIndexBuilder: runs/index.json lists every manifest (sorted by run_id). It is a *.json in runs/ itself, so
// observer-api's /api/runs, which reads every *.json there, returns it as one more "run" (an array).
function rebuildIndex() {
  let files = [];
  try { files = fs.readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json') && f !== 'index.json'); } catch (e) { files = []; }
  const entries = [];
  for (const f of files) {
    try {
      const m = JSON.parse(fs.readFileSync(path.join(RUNS_DIR, f), 'utf8'));
      if (m.run_id) {
        entries.push({ run_id: m.run_id, started_at: m.started_at || null, ended_at: m.ended_at || null, ended_reason: m.ended_reason || null,
          strategy_id: (m.strategy && m.strategy.id) || null, stream: (m.input && m.input.dataset) || null, symbol: (m.input && m.input.symbol) || null,
          state_hash: null });
      }
    } catch (e) { /* unreadable manifest: skipped */ }
  }
  entries.sort((a, b) => a.run_id.localeCompare(b.run_id));
  const index = path.join(RUNS_DIR, 'index.json');
  writeJson(index, entries);
  console.log(`[RunIndexBuilder] component=strategyd action=rebuild count=${entries.length} path=${index}`);
  return entries;
}

// One SSE connection: resolves 'end' (stream closed), 'closed' (non-200: EventSource gives up), or an Error.
function connect() {
  return new Promise((resolve) => {
    const url = new URL(`${config.replaydUrl}/stream`);
    for (const [k, v] of Object.entries({ dataset: config.dataset, symbol: config.symbol, date: config.date, speed: 'asap' })) url.searchParams.set(k, v);
    if (config.replaydToken) url.searchParams.set('token', config.replaydToken);
    if (run.cursor !== null) url.searchParams.set('cursor', run.cursor);
    console.log('[ReplayStreamClient] STREAM_CONNECTING');
    const started = Date.now();
    let first = true;
    let buf = '';
    const headers = config.replaydToken ? { Authorization: `Bearer ${config.replaydToken}` } : {};
    const req = http.get(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) { res.resume(); return resolve('closed'); }
      console.log('[ReplayStreamClient] STREAM_CONNECTED');
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const msg = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const line = msg.split('\n').find((l) => l.startsWith('data: '));
          if (!line) continue;
          const data = JSON.parse(line.slice(6));
          if (first) {
            first = false;
            console.log(`[ReplayStreamClient] FIRST_EVENT_RECEIVED latency=${Date.now() - started}ms first_cursor=${data.cursor}`);
          }
          if (data.error === 'EMPTY_STREAM') { req.destroy(); return resolve(new Error('EMPTY_STREAM')); }
          if (data.cursor) run.cursor = data.cursor;
          run.events += 1;
          run.prices.push(((data.payload.bid_price || 0) + (data.payload.ask_price || 0)) / 2);
        }
        return undefined;
      });
      res.on('end', () => resolve(new Error('SSE_CONNECTION_FAILED'))); // EventSource reconnects on a closed stream
      res.on('error', () => resolve(new Error('SSE_CONNECTION_FAILED')));
    });
    req.on('error', () => resolve(new Error('SSE_CONNECTION_FAILED')));
  });
}

async function startRun() {
  const startedAt = new Date().toISOString();
  run.active = true;
  console.log(`[RuntimeAdapterV2] run_id=${config.runId} component=strategyd action=start dataset=${config.dataset} symbol=${config.symbol} date=${config.date}`);
  console.log('[SSERunner] NO_RESUME_STATE: Starting from stream beginning');
  console.log(`[SSERunner] Starting client runId=${config.runId}`);
  console.log(`[ReplayStreamClient] STARTING dataset=${config.dataset} symbol=${config.symbol} date=${config.date} cursor=null auth=${config.replaydToken ? 'Bearer' : 'None'}`);
  let backoff = 1000;
  let finished = false;
  while (run.reconnects < 50) {
    const r = await connect();
    if (r === 'closed' || (r instanceof Error && r.message === 'EMPTY_STREAM')) {
      if (r !== 'closed') console.log('[ReplayStreamClient] TERMINAL: EMPTY_STREAM received. Stopping.');
      finished = true;
      break;
    }
    run.reconnects += 1;
    console.log(`[ReplayStreamClient] STREAM_RECONNECTING count=${run.reconnects} backoff=${backoff}ms reason=${r.message}`);
    console.error(`[SSERunner] Stream error: ${r.message}`);
    await new Promise((ok) => { setTimeout(ok, backoff); });
    backoff = Math.min(backoff * 2, 30000);
  }
  run.finalized = true;
  if (!finished) { // runner.start()'s finally awaits a run that never ends: no manifest
    console.error('[SSERunner] Stream error: MAX_RECONNECT_RETRIES_EXCEEDED');
    run.active = false;
    return;
  }
  console.log(`[SSERunner] Stream finished normally. Total events: ${run.events}`);
  run.result = runBacktest(run.prices, readExecutionFlags());
  const manifest = {
    run_id: config.runId, started_at: startedAt, ended_at: new Date().toISOString(), ended_reason: 'finished',
    strategy: { id: process.env.STRATEGY_ID || null, seed: config.runId },
    input: { dataset: config.dataset, symbol: config.symbol, date: config.date },
    output: { last_cursor: run.cursor, event_count: run.events, fills_count: run.result.fills, equity_end: 10000 + run.result.pnl, reconnects: run.reconnects },
  };
  writeJson(path.join(RUNS_DIR, `${config.runId}.json`), manifest);
  console.log(`[RuntimeAdapterV2] run_id=${config.runId} component=strategyd action=manifest_saved events=${run.events}`);
  rebuildIndex();
  if (archiveBucket) console.log(`[ManifestArchiver] would upload ${config.runId} to s3://${archiveBucket}/ (stand-in: no network)`);
  run.active = false;
  plog.info('Stream finished normally');
}

const app = fastifyLike({
  tokenEnv: 'STRATEGYD_TOKEN',
  defaultLimit: 120,
  pathLimits: { '/control': 10 },
  host: '0.0.0.0',
  port: config.port,
  routes: {
    'GET /health': () => ({ status: 'ok', service: 'strategyd' }),
    'GET /runs': () => {
      let entries = [];
      try { entries = JSON.parse(fs.readFileSync(path.join(RUNS_DIR, 'index.json'), 'utf8')); } catch (e) { entries = rebuildIndex(); }
      return { count: entries.length, runs: entries.map((e) => e.run_id) };
    },
    'GET /state': () => ({ runId: config.runId, status: run.active ? 'RUNNING' : 'STOPPED', symbol: config.symbol, eventCount: run.events }),
  },
});

console.log(`[SERVER] Started. PID: ${process.pid}, RunID: ${config.runId}`);
console.log('[SERVER] Runtime mode=v2 yieldEvery=1000 backpressureHigh=1500 backpressureLow=500');

async function shutdown() {
  plog.info('Shutting down...');
  if (run.active && !run.finalized) {
    await new Promise(() => {}); // finalizeManifest() awaits the run, which only stop() (called after it) ends
  }
  await app.close();
  console.log('\n--- FINAL RESULTS ---');
  console.log(`Events:    ${run.events}`);
  console.log(`Fills:     ${run.result ? run.result.fills : 0}`);
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

app.listen().then(() => {
  plog.info(`🚀 Strategyd API running on port ${config.port}`);
  rebuildIndex();
  startRun().catch((err) => plog.error(`Runner failed: ${err.message}`));
}).catch((err) => {
  plog.error(String(err));
  process.exit(1);
});
