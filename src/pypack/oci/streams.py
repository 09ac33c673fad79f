"""Adapters between chunk iterators and file objects."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO, cast


class ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of byte chunks (an HTTP body, say)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        """Always true."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the chunks; 0 at the end."""
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def reader(chunks: Iterator[bytes]) -> BinaryIO:
    """A buffered binary file object reading ``chunks``."""
    return cast(BinaryIO, io.BufferedReader(ChunkReader(chunks), buffer_size=1 << 20))
