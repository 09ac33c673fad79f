"""The reference lifecycle's wording for a platform file it cannot read.

Tools grep the phases' output for the Go lifecycle's messages, e.g. ``failed to read group
file: open /layers/group.toml: no such file or directory`` or ``failed to read plan file: toml:
line 1: expected '.' or '=', but got 'a' instead``; :func:`read_problem` turns the
:class:`~pypack.errors.SpecError` of a missing or malformed file into that wording (a file that
is TOML but breaks its schema keeps pypack's own one-line message).
"""

from __future__ import annotations

import re
from pathlib import Path

from pypack.errors import SpecError

_TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_KEY_WITHOUT_VALUE = "Expected '=' after a key in a key/value pair"


def read_problem(path: Path, error: SpecError) -> str:
    """What went wrong reading ``path``, as the reference lifecycle says it."""
    if error.key == "" and error.problem == "file not found":
        return f"open {path}: no such file or directory"
    if error.key == "" and error.problem.startswith("invalid TOML: "):
        return _toml_problem(path, error.problem.removeprefix("invalid TOML: "))
    return str(error)


def _toml_problem(path: Path, message: str) -> str:
    match = _TOML_POSITION.match(message)
    if match is None:
        return f"toml: {message}"
    line, column = int(match["line"]), int(match["column"])
    text = match["message"]
    if text == _KEY_WITHOUT_VALUE:
        found = _character_at(path, line, column)
        if found is not None:
            return f"toml: line {line}: expected '.' or '=', but got '{found}' instead"
    return f"toml: line {line}: {text[:1].lower()}{text[1:]}"


def _character_at(path: Path, line: int, column: int) -> str | None:
    """The first non-blank character at or after ``line``:``column`` (both from 1)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not 0 < line <= len(lines):
        return None
    rest = lines[line - 1][column - 1 :].lstrip(" \t")
    return rest[:1] or None
