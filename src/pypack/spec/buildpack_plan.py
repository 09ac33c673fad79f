"""The Buildpack Plan a buildpack's ``bin/build`` reads from ``$CNB_BP_PLAN_PATH``.

Written by the builder for each buildpack: one entry per requirement of every plan entry this
buildpack provides, so a name can appear more than once.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document
from pypack.spec.build_plan import Require


class BuildpackPlan(Document):
    """The whole Buildpack Plan: ``[[entries]]`` with ``name`` and ``[entries.metadata]``."""

    file_name: ClassVar[str] = "plan.toml"

    entries: list[Require] = []
