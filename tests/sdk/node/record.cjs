'use strict';
/*
 * Scenarios for fixtures/record/record.py, one per process:
 *   node record.cjs --list            -> JSON {name: {description, exit_code?}}
 *   node record.cjs NAME DSN          -> run one scenario against DSN (the capture server)
 * Set RECORD_DEBUG=1 for the SDK's debug log. SENTRY_NODE_PACKAGE picks the SDK
 * package: `@sentry/node` (default, the current major) or `sentry-node-10`
 * (an npm alias of the last 10.x, see package.json).
 *
 * @sentry/node is required before anything else so its OpenTelemetry
 * instrumentation hooks node:http and fetch (the CommonJS way of doing
 * `--import @sentry/node/preload`).
 */
const Sentry = require(process.env.SENTRY_NODE_PACKAGE || '@sentry/node');
const shop = require('./app/shop.cjs');

const SCENARIOS = {};
function scenario(name, description, fn, extra = {}) {
  SCENARIOS[name] = { description, fn, ...extra };
}

// Release health: the processSession integration (default since 9.x) sends an
// application `session` around every process. It is kept only in the scenarios
// about sessions or crashes (keepSession: true) so that the other recordings
// hold just what they are about.
let keepSession = false;
const withoutProcessSession = (defaults) => defaults.filter((i) => i.name !== 'ProcessSession');

function init(dsn, overrides = {}) {
  Sentry.init({
    dsn,
    ...(keepSession ? {} : { integrations: withoutProcessSession }),
    release: 'shop-node@2.3.0',
    environment: 'production',
    serverName: 'api-1.shop.internal',
    debug: process.env.RECORD_DEBUG === '1',
    ...overrides,
  });
  Sentry.setTag('region', 'eu-west-1');
}

function userContext() {
  Sentry.setUser({ id: 'u-2040', email: 'grace@example.com', username: 'grace' });
  Sentry.setTag('customer.tier', 'silver');
  Sentry.setContext('cart', { lines: 2, currency: 'EUR' });
  Sentry.addBreadcrumb({ category: 'auth', message: 'user u-2040 logged in', level: 'info' });
}

const request = (orderId = 'ord_n7f3a', cart = shop.CART) => ({ orderId, cart, cardToken: 'tok_5555555555554444' });

async function done() {
  await Sentry.flush(5000);
}

scenario('exception', 'captureException of a TypeError (Invalid URL) thrown in node:internal/url frames under nested in-app frames, with user, tags, contexts and breadcrumbs', async (dsn) => {
  init(dsn);
  userContext();
  try {
    await shop.handleCheckout(request());
  } catch (err) {
    Sentry.captureException(err);
  }
  await done();
});

scenario('exception_cause', 'captureException of an InventoryError whose `cause` is a RangeError: the linkedErrors integration sends both as a chain', async (dsn) => {
  init(dsn);
  try {
    shop.placeOrder('ord_n9c21', [{ sku: 'SKU-GREEN-MUG', quantity: 1, price: '9.90' }], 'tok_0000');
  } catch (err) {
    Sentry.captureException(err);
  }
  await done();
});

scenario('uncaught', 'an error thrown from a timer and never caught: onUncaughtException integration (mechanism handled=false, level fatal), then the process exits 1', async (dsn) => {
  init(dsn);
  userContext();
  setTimeout(() => {
    shop.placeOrder('ord_crash', [{ sku: 'SKU-RED-MUG', quantity: 99, price: '12.50' }], 'tok_0000');
  }, 10);
}, { exit_code: 1, keepSession: true });

scenario('unhandled_rejection', 'a rejected promise nobody handles: onUnhandledRejection integration (mode warn) captures it, the process keeps running', async (dsn) => {
  init(dsn);
  shop.handleCheckout(request('ord_rej')); // no await, no catch
  await new Promise((resolve) => setTimeout(resolve, 200));
  await done();
}, { keepSession: true });

scenario('message_info', 'captureMessage at level info', async (dsn) => {
  init(dsn);
  Sentry.captureMessage('Nightly price import finished: 1204 products updated', 'info');
  await done();
});

