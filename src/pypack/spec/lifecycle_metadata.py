"""The lifecycle metadata of an app image: which layer is which, and what the run image was.

Written by the exporter as the JSON label ``io.buildpacks.lifecycle.metadata`` and, in TOML
form, by the analyzer as the ``[metadata]`` table of analyzed.toml. The same structure spells
some keys differently in the two forms (``run-image``/``runImage``, ``top-layer``/``topLayer``,
``metadata``/``data``), as the reference lifecycle does. All shas are uncompressed diffIDs.
Unknown keys are kept, so labels written by other lifecycle versions survive a round trip.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from pypack.spec._base import FreeForm, Label, SpecModel
from pypack.spec.store_toml import StoreFile


class _Lenient(SpecModel):
    model_config = ConfigDict(extra="allow")


class LayerSha(_Lenient):
    """A layer named by its diffID."""

    sha: str = ""


class RunImageForExport(_Lenient):
    """A run image name and its mirrors."""

    image: str | None = None
    mirrors: list[str] | None = None


class RunImageForRebase(RunImageForExport):
    """The run image an app image was built on: what rebase replaces."""

    json_keys: ClassVar = {"top-layer": "topLayer"}

    top_layer: str = ""
    reference: str = ""


class StackMetadata(_Lenient):
    """Deprecated ``stack`` table (Platform < 0.12), still written for old tools."""

    json_keys: ClassVar = {"run-image": "runImage"}

    run_image: RunImageForExport = RunImageForExport()


class BuildpackLayer(_Lenient):
    """One buildpack layer: its diffID, its ``<layer>.toml`` metadata and its types."""

    json_keys: ClassVar = {"metadata": "data"}

    sha: str = ""
    data: FreeForm | None = Field(None, alias="metadata")
    build: bool = False
    launch: bool = False
    cache: bool = False


class BuildpackLayers(_Lenient):
    """The layers and store of one buildpack, keyed by buildpack ID (``key``)."""

    key: str
    version: str = ""
    layers: dict[str, BuildpackLayer] = {}
    store: StoreFile | None = None


class LayersMetadata(_Lenient):
    """The whole lifecycle metadata (``LayersMetadata`` in the reference lifecycle)."""

    json_keys: ClassVar = {"run-image": "runImage"}

    app: list[LayerSha] = []
    sbom: LayerSha | None = None
    buildpacks: list[BuildpackLayers] = []
    config: LayerSha = LayerSha()
    launcher: LayerSha = LayerSha()
    process_types: LayerSha = LayerSha()
    run_image: RunImageForRebase = RunImageForRebase()
    stack: StackMetadata | None = None

    def buildpack(self, buildpack_id: str) -> BuildpackLayers | None:
        """The entry of ``buildpack_id``, if the image has one."""
        return next((bp for bp in self.buildpacks if bp.key == buildpack_id), None)


class LifecycleMetadataLabel(LayersMetadata, Label):
    """The ``io.buildpacks.lifecycle.metadata`` label."""

    label_name: ClassVar[str] = "io.buildpacks.lifecycle.metadata"
