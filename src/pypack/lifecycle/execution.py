"""What detection and build share: where things are, and the environment a buildpack gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pypack.lifecycle.buildpacks import Buildpack, BuildpackStore
from pypack.lifecycle.env import BuildEnv
from pypack.lifecycle.runner import BuildpackRunner
from pypack.lifecycle.targets_env import target_env
from pypack.spec.analyzed_toml import TargetMetadata
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

    def environment(self, buildpack: Buildpack, api_0_8_vars: dict[str, str]) -> dict[str, str]:
        """The env of ``bin/detect`` or ``bin/build``: the shared build env, the user's platform
        env (unless ``clear-env``), the operator's build-config env, then the ``CNB_*`` variables
        the buildpack's API defines (``api_0_8_vars`` from Buildpack API 0.8)."""
        clear = buildpack.descriptor.buildpack.clear_env
        env = self.env.with_overrides(None if clear else self.platform_dir, self.build_config_dir)
        env["CNB_BUILDPACK_DIR"] = str(buildpack.root)
        api = buildpack.api
        if api.at_least("0.8"):
            env.update(api_0_8_vars)
        if api.at_least("0.10"):
            env.update(target_env(self.run_target))
        if api.at_least("0.12"):
            env["CNB_EXEC_ENV"] = self.exec_env
        return env
