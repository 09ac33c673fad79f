"""How a buildpack's ``bin/detect`` or ``bin/build`` is started.

The lifecycle asks a :class:`BuildpackRunner` to run an executable with an environment and a
working directory. Inside a builder container that is a plain child process
(:class:`ProcessRunner`); the daemonless platform supplies a runner that starts it inside the
builder's filesystem with bubblewrap.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class RunResult:
    """Exit code, and the output when it was captured (stdout and stderr together)."""

    code: int
    output: bytes = b""


class BuildpackRunner(Protocol):
    """Starts buildpack executables."""

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, capture: bool
    ) -> RunResult:
        """Run ``argv``; with ``capture`` collect its output, otherwise let it stream out."""
        ...


class ProcessRunner:
    """Runs buildpack executables as child processes of the lifecycle."""

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, capture: bool
    ) -> RunResult:
        """Run ``argv`` with exactly ``env``; a missing or non-executable file is exit 127/126."""
        try:
            if capture:
                done = subprocess.run(
                    list(argv), env=dict(env), cwd=cwd, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, check=False,
                )  # fmt: skip
                return RunResult(done.returncode, done.stdout)
            sys.stdout.flush()
            sys.stderr.flush()
            done = subprocess.run(list(argv), env=dict(env), cwd=cwd, check=False)
            return RunResult(done.returncode)
        except FileNotFoundError:
            return RunResult(127, f"{argv[0]}: not found\n".encode())
        except PermissionError:
            return RunResult(126, f"{argv[0]}: permission denied\n".encode())
