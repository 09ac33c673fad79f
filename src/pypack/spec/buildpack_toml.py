"""``buildpack.toml``: the descriptor at the root of every buildpack.

Written by buildpack authors; read by the detector (order, targets, API), the builder,
``pypack builder create`` and ``pypack buildpack package``. A *component* buildpack has
``bin/detect`` and ``bin/build``; a *composite* one has ``[[order]]`` instead.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, model_validator

from pypack.spec._base import Document, FreeForm
from pypack.spec.api import ApiVersion
from pypack.spec.module import ModuleInfo, OrderGroup, Stack
from pypack.spec.targets import Target

SBOM_MEDIA_TYPES = {
    "cdx.json": "application/vnd.cyclonedx+json",
    "spdx.json": "application/spdx+json",
    "syft.json": "application/vnd.syft+json",
}
"""SBOM file extension → the media type a buildpack declares in ``sbom-formats``."""


class BuildpackDescriptor(Document):
    """The whole ``buildpack.toml``."""

    file_name: ClassVar[str] = "buildpack.toml"
    model_config = ConfigDict(extra="allow")

    api: ApiVersion
    buildpack: ModuleInfo
    order: list[OrderGroup] | None = None
    targets: list[Target] | None = None
    stacks: list[Stack] | None = None
    metadata: FreeForm | None = None

    @model_validator(mode="after")
    def _composite_rules(self) -> BuildpackDescriptor:
        # pack: "cannot have both 'targets'/'stacks' and an 'order' defined"
        if self.order and (self.stacks or self.targets):
            raise ValueError(
                "a composite buildpack ([[order]]) must not declare [[targets]] or [[stacks]]"
            )
        return self

    @property
    def is_composite(self) -> bool:
        """True for a buildpack that is an order of other buildpacks."""
        return bool(self.order)
