"""What the phase binaries share: the common flags, the Platform API check, and turning parsed
flags into :class:`~pypack.lifecycle.inputs.CreatorInputs`.

Flags win over ``CNB_*`` variables, which win over defaults, as in the reference lifecycle
(the flag table carries the variable and default of each flag).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pypack.errors import ApiError, ExitCode, PypackError, UserError
from pypack.lifecycle import privileges
from pypack.lifecycle.cache import Cache, ImageCache, VolumeCache
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.images import ImageAccess, image_access
from pypack.lifecycle.inputs import CreatorInputs, LifecyclePaths
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.phases.export import source_date_epoch
from pypack.lifecycle.phases.generate import needs_extender
from pypack.lifecycle.runner import BuildpackRunner
from pypack.oci.registry import import_http_stack
from pypack.spec.api import SUPPORTED_PLATFORM_APIS, ApiVersion

LAYERS, APP, PLATFORM = "/layers", "/workspace", "/platform"
BUILDPACKS, BUILD_CONFIG = "/cnb/buildpacks", "/cnb/build-config"
EXTENSIONS = "/cnb/extensions"
CNB_RUN, CNB_SYSTEM = "/cnb/run.toml", "/cnb/system.toml"
CNB_STACK = "/cnb/stack.toml"
CNB_LAUNCHER = "/cnb/lifecycle/launcher"

COMMON = (
    Flag("log-level", "CNB_LOG_LEVEL", "info"),
    Flag("no-color", "CNB_NO_COLOR", boolean=True),
    Flag("version", boolean=True),
)
STACK = Flag("stack", "CNB_STACK_PATH", CNB_STACK, before="0.12")
"""The deprecated ``stack.toml`` (its run image), replaced by ``-run`` at Platform API 0.12."""
IMAGE_FLAGS = (
    Flag("daemon", "CNB_USE_DAEMON", boolean=True),
    Flag("insecure-registry", "CNB_INSECURE_REGISTRIES", repeated=True, since="0.13"),
    Flag("layout", "CNB_USE_LAYOUT", boolean=True, since="0.12"),
    Flag("layout-dir", "CNB_LAYOUT_DIR", since="0.12"),
    Flag("uid", "CNB_USER_ID"),
    Flag("gid", "CNB_GROUP_ID"),
)


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


def platform_api(environ: Mapping[str, str]) -> ApiVersion:
    """``CNB_PLATFORM_API``, which must be set and supported (exit 11 otherwise)."""
    raw = environ.get("CNB_PLATFORM_API", "")
    if not raw.strip():  # blank counts as unset, as the reference trims it
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


def path_flag(parsed: Parsed, name: str) -> Path | None:
    """A path flag's value, None when unset."""
    text = parsed.text(name)
    return Path(text) if text else None


def lifecycle_paths(parsed: Parsed, api: ApiVersion) -> LifecyclePaths:
    """The paths the flags name, the container's defaults for the rest."""
    system = parsed.text("system") or CNB_SYSTEM
    return LifecyclePaths(
        app=Path(parsed.text("app") or APP),
        layers=Path(parsed.text("layers") or LAYERS),
        platform=Path(parsed.text("platform") or PLATFORM),
        buildpacks=(Path(parsed.text("buildpacks") or BUILDPACKS),),
        build_config=Path(parsed.text("build-config") or BUILD_CONFIG),
        extensions=Path(parsed.text("extensions") or EXTENSIONS),
        generated=path_flag(parsed, "generated"),
        order=path_flag(parsed, "order"),
        run=Path(parsed.text("run") or CNB_RUN),
        stack=Path(parsed.text("stack") or CNB_STACK),
        system=Path(system) if api.at_least("0.15") else None,
        analyzed=path_flag(parsed, "analyzed"),
        group=path_flag(parsed, "group"),
        plan=path_flag(parsed, "plan"),
        report=path_flag(parsed, "report"),
        project_metadata=path_flag(parsed, "project-metadata"),
    )


def guard_experimental(feature: str, environ: Mapping[str, str]) -> None:
    """An experimental feature, as ``CNB_EXPERIMENTAL_MODE`` allows it: ``error`` (the default)
    refuses it, ``warn`` warns, ``quiet``/``silent`` say nothing."""
    mode = environ.get("CNB_EXPERIMENTAL_MODE", "").lower()
    requested = f"Platform requested experimental feature '{feature}'"
    if mode not in ("warn", "quiet", "silent"):
        LOGGER.error(requested)
        raise UserError("experimental features are disabled by CNB_EXPERIMENTAL_MODE=error")
    if mode == "warn":
        LOGGER.warning(requested)


def access_from(parsed: Parsed, environ: Mapping[str, str]) -> ImageAccess:
    """The image store ``-daemon``, ``-layout`` or (by default) the registry."""
    layout_dir = None
    if parsed.flag("layout"):
        guard_experimental("export to OCI layout format", environ)
        layout_dir = parsed.text("layout-dir") or "/layout-repo"
    return image_access(
        daemon=parsed.flag("daemon"),
        layout_dir=layout_dir,
        insecure=parsed.many("insecure-registry"),
    )


def cache_from(parsed: Parsed, access: ImageAccess) -> Cache | None:
    """``-cache-image`` (in a registry) or ``-cache-dir``."""
    cache_dir, cache_image = parsed.text("cache-dir"), parsed.text("cache-image")
    if cache_image:
        if access.kind == "daemon":
            raise UserError("a cache image cannot live in the Docker daemon; use -cache-dir")
        registry = image_access(
            daemon=False, layout_dir=None, insecure=parsed.many("insecure-registry")
        )
        return ImageCache(registry.store, cache_image)
    if cache_dir:
        return VolumeCache(Path(cache_dir))
    return None


