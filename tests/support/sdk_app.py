"""Errors raised through real code paths, captured with the official sentry-sdk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sentry_sdk
from sentry_sdk.transport import HttpTransport


class CartError(Exception):
    pass


def load_cart(cart_id: int) -> dict:
    raise CartError(f"cart {cart_id} not found for user {cart_id * 7}@example.com")


def divide(total: int, parts: int) -> float:
    return total / parts


def checkout(cart_id: int) -> None:
    load_cart(cart_id)


@contextmanager
def sentry_client(dsn: str, **options) -> Iterator[sentry_sdk.Client]:
    """A real SDK client bound to `dsn`, flushed and closed at the end of the block."""
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False, **options)
    scope = sentry_sdk.get_global_scope()
    previous = scope.client
    scope.set_client(client)
    try:
        yield client
    finally:
        client.flush(timeout=30)
        client.close(timeout=10)
        scope.set_client(previous)


def transport_compression(client: sentry_sdk.Client) -> str | None:
    transport = client.transport
    assert isinstance(transport, HttpTransport)
    return getattr(transport, "_compression_algo", None)


def send_errors(dsn: str, carts: list[int], divisions: int) -> list[str]:
    """Capture one CartError per cart id and `divisions` ZeroDivisionErrors; return event ids."""
    event_ids: list[str] = []
    with sentry_client(dsn, release="shop@2.0.0", environment="test") as client:
        assert transport_compression(client) == "br", "sentry-sdk should default to brotli"
        for cart_id in carts:
            try:
                checkout(cart_id)
            except CartError as error:
                event_ids.append(sentry_sdk.capture_exception(error))
        for attempt in range(divisions):
            try:
                divide(attempt, 0)
            except ZeroDivisionError as error:
                event_ids.append(sentry_sdk.capture_exception(error))
    return [e for e in event_ids if e]
