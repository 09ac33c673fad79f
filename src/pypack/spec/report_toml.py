"""``<layers>/report.toml``: what the exporter (or rebaser) wrote.

Written by the exporter and rebaser; read by platforms (Tekton reads the digest from it).
``manifest-size`` is an integer, as the reference lifecycle writes it.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel
from pypack.spec.bom import BomEntry


class ImageReport(SpecModel):
    """``[image]``: the tags saved, and the digest (registry) or image ID (daemon)."""

    tags: list[str] = []
    image_id: str | None = None
    digest: str | None = None
    manifest_size: int | None = None


class BuildReport(SpecModel):
    """``[build]``: the legacy bill of materials (Platform < 0.9)."""

    bom: list[BomEntry] = []


class ReportFile(Document):
    """The whole ``report.toml``."""

    file_name: ClassVar[str] = "report.toml"

    image: ImageReport = ImageReport()
    build: BuildReport | None = None
