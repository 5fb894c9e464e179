'use strict';
// console-ui stand-in. The real console-ui (Next.js) is NOT in alisitki/quantlab-backend@115a7dd: only its
// unit is (ops/systemd/quantlab-console-ui.service: `npm run start` in console-ui/, EnvironmentFile
// /etc/quantlab/console.env). So everything here is invented except that: it listens on PORT (Next.js's
// variable; Next's default 3000 is also observer-api's port, so set PORT) on every address, serves GET /
// and /index.html, and (lab-only, for tests/lab/show_stacks.yml) GET /health. It checks no other service.
const fs = require('fs');
const http = require('http');
const path = require('path');

const html = fs.readFileSync(path.join(__dirname, 'public', 'index.html'), 'utf8');
const port = Number(process.env.PORT) || 3000;

http.createServer((req, res) => {
  const p = new URL(req.url, 'http://localhost').pathname;
  if (req.method === 'GET' && (p === '/' || p === '/index.html')) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end(html);
  }
  if (req.method === 'GET' && p === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ status: 'ok', service: 'console-ui' }));
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  return res.end('404: This page could not be found.');
}).listen(port, () => {
  console.log(`  ▲ Next.js (stand-in)\n  - Local:        http://localhost:${port}\n\n ✓ Ready`);
});
