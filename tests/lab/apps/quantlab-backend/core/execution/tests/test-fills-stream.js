'use strict';
// Streamed fills land in the JSONL file, one line per fill, none kept in memory.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { cli, series } = require('../../lib/service');
const { runBacktest } = require('../ExecutionEngine');

const log = cli('test-fills-stream');
const file = path.join(os.tmpdir(), `ql-test-fills_{ts}.jsonl`);
const r = runBacktest(series('test-fills-stream', 1000), { streaming_maxdd: false, stream_fills: true, fills_stream_path: file });
const lines = fs.readFileSync(r.fills_path, 'utf8').trim().split('\n');
fs.unlinkSync(r.fills_path);
if (lines.length !== r.fills || r.in_memory_fills !== 0) {
  log.error(`FAIL: ${lines.length} lines in ${r.fills_path}, ${r.fills} fills, ${r.in_memory_fills} in memory`);
  process.exit(1);
}
log.info(`${lines.length} fills streamed to ${r.fills_path}`);
console.log('PASS test-fills-stream');
