"""Layer gzip: ISA-L where its wheels exist, readable by the standard library, deterministic."""

from __future__ import annotations

import gzip
import os
import platform

from pypack.oci.deflate import engine, gzip_compressor


def _gzip(data: bytes, level: int = 1) -> bytes:
    compressor = gzip_compressor(level)
    return compressor.compress(data) + compressor.flush()


def test_the_stream_is_plain_gzip_and_the_same_every_time() -> None:
    data = os.urandom(1 << 20) + b"print('hello')\n" * 50_000
    once = _gzip(data)
    assert gzip.decompress(once) == data
    assert _gzip(data) == once
    assert len(_gzip(b"print('hello')\n" * 50_000)) < 50_000  # it does compress
    for level in (1, 6, 9):
        assert gzip.decompress(_gzip(data, level)) == data


def test_isal_is_the_engine_where_pypack_depends_on_it() -> None:
    expected = "isal" if platform.machine() in ("x86_64", "aarch64") else "zlib"
    assert engine() == expected
