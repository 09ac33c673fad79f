"""The phase binaries: flags, inputs, privilege checks and exit codes around the phase logic.

Each phase declares its flags (with the Platform API range each exists in), resolves its inputs
(flags > ``CNB_*`` env > defaults, as in the reference lifecycle) and calls the phase logic.
Errors become one ``ERROR:`` line and the phase's exit code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pypack.errors import ApiError, ExitCode, PypackError, SpecError, UserError
from pypack.lifecycle.builder import Builder
from pypack.lifecycle.buildpacks import BuildpackStore, check_buildpack_api, os_release_distro
from pypack.lifecycle.detector import Detector, system_order
from pypack.lifecycle.env import BuildEnv
from pypack.lifecycle.execution import Execution
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.log import LOGGER, phase
from pypack.lifecycle.runner import BuildpackRunner, ProcessRunner
from pypack.lifecycle.targets_env import host_arch
from pypack.spec.analyzed_toml import AnalyzedFile, TargetMetadata
from pypack.spec.api import SUPPORTED_PLATFORM_APIS, ApiVersion
from pypack.spec.group_toml import GroupFile
from pypack.spec.module import ModuleRef
from pypack.spec.order_toml import OrderFile
from pypack.spec.plan_toml import PlanFile
from pypack.spec.system_toml import SystemFile

LAYERS, APP, PLATFORM = "/layers", "/workspace", "/platform"
BUILDPACKS, BUILD_CONFIG = "/cnb/buildpacks", "/cnb/build-config"
CNB_ORDER, CNB_RUN, CNB_SYSTEM = "/cnb/order.toml", "/cnb/run.toml", "/cnb/system.toml"

COMMON = (
    Flag("log-level", "CNB_LOG_LEVEL", "info"),
    Flag("no-color", "CNB_NO_COLOR", boolean=True),
    Flag("version", boolean=True),
)


def platform_api(environ: Mapping[str, str]) -> ApiVersion:
    """``CNB_PLATFORM_API``, which must be set and supported (exit 11 otherwise)."""
    raw = environ.get("CNB_PLATFORM_API", "")
    if not raw:
        raise ApiError(
            "failed to get platform API version; please set 'CNB_PLATFORM_API' to specify the "
            "desired platform API version",
            exit_code=ExitCode.INCOMPATIBLE_PLATFORM_API,
        )
    try:
        version = ApiVersion.parse(raw)
    except ValueError:
        raise ApiError(
            f"failed to parse platform API '{raw}'", exit_code=ExitCode.INCOMPATIBLE_PLATFORM_API
        ) from None
    if version not in SUPPORTED_PLATFORM_APIS:
        supported = ", ".join(str(v) for v in SUPPORTED_PLATFORM_APIS)
        raise ApiError(
            f"platform API version '{raw}' is incompatible with the lifecycle "
            f"(supported: {supported})",
            exit_code=ExitCode.INCOMPATIBLE_PLATFORM_API,
        )
    return version


@dataclass
class Context:
    """What every phase gets besides its flags."""

    api: ApiVersion
    environ: Mapping[str, str]
    runner: BuildpackRunner


@dataclass(frozen=True)
class PhaseCommand:
    """A phase binary: its flags, whether it may run as root, and what it does."""

    name: str
    flags: tuple[Flag, ...]
    run: Callable[[Parsed, Context], None]
    allow_root: bool = True
    positional: bool = False


# --- shared inputs -----------------------------------------------------------------------------


def layers_dir(parsed: Parsed) -> Path:
    return Path(parsed.text("layers") or LAYERS)


def in_layers(parsed: Parsed, flag: str, file_name: str) -> Path:
    return Path(parsed.text(flag) or layers_dir(parsed) / file_name)


def _run_target(parsed: Parsed) -> TargetMetadata:
    """The run image target from analyzed.toml, with a missing distro and arch filled in from
    this (build) container, as the reference lifecycle does."""
    path = in_layers(parsed, "analyzed", "analyzed.toml")
    analyzed = AnalyzedFile.load(path) if path.is_file() else AnalyzedFile()
    if not path.is_file():
        LOGGER.warning("No analyzed metadata found at path %r", str(path))
    target = analyzed.run_image.target if analyzed.run_image and analyzed.run_image.target else None
    target = target.model_copy() if target else TargetMetadata(os="linux")
    if not target.arch:
        target.arch = host_arch()
    if target.distro is None:
        target.distro = os_release_distro()
    return target


def _build_config(parsed: Parsed, api: ApiVersion) -> Path | None:
    return Path(parsed.text("build-config") or BUILD_CONFIG) if api.at_least("0.11") else None


def _exec_env(environ: Mapping[str, str]) -> str:
    return environ.get("CNB_EXEC_ENV") or "production"


def _execution(
    parsed: Parsed, context: Context, store: BuildpackStore, plan_dir: Path
) -> Execution:
    return Execution(
        store=store,
        runner=context.runner,
        app_dir=Path(parsed.text("app") or APP),
        platform_dir=Path(parsed.text("platform") or PLATFORM),
        build_config_dir=_build_config(parsed, context.api),
        env=BuildEnv.from_environ(context.environ),
        platform_api=context.api,
        plan_dir=plan_dir,
        run_target=_run_target(parsed),
        exec_env=_exec_env(context.environ),
    )


# --- detector ----------------------------------------------------------------------------------

DETECTOR_FLAGS = (
    *COMMON,
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("app", "CNB_APP_DIR", APP),
    Flag("buildpacks", "CNB_BUILDPACKS_DIR", BUILDPACKS),
    Flag("build-config", "CNB_BUILD_CONFIG_DIR", BUILD_CONFIG),
    Flag("extensions", "CNB_EXTENSIONS_DIR", "/cnb/extensions"),
    Flag("generated", "CNB_GENERATED_DIR"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("order", "CNB_ORDER_PATH"),
    Flag("plan", "CNB_PLAN_PATH"),
    Flag("platform", "CNB_PLATFORM_DIR", PLATFORM),
    Flag("run", "CNB_RUN_PATH", CNB_RUN),
    Flag("system", "CNB_SYSTEM_PATH", CNB_SYSTEM, since="0.15"),
)


def _order_path(parsed: Parsed) -> Path:
    given = parsed.text("order")
    if given:
        return Path(given)
    in_layers = layers_dir(parsed) / "order.toml"
    return in_layers if in_layers.is_file() else Path(CNB_ORDER)


def run_detector(parsed: Parsed, context: Context) -> None:
    """Detect the group and plan; write group.toml and plan.toml."""
    phase("DETECTING")
    order_path = _order_path(parsed)
    try:
        order_file = OrderFile.load(order_path)
    except SpecError as exc:
        raise UserError(f"failed to read order file: {exc}") from None
    if order_file.order_extensions:
        raise PypackError(
            f"{order_path}: image extensions (order-extensions) are not supported by the pypack "
            "lifecycle; build with a builder without extensions",
            exit_code=ExitCode.DETECT_GENERIC,
        )
    store = BuildpackStore(Path(parsed.text("buildpacks") or BUILDPACKS))
    order: list[list[ModuleRef]] = [list(g.group) for g in order_file.order]
    for group in order:
        for ref in group:
            check_buildpack_api(store.lookup(ref.id, ref.version))
    system_path = Path(parsed.text("system") or CNB_SYSTEM)
    if context.api.at_least("0.15") and system_path.is_file():
        system = SystemFile.load(system_path).system
        order = system_order(order, system.pre.buildpacks, system.post.buildpacks)
    with tempfile.TemporaryDirectory(prefix="pypack-detect-") as plan_dir:
        detector = Detector(_execution(parsed, context, store, Path(plan_dir)))
        selected, plan = detector.detect(order)
    GroupFile(group=selected).dump(in_layers(parsed, "group", "group.toml"))
    plan_path = in_layers(parsed, "plan", "plan.toml")
    if plan:
        PlanFile(entries=plan).dump(plan_path)
    else:
        plan_path.parent.mkdir(parents=True, exist_ok=True)
        plan_path.write_bytes(b"")  # the reference lifecycle writes an empty file


# --- builder -----------------------------------------------------------------------------------

BUILDER_FLAGS = (
    *COMMON,
    Flag("analyzed", "CNB_ANALYZED_PATH", since="0.12"),
    Flag("app", "CNB_APP_DIR", APP),
    Flag("buildpacks", "CNB_BUILDPACKS_DIR", BUILDPACKS),
    Flag("build-config", "CNB_BUILD_CONFIG_DIR", BUILD_CONFIG),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("plan", "CNB_PLAN_PATH"),
    Flag("platform", "CNB_PLATFORM_DIR", PLATFORM),
)


def run_builder(parsed: Parsed, context: Context) -> None:
    """Run every buildpack's build; write config/metadata.toml."""
    phase("BUILDING")
    group_path = in_layers(parsed, "group", "group.toml")
    plan_path = in_layers(parsed, "plan", "plan.toml")
    try:
        group = GroupFile.load(group_path)
        plan = PlanFile.load(plan_path)
    except SpecError as exc:
        raise UserError(f"failed to read group or plan file: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="pypack-build-") as plan_dir:
        store = BuildpackStore(Path(parsed.text("buildpacks") or BUILDPACKS))
        builder = Builder(_execution(parsed, context, store, Path(plan_dir)), layers_dir(parsed))
        builder.build(list(group.group), list(plan.entries))


COMMANDS: dict[str, PhaseCommand] = {
    "detector": PhaseCommand("detector", DETECTOR_FLAGS, run_detector, allow_root=False),
    "builder": PhaseCommand("builder", BUILDER_FLAGS, run_builder, allow_root=False),
}


def default_runner() -> BuildpackRunner:
    """The runner used inside a builder container: plain child processes."""
    return ProcessRunner()


def refuse_root(name: str) -> None:
    """The detector and builder never run as root, as in the reference lifecycle."""
    if os.geteuid() == 0:
        verb = {"detector": "detect", "builder": "build"}.get(name, name)
        raise PypackError(f"failed to {verb}: refusing to run as root")


def check_no_args(name: str, args: Sequence[str]) -> None:
    """Phases without positional arguments refuse them (exit 3)."""
    if args:
        raise PypackError(
            f"failed to parse arguments: received unexpected arguments for {name}: "
            + " ".join(args),
            exit_code=ExitCode.INVALID_ARGS,
        )
