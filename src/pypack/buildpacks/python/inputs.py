"""Which files declare an app's dependencies, and what to hand the installer for them.

One source wins, the most exact first: ``uv.lock``, ``poetry.lock``, ``Pipfile.lock``,
``requirements.txt``, ``Pipfile``, ``pyproject.toml``, ``setup.py``/``setup.cfg``. The others
found are named in the log as not used. Locks are installed exactly as locked (``--no-deps``
and, when every line has them, ``--require-hashes``); the app itself is installed after them,
non-editable, when it is a package (a ``[build-system]``, or ``setup.py``/``setup.cfg``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypack.buildpacks.python.locks import pipfile_lock_requirements, poetry_lock_requirements

SOURCES = (
    "uv.lock", "poetry.lock", "Pipfile.lock", "requirements.txt", "Pipfile", "pyproject.toml",
    "setup.py", "setup.cfg",
)  # fmt: skip
INCLUDE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:\s+|=)(\S+)")


@dataclass(frozen=True)
class Choices:
    """What the user picked with ``BP_PYTHON_GROUPS`` and ``BP_PYTHON_EXTRAS``."""

    groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Choices:
        def words(name: str) -> tuple[str, ...]:
            return tuple(sorted({w for w in re.split(r"[\s,]+", env.get(name, "")) if w}))

        return cls(words("BP_PYTHON_GROUPS"), words("BP_PYTHON_EXTRAS"))

    def text(self) -> str:
        return f"groups={','.join(self.groups)} extras={','.join(self.extras)}"


@dataclass(frozen=True)
class Dependencies:
    """What goes into the venv and which files decide it."""

    source: str
    key_files: tuple[Path, ...]
    requirement_file: Path | None = None
    lines: tuple[str, ...] = ()
    locked: bool = False
    hashed: bool = False
    project: bool = False
    extras: tuple[str, ...] = ()
    unused: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """No file declares dependencies: the app runs on the image's Python alone."""
        return not self.source


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name}: {error}; fix the file") from None


def included_files(requirements: Path, seen: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """``requirements`` and every file it includes with ``-r``/``-c``, recursively."""
    found = (*seen, requirements)
    if not requirements.is_file():
        raise ValueError(f"{requirements.name}: included but missing; add it or drop the -r line")
    for line in requirements.read_text().splitlines():
        match = INCLUDE.match(line)
        if match:
            included = (requirements.parent / match.group(1)).resolve()
            if included not in found:
                found = included_files(included, found)
    return found


def dependency_groups(pyproject: dict[str, Any], chosen: tuple[str, ...]) -> list[str]:
    """The requirements of PEP 735 ``[dependency-groups]`` ``chosen``, includes expanded."""
    groups = pyproject.get("dependency-groups", {})
    lines: list[str] = []

    def add(name: str, trail: tuple[str, ...]) -> None:
        if name not in groups:
            raise ValueError(
                f"pyproject.toml: BP_PYTHON_GROUPS names {name!r}, which [dependency-groups] "
                f"does not have ({', '.join(sorted(groups)) or 'none'})"
            )
        for item in groups[name]:
            if isinstance(item, dict) and "include-group" in item:
                if item["include-group"] not in trail:
                    add(str(item["include-group"]), (*trail, name))
            else:
                lines.append(str(item))

    for name in chosen:
        if name in groups:
            add(name, ())
    return lines


def is_package(app_dir: Path, pyproject: dict[str, Any]) -> bool:
    """The app builds as a distribution: its modules and scripts are installed with it."""
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if poetry and poetry.get("package-mode", True) is False:
        return False
    return "build-system" in pyproject or any(
        (app_dir / name).is_file() for name in ("setup.py", "setup.cfg")
    )


def find_dependencies(app_dir: Path, choices: Choices) -> Dependencies:
    """The app's dependency source; ``ValueError`` with one line for a file that can't be used."""
    present = [name for name in SOURCES if (app_dir / name).is_file()]
    pyproject_path = app_dir / "pyproject.toml"
    pyproject = _toml(pyproject_path) if pyproject_path.is_file() else {}
    package = is_package(app_dir, pyproject)
    project_keys = tuple(
        app_dir / n for n in ("pyproject.toml", "setup.py", "setup.cfg") if (app_dir / n).is_file()
    )
    if not present:
        return Dependencies(source="", key_files=())
    source = present[0]
    unused = tuple(
        n for n in present[1:] if n not in ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile")
    )
    path = app_dir / source
    if source == "uv.lock":
        return Dependencies(
            source, (path, *project_keys), locked=True, hashed=True, project=package, unused=unused
        )
    if source == "poetry.lock":
        locked = poetry_lock_requirements(path.read_text(), pyproject, frozenset(choices.groups))
        return Dependencies(
            source, (path, *project_keys), lines=tuple(locked.lines), locked=True,
            hashed=locked.all_hashed, project=package, unused=unused,
        )  # fmt: skip
    if source == "Pipfile.lock":
        locked = pipfile_lock_requirements(path.read_text(), dev="dev" in choices.groups)
        return Dependencies(
            source, (path,), lines=tuple(locked.lines), locked=True, hashed=locked.all_hashed,
            unused=unused,
        )  # fmt: skip
    if source == "requirements.txt":
        return Dependencies(
            source, (*included_files(path), *project_keys), requirement_file=path,
            project=package, unused=unused,
        )  # fmt: skip
    if source == "Pipfile":
        packages = _toml(path).get("packages", {})
        lines = tuple(_pipfile_line(name, spec) for name, spec in packages.items())
        return Dependencies(source, (path,), lines=lines, unused=unused)
    project = pyproject.get("project", {})
    declared = [str(d) for d in project.get("dependencies", [])]
    optional = project.get("optional-dependencies", {})
    for extra in choices.extras:
        if extra not in optional:
            raise ValueError(
                f"pyproject.toml: BP_PYTHON_EXTRAS names {extra!r}, which "
                f"[project.optional-dependencies] does not have ({', '.join(optional) or 'none'})"
            )
    groups = tuple(dependency_groups(pyproject, choices.groups))
    if package:
        return Dependencies(
            source, project_keys, lines=groups, project=True, extras=choices.extras, unused=unused
        )
    if pyproject.get("tool", {}).get("poetry") and not project:
        raise ValueError(
            "pyproject.toml: a [tool.poetry] app that is not a package needs poetry.lock; "
            "run `poetry lock` and add the file"
        )
    chosen = [str(d) for extra in choices.extras for d in optional[extra]]
    return Dependencies(source, project_keys, lines=(*declared, *chosen, *groups), unused=unused)


def _pipfile_line(name: str, spec: Any) -> str:
    """A requirement line of one Pipfile ``[packages]`` entry (unlocked)."""
    if isinstance(spec, str):
        return name if spec in ("*", "") else f"{name}{spec}"
    if isinstance(spec, dict):
        extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
        if "git" in spec:
            ref = f"@{spec['ref']}" if spec.get("ref") else ""
            return f"{name}{extras} @ git+{spec['git']}{ref}"
        version = str(spec.get("version", "*"))
        return f"{name}{extras}{'' if version == '*' else version}"
    raise ValueError(f"Pipfile: [packages] {name} = {spec!r} is not a version or a table")
