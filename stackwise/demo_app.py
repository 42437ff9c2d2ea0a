"""A small checkout service that fails in realistic ways, for `just demo`.

Each failure is one root cause that recurs with different ids, amounts and
addresses; a good grouper turns each into exactly one issue.
"""

from __future__ import annotations

import random


class PaymentDeclinedError(Exception):
    pass


class UpstreamTimeoutError(Exception):
    pass


INVENTORY = {"sku-1001": 4, "sku-1002": 0, "sku-1003": 12}


def reserve_stock(sku: str, quantity: int) -> int:
    available = INVENTORY[sku]  # KeyError for an unknown sku
    return available - quantity


def charge_card(order_id: int, amount: float, last4: str) -> None:
    raise PaymentDeclinedError(
        f"card ending {last4} declined for order {order_id} (amount {amount:.2f})"
    )


def average_rating(ratings: list[int]) -> float:
    return sum(ratings) / len(ratings)


def fetch_price(sku: str, timeout_ms: int) -> float:
    try:
        raise TimeoutError(f"timed out after {timeout_ms}ms")
    except TimeoutError as e:
        raise UpstreamTimeoutError(
            f"pricing service at http://pricing.internal:8080/v1/prices/{sku} did not answer"
        ) from e


def checkout(rng: random.Random, order_id: int) -> None:
    """One request to the checkout endpoint; raises one of the failures."""
    failure = order_id % 4
    sku = f"sku-{rng.randint(2000, 9999)}"
    if failure == 0:
        reserve_stock(sku, rng.randint(1, 5))
    elif failure == 1:
        charge_card(order_id, rng.uniform(5, 500), f"{rng.randint(0, 9999):04d}")
    elif failure == 2:
        average_rating([])
    else:
        fetch_price(sku, rng.choice([1500, 3000, 5000]))
