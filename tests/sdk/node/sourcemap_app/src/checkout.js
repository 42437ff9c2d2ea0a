// The shop's checkout, minified by esbuild in the source-map tests: the frames of its
// error must come back with these names, this file and these lines.
export function priceOf(item) {
  return item.price * item.quantity;
}

export function computeTotal(cart) {
  let total = 0;
  for (const item of cart.items) {
    total += priceOf(item);
  }
  if (total > cart.limit) {
    throw new RangeError(`cart total ${total} exceeds the limit of ${cart.limit}`);
  }
  return total;
}

export function checkout(cart) {
  const total = computeTotal(cart);
  return { total, items: cart.items.length };
}
