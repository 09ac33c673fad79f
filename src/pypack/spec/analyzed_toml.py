"""``<layers>/analyzed.toml``: what the analyzer found about the previous, run and build images.

Written by the analyzer (and updated by the detector and restorer); read by every later phase.
An ``[image]`` without a ``reference`` means no previous image, as the reference's
``PreviousImageRef() == ""`` reads it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from pypack.spec._base import Document, SpecModel
from pypack.spec.lifecycle_metadata import LayersMetadata
from pypack.spec.targets import Distro


class ImageIdentifier(SpecModel):
    """An image by reference: a digest reference, a daemon image ID or a layout path."""

    reference: str = ""


class TargetMetadata(SpecModel):
    """The run image's target. The reference lifecycle writes ``arch-variant``; the spec
    ``variant``. Both are read; ``arch-variant`` is written."""

    key_synonyms: ClassVar = {"variant": "arch-variant"}

    id: str | None = None
    os: str = ""
    arch: str = ""
    arch_variant: str | None = None
    distro: Distro | None = None


class RunImage(SpecModel):
    """``[run-image]``: the image the app image will be exported on."""

    reference: str = ""
    image: str | None = None
    extend: bool = False
    target: TargetMetadata | None = None


class AnalyzedFile(Document):
    """The whole ``analyzed.toml``."""

    file_name: ClassVar[str] = "analyzed.toml"

    image: ImageIdentifier | None = None
    build_image: ImageIdentifier | None = None
    metadata: LayersMetadata = LayersMetadata()
    run_image: RunImage | None = None

    @model_validator(mode="after")
    def _no_reference_no_image(self) -> AnalyzedFile:
        if self.image is not None and not self.image.reference:
            self.image = None
        return self
