"""``builder``: flags → inputs → the build phase (``config/metadata.toml``)."""

from __future__ import annotations

from pypack.lifecycle.cmd.common import (
    APP,
    BUILD_CONFIG,
    BUILDPACKS,
    COMMON,
    LAYERS,
    PLATFORM,
    Context,
    PhaseCommand,
    creator_inputs,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.inputs import banner
from pypack.lifecycle.phases.build import build_phase

FLAGS = (
    *COMMON,
    Flag("analyzed", "CNB_ANALYZED_PATH", since="0.12"),
    Flag("app", "CNB_APP_DIR", APP),
    Flag("buildpacks", "CNB_BUILDPACKS_DIR", BUILDPACKS),
    Flag("build-config", "CNB_BUILD_CONFIG_DIR", BUILD_CONFIG, since="0.11"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("plan", "CNB_PLAN_PATH"),
    Flag("platform", "CNB_PLATFORM_DIR", PLATFORM),
)


def run(parsed: Parsed, context: Context) -> None:
    """Run every buildpack's build."""
    with banner("BUILDING"):
        inputs = creator_inputs(parsed, context)
        build_phase(inputs)


COMMAND = PhaseCommand("builder", FLAGS, run, allow_root=False)
