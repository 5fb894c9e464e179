#!/usr/bin/env node
'use strict';
// job-worker stand-in. Real: core/worker/job_worker.js, run by quantlab-worker.service as
//   node core/worker/job_worker.js --poll_ms 2000 --max_retries 3 --backoff_ms 2000
// It polls the job ledger core/research/jobs.jsonl (one JSON line per job state change; the latest line of a
// job_id wins) and runs queued jobs (types sweep, promote, pack: node scripts of services/strategyd). The
// stand-in runs nothing: it appends "running" then "done" lines. Reads no .env file, opens no port, logs
// nothing at start and has no SIGTERM handler (the default action ends it at once), like the real one.
const fs = require('fs');
const path = require('path');

const LEDGER = path.resolve(__dirname, '../research/jobs.jsonl');

function parseArgs(argv) {
  const params = {};
  for (let i = 0; i < argv.length; i += 2) params[argv[i].replace('--', '')] = argv[i + 1];
  return params;
}

function latest() {
  const map = new Map();
  let raw = '';
  try { raw = fs.readFileSync(LEDGER, 'utf8'); } catch (e) { return map; }
  for (const line of raw.split('\n').filter(Boolean)) {
    try { const e = JSON.parse(line); map.set(e.job_id, e); } catch (e) { /* a torn line */ }
  }
  return map;
}

function update(job, fields) {
  fs.mkdirSync(path.dirname(LEDGER), { recursive: true });
  fs.appendFileSync(LEDGER, `${JSON.stringify({ ...job, ...fields, created_at: new Date().toISOString() })}\n`);
}

const args = parseArgs(process.argv.slice(2));
const pollMs = Number(args.poll_ms || 2000);
const totals = { queued: 0, done: 0, failed: 0 };

function loop() {
  const queued = [...latest().values()].filter((j) => j.status === 'queued');
  totals.queued += queued.length;
  for (const job of queued) {
    const attempt = (job.attempt || 0) + 1;
    const t0 = Date.now();
    console.log(`[JOB] job_id=${job.job_id} type=${job.type} status=running attempt=${attempt}`);
    update(job, { status: 'running', attempt });
    update(job, { status: 'done', attempt });
    totals.done += 1;
    console.log(`[JOB] job_id=${job.job_id} type=${job.type} status=done attempt=${attempt} duration_ms=${Date.now() - t0}`);
  }
  if (queued.length > 0) {
    console.log(`[METRIC] jobs_queued_total=${totals.queued} jobs_done_total=${totals.done} jobs_failed_total=${totals.failed}`);
  }
}

if (args.once === 'true') loop();
else setInterval(loop, pollMs);
