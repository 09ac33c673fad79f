"""``package.toml``: what ``pypack buildpack package`` puts into a buildpackage.

Written by buildpack authors. Unknown keys are an error, as in pack (``unknown configuration
element`` from ``buildpackage.ConfigReader``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from pypack.spec._base import Document, KeyedValueError, SpecModel
from pypack.spec.targets import Target


class ModuleUri(SpecModel):
    """``[buildpack]`` or ``[extension]``: where the module to package is."""

    uri: str


class Dependency(SpecModel):
    """``[[dependencies]]``: a buildpack a composite needs, by ``uri`` or ``image``."""

    uri: str | None = None
    image: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Dependency:
        if bool(self.uri) == bool(self.image):
            raise ValueError("set exactly one of 'uri' or 'image'")
        return self


class PlatformConfig(SpecModel):
    """``[platform]`` (deprecated): the OS of the package."""

    os: Literal["linux", "windows"] = "linux"


class PackageConfig(Document):
    """The whole ``package.toml``."""

    file_name: ClassVar[str] = "package.toml"
    refuse_unknown_keys: ClassVar[bool] = True

    buildpack: ModuleUri | None = None
    extension: ModuleUri | None = None
    dependencies: list[Dependency] = []
    platform: PlatformConfig = PlatformConfig()
    targets: list[Target] = []

    @model_validator(mode="after")
    def _something_to_package(self) -> PackageConfig:
        if self.buildpack is None and self.extension is None:
            raise KeyedValueError("buildpack.uri", "required: the buildpack directory or file")
        if self.buildpack is not None and self.extension is not None:
            raise ValueError("set [buildpack] or [extension], not both")
        return self
