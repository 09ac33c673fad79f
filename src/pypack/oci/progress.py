"""Progress of long transfers (pulls, pushes, unpacking), reported to whoever listens.

The image library only says what it is doing and how many bytes went by; the CLI decides how
to show it (a bar on a terminal, plain lines in a log, nothing with ``--quiet``). Without a
listener reporting costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Protocol

Advance = Callable[[int], None]


class Listener(Protocol):
    """What the CLI implements to show progress."""

    def begin(self, action: str, where: str, item: str, total: int | None) -> None:
        """A transfer starts: e.g. ``Pushing``, ``registry/repo``, ``layer 2/5 sha256:abcd``,
        its size."""

    def advance(self, size: int) -> None:
        """``size`` more bytes of the current transfer went by."""

    def end(self) -> None:
        """The current transfer finished (or failed)."""


_listener: Listener | None = None


def listen(listener: Listener | None) -> None:
    """Send progress to ``listener`` (None: nowhere)."""
    global _listener
    _listener = listener


@contextmanager
def tracked(action: str, where: str, item: str, total: int | None) -> Iterator[Advance]:
    """Report one transfer; the block calls the yielded function with each amount of bytes."""
    listener = _listener
    if listener is None:
        yield _ignore
        return
    listener.begin(action, where, item, total)
    try:
        yield listener.advance
    finally:
        listener.end()


def _ignore(_size: int) -> None:
    return None


class CountingReader:
    """A binary stream that reports the bytes read from it."""

    def __init__(self, stream: BinaryIO, advance: Advance) -> None:
        self._stream = stream
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._advance(len(data))
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._advance(count or 0)
        return int(count or 0)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def short(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits, as docker shows layers."""
    algorithm, _, hexdigits = digest.partition(":")
    return f"{algorithm}:{hexdigits[:12]}" if hexdigits else digest


def counting(stream: BinaryIO, advance: Advance) -> BinaryIO:
    """``stream`` reporting what is read (the stream itself when nobody listens)."""
    if advance is _ignore:
        return stream
    return CountingReader(stream, advance)  # type: ignore[return-value]
