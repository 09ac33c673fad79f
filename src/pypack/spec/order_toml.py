"""``order.toml``: the groups of buildpacks the detector tries, in order.

Written by ``pypack builder create`` to ``/cnb/order.toml`` (or by a platform to
``<layers>/order.toml``, which wins when present); read by the detector.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel
from pypack.spec.module import ModuleRef


class PinnedRef(ModuleRef):
    """A group entry of order.toml, where ``version`` is required."""

    version: str


class PinnedGroup(SpecModel):
    """One ``[[order]]`` group of order.toml; one without ``group`` is empty (it never passes),
    as the reference reads it."""

    group: list[PinnedRef] = []


class OrderFile(Document):
    """The whole ``order.toml``: ``[[order]]`` and ``[[order-extensions]]`` groups."""

    file_name: ClassVar[str] = "order.toml"

    order: list[PinnedGroup] = []
    order_extensions: list[PinnedGroup] | None = None
