"""The result of ``detect``: what the buildpack provides and requires (the build plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Provide:
    """A dependency this buildpack can provide."""

    name: str


@dataclass(frozen=True)
class Require:
    """A dependency this buildpack (or a later one) needs, with metadata for its provider."""

    name: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Detected:
    """``detect`` passed. ``provides``/``requires`` form the plan; ``alternatives`` are further
    plans (``[[or]]``) the lifecycle may pick instead."""

    provides: list[Provide | str] = field(default_factory=list)
    requires: list[Require | str] = field(default_factory=list)
    alternatives: list[Detected] = field(default_factory=list)

    def as_toml(self) -> dict[str, Any]:
        document = self._plan()
        if self.alternatives:
            document["or"] = [alternative._plan() for alternative in self.alternatives]
        return document

    def _plan(self) -> dict[str, Any]:
        provides = [Provide(p) if isinstance(p, str) else p for p in self.provides]
        requires = [Require(r) if isinstance(r, str) else r for r in self.requires]
        plan: dict[str, Any] = {}
        if provides:
            plan["provides"] = [{"name": p.name} for p in provides]
        if requires:
            plan["requires"] = [
                {"name": r.name, **({"metadata": r.metadata} if r.metadata else {})}
                for r in requires
            ]
        return plan
