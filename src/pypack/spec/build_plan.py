"""The build plan a buildpack's ``bin/detect`` writes to ``$CNB_BUILD_PLAN_PATH``.

Written by ``bin/detect``; read by the detector, which resolves provides against requires.
``[[or]]`` tables are alternatives tried in order after the top-level one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field, model_validator

from pypack.spec._base import Document, FreeForm, SpecModel


class Provide(SpecModel):
    """``[[provides]]``: a dependency this buildpack can contribute. As in the reference, a
    missing ``name`` is the empty name (which only an empty-named requirement matches)."""

    name: str = ""


class Require(SpecModel):
    """A requirement with free-form ``[metadata]``: in plan.toml and the Buildpack Plan, where
    the reference also reads (and keeps) a top-level ``version``."""

    name: str = ""
    metadata: FreeForm = {}


class DetectRequire(Require):
    """``[[requires]]`` of a buildpack's detect output, and a deprecated ``[[bom]]`` entry."""

    @model_validator(mode="before")
    @classmethod
    def _no_top_level_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "version" in data:
            raise ValueError("a top-level 'version' is not allowed; put it in metadata.version")
        return data


class PlanSections(SpecModel):
    """One alternative: what it provides and what it requires."""

    provides: list[Provide] = []
    requires: list[DetectRequire] = []


class DetectPlan(PlanSections, Document):
    """The whole detect-time build plan: the top-level sections, then ``[[or]]`` alternatives."""

    file_name: ClassVar[str] = "plan.toml"

    model_config = ConfigDict(extra="allow")

    or_: list[PlanSections] = Field([], alias="or")

    def alternatives(self) -> list[PlanSections]:
        """The options the detector tries, in order: the top level first, then each ``or``."""
        top = PlanSections(provides=self.provides, requires=self.requires)
        return [top, *self.or_]
