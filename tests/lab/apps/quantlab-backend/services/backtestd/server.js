'use strict';
// backtestd stand-in. Real: services/backtestd/server.js (Fastify). Port BACKTESTD_PORT (3041) on 0.0.0.0.
// GET /health open; GET /backtests/<64 hex job id> needs BACKTESTD_TOKEN (jobs in services/strategyd/backtests).
const { jobService } = require('../../core/lib/jobservice');

jobService({ name: 'backtestd', tag: 'BACKTESTD', portEnv: 'BACKTESTD_PORT', port: 3041, tokenEnv: 'BACKTESTD_TOKEN',
  route: '/backtests', dir: '../strategyd/backtests' });
