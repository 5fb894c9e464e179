'use strict';
// labeld: labels over featurexd datasets. Depends on featurexd.
const { createService, series, validDate } = require('../../core/lib/service');

createService('labeld', {
  routes: {
    'GET /labels': {
      auth: true,
      handler: ({ query }) => {
        const symbol = String(query.symbol || '').toLowerCase();
        if (!symbol || !validDate(query.date)) return [400, { error: 'bad_request', message: 'need symbol and date=YYYYMMDD' }];
        const p = series(`${symbol}:${query.date}`, 61);
        const labels = p.slice(0, 60).map((x, i) => (p[i + 1] > x ? 1 : -1));
        return { symbol, date: query.date, dataset: `features_v1/${symbol}/${query.date}`, horizon_s: 1, labels };
      },
    },
  },
});
