"""The phase binaries: one module each, turning Go-style flags and ``CNB_*`` variables into
:class:`~pypack.lifecycle.inputs.CreatorInputs` and exit codes, as the reference lifecycle keeps
``cmd/`` apart from ``phase/``."""

from __future__ import annotations

from pypack.lifecycle.cmd import analyzer, builder, creator, detector, exporter, rebaser, restorer
from pypack.lifecycle.cmd.common import PhaseCommand

COMMANDS: dict[str, PhaseCommand] = {
    module.COMMAND.name: module.COMMAND
    for module in (analyzer, detector, restorer, builder, exporter, creator, rebaser)
}
