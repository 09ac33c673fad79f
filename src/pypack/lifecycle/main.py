"""The multi-call lifecycle entry: ``pypack-lifecycle <phase> ...`` or a link named after a phase.

Like the reference lifecycle, one program answers to ``analyzer``, ``detector``, ``restorer``,
``builder``, ``exporter``, ``creator``, ``rebaser`` and ``launcher``. This module turns
arguments into a phase run and every failure into one ``ERROR:`` line and its exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from pypack import __version__
from pypack.errors import ExitCode, PypackError
from pypack.lifecycle import flags as flag_parser
from pypack.lifecycle import log
from pypack.lifecycle.cmd import COMMANDS
from pypack.lifecycle.cmd.common import Context, platform_api
from pypack.lifecycle.flags import HelpRequested
from pypack.lifecycle.runner import ProcessRunner

PHASES = (
    "analyzer",
    "detector",
    "restorer",
    "builder",
    "exporter",
    "creator",
    "rebaser",
    "launcher",
)
_VERSION_FLAGS = ("-version", "--version")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the phase named by ``argv[0]`` or by the first argument; return the exit code."""
    args = list(sys.argv if argv is None else argv)
    env = os.environ if environ is None else environ
    name = os.path.basename(args[0]) if args else "pypack-lifecycle"
    rest = args[1:]
    if name not in PHASES:
        if not rest or rest[0] in _VERSION_FLAGS:
            print(__version__)
            return ExitCode.SUCCESS
        name, rest = rest[0], rest[1:]
    if name not in PHASES:
        print(f"ERROR: unknown phase {name!r}; use one of: {', '.join(PHASES)}", file=sys.stderr)
        return ExitCode.INVALID_ARGS
    if rest[:1] and rest[0] in _VERSION_FLAGS:
        print(__version__)
        return ExitCode.SUCCESS
    command = COMMANDS.get(name)
    if command is None:
        print(
            f"ERROR: the {name} phase is not implemented in pypack {__version__} yet",
            file=sys.stderr,
        )
        return ExitCode.GENERIC
    log.configure(env.get("CNB_LOG_LEVEL"))
    try:
        api = platform_api(env)
        parsed = flag_parser.parse(name, command.flags, rest, env, api)
        if parsed.flag("version"):  # -version anywhere among the flags, as Go's flag package
            print(__version__)
            return ExitCode.SUCCESS
        log.configure(parsed.text("log-level"))
        if not command.positional:
            check_no_args(name, parsed.args)
        if not command.allow_root:
            refuse_root(name)
        command.run(parsed, Context(api=api, environ=env, runner=ProcessRunner()))
    except HelpRequested as help_text:
        print(help_text)
        return ExitCode.SUCCESS
    except PypackError as error:
        log.LOGGER.error("%s", error)
        if env.get("CNB_LOG_LEVEL", "").lower() == "debug":
            log.LOGGER.debug("traceback", exc_info=True)
        return error.exit_code
    except Exception as error:  # a bug, or an environment the lifecycle cannot work in
        log.LOGGER.error("%s failed unexpectedly: %s: %s", name, type(error).__name__, error)
        log.LOGGER.debug("traceback", exc_info=True)
        return ExitCode.GENERIC
    return ExitCode.SUCCESS


def refuse_root(name: str) -> None:
    """The detector and builder never run as root, as in the reference lifecycle."""
    if os.geteuid() == 0:
        verb = {"detector": "detect", "builder": "build"}.get(name, name)
        raise PypackError(f"failed to {verb}: refusing to run as root")


def check_no_args(name: str, args: Sequence[str]) -> None:
    """Phases without positional arguments refuse them (exit 3)."""
    if args:
        raise PypackError(
            f"failed to parse arguments: received unexpected arguments for {name}: "
            + " ".join(args),
            exit_code=ExitCode.INVALID_ARGS,
        )


def run() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    run()
