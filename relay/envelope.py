"""Sentry envelope parsing.

From the envelope spec (develop.sentry.dev/sdk/envelopes):
  Envelope = Headers { "\\n" Item } [ "\\n" ]
  Item     = Headers "\\n" Payload
  Payload  = exactly `length` bytes when the item header has `length`,
             otherwise everything up to the next "\\n" or the end of the envelope.
Headers are single-line JSON objects. Unknown header fields are kept (`raw_headers`),
unknown item types are the caller's to skip. Parsing is one pass over the bytes,
with each item's payload a slice; no item is decoded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from relay.errors import MALFORMED_JSON, BadRequest


class EnvelopeHeaders(msgspec.Struct, kw_only=True):
    event_id: str | None = None
    dsn: str | None = None
    sdk: dict[str, Any] | None = None
    sent_at: str | None = None
    trace: dict[str, Any] | None = None


class ItemHeaders(msgspec.Struct, kw_only=True):
    type: str
    length: int | None = None
    content_type: str | None = None
    filename: str | None = None
    attachment_type: str | None = None
    item_count: int | None = None


class Item(msgspec.Struct, kw_only=True):
    headers: ItemHeaders
    # The header line as sent, so fields we do not model survive (e.g. into attachments).
    raw_headers: bytes
    payload: bytes

    @property
    def type(self) -> str:
        return self.headers.type


class Envelope(msgspec.Struct, kw_only=True):
    headers: EnvelopeHeaders
    # The header line as sent: fields we do not model are kept, not lost.
    raw_headers: bytes
    items: list[Item]


_decode_envelope_headers = msgspec.json.Decoder(EnvelopeHeaders).decode
_decode_item_headers = msgspec.json.Decoder(ItemHeaders).decode


def _object_end(line: bytes) -> int:
    """Index just past the first JSON object in `line` (-1 if it never closes)."""
    depth = 0
    in_string = escaped = False
    for index, byte in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:
            depth += 1
        elif byte == 0x7D:
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _decode_header(line: bytes, decode, what: str):
    # Like Relay, a header is one JSON object followed directly by "\n" (or the end):
    # "\r\n" line endings and anything after the object are malformed.
    try:
        headers = decode(line)
    except MALFORMED_JSON as e:
        end = _object_end(line)
        if 0 < end < len(line.rstrip()):
            raise BadRequest(f"{what} is not followed by a newline") from e
        raise BadRequest(f"invalid {what}: {e}") from e
    if line.endswith((b"\r", b" ", b"\t")):
        raise BadRequest(f"{what} is not followed by a newline (found whitespace or \\r)")
    return headers


def parse_envelope(data: bytes) -> Envelope:
    """Split an uncompressed envelope into its headers and items; BadRequest if malformed."""
    if not data.strip():
        raise BadRequest("empty envelope: expected at least a header line")
    end = data.find(b"\n")
    header_line = data if end < 0 else data[:end]
    headers = _decode_header(header_line, _decode_envelope_headers, "envelope header")
    position = len(data) if end < 0 else end + 1
    return Envelope(
        headers=headers, raw_headers=header_line, items=list(_iter_items(data, position))
    )


def _iter_items(data: bytes, position: int) -> Iterator[Item]:
    size = len(data)
    index = 0
    while position < size:
        end = data.find(b"\n", position)
        line_end = size if end < 0 else end
        if line_end == position or data[position:line_end].isspace():
            # Tolerate blank separator lines (some hand-written clients emit them).
            position = line_end + 1
            continue
        raw_headers = data[position:line_end]
        headers = _decode_header(raw_headers, _decode_item_headers, f"header of item {index}")
        position = line_end + 1
        if headers.length is not None:
            payload, position = _payload_with_length(data, position, headers.length, index)
        else:
            end = data.find(b"\n", position)
            stop = size if end < 0 else end
            payload = data[position:stop]
            position = stop + 1
        yield Item(headers=headers, raw_headers=raw_headers, payload=payload)
        index += 1


def _payload_with_length(data: bytes, position: int, length: int, index: int) -> tuple[bytes, int]:
    if length < 0:
        raise BadRequest(f"item {index} has a negative length")
    stop = position + length
    if stop > len(data):
        raise BadRequest(
            f"item {index} declares length {length} but only {len(data) - position} bytes follow"
        )
    # The payload is followed by a newline or the end of the envelope.
    if stop < len(data) and data[stop : stop + 1] != b"\n":
        raise BadRequest(f"item {index} payload is not followed by a newline after {length} bytes")
    return data[position:stop], stop + 1


def serialize_envelope(headers: dict[str, Any], items: list[tuple[dict[str, Any], bytes]]) -> bytes:
    """Build an envelope (with explicit lengths); used by tests, the seeder and the demo."""
    encode = msgspec.json.encode
    parts = [encode(headers)]
    for item_headers, payload in items:
        parts.append(encode({**item_headers, "length": len(payload)}))
        parts.append(payload)
    return b"\n".join(parts) + b"\n"
