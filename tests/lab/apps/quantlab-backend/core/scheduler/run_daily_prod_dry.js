'use strict';
// Dry run of the daily production run (no GPU, writes nothing). Usage: node scheduler/run_daily_prod_dry.js [--date YYYYMMDD]
const { main } = require('./run_daily_prod');

process.exitCode = main('run_daily_prod_dry', process.argv.slice(2), true);
