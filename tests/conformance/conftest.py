"""Conformance tests: the checklist's cases, run through the real phase binaries."""

from tests.conformance.harness import ws

__all__ = ["ws"]
