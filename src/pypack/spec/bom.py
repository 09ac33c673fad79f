"""The deprecated ``[[bom]]`` entries of launch.toml and build.toml (Buildpack API < 0.7).

The reference lifecycle still reads them and writes them to ``sbom.legacy.json``.
"""

from __future__ import annotations

from pypack.spec.build_plan import DetectRequire
from pypack.spec.group_toml import GroupElement


class BomEntry(DetectRequire):
    """A bill-of-materials entry: a requirement plus the buildpack that recorded it. A
    top-level ``version`` is refused, as the reference's ``ValidateBOM`` refuses it."""

    buildpack: GroupElement | None = None
