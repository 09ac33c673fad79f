"""The one error hierarchy of pypack, and the exit codes of the CNB platform tables.

::

    PypackError                 anything pypack raises on purpose; str() is one line for a person
    ├── UserError               the user's input is wrong: a file, a flag, an argument
    │   └── SpecError           a CNB file or label does not follow its format
    ├── ApiError                a Platform or Buildpack API version pypack does not support
    └── ServiceError            a registry, daemon or tool pypack talks to failed

Every error carries the exit code a CNB platform expects for it, so the single place that turns
errors into exit codes (each command-line entry point) never guesses.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the CNB platform spec, with the reference lifecycle's concrete values."""

    SUCCESS = 0
    GENERIC = 1
    UNDEFINED_FLAG = 2
    INVALID_ARGS = 3
    INCOMPATIBLE_PLATFORM_API = 11
    INCOMPATIBLE_BUILDPACK_API = 12
    DETECT_FAILED = 20
    DETECT_ERRORED = 21
    DETECT_GENERIC = 22
    ANALYZE = 32
    RESTORE = 42
    BUILDPACK_BUILD_FAILED = 51
    BUILD = 52
    EXPORT = 62
    REBASE = 72
    LAUNCH = 82
    EXTENSION_GENERATE_FAILED = 91
    GENERATE = 92
    EXTEND = 102


class PypackError(Exception):
    """Root of every error pypack raises on purpose.

    ``str(error)`` is the whole message a person sees: one line, no traceback.
    """

    exit_code: int = ExitCode.GENERIC

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UserError(PypackError):
    """The user's input is wrong; the message says where and what to do."""


class SpecError(UserError):
    """A CNB file or image label does not follow its format.

    The message reads ``<source>: <key path>: <problem>``, for example
    ``buildpack.toml: buildpack.id: required``.
    """

    def __init__(self, source: str, key: str, problem: str, *, exit_code: int | None = None):
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}", exit_code=exit_code)


class ApiError(PypackError):
    """An API version that pypack does not support."""


class ServiceError(PypackError):
    """A registry, a daemon or an external tool failed."""
