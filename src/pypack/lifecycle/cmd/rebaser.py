"""``rebaser``: flags → the rebase phase (app image on a new run image, report.toml)."""

from __future__ import annotations

from pathlib import Path

from pypack.errors import ExitCode, PypackError
from pypack.lifecycle.cmd.common import (
    COMMON,
    IMAGE_FLAGS,
    Context,
    PhaseCommand,
    access_from,
    at_least_one_image,
    deprecated_run_image,
    drop_privileges,
)
from pypack.lifecycle.cmd.exporter import insecure_registries_from_env
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.inputs import banner
from pypack.lifecycle.phases.export import write_report
from pypack.lifecycle.phases.rebase import rebase

FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("force", "CNB_FORCE_REBASE", boolean=True, since="0.12"),
    Flag("image"),
    Flag("previous-image", "CNB_PREVIOUS_IMAGE", since="0.11"),
    Flag("report", "CNB_REPORT_PATH"),
    Flag("run-image", "CNB_RUN_IMAGE"),
)


def run(parsed: Parsed, context: Context) -> None:
    """Rebase the app image onto a new run image; write report.toml."""
    with banner("REBASING"):
        at_least_one_image(parsed)
        run_image = deprecated_run_image(parsed, context)
        insecure_registries_from_env(parsed, context.environ)
        access = access_from(parsed, context.environ)
        drop_privileges(parsed, context.environ)
        source = parsed.text("previous-image") or parsed.args[0]
        image = rebase(access, source, run_image, force=parsed.flag("force"))
        try:
            result = access.store.save(image, list(parsed.args))
        except PypackError as exc:
            raise PypackError(
                f"failed to write rebased image: {exc}", exit_code=ExitCode.REBASE
            ) from None
        write_report(Path(parsed.text("report") or "/layers/report.toml"), result, access)


COMMAND = PhaseCommand("rebaser", FLAGS, run, positional=True)
