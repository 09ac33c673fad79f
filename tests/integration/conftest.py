"""Fixtures for integration tests live in tests/conftest.py (shared with conformance tests)."""

from tests.conftest import busybox_base, tool

__all__ = ["busybox_base", "tool"]
