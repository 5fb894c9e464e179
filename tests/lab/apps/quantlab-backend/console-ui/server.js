'use strict';
// console-ui (systemd unit quantlab-console-ui): static frontend on CONSOLE_UI_PORT (8080), open /health.
// Depends on observer-api, replayd, strategyd, backtestd (polled with their tokens from the env / core/.env).
const fs = require('fs');
const path = require('path');
const { createService } = require('../core/lib/service');

const html = fs.readFileSync(path.join(__dirname, 'public', 'index.html'), 'utf8');
const page = { always: true, handler: () => [200, html, 'text/html; charset=utf-8'] };

createService('console-ui', { routes: { 'GET /': page, 'GET /index.html': page } });
