"""``plan.toml``: the resolved build plan of the selected group.

Written by the detector to ``<layers>/plan.toml``; read by the builder, which hands each
buildpack the entries it provides. With no entries the reference lifecycle writes an empty file.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel
from pypack.spec.build_plan import Require
from pypack.spec.group_toml import GroupElement


class PlanEntry(SpecModel):
    """A dependency: the modules that provide it and every requirement for it."""

    providers: list[GroupElement]
    requires: list[Require]


class PlanFile(Document):
    """The whole ``plan.toml``."""

    file_name: ClassVar[str] = "plan.toml"

    entries: list[PlanEntry] = []
