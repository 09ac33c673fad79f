"""Image labels of builders and buildpackages, as pack writes them.

Written by ``pypack builder create`` and ``pypack buildpack package``; read by ``pypack build``
(which buildpacks and lifecycle a builder has) and ``pypack inspect``. The lifecycle's own
labels live with their files: :mod:`pypack.spec.lifecycle_metadata`,
:mod:`pypack.spec.metadata_toml`, :mod:`pypack.spec.project_metadata`. Unknown keys are kept.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from pypack.spec._base import Label, SpecModel
from pypack.spec.api import ApiVersion
from pypack.spec.lifecycle_toml import Apis
from pypack.spec.module import ModuleInfo, ModuleRef, OrderGroup, Stack
from pypack.spec.targets import Target


class _Lenient(SpecModel):
    model_config = ConfigDict(extra="allow")


class RunImageMetadata(_Lenient):
    """A run image and its mirrors."""

    image: str = ""
    mirrors: list[str] = []


class BuilderStack(_Lenient):
    """``stack`` of the builder label (deprecated; the first run image)."""

    json_keys: ClassVar = {"run-image": "runImage"}

    run_image: RunImageMetadata = RunImageMetadata()


class LifecycleApiPair(_Lenient):
    """``lifecycle.api`` (deprecated): one Buildpack and one Platform API."""

    buildpack: ApiVersion | None = None
    platform: ApiVersion | None = None


class BuilderLifecycle(_Lenient):
    """``lifecycle``: the lifecycle version and the APIs it supports."""

    version: str = ""
    api: LifecycleApiPair = LifecycleApiPair()
    apis: Apis = Apis()


class CreatedBy(_Lenient):
    """``createdBy``: the tool that made the builder."""

    name: str = ""
    version: str = ""


class BuilderMetadataLabel(Label):
    """The ``io.buildpacks.builder.metadata`` label."""

    label_name: ClassVar[str] = "io.buildpacks.builder.metadata"
    model_config = ConfigDict(extra="allow")

    description: str = ""
    buildpacks: list[ModuleInfo] = []
    extensions: list[ModuleInfo] = []
    stack: BuilderStack = BuilderStack()
    lifecycle: BuilderLifecycle = BuilderLifecycle()
    created_by: CreatedBy = Field(CreatedBy(), alias="createdBy")
    images: list[RunImageMetadata] = []


class ModuleLayerInfo(_Lenient):
    """Where one buildpack version lives in the image, and what it declares."""

    api: ApiVersion
    stacks: list[Stack] | None = None
    targets: list[Target] | None = None
    order: list[OrderGroup] | None = None
    layer_diff_id: str = Field(alias="layerDiffID")
    homepage: str | None = None
    name: str | None = None


class BuildpackLayersLabel(Label):
    """``io.buildpacks.buildpack.layers``: buildpack ID → version → layer info."""

    label_name: ClassVar[str] = "io.buildpacks.buildpack.layers"
    root_field: ClassVar[str | None] = "modules"

    modules: dict[str, dict[str, ModuleLayerInfo]] = {}

    def get(self, buildpack_id: str, version: str | None = None) -> ModuleLayerInfo | None:
        """The info of ``buildpack_id@version``; without a version, the only version there is."""
        versions = self.modules.get(buildpack_id, {})
        if version:
            return versions.get(version)
        return next(iter(versions.values())) if len(versions) == 1 else None


class ExtensionLayersLabel(BuildpackLayersLabel):
    """``io.buildpacks.extension.layers``: the same shape, for image extensions."""

    label_name: ClassVar[str] = "io.buildpacks.extension.layers"


class BuildpackOrderLabel(Label):
    """``io.buildpacks.buildpack.order``: the builder's order as JSON."""

    label_name: ClassVar[str] = "io.buildpacks.buildpack.order"
    root_field: ClassVar[str | None] = "order"

    order: list[OrderGroup] = []


class BuildpackageMetadataLabel(ModuleInfo, Label):
    """``io.buildpacks.buildpackage.metadata``: the buildpackage's entry buildpack."""

    label_name: ClassVar[str] = "io.buildpacks.buildpackage.metadata"

    stacks: list[Stack] | None = None


__all__ = [
    "BuilderMetadataLabel",
    "BuildpackLayersLabel",
    "BuildpackOrderLabel",
    "BuildpackageMetadataLabel",
    "ExtensionLayersLabel",
    "ModuleLayerInfo",
    "ModuleRef",
]
