"""``<layers>/<buildpack>/<layer>.toml``: a layer's types and metadata.

Written by ``bin/build`` (and by the restorer, without ``[types]``); read by the builder and
exporter to decide whether a layer is for build, launch and/or cache.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from pypack.spec._base import Document, FreeForm, SpecModel


class LayerTypes(SpecModel):
    """``[types]``: where the layer is used. All false means the layer is ignored."""

    launch: bool = False
    build: bool = False
    cache: bool = False


class LayerFile(Document):
    """The whole ``<layer>.toml``."""

    file_name: ClassVar[str] = "<layer>.toml"

    types: LayerTypes | None = None
    metadata: FreeForm = {}

    @model_validator(mode="before")
    @classmethod
    def _flags_in_types_table(cls, data: Any) -> Any:
        if isinstance(data, dict) and {"launch", "build", "cache"} & data.keys():
            raise ValueError(
                "the launch, build and cache flags belong in the [types] table, "
                "not at the top level"
            )
        return data

    @property
    def ignored(self) -> bool:
        """True when no type is set: the layer is neither built on, launched nor cached."""
        types = self.types or LayerTypes()
        return not (types.launch or types.build or types.cache)
