"""The Python version an app asks for, and whether a given interpreter satisfies it.

Files are read in the order Heroku's Python buildpack documents: ``.python-version``,
``runtime.txt``, ``Pipfile.lock``, ``Pipfile``, then ``pyproject.toml`` (PEP 621
``requires-python``, then poetry's ``python`` dependency).

Standard library only: this module runs under the build image's python3.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PythonRequest", "describe", "requested_python", "satisfies"]

_BARE = re.compile(r"^\d+(?:\.\d+){0,2}t?$")
_RUNTIME = re.compile(r"^python-\d+\.\d+(?:\.\d+)?$")
_CLAUSE = re.compile(r"\s*(===|~=|==|!=|<=|>=|<|>|\^|~|=)?\s*(\*|\d+(?:\.\d+)*(?:\.\*)?)\s*")


@dataclass(frozen=True)
class PythonRequest:
    """A Python version request: the spec as written, and the file and key it came from."""

    spec: str
    source: str


def requested_python(app_dir: Path) -> PythonRequest | None:
    """The first Python version request found in ``app_dir``, or None when there is none.

    ``.python-version``: its first line that is neither blank nor a comment; "cpython-3.13"
    and "3.13t" are accepted, a name ("system", a pyenv virtualenv) makes the file ignored.
    ``runtime.txt``: "python-3.13.0".  ``Pipfile.lock``: ``_meta.requires.python_full_version``
    or ``python_version``.  ``Pipfile``: ``[requires] python_full_version`` or
    ``python_version``.  ``pyproject.toml``: ``[project] requires-python``, then
    ``[tool.poetry.dependencies] python``.

    Raises ValueError naming the file when a file that is consulted cannot be parsed.
    """
    python_version = app_dir / ".python-version"
    if python_version.is_file():
        for raw in _read(python_version).splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if _BARE.match(_strip_prefix(line)):
                return PythonRequest(line, ".python-version")
            break  # "system" or a virtualenv name: not a version, so look further

    runtime = app_dir / "runtime.txt"
    if runtime.is_file():
        text = _read(runtime).strip()
        if not _RUNTIME.match(text):
            raise ValueError(
                f"runtime.txt: expected one line like python-3.13.0, found {text[:40]!r}"
            )
        return PythonRequest(text, "runtime.txt")

    pipfile_lock = app_dir / "Pipfile.lock"
    if pipfile_lock.is_file():
        try:
            lock = json.loads(_read(pipfile_lock))
        except json.JSONDecodeError as error:
            raise ValueError(f"Pipfile.lock: not valid JSON ({error}); run `pipenv lock`") from None
        requires = _table(_table(lock).get("_meta")).get("requires")
        for key in ("python_full_version", "python_version"):
            value = _table(requires).get(key)
            if isinstance(value, str) and value.strip():
                return PythonRequest(value.strip(), f"Pipfile.lock _meta.requires.{key}")

    pipfile = app_dir / "Pipfile"
    if pipfile.is_file():
        requires = _table(_toml(pipfile).get("requires"))
        for key in ("python_full_version", "python_version"):
            value = requires.get(key)
            if isinstance(value, str) and value.strip():
                return PythonRequest(value.strip(), f"Pipfile [requires] {key}")

    pyproject = app_dir / "pyproject.toml"
    if pyproject.is_file():
        data = _toml(pyproject)
        value = _table(data.get("project")).get("requires-python")
        if isinstance(value, str) and value.strip():
            return PythonRequest(value.strip(), "pyproject.toml [project] requires-python")
        poetry = _table(_table(data.get("tool")).get("poetry"))
        value = _table(poetry.get("dependencies")).get("python")
        if isinstance(value, str) and value.strip():
            return PythonRequest(value.strip(), "pyproject.toml [tool.poetry.dependencies] python")
    return None


def satisfies(request: PythonRequest, version: str) -> bool:
    """Whether the interpreter ``version`` (like "3.11.2") satisfies ``request``.

    A bare version, as .python-version, runtime.txt and Pipfile write them, compares only
    major.minor: "3.13" and "3.13.1" both match every 3.13.x.  The patch cannot be chosen (the
    interpreter is the distribution's), so the caller warns when a patch was asked for.  A
    poetry bare version in a constraint ("3.12") is treated the same way.

    Otherwise the spec is a PEP 440 specifier set (``>=``, ``<=``, ``>``, ``<``, ``==`` and
    ``!=`` with an optional ``.*``, ``~=``, ``===``; comma-separated) or a poetry constraint
    (``^3.12``, ``~3.12``, ``3.12.*``, ``*``; clauses joined by commas or spaces, alternatives
    by ``||`` or ``|``).  Release numbers are compared padded with zeros.

    Raises ValueError naming ``request.source`` when the spec cannot be parsed.
    """
    wanted = _strip_prefix(request.spec.strip())
    installed = _release(version)
    if installed is None:
        raise ValueError(f"not a Python version: {version!r}")
    if _BARE.match(wanted):
        return _bare_matches(_release(wanted.removesuffix("t")) or (), installed)
    alternatives = _parse(wanted, request)
    return any(all(check(installed, version) for check in clauses) for clauses in alternatives)


def patch_differs(request: PythonRequest, version: str) -> bool:
    """A bare request for a patch release ("3.13.1") that ``version`` ("3.13.5") is not: the
    build goes on with the image's patch, and says so."""
    wanted = _strip_prefix(request.spec.strip())
    release = _release(wanted) if _BARE.match(wanted) else None
    return release is not None and len(release) >= 3 and release[:3] != _release(version)


def describe(request: PythonRequest) -> str:
    """The request for people, e.g. "Python 3.13 (from .python-version)"."""
    return f"Python {_strip_prefix(request.spec.strip())} (from {request.source})"


_Check = Callable[[tuple[int, ...], str], bool]


def _parse(spec: str, request: PythonRequest) -> list[list[_Check]]:
    problem = (
        f"{request.source}: cannot read the Python version {request.spec!r}; "
        "write e.g. 3.13, >=3.12 or ^3.12"
    )
    alternatives: list[list[_Check]] = []
    for alternative in re.split(r"\|\|?", spec):
        clauses: list[_Check] = []
        position = 0
        text = alternative.strip()
        while position < len(text):
            match = _CLAUSE.match(text, position)
            if not match or match.end() == position:
                raise ValueError(problem)
            position = match.end()
            if position < len(text) and text[position] == ",":
                position += 1
            check = _clause(match.group(1) or "", match.group(2))
            if check is None:
                raise ValueError(problem)
            clauses.append(check)
        if not clauses:
            raise ValueError(problem)
        alternatives.append(clauses)
    return alternatives


def _clause(operator: str, operand: str) -> _Check | None:
    """One clause as a check of (release tuple, version string), None if it makes no sense."""
    if operand == "*":
        return (lambda v, s: True) if operator in ("", "==", "=") else None
    wildcard = operand.endswith(".*")
    release = _release(operand.removesuffix(".*"))
    if release is None:
        return None
    if wildcard:
        if operator in ("", "==", "="):
            return lambda v, s: _pad(v, len(release))[: len(release)] == release
        if operator == "!=":
            return lambda v, s: _pad(v, len(release))[: len(release)] != release
        return None
    if operator == "":
        return lambda v, s: _bare_matches(release, v)
    if operator in ("==", "="):
        return lambda v, s: _compare(v, release) == 0
    if operator == "!=":
        return lambda v, s: _compare(v, release) != 0
    if operator == ">=":
        return lambda v, s: _compare(v, release) >= 0
    if operator == "<=":
        return lambda v, s: _compare(v, release) <= 0
    if operator == ">":
        return lambda v, s: _compare(v, release) > 0
    if operator == "<":
        return lambda v, s: _compare(v, release) < 0
    if operator == "===":
        return lambda v, s: s.strip() == operand
    if operator == "~=":
        if len(release) < 2:
            return None
        prefix = release[:-1]
        return lambda v, s: (
            _compare(v, release) >= 0 and _pad(v, len(prefix))[: len(prefix)] == prefix
        )
    if operator == "^":
        return _between(release, _caret_upper(release))
    # "~": ~3.12 and ~3.12.1 allow 3.12.x, ~3 allows 3.x
    index = 1 if len(release) >= 2 else 0
    return _between(release, (*release[:index], release[index] + 1))


def _between(lower: tuple[int, ...], upper: tuple[int, ...]) -> _Check:
    return lambda v, s: _compare(v, lower) >= 0 and _compare(v, upper) < 0


def _caret_upper(release: tuple[int, ...]) -> tuple[int, ...]:
    """^3.12 < 4, ^0.2 < 0.3, ^0.0.3 < 0.0.4: bump the first non-zero number."""
    for index, number in enumerate(release):
        if number != 0:
            return (*release[:index], number + 1)
    return (*release[:-1], release[-1] + 1)


def _bare_matches(release: tuple[int, ...], version: tuple[int, ...]) -> bool:
    wanted = release[:2]
    return _pad(version, len(wanted))[: len(wanted)] == wanted


def _pad(release: tuple[int, ...], length: int) -> tuple[int, ...]:
    return release + (0,) * (length - len(release))


def _compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    length = max(len(a), len(b))
    left, right = _pad(a, length), _pad(b, length)
    return (left > right) - (left < right)


def _release(text: str) -> tuple[int, ...] | None:
    if not re.fullmatch(r"\d+(?:\.\d+)*", text.strip()):
        return None
    return tuple(int(part) for part in text.strip().split("."))


def _strip_prefix(spec: str) -> str:
    for prefix in ("cpython-", "python-"):
        if spec.startswith(prefix):
            return spec[len(prefix) :]
    return spec


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name}: cannot be read ({error})") from None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path.name}: not valid TOML ({error}); fix the file") from None


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
