"""``exporter``: flags → inputs → the export phase (app image, cache, report.toml)."""

from __future__ import annotations

from collections.abc import Mapping

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
    refuse_extension_output,
    refuse_run_image,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.images import same_registry
from pypack.lifecycle.inputs import banner
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
        refuse_extension_output(parsed, "extended")
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
        export_phase(inputs)


COMMAND = PhaseCommand("exporter", FLAGS, run, positional=True)
