"""Lifecycle logging: plain lines, the way the reference lifecycle prints them.

Info and debug are bare lines on stdout; warnings read ``Warning: ...`` and errors
``ERROR: ...`` on stderr. ``CNB_LOG_LEVEL`` / ``-log-level`` picks debug, info, warn or error.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER = logging.getLogger("pypack.lifecycle")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR}  # fmt: skip


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"ERROR: {message}"
        if record.levelno >= logging.WARNING:
            return f"Warning: {message}"
        return message


class _ByLevel(logging.Filter):
    def __init__(self, below_warning: bool) -> None:
        super().__init__()
        self._below = below_warning

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.levelno < logging.WARNING) == self._below


def configure(level: str | None) -> None:
    """Send lifecycle logs to stdout/stderr at ``level`` (default info)."""
    LOGGER.handlers.clear()
    LOGGER.propagate = False
    LOGGER.setLevel(_LEVELS.get((level or "info").lower(), logging.INFO))
    for stream, below in ((sys.stdout, True), (sys.stderr, False)):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_Format())
        handler.addFilter(_ByLevel(below))
        LOGGER.addHandler(handler)


def phase(name: str) -> None:
    """The ``===> DETECTING`` banner a phase starts with."""
    LOGGER.info("===> %s", name)


class _Held(logging.Handler):
    """Keeps records instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def held_back() -> Iterator[None]:
    """Hold every lifecycle log record, debug included, until the block ends; then print
    those at the configured level, or all of them when the block raised. This is how the
    reference detector logs a detection: each buildpack's output and the results block only
    when no group passed (or at debug level)."""
    held = _Held()
    level, handlers, propagate = LOGGER.level, list(LOGGER.handlers), LOGGER.propagate
    LOGGER.handlers, LOGGER.propagate = [held], False
    LOGGER.setLevel(logging.DEBUG)
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        LOGGER.handlers, LOGGER.propagate = handlers, propagate
        LOGGER.setLevel(level)
        threshold = LOGGER.getEffectiveLevel()
        for record in held.records:
            if failed or record.levelno >= threshold:
                LOGGER.handle(record)
