"""poetry.lock and Pipfile.lock as requirements.txt lines, pinned exactly as locked.

The lines are meant for ``pip install --no-deps --require-hashes -r`` (or ``uv pip install``):
every registry package is ``name==version`` with its ``--hash=`` options.  A package the lock
gives no hashes for (a git checkout, a local directory, an unhashed URL) becomes a direct
reference, ``name @ git+https://...@<rev>``; hashes can then not be required for the whole
install, which :attr:`LockedRequirements.all_hashed` tells the caller.

Standard library only: this module runs under the build image's python3.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LockedRequirements", "pipfile_lock_requirements", "poetry_lock_requirements"]

_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_SCP_LIKE = re.compile(r"^([\w.-]+@[\w.-]+):(?!//)(.+)$")
_EXTRA_MARKER = re.compile(r"\bextra\b")


@dataclass(frozen=True)
class LockedRequirements:
    """Requirement lines from a lock file, and whether every one of them carries hashes."""

    lines: list[str]
    all_hashed: bool


def normalize(name: str) -> str:
    """A package name as PEP 503 compares it: lowercase, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _line(requirement: str, marker: str | None, hashes: Iterable[str]) -> str:
    parts = [requirement]
    if marker:
        parts.append(f"; {marker}")
    parts.extend(f"--hash={h}" for h in sorted(set(hashes)))
    return " ".join(parts)


def _git_url(url: str, rev: str | None, subdirectory: str | None) -> str:
    scp = _SCP_LIKE.match(url)
    if scp:  # git@github.com:owner/repo.git, as git itself accepts it
        url = f"ssh://{scp.group(1)}/{scp.group(2)}"
    if not url.startswith("git+"):
        url = f"git+{url}"
    if rev:
        url = f"{url}@{rev}"
    if subdirectory:
        url = f"{url}#subdirectory={subdirectory}"
    return url


def _local_url(location: str, app_dir: Path) -> str:
    if location.startswith("file:"):
        return location
    return (app_dir / location).resolve().as_uri()


# --- poetry.lock ---------------------------------------------------------------------------


def poetry_lock_requirements(
    lock_text: str,
    pyproject: dict[str, Any],
    groups: frozenset[str],
    *,
    app_dir: Path = Path("."),
) -> LockedRequirements:
    """The packages a poetry.lock pins for the main group plus ``groups``, as requirement lines.

    Lock format 2.1 (poetry 2) records each package's ``groups`` and ``markers``; those decide.
    Format 1.x records a ``category``: "main" is always installed, any other category ("dev",
    which poetry 1 writes for every non-main group) when ``groups`` names any group.  Format 2.0
    records neither, so the dependency closure is walked from the project's own dependencies in
    ``pyproject`` (``[tool.poetry.dependencies]`` without ``python``, the chosen
    ``[tool.poetry.group.<g>.dependencies]``, ``[tool.poetry.dev-dependencies]`` for "dev", and
    PEP 621 ``[project].dependencies``).  For 1.x and 2.0 a package's marker is the "or" of the
    markers on the edges that reach it (none when any edge is unconditional).  Packages locked
    ``optional = true`` (the project's extras) are kept only when the project depends on them
    directly.  Relative ``directory``/``file`` sources are resolved against ``app_dir``.

    Raises ValueError (naming poetry.lock) when the lock is not TOML or has no ``[[package]]``.
    """
    try:
        lock = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"poetry.lock: not valid TOML ({error}); run `poetry lock`") from None
    packages = lock.get("package")
    if not isinstance(packages, list):
        raise ValueError("poetry.lock: no [[package]] tables; run `poetry lock` to regenerate it")
    for package in packages:
        if not (
            isinstance(package, dict)
            and isinstance(package.get("name"), str)
            and isinstance(package.get("version"), str)
        ):
            raise ValueError(
                "poetry.lock: a [[package]] without name or version; run `poetry lock`"
            )
    chosen = groups | {"main"}

    roots = _roots(pyproject, chosen)
    selected: list[tuple[dict[str, Any], str | None]] = []
    if any("groups" in package for package in packages):
        for package in packages:
            if package.get("optional") is True and normalize(package["name"]) not in roots:
                continue
            wanted, marker = _group_marker(package, chosen)
            if wanted:
                selected.append((package, marker))
    else:
        reached = _closure(packages, roots)
        uses_category = any("category" in package for package in packages)
        for package in packages:
            key = normalize(package["name"])
            if uses_category:
                category = package.get("category", "main")
                wanted = category == "main" or bool(groups - {"main"})
                if package.get("optional") is True and key not in reached:
                    wanted = False
                if wanted:
                    selected.append((package, _or(reached.get(key))))
            elif key in reached:
                selected.append((package, _or(reached[key])))

    legacy_files = lock.get("metadata", {}).get("files", {})
    files_by_name = {normalize(k): v for k, v in legacy_files.items() if isinstance(v, list)}
    lines: list[str] = []
    all_hashed = True
    for package, marker in selected:
        files = package.get("files") or files_by_name.get(normalize(package["name"]), [])
        hashes = [f["hash"] for f in files if isinstance(f, dict) and f.get("hash")]
        requirement, hashable = _poetry_requirement(package, app_dir)
        if not hashable:
            hashes = []
        all_hashed = all_hashed and bool(hashes)
        lines.append(_line(requirement, marker, hashes))
    return LockedRequirements(lines, all_hashed)


