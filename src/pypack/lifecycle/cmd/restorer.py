"""``restorer``: flags → inputs → the restore phase (layer metadata and cached layers)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pypack.errors import ExitCode, PypackError
from pypack.lifecycle.cmd.common import (
    CNB_RUN,
    COMMON,
    IMAGE_FLAGS,
    LAYERS,
    Context,
    PhaseCommand,
    access_from,
    creator_inputs,
    drop_privileges,
    path_flag,
    refuse_extension_output,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.images import image_access
from pypack.lifecycle.inputs import banner
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.phases.restore import check_run_image, restore_phase, update_analyzed

FLAGS = (
    *COMMON,
    *(replace(f, since=f.since or "0.12") for f in IMAGE_FLAGS if f.name == "daemon"),
    *(f for f in IMAGE_FLAGS if f.name != "daemon"),
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("build-image", "CNB_BUILD_IMAGE", since="0.10"),
    Flag("cache-dir", "CNB_CACHE_DIR"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("generated", "CNB_GENERATED_DIR", since="0.12"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("run", "CNB_RUN_PATH", CNB_RUN, since="0.14"),
    Flag("skip-layers", "CNB_SKIP_LAYERS", boolean=True),
)


KANIKO_DIR = "/kaniko"
"""Where the extender finds base images the restorer pulled (``PYPACK_KANIKO_DIR`` names
another directory, for tests)."""


def run(parsed: Parsed, context: Context) -> None:
    """Restore layer metadata and cached layers."""
    with banner("RESTORING"):
        if parsed.args:
            raise PypackError(
                "failed to parse arguments: received unexpected Args",
                exit_code=ExitCode.INVALID_ARGS,
            )
        refuse_extension_output(parsed, "generated")
        if not parsed.text("cache-dir") and not parsed.text("cache-image"):
            LOGGER.warning("No cached data will be used, no cache specified.")
        access = access_from(parsed, context.environ)
        inputs = creator_inputs(parsed, context, access=access)
        inputs.skip_restore = parsed.flag("skip-layers")
        kaniko = Path(context.environ.get("PYPACK_KANIKO_DIR") or KANIKO_DIR)
        drop_privileges(
            parsed,
            context.environ,
            inputs.paths.layers,
            path_flag(parsed, "cache-dir"),
            kaniko if kaniko.is_dir() else None,
        )
        # the reference reads CNB_INSECURE_REGISTRIES at every Platform API (the flag is 0.13's)
        insecure = parsed.many("insecure-registry") or [
            name
            for name in context.environ.get("CNB_INSECURE_REGISTRIES", "").split(",")
            if name.strip()
        ]
        registry = image_access(daemon=False, layout_dir=None, insecure=insecure)
        if context.api.at_least("0.14"):
            check_run_image(inputs)
        update_analyzed(
            inputs,
            registry=registry,
            build_image=parsed.text("build-image"),  # defined from Platform 0.10
            kaniko=kaniko,
            use_layout=parsed.flag("layout"),
        )
        restore_phase(inputs)


COMMAND = PhaseCommand("restorer", FLAGS, run, positional=True)
