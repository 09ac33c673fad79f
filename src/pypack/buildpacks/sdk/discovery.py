"""Buildpacks that installed Python packages offer through the ``pypack.buildpacks`` entry-point
group: each entry point names a directory holding ``buildpack.toml`` (and ``buildpack.py``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

ENTRY_POINT_GROUP = "pypack.buildpacks"


@dataclass(frozen=True)
class InstalledBuildpack:
    """A buildpack found through an entry point."""

    id: str
    version: str
    directory: Path


def _directory(value: str) -> Path:
    """``package`` or ``package:subdir`` → the directory inside the installed package."""
    package, _, subdir = value.partition(":")
    root = resources.files(package)
    return Path(str(root.joinpath(subdir) if subdir else root))


def installed_buildpacks() -> list[InstalledBuildpack]:
    """Every buildpack the installed distributions declare, sorted by id."""
    found = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        directory = _directory(entry.value)
        descriptor = directory / "buildpack.toml"
        if not descriptor.is_file():
            continue
        with open(descriptor, "rb") as stream:
            info = tomllib.load(stream).get("buildpack", {})
        found.append(
            InstalledBuildpack(info.get("id", entry.name), info.get("version", ""), directory)
        )
    return sorted(found, key=lambda b: b.id)
