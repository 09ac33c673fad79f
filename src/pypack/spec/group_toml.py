"""``group.toml``: the buildpacks (and extensions) the detector selected.

Written by the detector to ``<layers>/group.toml``; read by the restorer, builder and exporter.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel
from pypack.spec.api import ApiVersion


class GroupElement(SpecModel):
    """One selected module. ``api`` is required in group.toml; plan providers omit it."""

    id: str
    version: str
    api: ApiVersion | None = None
    homepage: str | None = None
    extension: bool | None = None
    optional: bool | None = None
    """Both are left out when false, as the reference lifecycle writes them."""

    @property
    def full_name(self) -> str:
        """``id@version``."""
        return f"{self.id}@{self.version}"


class GroupFile(Document):
    """The whole ``group.toml``."""

    file_name: ClassVar[str] = "group.toml"

    group: list[GroupElement] = []
    group_extensions: list[GroupElement] | None = None
