"""What a buildpack sees: the app, the platform, the target and (in build) the plan and layers."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypack.buildpacks.sdk.launch import LaunchResult
from pypack.buildpacks.sdk.layers import Layer


@dataclass(frozen=True)
class Target:
    """The image the app will run on (``CNB_TARGET_*``, Buildpack API 0.10+)."""

    os: str = "linux"
    arch: str = ""
    arch_variant: str = ""
    distro_name: str = ""
    distro_version: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Target:
        return cls(
            os=env.get("CNB_TARGET_OS", "linux"),
            arch=env.get("CNB_TARGET_ARCH", ""),
            arch_variant=env.get("CNB_TARGET_ARCH_VARIANT", ""),
            distro_name=env.get("CNB_TARGET_DISTRO_NAME", ""),
            distro_version=env.get("CNB_TARGET_DISTRO_VERSION", ""),
        )


@dataclass(frozen=True)
class PlanEntry:
    """A requirement this buildpack was chosen to provide (``[[entries]]`` of the plan)."""

    name: str
    metadata: dict[str, Any] = field(default_factory=dict)


def platform_env(platform_dir: Path) -> dict[str, str]:
    """The user's build-time variables: one file per variable under ``<platform>/env``."""
    env_dir = platform_dir / "env"
    if not env_dir.is_dir():
        return {}
    return {p.name: p.read_text() for p in sorted(env_dir.iterdir()) if p.is_file()}


@dataclass
class DetectContext:
    """Inputs of ``detect``: the working directory is the app."""

    app_dir: Path
    buildpack_dir: Path
    platform_dir: Path
    platform_env: dict[str, str]
    target: Target
    buildpack_id: str
    buildpack_version: str

    def app_file(self, *names: str) -> Path | None:
        """The first of ``names`` that exists in the app, or ``None``."""
        for name in names:
            if (self.app_dir / name).exists():
                return self.app_dir / name
        return None

    def env(self, name: str, default: str = "") -> str:
        """A build-time variable: the platform's value, else the process environment's."""
        return self.platform_env.get(name, os.environ.get(name, default))


@dataclass
class BuildContext(DetectContext):
    """Inputs and outputs of ``build``: plan entries in, layers, processes and labels out."""

    layers_dir: Path = Path()
    plan: list[PlanEntry] = field(default_factory=list)
    launch: LaunchResult = field(default_factory=LaunchResult)
    build_unmet: list[str] = field(default_factory=list)
    _layers: dict[str, Layer] = field(default_factory=dict)

    def layer(
        self, name: str, *, launch: bool = False, build: bool = False, cache: bool = False
    ) -> Layer:
        """The layer ``name`` with the given types, holding whatever the lifecycle restored."""
        if name not in self._layers:
            self._layers[name] = Layer.open(self.layers_dir, name)
        found = self._layers[name]
        found.launch, found.build, found.cache = launch, build, cache
        return found

    def entries(self, name: str) -> list[PlanEntry]:
        """The plan entries called ``name``."""
        return [entry for entry in self.plan if entry.name == name]

    def unmet(self, name: str) -> None:
        """Give plan entry ``name`` back: a later buildpack that provides it will get it."""
        self.build_unmet.append(name)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers.values())


def read_plan(path: Path) -> list[PlanEntry]:
    """The entries of a buildpack plan file."""
    with open(path, "rb") as stream:
        data = tomllib.load(stream)
    return [PlanEntry(e["name"], dict(e.get("metadata", {}))) for e in data.get("entries", [])]
