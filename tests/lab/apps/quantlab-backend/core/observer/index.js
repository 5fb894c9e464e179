'use strict';
// core observer stand-in. Real: core/observer/index.js (Express), deprecated in favour of observer-api.
// Reads no .env file: OBSERVER_TOKEN and OBSERVER_PORT come from the process environment only (the token is
// read once, at start). Port OBSERVER_PORT, default 9150, on every address. All routes need
// `Authorization: Bearer $OBSERVER_TOKEN`: GET /observer/health, GET /observer/runs. No SIGTERM handler:
// the default action ends it at once.
const http = require('http');

console.warn('[DEPRECATED] core/observer is deprecated. Use core/observer-api (port 3000) instead.');
const TOKEN = process.env.OBSERVER_TOKEN || '';
const port = Number(process.env.OBSERVER_PORT || 9150);

function json(res, code, body) {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

http.createServer((req, res) => {
  const p = new URL(req.url, 'http://localhost').pathname;
  if (p.startsWith('/observer')) {
    const h = req.headers.authorization;
    const token = h && h.startsWith('Bearer ') ? h.substring(7) : '';
    if (!TOKEN || token !== TOKEN) return json(res, 401, { error: 'UNAUTHORIZED', message: 'Bearer token required' });
    if (req.method === 'GET' && p === '/observer/health') return json(res, 200, { active_runs: 0, ws_connected: false, last_event_age_ms: null, budget_pressure: 'LOW', kill_switch_active: false, kill_switch_reason: null, killed_symbols: [] });
    if (req.method === 'GET' && p === '/observer/runs') return json(res, 200, { runs: [] });
  }
  const page = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${req.method} ${p}</pre>\n</body>\n</html>\n`;
  res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' });
  return res.end(page);
}).listen(port, () => {
  console.log(`[observer] listening on ${port}`);
});
