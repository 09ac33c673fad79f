"""The conformance workspace, shared with the acceptance translations."""

from tests.conformance.harness import ws

__all__ = ["ws"]
