"""What detection and build share: where things are, and the environment a buildpack gets."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pypack.lifecycle.buildpacks import (
    Buildpack,
    BuildpackStore,
    ExtensionStore,
    os_release_distro,
)
from pypack.lifecycle.env import BuildEnv
from pypack.lifecycle.inputs import CreatorInputs, LifecyclePaths
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.runner import BuildpackRunner
from pypack.lifecycle.targets_env import host_arch, target_env
from pypack.spec.analyzed_toml import AnalyzedFile, TargetMetadata
from pypack.spec.api import ApiVersion


@dataclass
class Execution:
    """The inputs for running buildpack executables in one detect or build."""

    store: BuildpackStore
    runner: BuildpackRunner
    app_dir: Path
    platform_dir: Path
    build_config_dir: Path | None
    env: BuildEnv
    platform_api: ApiVersion
    plan_dir: Path
    run_target: TargetMetadata | None = None
    exec_env: str = "production"
    extensions: ExtensionStore = field(
        default_factory=lambda: ExtensionStore(Path("/cnb/extensions"))
    )

    def environment(self, buildpack: Buildpack, api_0_8_vars: dict[str, str]) -> dict[str, str]:
        """The env of ``bin/detect`` or ``bin/build``: the shared build env, the user's platform
        env (unless ``clear-env``), the operator's build-config env, then the ``CNB_*`` variables
        the buildpack's API defines (``api_0_8_vars`` from Buildpack API 0.8)."""
        clear = buildpack.descriptor.buildpack.clear_env
        env = self.env.with_overrides(None if clear else self.platform_dir, self.build_config_dir)
        env["CNB_EXTENSION_DIR" if buildpack.extension else "CNB_BUILDPACK_DIR"] = str(
            buildpack.root
        )
        api = buildpack.api
        if api.at_least("0.8"):
            env.update(api_0_8_vars)
        if api.at_least("0.10"):
            env.update(target_env(self.run_target))
        if api.at_least("0.12"):
            env["CNB_EXEC_ENV"] = self.exec_env
        return env


def run_target(paths: LifecyclePaths) -> TargetMetadata:
    """The run image's target from analyzed.toml, with a missing arch and distro filled in from
    the build image, as the reference lifecycle does."""
    path = paths.analyzed_file
    if not path.is_file():
        LOGGER.warning("No analyzed metadata found at path %r", str(path))
    analyzed = AnalyzedFile.load(path) if path.is_file() else AnalyzedFile()
    target = analyzed.run_image.target if analyzed.run_image and analyzed.run_image.target else None
    target = target.model_copy() if target else TargetMetadata(os="linux")
    if not target.arch:
        target.arch = host_arch()
    if target.distro is None:
        target.distro = os_release_distro(paths.build_root / "etc" / "os-release")
    return target


@contextmanager
def execution(inputs: CreatorInputs) -> Iterator[Execution]:
    """The :class:`Execution` for a detect or build run from ``inputs``, with a directory for
    the buildpacks' plan files that lives as long as the run."""
    paths = inputs.paths
    with contextlib.ExitStack() as stack:
        plan_dir = paths.plans
        if plan_dir is None:
            plan_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="plan-", dir=paths.scratch))
            )
        yield Execution(
            store=BuildpackStore(*paths.buildpacks),
            runner=inputs.runner,
            app_dir=paths.app,
            platform_dir=paths.platform,
            build_config_dir=paths.build_config if inputs.platform_api.at_least("0.11") else None,
            env=BuildEnv.from_environ(inputs.build_env),
            platform_api=inputs.platform_api,
            plan_dir=plan_dir,
            run_target=run_target(paths),
            exec_env=inputs.exec_env,
            extensions=ExtensionStore(paths.extensions),
        )
