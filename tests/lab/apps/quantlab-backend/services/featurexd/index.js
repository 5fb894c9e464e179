'use strict';
// featurexd: feature datasets built from replayd data. Depends on replayd.
const { createService, series, validDate } = require('../../core/lib/service');

createService('featurexd', {
  info: () => ({ s3: { bucket: process.env.S3_COMPACT_BUCKET || null, endpoint: process.env.S3_COMPACT_ENDPOINT || null } }),
  routes: {
    'GET /features': {
      auth: true,
      handler: ({ query }) => {
        const symbol = String(query.symbol || '').toLowerCase();
        if (!symbol || !validDate(query.date)) return [400, { error: 'bad_request', message: 'need symbol and date=YYYYMMDD' }];
        const p = series(`${symbol}:${query.date}`, 600);
        const rets = p.slice(1).map((x, i) => Math.log(x / p[i]));
        const mean = rets.reduce((a, b) => a + b, 0) / rets.length;
        const vol = Math.sqrt(rets.reduce((a, b) => a + (b - mean) ** 2, 0) / rets.length);
        return { symbol, date: query.date, dataset: `features_v1/${symbol}/${query.date}`, features: { mid_last: p[p.length - 1], ret_mean: mean, ret_vol: vol } };
      },
    },
  },
});
