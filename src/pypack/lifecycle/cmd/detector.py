"""``detector``: flags → inputs → the detect phase (group.toml, plan.toml), then, when image
extensions passed, the generate phase (``<generated>``, analyzed.toml, plan.toml), as the
reference detector runs it from Platform 0.10 (experimental before 0.13: ``Dockerfiles``)."""

from __future__ import annotations

from pypack.lifecycle.cmd.common import (
    APP,
    BUILD_CONFIG,
    BUILDPACKS,
    CNB_RUN,
    CNB_SYSTEM,
    COMMON,
    EXTENSIONS,
    LAYERS,
    PLATFORM,
    Context,
    PhaseCommand,
    creator_inputs,
    guard_experimental,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.inputs import banner
from pypack.lifecycle.phases.detect import detect_phase, read_order
from pypack.lifecycle.phases.generate import generate_phase

FLAGS = (
    *COMMON,
    Flag("analyzed", "CNB_ANALYZED_PATH", since="0.10"),
    Flag("app", "CNB_APP_DIR", APP),
    Flag("buildpacks", "CNB_BUILDPACKS_DIR", BUILDPACKS),
    Flag("build-config", "CNB_BUILD_CONFIG_DIR", BUILD_CONFIG, since="0.11"),
    Flag("extensions", "CNB_EXTENSIONS_DIR", EXTENSIONS, since="0.10"),
    Flag("generated", "CNB_GENERATED_DIR", since="0.10"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("order", "CNB_ORDER_PATH"),
    Flag("plan", "CNB_PLAN_PATH"),
    Flag("platform", "CNB_PLATFORM_DIR", PLATFORM),
    Flag("run", "CNB_RUN_PATH", CNB_RUN, since="0.12"),
    Flag("system", "CNB_SYSTEM_PATH", CNB_SYSTEM, since="0.15"),
)


def run(parsed: Parsed, context: Context) -> None:
    """Detect the group and plan; run the extensions that passed."""
    with banner("DETECTING"):
        inputs = creator_inputs(parsed, context)
        order = read_order(inputs)
        if order.extensions and context.api.less_than("0.13"):
            guard_experimental("Dockerfiles", context.environ)
        detected = detect_phase(inputs, order)
        if detected.extensions:
            generate_phase(inputs, detected.extensions)


COMMAND = PhaseCommand("detector", FLAGS, run, allow_root=False)
