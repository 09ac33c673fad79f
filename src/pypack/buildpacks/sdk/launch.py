"""What a build contributes to the image: processes, labels, slices and the launch SBOM."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypack.buildpacks.sdk.layers import SBOM_EXTENSIONS
from pypack.buildpacks.sdk.toml_writer import dumps


@dataclass
class Process:
    """A process type of the app image (``launch.toml`` ``[[processes]]``)."""

    type: str
    command: list[str]
    args: list[str] = field(default_factory=list)
    default: bool = False
    working_dir: str | None = None

    def as_toml(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "command": self.command,
            "args": self.args,
            "default": self.default,
            "working-dir": self.working_dir,
        }


@dataclass
class LaunchResult:
    """Everything ``launch.toml`` (and ``launch.sbom.*``) will say."""

    processes: list[Process] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    slices: list[list[str]] = field(default_factory=list)
    sboms: dict[str, str] = field(default_factory=dict)

    def process(
        self,
        type: str,
        command: list[str],
        *,
        args: list[str] | None = None,
        default: bool = False,
        working_dir: str | None = None,
    ) -> Process:
        """Add (or replace) process ``type``."""
        self.processes = [p for p in self.processes if p.type != type]
        added = Process(type, command, args or [], default, working_dir)
        self.processes.append(added)
        return added

    def label(self, key: str, value: str) -> None:
        """Put label ``key`` on the app image."""
        self.labels[key] = value

    def slice(self, *patterns: str) -> None:
        """Export the app files matching ``patterns`` as a layer of their own."""
        self.slices.append(list(patterns))

    def sbom(self, kind: str, document: str) -> None:
        """An SBOM for the app image as a whole (``cyclonedx``, ``spdx`` or ``syft``)."""
        self.sboms[kind] = document

    def write(self, layers_dir: Path) -> None:
        """Write ``launch.toml`` and SBOM files if there is anything to say."""
        document: dict[str, Any] = {}
        if self.processes:
            document["processes"] = [p.as_toml() for p in self.processes]
        if self.labels:
            document["labels"] = [{"key": k, "value": v} for k, v in self.labels.items()]
        if self.slices:
            document["slices"] = [{"paths": paths} for paths in self.slices]
        if document:
            (layers_dir / "launch.toml").write_text(dumps(document))
        for kind, text in self.sboms.items():
            (layers_dir / f"launch.sbom.{SBOM_EXTENSIONS[kind]}").write_text(text)
