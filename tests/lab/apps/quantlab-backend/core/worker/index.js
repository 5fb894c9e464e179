'use strict';
// job-worker (systemd unit quantlab-worker): polls a job queue dir and "spawns strategyd scripts" (simulated:
// logged). A job is <queue>/<id>.json {"script": "...", "args": [...]}; it is moved to done/ or failed/.
// No HTTP port unless WORKER_HEALTH_PORT is set (open GET /health). Depends on strategyd.
const fs = require('fs');
const path = require('path');
const { ROOT, createService, envInt, writeJson } = require('../lib/service');

let QUEUE = null; // WORKER_QUEUE_DIR, default core/worker/queue; set in preflight, after core/.env is loaded
const stats = { processed: 0, failed: 0, last_job: null };

function work(svc) {
  for (const f of fs.readdirSync(QUEUE).filter((x) => x.endsWith('.json')).sort()) {
    const src = path.join(QUEUE, f);
    let job;
    let ok = false;
    try {
      job = JSON.parse(fs.readFileSync(src, 'utf8'));
      if (!/^[\w./-]+\.js$/.test(job.script || '') || job.script.includes('..')) throw new Error('"script" must be a relative .js path');
      const args = (job.args || []).map(String);
      svc.log.info(`job ${f.slice(0, -5)}: spawning strategyd script ${job.script} ${args.join(' ')} (simulated)`.trimEnd());
      ok = true;
    } catch (e) {
      svc.log.error(`job ${f.slice(0, -5)} failed: ${e.message.replace(/\s+/g, ' ')}`);
      job = { raw_error: e.message };
    }
    writeJson(path.join(QUEUE, ok ? 'done' : 'failed', f), { ...job, status: ok ? 'done' : 'failed', processed_at: new Date().toISOString() });
    fs.unlinkSync(src);
    stats[ok ? 'processed' : 'failed'] += 1;
    stats.last_job = f.slice(0, -5);
  }
}

let pollMs = 1000;
const svc = createService('job-worker', {
  preflight() {
    QUEUE = process.env.WORKER_QUEUE_DIR || path.join(ROOT, 'core', 'worker', 'queue');
    try {
      pollMs = envInt('WORKER_POLL_MS', 1000, 100);
      for (const d of ['done', 'failed']) fs.mkdirSync(path.join(QUEUE, d), { recursive: true });
    } catch (e) {
      return `job queue ${QUEUE}: ${e.message}`;
    }
    return null;
  },
  info: () => ({ queue_dir: QUEUE, jobs: stats }),
  onHealthy: () => svc.every(pollMs, () => svc.isHealthy() && work(svc)),
});
svc.log.info(`job queue ${QUEUE}`);
