"""Which of the app's files reach the build's ``/workspace``.

project.toml's ``include``/``exclude`` use ``.gitignore`` semantics (as pack's matcher), matched
by ``pathspec``'s git-compatible spec. When project.toml sets neither, the app's own
``.dockerignore`` (patterns anchored at the app root, as docker reads them) or else its
``.gitignore`` excludes files, as pack#2265 asks; the build says which file it used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pypack.errors import UserError

if TYPE_CHECKING:
    import pathspec

IGNORE_FILES = (".dockerignore", ".gitignore")


def _spec(lines: list[str], source: str) -> pathspec.GitIgnoreSpec:
    import pathspec  # only an app with filters pays for it

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (re.error, ValueError) as exc:
        raise UserError(f"{source}: a pattern is not a valid gitignore pattern: {exc}") from None


def _docker_lines(text: str) -> list[str]:
    """A .dockerignore's patterns as anchored gitignore patterns (docker matches each from the
    context root)."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        body = line[1:].strip() if negated else line
        lines.append(("!" if negated else "") + "/" + body.lstrip("/"))
    return lines


@dataclass(frozen=True)
class AppFilter:
    """Excluded paths (never copied, an excluded directory never entered) and, when given, the
    only paths to include."""

    exclude: pathspec.GitIgnoreSpec | None = None
    include: pathspec.GitIgnoreSpec | None = None
    source: str | None = None
    """The file the patterns came from, for the build's log (None: no filter)."""

    @classmethod
    def for_app(cls, app: Path, include: list[str] | None, exclude: list[str] | None) -> AppFilter:
        """project.toml's filters when it sets any, else the app's ignore file, else none."""
        if include is not None or exclude is not None:
            return cls(
                _spec(exclude, "project.toml exclude") if exclude else None,
                _spec(include, "project.toml include") if include is not None else None,
                "project.toml",
            )
        for name in IGNORE_FILES:
            path = app / name
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            lines = _docker_lines(text) if name == ".dockerignore" else text.splitlines()
            return cls(_spec(lines, name), None, name)
        return cls()

    def skips_dir(self, relative: str) -> bool:
        """True when the directory ``relative`` is excluded with all it holds."""
        return self.exclude is not None and self.exclude.match_file(f"{relative}/")

    def keeps_file(self, relative: str) -> bool:
        """True when the file (or link) ``relative`` is copied."""
        if self.exclude is not None and self.exclude.match_file(relative):
            return False
        return self.include is None or self.include.match_file(relative)
