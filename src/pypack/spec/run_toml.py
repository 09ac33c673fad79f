"""``/cnb/run.toml``: the run images a builder offers, each with its mirrors.

Written by ``pypack builder create``; read by the analyzer (to pick the run image) and the
exporter. Mirrors are allowed only with an image.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel


class RunImageEntry(SpecModel):
    """``[[images]]``: a run image and its mirrors."""

    image: str
    mirrors: list[str] | None = None


class RunFile(Document):
    """The whole ``run.toml``."""

    file_name: ClassVar[str] = "run.toml"

    images: list[RunImageEntry] = []
