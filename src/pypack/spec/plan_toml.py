"""``plan.toml``: the resolved build plan of the selected group.

Written by the detector to ``<layers>/plan.toml``; read by the builder, which hands each
buildpack the entries it provides. With no entries the reference lifecycle writes an empty file.
Read as the reference reads it: an entry without ``providers`` or ``requires`` has none (and is
handed to nobody), and a top-level ``version`` in a requirement is kept (the reference's plan
``Require`` has that field; only a buildpack's detect output may not use it).
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel
from pypack.spec.build_plan import Require
from pypack.spec.group_toml import GroupElement


class PlanEntry(SpecModel):
    """A dependency: the modules that provide it and every requirement for it."""

    providers: list[GroupElement] = []
    requires: list[Require] = []


class PlanFile(Document):
    """The whole ``plan.toml``."""

    file_name: ClassVar[str] = "plan.toml"

    entries: list[PlanEntry] = []
