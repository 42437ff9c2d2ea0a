'use strict';
// A tiny fake shop: gives the recorded node events realistic in-app frames.

class PaymentDeclinedError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PaymentDeclinedError';
  }
}

class InventoryError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'InventoryError';
  }
}

const STOCK = new Map([
  ['SKU-RED-MUG', 3],
  ['SKU-BLUE-MUG', 0],
]);

function parseGatewayUrl(raw) {
  // throws TypeError [ERR_INVALID_URL] from node:internal/url (library frames)
  return new URL(raw);
}

function charge(orderId, amount, cardToken) {
  const endpoint = parseGatewayUrl(`gateway//charges/${orderId}`);
  if (amount > 1000) {
    throw new PaymentDeclinedError(`card ${cardToken.slice(-4)} declined for ${amount}`);
  }
  return { endpoint: endpoint.href, status: 'approved' };
}

function reserve(sku, quantity) {
  if (!STOCK.has(sku)) {
    throw new RangeError(`unknown sku ${sku}`);
  }
  const available = STOCK.get(sku);
  if (available < quantity) {
    throw new InventoryError(`sku ${sku}: wanted ${quantity}, only ${available} left`);
  }
  STOCK.set(sku, available - quantity);
}

function reserveLine(line) {
  try {
    reserve(line.sku, line.quantity);
  } catch (err) {
    // ES2022 error cause: linked errors integration reports the chain
    throw new InventoryError(`cannot reserve cart line ${JSON.stringify(line)}`, { cause: err });
  }
}

function placeOrder(orderId, cart, cardToken) {
  for (const line of cart) {
    reserveLine(line);
  }
  const amount = cart.reduce((sum, l) => sum + Number(l.price) * l.quantity, 0);
  return { orderId, amount, receipt: charge(orderId, amount, cardToken) };
}

async function handleCheckout(req) {
  await new Promise((resolve) => setImmediate(resolve)); // async boundary, like a real handler
  return placeOrder(req.orderId, req.cart, req.cardToken);
}

const CART = [
  { sku: 'SKU-RED-MUG', quantity: 2, price: '12.50' },
  { sku: 'SKU-BLUE-MUG', quantity: 0, price: '11.00' },
];

module.exports = { handleCheckout, placeOrder, reserveLine, charge, CART, STOCK, InventoryError, PaymentDeclinedError };
