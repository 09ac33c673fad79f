"""``<layers>/<buildpack>/launch.toml``: processes, labels and slices a buildpack contributes.

Written by ``bin/build``; read by the builder, which merges every buildpack's processes into
``<layers>/config/metadata.toml``. The shape of a process depends on the Buildpack API: pass
``context={"buildpack_api": ApiVersion}`` to check it (``command`` is a string below 0.9 and an
array from 0.9, where ``direct`` is gone).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, ValidationInfo, model_validator

from pypack.spec._base import Document, SpecModel
from pypack.spec.api import ApiVersion
from pypack.spec.bom import BomEntry

FORBIDDEN_TYPE_CHARACTERS = "/><:|&\\"
"""What the reference lifecycle refuses in a process type (``/cnb/process/<type>`` is a file)."""


def process_type_problem(value: str) -> str | None:
    """Why the exporter cannot write ``/cnb/process/<value>``, in the reference's words.

    The reference's builder takes any type from launch.toml; its exporter refuses these when it
    makes the process-types layer (exit 62), and so does pypack's.
    """
    if not value:
        return "type is required for all processes"
    if any(char in FORBIDDEN_TYPE_CHARACTERS for char in value):
        return (
            f"invalid process type '{value}': type may not contain characters "
            f"'{FORBIDDEN_TYPE_CHARACTERS}'"
        )
    return None


class ImageLabel(SpecModel):
    """``[[labels]]``: an image label the buildpack sets; no ``value`` is the empty value, as
    the reference reads it."""

    key: str
    value: str = ""


class Slice(SpecModel):
    """``[[slices]]``: globs of app files that go into their own layer."""

    paths: list[str] = []


class ProcessEntry(SpecModel):
    """``[[processes]]``: a process type the app image can start."""

    model_config = ConfigDict(extra="allow")

    type: str
    command: str | list[str]
    args: list[str] | None = None
    direct: bool | None = None
    default: bool = False
    working_dir: str | None = None
    exec_env: list[str] | None = None

    @model_validator(mode="after")
    def _api_rules(self, info: ValidationInfo) -> ProcessEntry:
        # An empty command is taken, as the reference's builder takes it; the launcher refuses
        # to start it ("no command provided for process type").
        api = (info.context or {}).get("buildpack_api")
        if not isinstance(api, ApiVersion):
            return self
        if api.at_least("0.9"):
            if self.direct is not None:
                raise ValueError("'direct' is not supported from Buildpack API 0.9; remove it")
            if not isinstance(self.command, list):
                raise ValueError('command must be an array from Buildpack API 0.9: ["cmd", "arg"]')
        elif not isinstance(self.command, str):
            raise ValueError("command must be a string below Buildpack API 0.9")
        return self

    @property
    def command_list(self) -> list[str]:
        """The command as an array, whatever the API it was written for."""
        return [self.command] if isinstance(self.command, str) else list(self.command)


class LaunchFile(Document):
    """The whole ``launch.toml``."""

    file_name: ClassVar[str] = "launch.toml"
    model_config = ConfigDict(extra="allow")

    labels: list[ImageLabel] = []
    processes: list[ProcessEntry] = []
    slices: list[Slice] = []
    bom: list[BomEntry] | None = None

    @model_validator(mode="after")
    def _one_default(self) -> LaunchFile:
        defaults = [p.type for p in self.processes if p.default]
        if len(defaults) > 1:
            raise ValueError(
                f"multiple default process types are not allowed: {', '.join(defaults)}"
            )
        return self
