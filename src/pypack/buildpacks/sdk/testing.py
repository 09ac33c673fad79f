"""Run a buildpack's ``detect`` and ``build`` against a fixture app, in-process, no image.

harness = BuildpackHarness(Path("my-buildpack"), tmp_path)
assert harness.detect(app).passed
result = harness.build(app)
assert result.processes["web"]["command"] == ["python3", "app.py"]
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypack.buildpacks.sdk.context import PlanEntry, Target
from pypack.buildpacks.sdk.runner import (
    DETECT_FAIL,
    build_context,
    detect_context,
    load_module,
    phase_function,
    run_build,
    run_detect,
)
from pypack.buildpacks.sdk.toml_writer import dumps


def _toml(path: Path) -> dict[str, Any]:
    with open(path, "rb") as stream:
        return tomllib.load(stream)


@dataclass
class DetectOutcome:
    """What ``detect`` decided and the plan it wrote."""

    passed: bool
    plan: dict[str, Any]


@dataclass
class BuildOutcome:
    """What ``build`` left in the layers directory."""

    layers_dir: Path
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    launch: dict[str, Any] = field(default_factory=dict)
    unmet: list[str] = field(default_factory=list)

    def layer_path(self, name: str) -> Path:
        return self.layers_dir / name


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


class BuildpackHarness:
    """A buildpack directory plus scratch space where its phases run as the lifecycle would."""

    def __init__(self, buildpack_dir: Path, scratch: Path, *, target: Target | None = None):
        self.buildpack_dir = buildpack_dir.resolve()
        self.scratch = scratch
        self.target = target or Target(arch="amd64", distro_name="debian", distro_version="12")
        self.layers_dir = scratch / "layers"
        self.layers_dir.mkdir(parents=True, exist_ok=True)

    def _env(self, platform_env: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
        platform = self.scratch / "platform"
        shutil.rmtree(platform, ignore_errors=True)
        (platform / "env").mkdir(parents=True)
        for name, value in platform_env.items():
            (platform / "env" / name).write_text(value)
        return {
            "CNB_PLATFORM_DIR": str(platform),
            "CNB_BUILDPACK_DIR": str(self.buildpack_dir),
            "CNB_LAYERS_DIR": str(self.layers_dir),
            "CNB_TARGET_OS": self.target.os,
            "CNB_TARGET_ARCH": self.target.arch,
            "CNB_TARGET_DISTRO_NAME": self.target.distro_name,
            "CNB_TARGET_DISTRO_VERSION": self.target.distro_version,
            **extra,
        }

    def detect(self, app: Path, *, env: Mapping[str, str] | None = None) -> DetectOutcome:
        """Run ``detect`` with ``app`` as the working directory."""
        plan_path = self.scratch / "plan.toml"
        plan_path.unlink(missing_ok=True)
        environment = self._env(env or {}, {"CNB_BUILD_PLAN_PATH": str(plan_path)})
        function = phase_function(load_module(self.buildpack_dir), "detect")
        with _cwd(app):
            ctx = detect_context(self.buildpack_dir, environment, [])
            code = run_detect(function, ctx, plan_path)
        plan = _toml(plan_path) if plan_path.is_file() else {}
        return DetectOutcome(code != DETECT_FAIL, plan)

    def build(
        self,
        app: Path,
        *,
        plan: list[PlanEntry] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> BuildOutcome:
        """Run ``build``; layers left by an earlier ``build`` stay, as a restore would leave
        them (tomls keep their metadata, lose their types)."""
        for toml_path in self.layers_dir.glob("*.toml"):
            if toml_path.name in ("launch.toml", "build.toml"):
                toml_path.unlink()
                continue
            kept = _toml(toml_path).get("metadata", {})
            toml_path.write_text(dumps({"metadata": kept}))
        plan_path = self.scratch / "buildpack-plan.toml"
        entries = [{"name": e.name, "metadata": e.metadata} for e in plan or []]
        plan_path.write_text(dumps({"entries": entries}))
        environment = self._env(env or {}, {"CNB_BP_PLAN_PATH": str(plan_path)})
        function = phase_function(load_module(self.buildpack_dir), "build")
        with _cwd(app):
            run_build(function, build_context(self.buildpack_dir, environment, []))
        return self._outcome()

    def _outcome(self) -> BuildOutcome:
        outcome = BuildOutcome(self.layers_dir)
        for toml_path in sorted(self.layers_dir.glob("*.toml")):
            name = toml_path.name.removesuffix(".toml")
            if name not in ("launch", "build"):
                outcome.layers[name] = _toml(toml_path)
        launch = self.layers_dir / "launch.toml"
        if launch.is_file():
            outcome.launch = _toml(launch)
            outcome.processes = {p["type"]: p for p in outcome.launch.get("processes", [])}
        build = self.layers_dir / "build.toml"
        if build.is_file():
            outcome.unmet = [u["name"] for u in _toml(build).get("unmet", [])]
        return outcome
