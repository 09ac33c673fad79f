"""The multi-call lifecycle entry: ``pypack-lifecycle <phase> ...`` or a link named after a phase.

Like the reference lifecycle, one program answers to ``analyzer``, ``detector``, ``restorer``,
``builder``, ``exporter``, ``creator``, ``rebaser`` and ``launcher``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from pypack import __version__
from pypack.errors import ExitCode

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the phase named by ``argv[0]`` or by the first argument; return the exit code."""
    args = list(sys.argv if argv is None else argv)
    name = os.path.basename(args[0]) if args else "pypack-lifecycle"
    rest = args[1:]
    if name not in PHASES:
        if not rest or rest[0] in _VERSION_FLAGS:
            print(__version__)
            return ExitCode.SUCCESS
        name, rest = rest[0], rest[1:]
    if name not in PHASES:
        print(
            f"ERROR: unknown phase {name!r}; use one of: {', '.join(PHASES)}",
            file=sys.stderr,
        )
        return ExitCode.INVALID_ARGS
    if rest[:1] and rest[0] in _VERSION_FLAGS:
        print(__version__)
        return ExitCode.SUCCESS
    print(
        f"ERROR: the {name} phase is not implemented in pypack {__version__} yet", file=sys.stderr
    )
    return ExitCode.GENERIC


def run() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    run()
