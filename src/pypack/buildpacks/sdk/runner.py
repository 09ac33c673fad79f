"""Runs a buildpack's ``detect`` or ``build`` as the lifecycle calls ``bin/detect``/``bin/build``.

Paths come from the ``CNB_*`` variables of Buildpack API 0.10+ and fall back to the positional
arguments older lifecycles pass. Exit codes: 0 pass, 100 detect fail, 1 buildpack error.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from types import ModuleType
from typing import Any

from pypack.buildpacks.sdk.context import (
    BuildContext,
    DetectContext,
    Target,
    platform_env,
    read_plan,
)
from pypack.buildpacks.sdk.detect import Detected
from pypack.buildpacks.sdk.toml_writer import dumps

SUPPORTED_APIS = ("0.10", "0.11", "0.12")
DETECT_FAIL = 100
ERROR = 1


class BuildpackError(Exception):
    """A failure to tell the user in one line (no traceback): raise it from detect or build."""


def _path(env: dict[str, str], name: str, argv: Sequence[str], index: int) -> Path:
    value = env.get(name) or (argv[index] if len(argv) > index else "")
    if not value:
        raise BuildpackError(f"{name} is not set and no argument {index} was given")
    return Path(value)


def _descriptor(buildpack_dir: Path) -> dict[str, Any]:
    with open(buildpack_dir / "buildpack.toml", "rb") as stream:
        descriptor = tomllib.load(stream)
    api = str(descriptor.get("api", ""))
    if api not in SUPPORTED_APIS:
        raise BuildpackError(
            f"{buildpack_dir / 'buildpack.toml'}: api {api!r} is not one the pypack SDK "
            f'supports ({", ".join(SUPPORTED_APIS)}); set api = "0.12"'
        )
    return descriptor


def load_module(buildpack_dir: Path) -> ModuleType:
    """Import ``buildpack.py`` from ``buildpack_dir``."""
    source = buildpack_dir / "buildpack.py"
    spec = importlib.util.spec_from_file_location(f"buildpack_{id(source)}", source)
    if spec is None or spec.loader is None:
        raise BuildpackError(f"{source}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def phase_function(module: ModuleType, phase: str) -> Callable[[Any], Any]:
    """``detect``/``build`` from the module, or from its ``buildpack`` object."""
    owner = getattr(module, "buildpack", module)
    function = getattr(owner, phase, None)
    if not callable(function):
        raise BuildpackError(f"{module.__file__}: defines no {phase}(ctx)")
    return function  # type: ignore[no-any-return]


def detect_context(buildpack_dir: Path, env: dict[str, str], argv: Sequence[str]) -> DetectContext:
    """The context of ``bin/detect``."""
    platform = _path(env, "CNB_PLATFORM_DIR", argv, 1)
    info = _descriptor(buildpack_dir)["buildpack"]
    return DetectContext(
        app_dir=Path.cwd(),
        buildpack_dir=buildpack_dir,
        platform_dir=platform,
        platform_env=platform_env(platform),
        target=Target.from_env(env),
        buildpack_id=info["id"],
        buildpack_version=info["version"],
    )


def build_context(buildpack_dir: Path, env: dict[str, str], argv: Sequence[str]) -> BuildContext:
    """The context of ``bin/build``: detect's plus the layers and the buildpack plan."""
    layers = _path(env, "CNB_LAYERS_DIR", argv, 1)
    plan = _path(env, "CNB_BP_PLAN_PATH", argv, 3)
    env_with_platform = {"CNB_PLATFORM_DIR": str(_path(env, "CNB_PLATFORM_DIR", argv, 2)), **env}
    base = detect_context(buildpack_dir, env_with_platform, [])
    shared = {f.name: getattr(base, f.name) for f in fields(DetectContext)}
    return BuildContext(**shared, layers_dir=layers, plan=read_plan(plan))


def run_detect(function: Callable[[Any], Any], ctx: DetectContext, plan_path: Path) -> int:
    """Call ``detect`` and write its plan; the exit code the lifecycle expects."""
    result = function(ctx)
    if result is None or result is False:
        return DETECT_FAIL
    if isinstance(result, Detected):
        plan = result.as_toml()
        if plan:
            plan_path.write_text(dumps(plan))
    return 0


def run_build(function: Callable[[Any], Any], ctx: BuildContext) -> int:
    """Call ``build`` and write layer tomls, ``launch.toml`` and ``build.toml``."""
    function(ctx)
    for layer in ctx.layers:
        layer.write_toml()
    ctx.launch.write(ctx.layers_dir)
    if ctx.build_unmet:
        document = {"unmet": [{"name": name} for name in ctx.build_unmet]}
        (ctx.layers_dir / "build.toml").write_text(dumps(document))
    return 0


def main(phase: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of the generated ``bin/detect`` and ``bin/build`` shims."""
    argv = list(sys.argv if argv is None else argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # keep order with subprocess output
    env = dict(os.environ)
    buildpack_dir = Path(env.get("CNB_BUILDPACK_DIR") or Path(argv[0]).resolve().parent.parent)
    try:
        function = phase_function(load_module(buildpack_dir), phase)
        if phase == "detect":
            ctx = detect_context(buildpack_dir, env, argv)
            plan = _path(env, "CNB_BUILD_PLAN_PATH", argv, 2)
            return run_detect(function, ctx, plan)
        return run_build(function, build_context(buildpack_dir, env, argv))
    except BuildpackError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return ERROR
    except Exception:
        traceback.print_exc()
        return ERROR
