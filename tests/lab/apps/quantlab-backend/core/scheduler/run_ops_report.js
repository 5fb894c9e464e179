'use strict';
// Ops report (stand-in): counts strategyd runs, ML outputs and worker jobs; writes core/reports/ops_<YYYYMMDD>.json.
const fs = require('fs');
const path = require('path');
const { ROOT, cli, writeJson } = require('../lib/service');

const log = cli('run_ops_report');
const count = (dir, ext = '.json') => {
  try {
    return fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(ext)).length;
  } catch (e) {
    return 0;
  }
};
const jobs = () => { // the latest state of each job in the ledger core/research/jobs.jsonl
  const latest = new Map();
  try {
    fs.readFileSync(path.join(ROOT, 'core/research/jobs.jsonl'), 'utf8').split('\n').filter(Boolean)
      .forEach((l) => { const e = JSON.parse(l); latest.set(e.job_id, e.status); });
  } catch (e) { /* no ledger yet */ }
  return [...latest.values()];
};
const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
const report = {
  generated_at: new Date().toISOString(),
  strategyd_runs: count('services/strategyd/runs'),
  ml_outputs: count('core/ml/out'),
  worker_jobs_done: jobs().filter((s) => s === 'done').length,
  worker_jobs_failed: jobs().filter((s) => s === 'failed').length,
};
const out = path.join(ROOT, 'core', 'reports', `ops_${today}.json`);
writeJson(out, report);
log.info(`ops report: runs=${report.strategyd_runs} ml_outputs=${report.ml_outputs} jobs_done=${report.worker_jobs_done} jobs_failed=${report.worker_jobs_failed}; wrote ${out}`);
