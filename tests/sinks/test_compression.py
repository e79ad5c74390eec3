"""gzip level 1 for request bodies."""

from __future__ import annotations

import gzip
import zlib

import pytest

from integrations.sinks import compression


def test_round_trip_and_standard_gzip() -> None:
    data = b'{"event":{"a":1}}\n' * 1000
    packed = compression.gzip_compress(data)
    assert packed[:2] == b"\x1f\x8b" and len(packed) < len(data) // 10
    assert gzip.decompress(packed) == data  # any gzip reader accepts it
    assert compression.gzip_decompress(packed) == data
    assert compression.LEVEL == 1


def test_zlib_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "_igzip", None)
    data = b"x" * 10000
    packed = compression.gzip_compress(data)
    assert gzip.decompress(packed) == data
    assert compression.gzip_decompress(packed + gzip.compress(b"more")) == data + b"more"  # multi-member
    assert zlib.decompress(packed, 31) == data


def test_implementation_is_reported() -> None:
    assert compression.IMPLEMENTATION in ("isal", "zlib")
