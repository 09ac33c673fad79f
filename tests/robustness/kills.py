"""Killing a pypack command at a chosen point of its own progress, and the checks that follow.

A kill point is a number of lines the command has printed (counted in an uninterrupted run like
it) or a path appearing in the home (a blob being written, a cache being staged). The command
runs with unbuffered output, so a line is seen when it is printed; the kill is SIGKILL to pypack
alone, as ``kill -9`` of the main process (its sandboxed children die with it).
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import PYPACK, pypack_env

_DONE = re.compile(
    r"(?:Successfully built image|Successfully created builder|Rebased) \S+ \((sha256:\w{64})\)"
)


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: once ``lines`` lines are printed (a run like the one they were counted
    in prints the same lines in the same order), or when ``path_glob`` matches under ``root``."""

    description: str
    lines: int = 0
    root: Path | None = None
    path_glob: str = ""

    def reached(self, lines: Sequence[str]) -> bool:
        if self.lines:
            return len(lines) >= self.lines
        assert self.root is not None
        return any(self.root.glob(self.path_glob))


def points_from_output(lines: Sequence[str], count: int, start_marker: str) -> list[KillPoint]:
    """``count`` kill points spread evenly over an uninterrupted run's lines from the first
    containing ``start_marker`` to the last but one."""
    start = next(i for i, line in enumerate(lines) if start_marker in line)
    span = list(range(start, len(lines) - 1))
    step = max(1, len(span) // count)
    chosen = span[::step][:count]
    return [KillPoint(f"line {i}: {lines[i].strip()[:70]}", lines=i + 1) for i in chosen]


@dataclass
class Run:
    """A command's output, exit code and whether it was killed."""

    lines: list[str]
    returncode: int
    killed: bool

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def digest(self) -> str:
        found = _DONE.search(self.text)
        assert found, self.text
        return found.group(1)


def run(home: Path, args: Sequence[str], kill_at: KillPoint | None = None) -> Run:
    """Run ``pypack args`` in ``home``; with ``kill_at``, SIGKILL it when the point is reached."""
    process = subprocess.Popen(
        [PYPACK, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=pypack_env(home, {"PYTHONUNBUFFERED": "1"}),
    )
    lines: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout

    def read() -> None:
        for line in stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    reached: Callable[[], bool] = (
        (lambda: False) if kill_at is None else (lambda: kill_at.reached(lines))
    )
    deadline = time.monotonic() + 280
    while process.poll() is None and time.monotonic() < deadline:
        if reached():
            process.kill()
            killed = True
            break
        time.sleep(0.001)  # polling for the point, not timing the kill
    process.wait(60)
    reader.join(10)
    stdout.close()
    return Run(lines, process.returncode, killed)


def doctor(home: Path) -> Run:
    """``pypack doctor`` in ``home``: exit 0 and no damage, or the test fails with its output."""
    result = run(home, ["doctor"])
    assert result.returncode == 0, result.text
    assert "damaged:" not in result.text, result.text
    return result


def leftovers(report: Run) -> list[str]:
    """The leftovers ``pypack doctor`` listed."""
    return [line for line in report.lines if line.startswith("left by a killed command")]
