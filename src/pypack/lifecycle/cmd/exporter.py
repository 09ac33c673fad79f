"""``exporter``: flags → inputs → the export phase (app image, cache, report.toml)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pypack.errors import UserError
from pypack.lifecycle.cmd.common import (
    APP,
    CNB_RUN,
    COMMON,
    IMAGE_FLAGS,
    LAYERS,
    STACK,
    Context,
    PhaseCommand,
    access_from,
    at_least_one_image,
    creator_inputs,
    drop_privileges,
    path_flag,
    refuse_run_image,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.images import same_registry
from pypack.lifecycle.inputs import banner
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.phases.export import export_phase

FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("app", "CNB_APP_DIR", APP),
    Flag("cache-dir", "CNB_CACHE_DIR"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("extended", "CNB_EXTENDED_DIR", since="0.12"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("launch-cache", "CNB_LAUNCH_CACHE_DIR"),
    Flag("launcher", "CNB_LAUNCHER_PATH", "/cnb/lifecycle/launcher"),
    Flag("launcher-sbom", "CNB_LAUNCHER_SBOM_DIR", "/cnb/lifecycle", since="0.11"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("parallel", "CNB_PARALLEL_EXPORT", boolean=True),
    Flag("process-type", "CNB_PROCESS_TYPE"),
    Flag("project-metadata", "CNB_PROJECT_METADATA_PATH"),
    Flag("report", "CNB_REPORT_PATH"),
    Flag("run", "CNB_RUN_PATH", CNB_RUN, since="0.12"),
    Flag("run-image", "CNB_RUN_IMAGE"),
    Flag("image"),
    STACK,
)


def insecure_registries_from_env(parsed: Parsed, environ: Mapping[str, str]) -> None:
    """Before Platform 0.13 there is no ``-insecure-registry`` flag, but the reference still
    reads ``CNB_INSECURE_REGISTRIES`` (comma-separated) into its inputs: do the same."""
    if not parsed.many("insecure-registry"):
        raw = environ.get("CNB_INSECURE_REGISTRIES", "")
        parsed.values["insecure-registry"] = [entry for entry in raw.split(",") if entry]


def run(parsed: Parsed, context: Context) -> None:
    """Export the app image (and the cache); write report.toml."""
    with banner("EXPORTING"):
        at_least_one_image(parsed)
        insecure_registries_from_env(parsed, context.environ)
        extended = path_flag(parsed, "extended")
        if extended is not None and not has_extended_layers(extended):
            extended = None
        refuse_run_image(parsed, context)
        access = access_from(parsed, context.environ)
        if access.kind == "registry":
            same_registry(parsed.args)
        inputs = creator_inputs(parsed, context, access=access)
        drop_privileges(
            parsed,
            context.environ,
            path_flag(parsed, "cache-dir"),
            path_flag(parsed, "launch-cache"),
        )
        if extended is not None and inputs.platform_api.less_than("0.13"):
            guard_dockerfiles(context.environ)
        export_phase(inputs, extended=extended)


def guard_dockerfiles(environ: Mapping[str, str]) -> None:
    """Before Platform 0.13 extended layers are the experimental feature 'Dockerfiles':
    ``CNB_EXPERIMENTAL_MODE`` ``error`` (the default) refuses them, ``warn`` warns."""
    mode = environ.get("CNB_EXPERIMENTAL_MODE", "").lower()
    requested = "Platform requested experimental feature 'Dockerfiles'"
    if mode not in ("warn", "quiet", "silent"):
        LOGGER.error(requested)
        raise UserError("experimental features are disabled by CNB_EXPERIMENTAL_MODE=error")
    if mode == "warn":
        LOGGER.warning(requested)


def has_extended_layers(extended: Path) -> bool:
    """True when ``<extended>/run`` holds something (the run image extensions extended)."""
    run = extended / "run"
    return run.is_dir() and any(run.iterdir())


COMMAND = PhaseCommand("exporter", FLAGS, run, positional=True)