scenario('message_error', 'captureMessage at level error with user and extra', async (dsn) => {
  init(dsn);
  userContext();
  Sentry.setExtra('attempt', 3);
  Sentry.captureMessage('Checkout queue is backing up', 'error');
  await done();
});

scenario('fingerprint', 'captureException with a client-side fingerprint and level set on a scope', async (dsn) => {
  init(dsn);
  Sentry.withScope((scope) => {
    scope.setFingerprint(['{{ default }}', 'payment-gateway']);
    scope.setLevel('fatal');
    try {
      shop.charge('ord_fp1', 12.5, 'tok_0000');
    } catch (err) {
      Sentry.captureException(err);
    }
  });
  await done();
});

scenario('transaction', 'startSpan root span (tracesSampleRate 1) with nested child spans; in 11.x (traceLifecycle "stream" by default) this is one `span` item (span v2 JSON, item_count), in 10.x a `transaction` item; envelope header carries the `trace` DSC', async (dsn) => {
  init(dsn, { tracesSampleRate: 1 });
  await Sentry.startSpan({ name: 'POST /api/checkout', op: 'http.server', attributes: { 'http.request.method': 'POST' } }, async () => {
    await Sentry.startSpan({ name: 'SELECT * FROM carts WHERE id = $1', op: 'db.query', attributes: { 'db.system': 'postgresql' } }, () => new Promise((r) => setTimeout(r, 5)));
    await Sentry.startSpan({ name: 'stock:SKU-RED-MUG', op: 'cache.get' }, async () => {
      await Sentry.startSpan({ name: 'encode key', op: 'serialize' }, () => new Promise((r) => setTimeout(r, 1)));
    });
    Sentry.setMeasurement('cart.lines', 2, 'none');
  });
  await done();
});

scenario('transaction_static', 'the same transaction with traceLifecycle "static": one classic `transaction` item with spans[] (the 11.x default is "stream" = `span` items; 10.x and older always send this)', async (dsn) => {
  init(dsn, { tracesSampleRate: 1, traceLifecycle: 'static' });
  await Sentry.startSpan({ name: 'POST /api/checkout', op: 'http.server', attributes: { 'http.request.method': 'POST' } }, async () => {
    await Sentry.startSpan({ name: 'SELECT * FROM carts WHERE id = $1', op: 'db.query', attributes: { 'db.system': 'postgresql' } }, () => new Promise((r) => setTimeout(r, 5)));
    await Sentry.startSpan({ name: 'stock:SKU-RED-MUG', op: 'cache.get' }, async () => {
      await Sentry.startSpan({ name: 'encode key', op: 'serialize' }, () => new Promise((r) => setTimeout(r, 1)));
    });
    Sentry.setMeasurement('cart.lines', 2, 'none');
  });
  await done();
});

