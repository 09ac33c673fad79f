"""Content digests: computing, checking and streaming them.

Every blob pypack reads is checked against its digest: a mismatch is a :class:`DigestMismatch`,
never silently accepted data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from pypack.errors import PypackError

_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
CHUNK = 1 << 20


class DigestMismatch(PypackError):
    """Content did not hash to the digest it was named by."""


def sha256_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(value: str) -> str:
    """Return ``value`` if it is a ``sha256:<64 hex>`` digest, else raise ``ValueError``."""
    if not _DIGEST.fullmatch(value):
        raise ValueError(f"{value!r} is not a sha256 digest")
    return value


def hex_of(digest: str) -> str:
    """The hex part of ``sha256:<hex>``."""
    return check_digest(digest).split(":", 1)[1]


def verify(data: bytes, digest: str, what: str) -> bytes:
    """Return ``data`` if it hashes to ``digest``; otherwise raise :class:`DigestMismatch`."""
    actual = sha256_of(data)
    if actual != digest:
        raise DigestMismatch(f"{what}: content has digest {actual}, expected {digest}")
    return data


def file_digest(stream: BinaryIO) -> tuple[str, int]:
    """Digest and size of everything left in ``stream``."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    return "sha256:" + hasher.hexdigest(), size


def verified_chunks(chunks: Iterable[bytes], digest: str, what: str) -> Iterator[bytes]:
    """Pass ``chunks`` through, and raise :class:`DigestMismatch` at the end if they do not
    hash to ``digest``. Consumers must not commit what they wrote until the iterator ends."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    actual = "sha256:" + hasher.hexdigest()
    if actual != digest:
        raise DigestMismatch(f"{what}: content has digest {actual}, expected {digest}")
