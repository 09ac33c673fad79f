"""pypack/procfile: one process type per line of the app's Procfile (``type: command``)."""

from __future__ import annotations

import re
from pathlib import Path

from pypack.buildpacks.sdk import BuildContext, BuildpackError, DetectContext, Detected

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def parse(procfile: Path) -> dict[str, str]:
    """Process types and their shell commands; blank lines and comments are skipped."""
    processes = {}
    for number, raw in enumerate(procfile.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        if match is None:
            raise BuildpackError(
                f"Procfile line {number}: {line!r} is not 'type: command'; fix or remove it"
            )
        processes[match.group(1)] = match.group(2)
    return processes


def detect(ctx: DetectContext) -> Detected | None:
    return Detected() if ctx.app_file("Procfile") else None


def build(ctx: BuildContext) -> None:
    processes = parse(ctx.app_dir / "Procfile")
    if not processes:
        raise BuildpackError("Procfile: no processes; add a line like 'web: python3 app.py'")
    default = "web" if "web" in processes else next(iter(processes))
    for kind, command in processes.items():
        ctx.launch.process(kind, ["sh", "-c", command], default=kind == default)
        print(f"pypack/procfile: {kind}: {command}")
