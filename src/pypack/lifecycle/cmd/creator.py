"""``creator``: flags → inputs → every phase in one process, as pack's trusted flow runs it."""

from __future__ import annotations

from pypack.lifecycle.cmd import builder, detector, exporter
from pypack.lifecycle.cmd.common import (
    Context,
    PhaseCommand,
    access_from,
    creator_inputs,
    drop_privileges,
    one_image,
    path_flag,
)
from pypack.lifecycle.creator import create
from pypack.lifecycle.flags import Flag, Parsed

_EXTRA = (
    Flag("previous-image", "CNB_PREVIOUS_IMAGE"),
    Flag("run-image", "CNB_RUN_IMAGE"),
    Flag("skip-restore", "CNB_SKIP_RESTORE", boolean=True),
    Flag("tag", repeated=True),
)
_NOT_CREATOR = {
    *("analyzed", "group", "plan", "generated", "extensions", "extended", "skip-layers", "image")
}


def _flags() -> tuple[Flag, ...]:
    seen: dict[str, Flag] = {}
    for flag in (*detector.FLAGS, *builder.FLAGS, *exporter.FLAGS, *_EXTRA):
        if flag.name not in _NOT_CREATOR:
            seen.setdefault(flag.name, flag)
    return tuple(seen.values())


FLAGS = _flags()


def run(parsed: Parsed, context: Context) -> None:
    """analyze → detect → restore → build → export."""
    one_image(parsed, "creator")
    exporter.insecure_registries_from_env(parsed, context.environ)
    access = access_from(parsed, context.environ)
    inputs = creator_inputs(parsed, context, access=access)
    inputs.skip_restore = parsed.flag("skip-restore")
    drop_privileges(
        parsed,
        context.environ,
        inputs.paths.layers,
        path_flag(parsed, "cache-dir"),
        path_flag(parsed, "launch-cache"),
    )
    create(inputs)


COMMAND = PhaseCommand("creator", FLAGS, run, positional=True)
