'use strict';
// observer (core): monitors strategyd runs and logs what it sees. Needs OBSERVER_TOKEN; no HTTP port unless
// OBSERVER_HEALTH_PORT is set (then GET /health with Bearer $OBSERVER_TOKEN). Depends on strategyd.
const { createService, envInt } = require('../lib/service');
const { RUNS_DIR, listRuns } = require('../observer-api/runs');

const seen = new Set();
let scans = 0;

function scan(svc) {
  const { total, runs } = listRuns(1000);
  const fresh = runs.filter((r) => !seen.has(r.id)).reverse();
  if (scans === 0) svc.log.info(`runs dir ${RUNS_DIR}: ${total} runs`);
  else fresh.forEach((r) => svc.log.info(`observed run ${r.id} strategy=${r.strategy} status=${r.status}`));
  fresh.forEach((r) => seen.add(r.id));
  scans += 1;
}

let pollMs = 5000;
const svc = createService('observer', {
  preflight() {
    try {
      pollMs = envInt('OBSERVER_POLL_MS', 5000, 100);
    } catch (e) {
      return e.message;
    }
    return null;
  },
  info: () => ({ runs_dir: RUNS_DIR, runs_seen: seen.size, scans }),
  onHealthy() {
    scan(svc);
    svc.every(pollMs, () => svc.isHealthy() && scan(svc));
  },
});
