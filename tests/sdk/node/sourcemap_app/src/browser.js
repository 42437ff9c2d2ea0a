// The browser app: @sentry/browser reports the checkout's error to the DSN in the
// page's query string, then the page shows the event id for the test to read.
import * as Sentry from "@sentry/browser";
import { checkout } from "./checkout.js";

async function main() {
  const params = new URLSearchParams(window.location.search);
  Sentry.init({ dsn: params.get("dsn"), release: params.get("release") || undefined });
  let eventId = "";
  try {
    checkout({ items: [{ price: 70, quantity: Number(params.get("quantity") || 2) }], limit: 100 });
  } catch (error) {
    eventId = Sentry.captureException(error);
  }
  const flushed = await Sentry.flush(10000);
  document.getElementById("result").textContent = JSON.stringify({ flushed, eventId });
}

main();
