"""``<layers>/config/metadata.toml`` and the ``io.buildpacks.build.metadata`` label.

Written by the builder after the last buildpack; read by the exporter (which turns it into the
label) and, inside the app image, by the launcher. ``command`` is an array from Platform API
0.10 and a string before; both are read.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from pypack.spec._base import Document, Label, SpecModel
from pypack.spec.bom import BomEntry
from pypack.spec.group_toml import GroupElement
from pypack.spec.launch_toml import ImageLabel, Slice


class Process(SpecModel):
    """A process of the app image, with the buildpack that contributed it."""

    json_keys: ClassVar = {"buildpack-id": "buildpackID"}

    type: str
    command: str | list[str]
    args: list[str] | None = None
    direct: bool = False
    default: bool = False
    buildpack_id: str = ""
    working_dir: str | None = None
    exec_env: list[str] | None = None

    @property
    def command_list(self) -> list[str]:
        """The command as an array, whatever the Platform API it was written for."""
        return [self.command] if isinstance(self.command, str) else list(self.command)


class BuildMetadata(Document):
    """The whole ``metadata.toml``."""

    file_name: ClassVar[str] = "metadata.toml"

    bom: list[BomEntry] | None = None
    buildpacks: list[GroupElement] = []
    extensions: list[GroupElement] | None = None
    labels: list[ImageLabel] = []
    processes: list[Process] = []
    slices: list[Slice] = []
    buildpack_default_process_type: str | None = None

    def process(self, process_type: str) -> Process | None:
        """The process of type ``process_type``, if any."""
        return next((p for p in self.processes if p.type == process_type), None)


class GitSource(SpecModel):
    """Where the launcher was built from."""

    repository: str = ""
    commit: str = ""


class LauncherSource(SpecModel):
    """``launcher.source``."""

    git: GitSource = GitSource()


class LauncherMetadata(SpecModel):
    """``launcher`` in the build metadata label."""

    version: str = ""
    source: LauncherSource = LauncherSource()


class BuildMetadataLabel(Label):
    """The ``io.buildpacks.build.metadata`` label (labels and slices stay in metadata.toml)."""

    label_name: ClassVar[str] = "io.buildpacks.build.metadata"
    model_config = ConfigDict(extra="allow")

    bom: list[BomEntry] | None = None
    buildpacks: list[GroupElement] = []
    extensions: list[GroupElement] | None = None
    launcher: LauncherMetadata = LauncherMetadata()
    processes: list[Process] = []
    buildpack_default_process_type: str | None = None
