"""Layers: a directory under the layers dir plus ``<name>.toml`` with its types and metadata."""

from __future__ import annotations

import hashlib
import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypack.buildpacks.sdk.toml_writer import dumps

CACHE_KEY = "cache-key"

SBOM_EXTENSIONS = {"cyclonedx": "cdx.json", "spdx": "spdx.json", "syft": "syft.json"}


@dataclass
class Environment:
    """One env directory of a layer (``env``, ``env.build``, ``env.launch[/<process>]``)."""

    directory: Path

    def _write(self, name: str, suffix: str, value: str, delim: str | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{name}.{suffix}").write_text(value)
        if delim is not None:
            (self.directory / f"{name}.delim").write_text(delim)

    def override(self, name: str, value: str | Path) -> None:
        """Set ``name`` to ``value`` whatever it was."""
        self._write(name, "override", str(value))

    def default(self, name: str, value: str | Path) -> None:
        """Set ``name`` to ``value`` unless something already set it."""
        self._write(name, "default", str(value))

    def prepend(self, name: str, value: str | Path, delim: str = os.pathsep) -> None:
        """Put ``value`` in front of ``name``, joined with ``delim``."""
        self._write(name, "prepend", str(value), delim)

    def append(self, name: str, value: str | Path, delim: str = os.pathsep) -> None:
        """Put ``value`` after ``name``, joined with ``delim``."""
        self._write(name, "append", str(value), delim)


def cache_key(*parts: str | bytes | Path) -> str:
    """A key for :meth:`Layer.reuse_if`: the SHA-256 of the parts (files are read)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            data = part.read_bytes() if part.is_file() else b"\0missing\0"
        else:
            data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


@dataclass
class Layer:
    """A layer this buildpack contributes; ``path`` is its directory."""

    layers_dir: Path
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)
    launch: bool = False
    build: bool = False
    cache: bool = False
    removed: bool = False

    @classmethod
    def open(cls, layers_dir: Path, name: str) -> Layer:
        """The layer with the metadata the lifecycle restored for it (if any)."""
        toml_path = layers_dir / f"{name}.toml"
        metadata: dict[str, Any] = {}
        if toml_path.is_file():
            with open(toml_path, "rb") as stream:
                metadata = dict(tomllib.load(stream).get("metadata", {}))
        else:
            (layers_dir / name).mkdir(parents=True, exist_ok=True)
        return cls(layers_dir, name, metadata)

    @property
    def path(self) -> Path:
        return self.layers_dir / self.name

    @property
    def toml_path(self) -> Path:
        return self.layers_dir / f"{self.name}.toml"

    @property
    def env(self) -> Environment:
        """Variables for both later build steps and the running app."""
        return Environment(self.path / "env")

    @property
    def build_env(self) -> Environment:
        """Variables for later buildpacks only."""
        return Environment(self.path / "env.build")

    def launch_env(self, process: str | None = None) -> Environment:
        """Variables for the running app (or only for process type ``process``)."""
        base = self.path / "env.launch"
        return Environment(base / process if process else base)

    def reuse_if(self, key: str) -> bool:
        """Keep what the last build left if it was made with ``key``; else start empty.

        Reusable means the restored metadata carries the same key and the contents are there
        to keep: restored (cache layers) or in the previous image (launch-only layers)."""
        same = self.metadata.get(CACHE_KEY) == key
        contents = self.path.is_dir() if self.cache else self.launch
        if same and contents:
            return True
        self.reset()
        self.metadata[CACHE_KEY] = key
        return False

    def reset(self) -> None:
        """Empty the layer: no contents, no metadata."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self.metadata = {}
        self.removed = False

    def remove(self) -> None:
        """Contribute nothing: the layer and its metadata go."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.toml_path.unlink(missing_ok=True)
        self.removed = True

    def exec_d(self, name: str, script: str) -> Path:
        """An exec.d program run before the app starts; it writes TOML env to fd 3."""
        return self._executable("exec.d", name, script)

    def profile_d(self, name: str, script: str) -> Path:
        """A shell snippet sourced before a shell process starts."""
        target = self.path / "profile.d" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script)
        return target

    def sbom(self, kind: str, document: str) -> Path:
        """Attach an SBOM (``cyclonedx``, ``spdx`` or ``syft`` JSON) to this layer."""
        target = self.layers_dir / f"{self.name}.sbom.{SBOM_EXTENSIONS[kind]}"
        target.write_text(document)
        return target

    def _executable(self, directory: str, name: str, script: str) -> Path:
        target = self.path / directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script)
        target.chmod(0o755)
        return target

    def write_toml(self) -> None:
        """Write ``<name>.toml``; called by the runner after ``build`` returns."""
        if self.removed:
            return
        document = {
            "types": {"launch": self.launch, "build": self.build, "cache": self.cache},
            "metadata": self.metadata,
        }
        self.toml_path.write_text(dumps(document))
