'use strict';
// strategyd: runs strategies on replayd data and writes run files to services/strategyd/runs/<id>.json
// (3 sample runs when it first becomes healthy, then one every STRATEGYD_RUN_INTERVAL_S, 0 = never).
const fs = require('fs');
const path = require('path');
const { createService, envFlag, envInt, series, writeJson, yesterday } = require('../../core/lib/service');

const RUNS = path.join(__dirname, 'runs');
const STRATEGIES = ['momentum_v1', 'meanrev_v1', 'breakout_v1'];
let written = 0;
let last = null;

const archive = () => ({ enabled: envFlag('RUN_ARCHIVE_ENABLED'), bucket: process.env.RUN_ARCHIVE_S3_BUCKET || null });

function writeRun(svc) {
  written += 1;
  const id = `run_${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}_${process.pid}_${written}`;
  const strategy = STRATEGIES[written % STRATEGIES.length];
  const p = series(id, 100);
  const run = {
    id, strategy, symbol: 'btcusdt', date: yesterday(), status: 'completed', created_at: new Date().toISOString(),
    metrics: { events: p.length, pnl: Math.round((p[p.length - 1] - p[0]) * 100) / 100 }, archive: archive(),
  };
  writeJson(path.join(RUNS, `${id}.json`), run);
  last = id;
  svc.log.info(`wrote run ${id} (${strategy})`);
  if (run.archive.enabled) svc.log.info(`RunArchiveWriter: would upload ${id} to s3://${run.archive.bucket}/runs/ (simulated, no network)`);
}

let interval = 300;
const svc = createService('strategyd', {
  preflight() {
    try {
      interval = envInt('STRATEGYD_RUN_INTERVAL_S', 300);
      fs.mkdirSync(RUNS, { recursive: true });
    } catch (e) {
      return `${e.message}`;
    }
    const a = archive();
    if (a.enabled && !a.bucket) return 'RUN_ARCHIVE_ENABLED is on but RUN_ARCHIVE_S3_BUCKET is not set';
    return null;
  },
  info: () => ({ runs_dir: RUNS, runs_written: written, last_run: last, archive: archive() }),
  onHealthy() {
    for (let i = 0; i < 3; i += 1) writeRun(svc);
    if (interval > 0) svc.every(interval * 1000, () => svc.isHealthy() && writeRun(svc));
  },
  routes: {
    'GET /runs': {
      auth: true,
      handler: () => ({ runs: fs.readdirSync(RUNS).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() }),
    },
  },
});
svc.log.info(`runs dir ${RUNS}; run archive ${archive().enabled ? `enabled (bucket ${archive().bucket})` : 'disabled'}`);
