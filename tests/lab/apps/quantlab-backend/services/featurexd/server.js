'use strict';
// featurexd stand-in. Real: services/featurexd/server.js (Fastify). Port FEATUREXD_PORT (3051) on 0.0.0.0.
// GET /health open; GET /features/<64 hex job id> needs FEATUREXD_TOKEN (jobs in services/featurexd/datasets).
const { jobService } = require('../../core/lib/jobservice');

jobService({ name: 'featurexd', tag: 'FEATUREXD', portEnv: 'FEATUREXD_PORT', port: 3051, tokenEnv: 'FEATUREXD_TOKEN',
  route: '/features', dir: 'datasets' });