def _poetry_requirement(package: dict[str, Any], app_dir: Path) -> tuple[str, bool]:
    """The requirement for one locked package, and whether pip can check hashes for it."""
    name, version = package["name"], package["version"]
    source = package.get("source") or {}
    kind = source.get("type")
    url = str(source.get("url", ""))
    if kind == "git":
        rev = source.get("resolved_reference") or source.get("reference")
        return f"{name} @ {_git_url(url, rev, source.get('subdirectory'))}", False
    if kind == "directory":
        return f"{name} @ {_local_url(url, app_dir)}", False
    if kind == "file":
        return f"{name} @ {_local_url(url, app_dir)}", True
    if kind == "url":
        return f"{name} @ {url}", True
    return f"{name}=={version}", True  # PyPI, or a private index ("legacy")


def _group_marker(package: dict[str, Any], chosen: frozenset[str]) -> tuple[bool, str | None]:
    """Lock 2.1: whether the package is in a chosen group, and its marker there (None: always)."""
    in_groups = [g for g in package.get("groups", []) if g in chosen]
    if not in_groups:
        return False, None
    markers = package.get("markers")
    if markers is None or isinstance(markers, str):
        return True, markers or None
    found: list[str] = []
    for group in in_groups:
        marker = markers.get(group)
        if not marker:
            return True, None  # unconditional in one of the chosen groups
        found.append(marker)
    return True, _or(found)


def _or(markers: list[str] | None) -> str | None:
    if not markers:
        return None
    unique = list(dict.fromkeys(markers))
    if len(unique) == 1:
        return unique[0]
    return " or ".join(f"({m})" for m in unique)


@dataclass
class _Edge:
    """One dependency edge: its marker (None: unconditional), requested extras, optionality."""

    marker: str | None
    extras: set[str]
    optional: bool


def _roots(pyproject: Mapping[str, Any], chosen: frozenset[str]) -> dict[str, list[_Edge]]:
    """The project's own dependencies, by normalized name: each with its marker and extras."""
    roots: dict[str, list[_Edge]] = {}
    poetry = pyproject.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {})]
    tables += [poetry.get("group", {}).get(g, {}).get("dependencies", {}) for g in sorted(chosen)]
    if "dev" in chosen:
        tables.append(poetry.get("dev-dependencies", {}))
    for table in tables:
        for name, spec in table.items():
            if normalize(name) == "python":
                continue
            for edge in _edges(spec):
                if not edge.optional:  # optional here means one of the project's extras
                    roots.setdefault(normalize(name), []).append(edge)
    for requirement in pyproject.get("project", {}).get("dependencies", []):
        parsed = _NAME.match(str(requirement))
        if not parsed:
            continue
        rest = str(requirement)[parsed.end() :]
        bracket = re.match(r"\s*\[([^\]]*)\]", rest)
        listed = bracket.group(1).split(",") if bracket else []
        extras = {normalize(e.strip()) for e in listed if e.strip()}
        marker = rest.split(";", 1)[1].strip() if ";" in rest else None
        roots.setdefault(normalize(parsed.group(1)), []).append(_Edge(marker, extras, False))
    return roots


def _edges(spec: Any) -> list[_Edge]:
    """One dependency entry (a constraint string, a table, or a list of tables) as edges."""
    items = spec if isinstance(spec, list) else [spec]
    edges = []
    for item in items:
        if not isinstance(item, dict):
            edges.append(_Edge(None, set(), False))
            continue
        marker = item.get("markers") or None
        if marker and _EXTRA_MARKER.search(marker):
            marker = None  # extras are resolved by the walk, pip would evaluate extra == ""
        extras = {normalize(str(e)) for e in item.get("extras", [])}
        edges.append(_Edge(marker, extras, item.get("optional") is True))
    return edges


