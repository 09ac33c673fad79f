"""``analyzer``: flags → inputs → the analyze phase (analyzed.toml)."""

from __future__ import annotations

from pypack.errors import ExitCode, PypackError
from pypack.lifecycle.cmd.common import (
    CNB_RUN,
    COMMON,
    IMAGE_FLAGS,
    LAYERS,
    STACK,
    Context,
    PhaseCommand,
    access_from,
    creator_inputs,
    drop_privileges,
    path_flag,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.inputs import banner
from pypack.lifecycle.phases.analyze import analyze_phase

FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("launch-cache", "CNB_LAUNCH_CACHE_DIR", since="0.9"),
    Flag("layers", "CNB_LAYERS_DIR", LAYERS),
    Flag("previous-image", "CNB_PREVIOUS_IMAGE"),
    Flag("run", "CNB_RUN_PATH", CNB_RUN, since="0.12"),
    Flag("run-image", "CNB_RUN_IMAGE"),
    Flag("skip-layers", "CNB_SKIP_LAYERS", boolean=True, since="0.9"),
    STACK,
    Flag("tag", repeated=True),
)


def run(parsed: Parsed, context: Context) -> None:
    """Write analyzed.toml."""
    with banner("ANALYZING"):
        if len(parsed.args) != 1:
            raise PypackError(
                f"failed to parse arguments: received {len(parsed.args)} arguments, but expected 1",
                exit_code=ExitCode.INVALID_ARGS,
            )
        access = access_from(parsed, context.environ)
        inputs = creator_inputs(parsed, context, access=access)
        drop_privileges(
            parsed, context.environ, inputs.paths.layers, path_flag(parsed, "launch-cache")
        )
        analyze_phase(inputs)


COMMAND = PhaseCommand("analyzer", FLAGS, run, positional=True)
