"""``<layers>/project-metadata.toml`` and the ``io.buildpacks.project.metadata`` label.

Written by the platform (pack fills in git source data); read by the exporter, which copies it
into the label. Both forms use the same keys.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from pypack.spec._base import Document, FreeForm, Label, SpecModel


class ProjectSource(SpecModel):
    """``[source]``: e.g. ``type = "git"`` with ``version.commit`` and ``metadata.url``."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    version: FreeForm | None = None
    metadata: FreeForm | None = None


class ProjectMetadataFile(Document):
    """The whole ``project-metadata.toml``."""

    file_name: ClassVar[str] = "project-metadata.toml"

    source: ProjectSource | None = None


class ProjectMetadataLabel(Label):
    """The ``io.buildpacks.project.metadata`` label."""

    label_name: ClassVar[str] = "io.buildpacks.project.metadata"
    model_config = ConfigDict(extra="allow")

    source: ProjectSource | None = None