def _closure(
    packages: list[dict[str, Any]], roots: dict[str, list[_Edge]]
) -> dict[str, list[str] | None]:
    """Normalized names reached from ``roots``, each with its edges' markers (None: always)."""
    by_name = {normalize(p["name"]): p for p in packages}
    reached: dict[str, list[str] | None] = {}
    extras: dict[str, set[str]] = {}
    queue: list[str] = []

    def reach(key: str, edge: _Edge, direct: bool) -> None:
        package = by_name.get(key)
        if package is None or (package.get("optional") is True and not direct):
            return
        first = key not in reached
        if first:
            reached[key] = None if edge.marker is None else [edge.marker]
        else:
            markers = reached[key]
            if markers is not None:
                if edge.marker is None:
                    reached[key] = None
                elif edge.marker not in markers:
                    markers.append(edge.marker)
        known = extras.setdefault(key, set())
        if first or not edge.extras <= known:
            known |= edge.extras
            queue.append(key)

    for key, edges in roots.items():
        for edge in edges:
            reach(key, edge, True)
    while queue:
        key = queue.pop(0)
        package = by_name[key]
        enabled = {
            normalize(match.group(1))
            for extra, requirements in package.get("extras", {}).items()
            if normalize(extra) in extras[key]
            for requirement in requirements
            if (match := _NAME.match(str(requirement)))
        }
        for name, spec in package.get("dependencies", {}).items():
            child = normalize(name)
            for edge in _edges(spec):
                if edge.optional and child not in enabled:
                    continue
                reach(child, edge, False)
    return reached


# --- Pipfile.lock --------------------------------------------------------------------------


def pipfile_lock_requirements(
    lock_text: str, dev: bool, *, app_dir: Path = Path(".")
) -> LockedRequirements:
    """The packages a Pipfile.lock pins in ``default`` (and ``develop`` when ``dev``), as lines.

    ``{"version": "==1.2", "hashes": [...], "markers": ...}`` is a pinned, hashed line (with
    ``[extras]`` when locked with them); ``{"git": url, "ref": rev}`` is ``name @ git+url@rev``;
    ``{"file": url}`` is ``name @ url``; ``{"path": ...}`` is a file URL resolved against
    ``app_dir``, except ``"."``, the app itself, which is left out (the caller installs the
    project).  A package in both sections is taken from ``default``.  The index settings in
    ``_meta.sources`` are not put into the lines.

    Raises ValueError (naming Pipfile.lock) for invalid JSON, a missing ``_meta`` or an entry
    that is neither pinned nor a git/file/path reference.
    """
    try:
        lock = json.loads(lock_text)
    except json.JSONDecodeError as error:
        raise ValueError(f"Pipfile.lock: not valid JSON ({error}); run `pipenv lock`") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("_meta"), dict):
        raise ValueError("Pipfile.lock: no _meta section; run `pipenv lock` to regenerate it")
    sections = ["default", "develop"] if dev else ["default"]
    lines: list[str] = []
    all_hashed = True
    seen: set[str] = set()
    for section in sections:
        entries = lock.get(section, {})
        if not isinstance(entries, dict):
            raise ValueError(
                f"Pipfile.lock: {section} is not a table of packages; run `pipenv lock`"
            )
        for name, entry in entries.items():
            if normalize(name) in seen:
                continue
            seen.add(normalize(name))
            if not isinstance(entry, dict):
                raise ValueError(
                    f"Pipfile.lock: {section}.{name} is not an object; run `pipenv lock`"
                )
            requirement, hashable = _pipfile_requirement(section, name, entry, app_dir)
            if requirement is None:
                continue
            hashes = [str(h) for h in entry.get("hashes", [])] if hashable else []
            all_hashed = all_hashed and bool(hashes)
            lines.append(_line(requirement, entry.get("markers") or None, hashes))
    return LockedRequirements(lines, all_hashed)


def _pipfile_requirement(
    section: str, name: str, entry: dict[str, Any], app_dir: Path
) -> tuple[str | None, bool]:
    extras = entry.get("extras") or []
    named = f"{name}[{','.join(extras)}]" if extras else name
    if "git" in entry:
        url = _git_url(str(entry["git"]), entry.get("ref"), entry.get("subdirectory"))
        return f"{named} @ {url}", False
    if "path" in entry:
        if Path(str(entry["path"])) == Path("."):
            return None, False
        return f"{named} @ {_local_url(str(entry['path']), app_dir)}", False
    if "file" in entry:
        return f"{named} @ {entry['file']}", True
    version = entry.get("version")
    if not isinstance(version, str) or not version.startswith("=="):
        raise ValueError(
            f"Pipfile.lock: {section}.{name} has no pinned version (==...); run `pipenv lock`"
        )
    return f"{named}{version}", True
