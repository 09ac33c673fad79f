"""CNB API versions: parsing, ordering, and the versions pypack supports.

A version is ``<major>.<minor>`` or ``<major>`` (meaning ``<major>.0``), numbers only, so it
compares numerically: ``0.10`` is newer than ``0.9``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

_VERSION = re.compile(r"v?(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?")


@dataclass(frozen=True, order=True)
class ApiVersion:
    """A Buildpack or Platform API version such as ``0.12``."""

    major: int
    minor: int = 0

    @classmethod
    def parse(cls, text: str) -> ApiVersion:
        """Parse ``"0.12"``, ``"1"`` or ``"v0.12"``; raise ``ValueError`` otherwise."""
        match = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f'{text!r} is not an API version like "0.12"')
        return cls(int(match.group(1)), int(match.group(2) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, other: str | ApiVersion) -> bool:
        """True when this version is ``other`` or newer."""
        return self >= (other if isinstance(other, ApiVersion) else ApiVersion.parse(other))

    def less_than(self, other: str | ApiVersion) -> bool:
        """True when this version is older than ``other``."""
        return not self.at_least(other)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def from_value(value: Any) -> ApiVersion:
            if isinstance(value, ApiVersion):
                return value
            if not isinstance(value, str):
                raise PydanticCustomError(
                    "api_version", 'must be a quoted version string like "0.12"'
                )
            try:
                return cls.parse(value)
            except ValueError as exc:
                raise PydanticCustomError("api_version", str(exc)) from None

        return core_schema.no_info_plain_validator_function(
            from_value,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _versions(*texts: str) -> tuple[ApiVersion, ...]:
    return tuple(ApiVersion.parse(text) for text in texts)


SUPPORTED_BUILDPACK_APIS = _versions("0.7", "0.8", "0.9", "0.10", "0.11", "0.12")
"""Buildpack APIs the lifecycle runs, oldest first (the reference lifecycle's list)."""

SUPPORTED_PLATFORM_APIS = _versions(
    "0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14", "0.15"
)
"""Platform APIs the lifecycle accepts, oldest first."""

DEPRECATED_BUILDPACK_APIS: tuple[ApiVersion, ...] = ()
DEPRECATED_PLATFORM_APIS: tuple[ApiVersion, ...] = ()

LATEST_BUILDPACK_API = SUPPORTED_BUILDPACK_APIS[-1]
LATEST_PLATFORM_API = SUPPORTED_PLATFORM_APIS[-1]