def drop_privileges(parsed: Parsed, environ: Mapping[str, str], *owned: Path | None) -> None:
    """Give the volumes to ``-uid``/``-gid`` and become that user (when started as root)."""
    uid, gid = privileges.cnb_ids(parsed.text("uid"), parsed.text("gid"), dict(environ))
    privileges.ensure_owner(uid, gid, owned)
    import_http_stack()  # the CNB user may not be able to read this Python's library
    privileges.run_as(uid, gid, keep_docker_socket=parsed.flag("daemon"))


def launcher_path(parsed: Parsed) -> Path | None:
    """``-launcher``: the file the app image gets as its launcher. The default
    ``/cnb/lifecycle/launcher`` is this lifecycle's own, so where that file is missing (a phase
    run outside a builder) the launcher it carries is used; any other path must exist."""
    given = parsed.text("launcher")
    if given is None or (given == CNB_LAUNCHER and not Path(given).is_file()):
        return None
    if not Path(given).is_file():
        raise invalid_inputs(f"-launcher {given}: no such file")
    return Path(given)


def launch_cache_dir(parsed: Parsed) -> Path | None:
    """``-launch-cache``, which only a daemon export uses (a warning otherwise, as the
    reference's)."""
    given = path_flag(parsed, "launch-cache")
    if given is not None and not parsed.flag("daemon"):
        LOGGER.warning("Ignoring -launch-cache, only intended for use with -daemon")
        return None
    return given


def creator_inputs(
    parsed: Parsed, context: Context, *, access: ImageAccess | None = None
) -> CreatorInputs:
    """The inputs every phase binary hands to its phase function."""
    environ = context.environ
    uid, gid = privileges.cnb_ids(parsed.text("uid"), parsed.text("gid"), dict(environ))
    image = parsed.args[0] if parsed.args else ""
    return CreatorInputs(
        paths=lifecycle_paths(parsed, context.api),
        access=access,
        runner=context.runner,
        platform_api=context.api,
        build_env=environ,
        image=image,
        tags=parsed.many("tag") or parsed.args[1:],
        previous_image=parsed.text("previous-image"),
        run_image=parsed.text("run-image"),
        cache=cache_from(parsed, access) if access is not None else None,
        uid=uid,
        gid=gid,
        process_type=parsed.text("process-type"),
        created=source_date_epoch(environ) if context.api.at_least("0.9") else None,
        exec_env=environ.get("CNB_EXEC_ENV") or "production",
        parallel_export=parsed.flag("parallel"),
        launcher=launcher_path(parsed),
        launcher_sbom=path_flag(parsed, "launcher-sbom"),
        launch_cache=launch_cache_dir(parsed),
        compress_layers=access is not None and access.kind == "registry",
    )


def invalid_inputs(message: str) -> PypackError:
    """A flag combination the reference refuses while resolving its inputs (exit 3)."""
    return PypackError(f"failed to resolve inputs: {message}", exit_code=ExitCode.INVALID_ARGS)


def run_image_given(parsed: Parsed, environ: Mapping[str, str]) -> bool:
    """True when ``-run-image`` was given as a flag (not only as ``CNB_RUN_IMAGE``)."""
    value = parsed.text("run-image")
    return value is not None and value != environ.get("CNB_RUN_IMAGE")


def refuse_run_image(parsed: Parsed, context: Context) -> None:
    """The exporter defines ``-run-image`` and the deprecated ``-image`` but, from Platform API
    0.7, takes the run image from analyzed.toml only: either flag is an error naming it."""
    if run_image_given(parsed, context.environ):
        raise invalid_inputs("-run-image is unsupported")
    if parsed.text("image"):
        raise invalid_inputs("-image is unsupported")


def deprecated_run_image(parsed: Parsed, context: Context) -> str | None:
    """``-run-image``, or the deprecated ``-image`` standing for it (not both)."""
    deprecated = parsed.text("image")
    if deprecated is None:
        return parsed.text("run-image")
    if run_image_given(parsed, context.environ):
        raise invalid_inputs("supply only one of -run-image or (deprecated) -image")
    return deprecated


def refuse_extension_output(parsed: Parsed, *names: str) -> None:
    """``-generated`` and ``-extended`` hold what image extensions made; this lifecycle has no
    extender, so a Dockerfile in ``-generated`` that changes an image (one that only switches
    the run image is fine) or a non-empty ``-extended`` is an error naming the flag rather than
    output silently left out of the build."""
    for name in names:
        directory = path_flag(parsed, name)
        if directory is None or not directory.is_dir():
            continue
        found = (
            needs_extender(directory) if name == "generated" else next(directory.iterdir(), None)
        )
        if found is not None:
            raise invalid_inputs(
                f"-{name} {directory}: image extensions' output is not supported by the pypack "
                f"lifecycle ({found} needs an extender)"
            )


def one_image(parsed: Parsed, name: str) -> None:
    """Refuse anything but exactly one ``<image>`` argument (exit 3)."""
    if len(parsed.args) != 1:
        raise PypackError(
            f"failed to parse arguments: {name} needs exactly one <image>, got {len(parsed.args)}",
            exit_code=ExitCode.INVALID_ARGS,
        )


def at_least_one_image(parsed: Parsed) -> None:
    """Refuse a run without an ``<image>`` argument (exit 3)."""
    if not parsed.args:
        raise PypackError(
            "failed to parse arguments: at least one image is required",
            exit_code=ExitCode.INVALID_ARGS,
        )
