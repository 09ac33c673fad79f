"""``<layers>/<buildpack>/build.toml``: Buildpack Plan entries this buildpack did not meet.

Written by ``bin/build``; read by the builder, which passes unmet entries on to the next
buildpack that provides them.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from pypack.spec._base import Document, SpecModel
from pypack.spec.bom import BomEntry


class Unmet(SpecModel):
    """``[[unmet]]``: the name of a Buildpack Plan entry left for a later buildpack."""

    name: str


class BuildFile(Document):
    """The whole ``build.toml``."""

    file_name: ClassVar[str] = "build.toml"
    model_config = ConfigDict(extra="allow")

    unmet: list[Unmet] = []
    bom: list[BomEntry] | None = None
