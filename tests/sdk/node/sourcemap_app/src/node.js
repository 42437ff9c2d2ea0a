// The Node app: @sentry/node (left out of the bundle) reports the checkout's error.
const Sentry = require("@sentry/node");
import { checkout } from "./checkout.js";

async function main() {
  const [dsn, release, dist] = process.argv.slice(2);
  Sentry.init({
    dsn,
    release: release || undefined,
    dist: dist || undefined,
    integrations: (defaults) => defaults.filter((i) => i.name !== "ProcessSession"),
  });
  let eventId = "";
  try {
    checkout({ items: [{ price: 70, quantity: 2 }], limit: 100 });
  } catch (error) {
    eventId = Sentry.captureException(error);
  }
  const flushed = await Sentry.flush(10000);
  process.stdout.write(JSON.stringify({ flushed, eventId }));
}

main();