scenario('http_server', 'a real node:http server instrumented by the SDK; a request (fetch, also instrumented) hits a handler that captures an error: error event with request data, http.server transaction, request-mode `sessions` aggregate', async (dsn) => {
  init(dsn, { tracesSampleRate: 1 });
  const http = require('node:http');
  const server = http.createServer(async (req, res) => {
    try {
      const out = await shop.handleCheckout(request('ord_http'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (err) {
      Sentry.captureException(err);
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":"payment gateway"}');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const reply = await fetch(`http://127.0.0.1:${port}/api/checkout?coupon=SPRING`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: 'session=abc123' },
    body: JSON.stringify({ cart: shop.CART }),
  });
  await reply.text();
  await new Promise((resolve) => server.close(resolve));
  await Sentry.close(5000); // flushes the request-session aggregates too
}, { settle: 1.5, keepSession: true });

scenario('session', 'release health: the processSession integration starts an application session at init; a handled error counts on it; endSession sends the `session` update', async (dsn) => {
  init(dsn);
  userContext();
  try {
    await shop.handleCheckout(request('ord_s1'));
  } catch (err) {
    Sentry.captureException(err);
  }
  Sentry.endSession();
  await done();
}, { keepSession: true });

scenario('attachments', 'event with two small attachments added to the scope (JSON bytes and a text string): below 32 KiB, so uncompressed', async (dsn) => {
  init(dsn);
  const scope = Sentry.getIsolationScope();
  scope.addAttachment({ filename: 'cart.json', data: Buffer.from(JSON.stringify({ cart: shop.CART })), contentType: 'application/json' });
  scope.addAttachment({ filename: 'receipt.txt', data: 'Receipt #R-1001\nTotal 25.00 EUR\n' });
  try {
    await shop.handleCheckout(request('ord_att'));
  } catch (err) {
    Sentry.captureException(err);
  }
  await done();
});

scenario('attachment_large', 'event with a 64 KiB log attachment: the node transport gzips bodies over 32 KiB (Content-Encoding gzip, chunked request)', async (dsn) => {
  init(dsn);
  const lines = [];
  for (let i = 0; lines.join('\n').length < 64 * 1024; i++) {
    lines.push(`2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z worker-3 INFO processed job ${i} in ${(i * 7) % 113} ms`);
  }
  Sentry.getIsolationScope().addAttachment({ filename: 'worker.log', data: lines.join('\n'), contentType: 'text/plain' });
  Sentry.captureMessage('worker stalled, log attached', 'warning');
  await done();
});

scenario('client_report', 'client report: beforeSend drops two errors and tracesSampler drops a transaction; flush() sends the `client_report`', async (dsn) => {
  init(dsn, {
    beforeSend: (event) => (event.tags && event.tags.noise === 'yes' ? null : event),
    tracesSampler: () => 0,
  });
  Sentry.setTag('noise', 'yes');
  Sentry.captureMessage('dropped by beforeSend #1');
  Sentry.captureMessage('dropped by beforeSend #2');
  Sentry.startSpan({ name: 'dropped-by-sampler', op: 'task' }, () => {});
  await done();
});

scenario('feedback', 'captureFeedback linked to a captured error (feedback item type, event type "feedback")', async (dsn) => {
  init(dsn);
  userContext();
  const eventId = Sentry.captureMessage('Checkout button does nothing', 'error');
  Sentry.captureFeedback({
    message: 'I clicked "Pay" three times and nothing happened.',
    name: 'Grace Hopper',
    email: 'grace@example.com',
    url: 'https://shop.example.com/checkout',
    associatedEventId: eventId,
    tags: { page: 'checkout' },
  });
  await done();
});

scenario('checkin', 'cron monitoring: withMonitor sends an in_progress check-in with monitor_config, then ok with duration', async (dsn) => {
  init(dsn);
  await Sentry.withMonitor('nightly-price-import', async () => {
    await new Promise((r) => setTimeout(r, 50));
  }, {
    schedule: { type: 'crontab', value: '0 3 * * *' },
    timezone: 'Europe/Amsterdam',
    checkinMargin: 5,
    maxRuntime: 30,
    failureIssueThreshold: 2,
  });
  await done();
});

scenario('logs', 'structured logs: Sentry.logger.info/warn/error (with the fmt template) batched into one `log` item', async (dsn) => {
  init(dsn, { enableLogs: true });
  Sentry.logger.info(Sentry.logger.fmt`Order ${'ord_n7f3a'} placed for ${25} EUR`);
  Sentry.logger.warn('Stock low', { sku: 'SKU-RED-MUG', warehouse: 'ams-2' });
  Sentry.logger.error('gateway replied 502', { gateway: 'stripe' });
  await done();
});

scenario('metrics', 'trace metrics: Sentry.metrics.count/gauge/distribution batched into one `trace_metric` item', async (dsn) => {
  init(dsn);
  Sentry.metrics.count('orders.placed', 1, { attributes: { country: 'NL' } });
  Sentry.metrics.gauge('queue.depth', 17);
  Sentry.metrics.distribution('checkout.duration', 231.5, { unit: 'millisecond' });
  await done();
});

async function main() {
  const [name, dsn] = process.argv.slice(2);
  if (name === '--list') {
    const out = {};
    for (const [k, v] of Object.entries(SCENARIOS)) {
      const { fn, ...meta } = v;
      out[k] = meta;
    }
    process.stdout.write(JSON.stringify(out, null, 2));
    return;
  }
  if (!SCENARIOS[name] || !dsn) {
    console.error(`usage: node record.cjs (--list | NAME DSN); names: ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
  keepSession = Boolean(SCENARIOS[name].keepSession);
  await SCENARIOS[name].fn(dsn);
}

main();
