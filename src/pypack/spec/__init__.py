"""Pydantic models of every CNB file and image label, one module per format.

Each module says who writes its file and when. TOML files derive from
:class:`~pypack.spec._base.Document` (``load``/``loads``/``dump``/``dumps``); JSON image labels
from :class:`~pypack.spec._base.Label` (``from_label``/``to_label``). A malformed input raises
:class:`pypack.errors.SpecError` with one line naming the file, the key and the problem.
"""

from pypack.spec._base import Document, Label, SpecModel, unknown_keys
from pypack.spec.api import (
    SUPPORTED_BUILDPACK_APIS,
    SUPPORTED_PLATFORM_APIS,
    ApiVersion,
)

__all__ = [
    "SUPPORTED_BUILDPACK_APIS",
    "SUPPORTED_PLATFORM_APIS",
    "ApiVersion",
    "Document",
    "Label",
    "SpecModel",
    "unknown_keys",
]
