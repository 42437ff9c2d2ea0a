'use strict';
/*
 * Live @sentry/node client for the relay's end-to-end tests:
 *   node send_errors.cjs DSN COUNT   -> captures COUNT unknown-sku errors (different skus)
 *                                       and COUNT declined payments (different amounts),
 *                                       flushes, prints the event ids as a JSON list.
 * SENTRY_NODE_PACKAGE picks the SDK package (`@sentry/node` or `sentry-node-10`).
 */
const Sentry = require(process.env.SENTRY_NODE_PACKAGE || '@sentry/node');
const shop = require('./app/shop.cjs');

async function main() {
  const [dsn, countText] = process.argv.slice(2);
  const count = Number(countText || '3');
  Sentry.init({
    dsn,
    release: 'shop-node@2.3.0',
    environment: 'test',
    integrations: (defaults) => defaults.filter((i) => i.name !== 'ProcessSession'),
  });
  const ids = [];
  for (let i = 0; i < count; i += 1) {
    try {
      shop.reserveLine({ sku: `SKU-GONE-${1000 + i}`, quantity: 1 });
    } catch (err) {
      ids.push(Sentry.captureException(err));
    }
    try {
      shop.charge(`ord_${i}`, 2000 + i * 17, `tok_${4000 + i}`);
    } catch (err) {
      ids.push(Sentry.captureException(err));
    }
  }
  const flushed = await Sentry.flush(10000);
  process.stdout.write(JSON.stringify({ flushed, ids }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
