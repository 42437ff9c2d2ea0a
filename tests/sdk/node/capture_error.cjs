'use strict';
/*
 * Live @sentry/node client capturing one error with a given message:
 *   node capture_error.cjs DSN MESSAGE   -> captures `new Error(MESSAGE)`, flushes,
 *                                          prints {"flushed": bool, "id": event id}.
 */
const Sentry = require('@sentry/node');

async function main() {
  const [dsn, message] = process.argv.slice(2);
  Sentry.init({
    dsn,
    release: 'shop-node@2.3.0',
    environment: 'test',
    integrations: (defaults) => defaults.filter((i) => i.name !== 'ProcessSession'),
  });
  const id = Sentry.captureException(new Error(message));
  const flushed = await Sentry.flush(10000);
  process.stdout.write(JSON.stringify({ flushed, id }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
