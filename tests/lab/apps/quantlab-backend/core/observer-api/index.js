'use strict';
// observer-api (systemd unit quantlab-observer): read-only runs API on OBSERVER_API_PORT (3000).
// Needs OBSERVER_MODE enabled and OBSERVER_TOKEN set; logs to stdout and core/observer-api/server.log.
const path = require('path');
const { createService, envFlag, envInt } = require('../lib/service');
const { RUNS_DIR, listRuns, readRun } = require('./runs');

createService('observer-api', {
  logFile: path.join(__dirname, 'server.log'),
  preflight: () => (envFlag('OBSERVER_MODE') ? null : `OBSERVER_MODE is not enabled (got ${JSON.stringify(process.env.OBSERVER_MODE || '')}; set OBSERVER_MODE=1)`),
  info: () => ({ pong: true, observer_mode: true, runs_dir: RUNS_DIR }),
  routes: {
    'GET /api/runs': { handler: ({ query }) => listRuns(Math.max(1, Math.min(Number(query.limit) || 100, 1000))) },
    'GET /api/runs/*': { handler: ({ rest }) => readRun(rest) || [404, { error: 'not_found', id: rest }] },
    'GET /api/status': { auth: true, always: true, handler: ({ svc }) => ({ ...svc.health()[1], runs: listRuns(0).total, poll_ms: envInt('DEP_POLL_MS', 1000) }) },
  },
});
