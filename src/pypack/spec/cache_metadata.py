"""The build cache's metadata: which cache layers it holds, by buildpack.

Written by the exporter as ``<cache-dir>/committed/io.buildpacks.lifecycle.cache.metadata``
(a volume cache) or as the label of that name on a cache image; read by the restorer. Same
JSON spelling as the lifecycle metadata label.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Label
from pypack.spec.lifecycle_metadata import BuildpackLayers, LayerSha, _Lenient


class CacheMetadata(_Lenient, Label):
    """``{"sbom": {"sha"}, "buildpacks": [{"key", "version", "layers": {...}}]}``."""

    label_name: ClassVar[str] = "io.buildpacks.lifecycle.cache.metadata"

    sbom: LayerSha | None = None
    buildpacks: list[BuildpackLayers] = []

    def buildpack(self, buildpack_id: str) -> BuildpackLayers | None:
        """The entry of ``buildpack_id``, if the cache has one."""
        return next((bp for bp in self.buildpacks if bp.key == buildpack_id), None)
