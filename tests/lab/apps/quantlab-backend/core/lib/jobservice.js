'use strict';
// The shape shared by the real backtestd, featurexd and labeld servers: dotenv from the working directory,
// Fastify on 0.0.0.0:<PORT>, auth (60/min, 20/min on the job route), GET /health {"status":"ok","service"},
// GET <route>/<64 hex id> -> the job file or 404 JOB_NOT_FOUND, "[TAG] Started. PID=.. port=.." once listening,
// SIGTERM/SIGINT: "Shutting down..." and exit 0.
const fs = require('fs');
const path = require('path');
const { ROOT, fastifyLike, loadDotenv, plog, portFrom } = require('./service');

function jobService(o) {
  loadDotenv(); // import 'dotenv/config' in config.js
  const port = portFrom(o.portEnv, o.port);
  const dir = path.resolve(ROOT, 'services', o.name, o.dir);
  const app = fastifyLike({
    tokenEnv: o.tokenEnv,
    defaultLimit: 60,
    pathLimits: { [o.route]: 20 },
    host: '0.0.0.0',
    port,
    routes: {
      'GET /health': () => ({ status: 'ok', service: o.name }),
      [`GET ${o.route}/:job_id`]: ({ params }) => {
        if (!/^[a-f0-9]{64}$/.test(params.job_id)) return [400, { error: 'INVALID_JOB_ID', id: params.job_id }];
        try {
          return JSON.parse(fs.readFileSync(path.join(dir, `${params.job_id}.json`), 'utf8'));
        } catch (e) {
          return [404, { error: 'JOB_NOT_FOUND', id: params.job_id }];
        }
      },
    },
  });
  fs.mkdirSync(dir, { recursive: true }); // jobStore.init()
  app.listen().then(() => console.log(`[${o.tag}] Started. PID=${process.pid} port=${port}`)).catch((err) => {
    plog.error(String(err));
    process.exit(1);
  });
  const shutdown = async () => {
    plog.info('Shutting down...');
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

module.exports = { jobService };
