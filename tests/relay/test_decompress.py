import gzip
import zlib

import brotli
import pytest
import zstandard

from relay.decompress import decompress
from relay.errors import BadRequest, PayloadTooLarge

BODY = b'{"message": "hello"}\n' * 50


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
    ],
)
def test_each_encoding_round_trips(encoding, compress):
    assert decompress(compress(BODY), encoding, limit=10_000, what="envelope") == BODY


@pytest.mark.parametrize("encoding", ["", "identity", "UTF-8", None])
def test_empty_and_charset_encodings_are_ignored(encoding):
    assert decompress(BODY, encoding, limit=10_000, what="envelope") == BODY


def test_raw_deflate_without_zlib_wrapper_is_accepted():
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = raw.compress(BODY) + raw.flush()
    assert decompress(data, "deflate", limit=10_000, what="envelope") == BODY


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("br", brotli.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("deflate", zlib.compress),
    ],
)
def test_a_decompression_bomb_stops_at_the_limit(encoding, compress):
    bomb = compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLarge, match="exceeds 1000000 bytes"):
        decompress(bomb, encoding, limit=1_000_000, what="envelope")


def test_corrupt_data_is_a_bad_request_naming_the_encoding():
    with pytest.raises(BadRequest, match="invalid gzip body"):
        decompress(b"\x1f\x8bnot really", "gzip", limit=1000, what="envelope")


def test_truncated_brotli_is_a_bad_request():
    with pytest.raises(BadRequest, match="br"):
        decompress(brotli.compress(BODY)[:-4], "br", limit=10_000, what="envelope")


def test_unknown_encoding_is_a_bad_request():
    with pytest.raises(BadRequest, match="unsupported Content-Encoding 'lzma'"):
        decompress(BODY, "lzma", limit=10_000, what="envelope")


def test_uncompressed_body_over_the_limit_is_too_large():
    with pytest.raises(PayloadTooLarge):
        decompress(BODY, None, limit=10, what="envelope")
