'use strict';
// replayd: core data provider (no dependencies). /health is open; /replay needs Bearer $REPLAYD_TOKEN.
const { createService, series, validDate } = require('../../core/lib/service');

const s3 = () => ({ bucket: process.env.S3_COMPACT_BUCKET || null, endpoint: process.env.S3_COMPACT_ENDPOINT || null });

createService('replayd', {
  info: () => ({ s3: s3() }),
  routes: {
    'GET /replay': {
      auth: true,
      handler: ({ query }) => {
        const symbol = String(query.symbol || '').toLowerCase();
        if (!/^[a-z0-9]{2,20}$/.test(symbol) || !validDate(query.date)) return [400, { error: 'bad_request', message: 'need symbol=[a-z0-9]+ and date=YYYYMMDD' }];
        const limit = Math.min(Number(query.limit) || 10, 1000);
        const t0 = Date.UTC(+query.date.slice(0, 4), +query.date.slice(4, 6) - 1, +query.date.slice(6, 8));
        const events = series(`${symbol}:${query.date}`, limit).map((mid, i) => ({ ts: t0 + i * 1000, bid: mid - 0.01, ask: mid + 0.01 }));
        const source = `s3://${s3().bucket || 'quantlab-compact'}/exchange=binance/stream=bbo/symbol=${symbol}/date=${query.date}/`;
        return { symbol, date: query.date, stream: 'bbo', source, count: events.length, events };
      },
    },
  },
});
