'use strict';
// Reads strategyd run files (services/strategyd/runs/*.json), newest first. Shared by observer and observer-api.
const fs = require('fs');
const path = require('path');
const { ROOT } = require('../lib/service');

const RUNS_DIR = path.join(ROOT, 'services', 'strategyd', 'runs');

function listRuns(limit = 100) {
  let files = [];
  try {
    files = fs.readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json')).sort().reverse();
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const runs = [];
  for (const f of files.slice(0, limit)) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(RUNS_DIR, f), 'utf8'));
      runs.push({ id: r.id || f.slice(0, -5), strategy: r.strategy, symbol: r.symbol, date: r.date, status: r.status, created_at: r.created_at });
    } catch (e) {
      runs.push({ id: f.slice(0, -5), status: 'unreadable', error: e.code || e.message });
    }
  }
  return { total: files.length, runs };
}

function readRun(id) {
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || id.startsWith('.')) return null;
  try {
    return JSON.parse(fs.readFileSync(path.join(RUNS_DIR, `${id}.json`), 'utf8'));
  } catch (e) {
    return null;
  }
}

module.exports = { RUNS_DIR, listRuns, readRun };
