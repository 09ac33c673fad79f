"""The deprecated ``[[bom]]`` entries of launch.toml and build.toml (Buildpack API < 0.7).

The reference lifecycle still reads them and writes them to ``sbom.legacy.json``.
"""

from __future__ import annotations

from pypack.spec.build_plan import Require
from pypack.spec.group_toml import GroupElement


class BomEntry(Require):
    """A bill-of-materials entry: a requirement plus the buildpack that recorded it."""

    buildpack: GroupElement | None = None
