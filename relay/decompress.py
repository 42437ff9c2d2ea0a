"""Content-Encoding handling with the size limit enforced while decompressing.

A decompression bomb is stopped as soon as the output passes the limit: each
decoder is asked for at most `limit + 1` bytes, so memory never exceeds the limit.
"""

from __future__ import annotations

import zlib

import brotli
import zstandard

from relay.errors import BadRequest, PayloadTooLarge

_CHUNK_BYTES = 256 * 1024
_IGNORED_ENCODINGS = {"", "identity", "utf-8", "utf8"}


def decompress(body: bytes, content_encoding: str | None, *, limit: int, what: str) -> bytes:
    """Undo every encoding in `Content-Encoding` (applied last-first) within `limit` bytes."""
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",")]
    for encoding in reversed(encodings):
        if encoding in _IGNORED_ENCODINGS:
            continue
        decoder = _DECODERS.get(encoding)
        if decoder is None:
            raise BadRequest(f"unsupported Content-Encoding {encoding!r}")
        try:
            body = decoder(body, limit)
        except PayloadTooLarge:
            raise
        except (zlib.error, brotli.error, zstandard.ZstdError, EOFError) as e:
            raise BadRequest(f"invalid {encoding} body: {e}") from e
        if len(body) > limit:
            raise _too_large(what, limit)
    if len(body) > limit:
        raise _too_large(what, limit)
    return body


def _too_large(what: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"{what} exceeds {limit} bytes after decompression")


def _zlib(wbits: int):
    def decode(data: bytes, limit: int) -> bytes:
        decoder = zlib.decompressobj(wbits)
        out = decoder.decompress(data, limit + 1)
        if len(out) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes after decompression")
        if not decoder.eof:
            raise EOFError("truncated stream")
        return out

    return decode


def _deflate(data: bytes, limit: int) -> bytes:
    # HTTP "deflate" is zlib-wrapped, but some clients send raw deflate; accept both.
    try:
        return _zlib(zlib.MAX_WBITS)(data, limit)
    except zlib.error:
        return _zlib(-zlib.MAX_WBITS)(data, limit)


def _brotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    parts = [decoder.process(data, output_buffer_limit=_CHUNK_BYTES)]
    size = len(parts[0])
    while not decoder.is_finished():
        if size > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes after decompression")
        if decoder.can_accept_more_data():
            break
        part = decoder.process(b"", output_buffer_limit=_CHUNK_BYTES)
        size += len(part)
        parts.append(part)
    if size > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes after decompression")
    if not decoder.is_finished():
        raise EOFError("truncated stream")
    return b"".join(parts)


def _zstd(data: bytes, limit: int) -> bytes:
    # stream_reader.read(n) produces at most n bytes however small the input is.
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
    out = reader.read(limit + 1)
    if len(out) > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes after decompression")
    return out


_DECODERS = {
    "gzip": _zlib(16 + zlib.MAX_WBITS),
    "x-gzip": _zlib(16 + zlib.MAX_WBITS),
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}
