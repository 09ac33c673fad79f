"""``restorer``: flags → inputs → the restore phase (layer metadata and cached layers)."""

from __future__ import annotations

from dataclasses import replace

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
from pypack.lifecycle.phases.restore import check_run_image, record_build_image, restore_phase

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


def run(parsed: Parsed, context: Context) -> None:
    """Restore layer metadata and cached layers."""
    with banner("RESTORING"):
        refuse_extension_output(parsed, "generated")
        access = access_from(parsed, context.environ)
        inputs = creator_inputs(parsed, context, access=access)
        inputs.skip_restore = parsed.flag("skip-layers")
        drop_privileges(
            parsed, context.environ, inputs.paths.layers, path_flag(parsed, "cache-dir")
        )
        build_image = parsed.text("build-image")  # defined from Platform 0.10
        if build_image:
            registry = image_access(
                daemon=False, layout_dir=None, insecure=parsed.many("insecure-registry")
            )
            record_build_image(inputs.paths.analyzed_file, registry, build_image)
        if context.api.at_least("0.14"):
            check_run_image(inputs)
        restore_phase(inputs)


COMMAND = PhaseCommand("restorer", FLAGS, run)
