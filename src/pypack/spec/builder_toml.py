"""``builder.toml``: pack's builder configuration, read by ``pypack builder create``.

Written by builder authors. Unknown keys are an error, as in pack (``unknown configuration
element`` from ``builder.ReadConfig``). The old ``[stack]`` keys and
the new ``[build] image`` / ``[[run.images]]`` keys are merged as pack merges them:
:attr:`BuilderConfig.build_image` and :attr:`BuilderConfig.run_images` give the result.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import field_validator, model_validator

from pypack.spec._base import Document, KeyedValueError, SpecModel
from pypack.spec.module import ModuleMeta, OrderGroup, env_file_name
from pypack.spec.run_toml import RunImageEntry
from pypack.spec.system_toml import System
from pypack.spec.targets import Target


class BuilderModule(ModuleMeta):
    """A ``[[buildpacks]]`` or ``[[extensions]]`` entry: where to get a module.

    ``uri`` is a directory, a ``.tgz``/``.cnb`` file, a URL or ``docker://<image>``; ``image``
    is an image reference. ``id``/``version``, when given, must match what the module says.
    """

    uri: str | None = None
    image: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BuilderModule:
        if self.uri and self.image:
            raise ValueError("set 'uri' or 'image', not both")
        if not self.uri and not self.image:
            raise ValueError("set 'uri' (a directory, file or URL) or 'image' (an image reference)")
        return self


class StackConfig(SpecModel):
    """``[stack]`` (deprecated): the stack ID and its build and run images."""

    id: str | None = None
    build_image: str | None = None
    run_image: str | None = None
    run_image_mirrors: list[str] | None = None


class LifecycleConfig(SpecModel):
    """``[lifecycle]``: the lifecycle to put in the builder, by ``version`` or ``uri``."""

    uri: str | None = None
    version: str | None = None

    @model_validator(mode="after")
    def _version_or_uri(self) -> LifecycleConfig:
        if self.uri and self.version:
            raise ValueError("set 'version' or 'uri', not both")
        return self


class RunConfig(SpecModel):
    """``[run]``: ``[[run.images]]``, the run images and their mirrors."""

    images: list[RunImageEntry] = []


Suffix = Literal["default", "override", "append", "prepend"]


class BuildEnv(SpecModel):
    """``[[build.env]]``: an operator env var, written to ``/cnb/build-config/env``."""

    name: str
    value: str = ""
    suffix: Suffix | None = None
    delim: str | None = None
    exec_env: list[str] | None = None

    @field_validator("suffix", mode="before")
    @classmethod
    def _empty_suffix_is_none(cls, value: object) -> object:
        return None if value == "" else value  # pack reads suffix = "" as no suffix

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_file_name(value)

    @model_validator(mode="after")
    def _delim_for_append(self) -> BuildEnv:
        if self.suffix in ("append", "prepend") and not self.delim:
            raise KeyedValueError(
                "delim", f'required with suffix {self.suffix!r}; set e.g. delim = ":"'
            )
        return self

    @property
    def file_name(self) -> str:
        """The file name under ``build-config/env``: ``NAME`` or ``NAME.<suffix>``."""
        return f"{self.name}.{self.suffix}" if self.suffix else self.name


class BuildConfig(SpecModel):
    """``[build]``: the build image and the operator environment."""

    image: str | None = None
    env: list[BuildEnv] = []


class BuilderConfig(Document):
    """The whole ``builder.toml``."""

    file_name: ClassVar[str] = "builder.toml"
    refuse_unknown_keys: ClassVar[bool] = True

    description: str | None = None
    buildpacks: list[BuilderModule] = []
    extensions: list[BuilderModule] = []
    order: list[OrderGroup] = []
    order_extensions: list[OrderGroup] = []
    system: System | None = None
    stack: StackConfig | None = None
    lifecycle: LifecycleConfig | None = None
    run: RunConfig | None = None
    build: BuildConfig | None = None
    targets: list[Target] = []

    @model_validator(mode="after")
    def _images(self) -> BuilderConfig:
        stack = self.stack or StackConfig()
        build_image = self.build.image if self.build else None
        if not build_image and not stack.build_image:
            raise KeyedValueError("build.image", "required: the build image of the builder")
        if build_image and stack.build_image and build_image != stack.build_image:
            raise KeyedValueError("build.image", "does not match stack.build-image; keep one")
        runs = self.run.images if self.run else []
        if not runs and not (stack.run_image and stack.id):
            raise KeyedValueError("run.images", "required: add [[run.images]] with an image")
        if any(not run.image for run in runs):
            raise KeyedValueError("run.images", "an image is empty: give an image reference")
        if runs and stack.run_image and runs[0].image != stack.run_image:
            raise KeyedValueError("run.images", "the first image does not match stack.run-image")
        return self

    @property
    def build_image(self) -> str:
        """The build image, from ``[build] image`` or the deprecated ``stack.build-image``."""
        stack_image = self.stack.build_image if self.stack else None
        return (self.build.image if self.build else None) or stack_image or ""

    @property
    def run_images(self) -> list[RunImageEntry]:
        """The run images, from ``[[run.images]]`` or the deprecated ``stack.run-image``."""
        if self.run and self.run.images:
            return list(self.run.images)
        stack = self.stack or StackConfig()
        return [RunImageEntry(image=stack.run_image or "", mirrors=stack.run_image_mirrors)]
