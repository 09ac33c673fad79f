"""Buildpack and extension IDs: what is allowed, and how an ID becomes a directory name."""

from __future__ import annotations

import re

_ID = re.compile(r"[A-Za-z0-9./-]+")
RESERVED_IDS = frozenset({"app", "config", "generated", "sbom"})


def check_id(value: str) -> str:
    """Return ``value`` if it is a valid buildpack ID, else raise ``ValueError`` saying why."""
    if not value:
        raise ValueError("must not be empty")
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r} may hold only letters, digits, '.', '/' and '-'")
    if value.lower() in RESERVED_IDS:
        raise ValueError(f"{value!r} is reserved; choose another ID")
    return value


def escape_id(value: str) -> str:
    """The directory name for an ID: ``/`` becomes ``_`` (``paketo/node`` → ``paketo_node``)."""
    return value.replace("/", "_")
