'use strict';
// labeld stand-in. Real: services/labeld/server.js (Fastify). Port LABELD_PORT (3061) on 0.0.0.0.
// GET /health open; GET /labels/<64 hex job id> needs LABELD_TOKEN (jobs in services/labeld/datasets).
const { jobService } = require('../../core/lib/jobservice');

jobService({ name: 'labeld', tag: 'LABELD', portEnv: 'LABELD_PORT', port: 3061, tokenEnv: 'LABELD_TOKEN',
  route: '/labels', dir: 'datasets' });
