"""``project.toml``: the project descriptor an app keeps at its root.

Written by app developers; read by ``pypack build`` (include/exclude, env, buildpacks, builder).
Schema 0.2 has ``[_] schema-version``; a file without it is schema 0.1, as in pack. pack also
reads an unofficial 0.3 that adds ``exec-env``; it is read here with the 0.2 model, which
already keeps ``exec-env``. Unknown keys are kept and reported by
:func:`pypack.spec.unknown_keys` (pack warns, it does not fail). Every schema becomes one
:class:`ProjectSettings` through :meth:`normalized`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from pypack.errors import SpecError
from pypack.spec._base import Document, FreeForm, SpecModel, read_toml_file
from pypack.spec.module import ProjectLicense, env_file_name, exec_env_names

_SCHEMAS = ("0.1", "0.2", "0.3")


class _Open(SpecModel):
    model_config = ConfigDict(extra="allow")


class InlineScript(_Open):
    """``script``: an inline buildpack's build script."""

    api: str | None = None
    inline: str
    shell: str = "/bin/sh"


class ProjectBuildpack(_Open):
    """A buildpack of the project: by ``id`` (and ``version``), by ``uri``, or an inline script."""

    id: str | None = None
    version: str | None = None
    uri: str | None = None
    script: InlineScript | None = None
    exec_env: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _exec_env_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and "exec-env" in data:
            data = {**data, "exec-env": exec_env_names(data["exec-env"])}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> ProjectBuildpack:
        if not self.id and not self.uri:
            raise ValueError("a buildpack needs an 'id' or a 'uri'")
        if self.uri and self.version:
            raise ValueError("a buildpack cannot have both 'uri' and 'version'")
        if self.script is not None:
            if self.uri:
                raise ValueError("an inline buildpack ('script') cannot have a 'uri'")
            if not self.id:
                raise ValueError("an inline buildpack ('script') needs an 'id'")
            if not self.script.api:
                raise ValueError("an inline buildpack needs 'script.api', e.g. \"0.10\"")
        return self


class EnvVar(_Open):
    """A build-time environment variable for the buildpacks."""

    name: str
    value: str = ""
    exec_env: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_file_name(value)


class Group(_Open):
    """``pre`` or ``post``: buildpacks added at the start or end of every group."""

    group: list[ProjectBuildpack] = []


def _include_or_exclude(include: list[str] | None, exclude: list[str] | None) -> None:
    if include is not None and exclude is not None:
        raise ValueError("cannot have both 'include' and 'exclude'; keep one")


# --- schema 0.1 ------------------------------------------------------------------------------


class ProjectInfo(_Open):
    """``[project]`` of schema 0.1; the same keys open ``[_]`` in schema 0.2."""

    id: str | None = None
    name: str | None = None
    version: str | None = None
    authors: list[str] | None = None
    documentation_url: str | None = None
    source_url: str | None = None
    licenses: list[ProjectLicense] | None = None


class BuildV01(_Open):
    """``[build]`` of schema 0.1."""

    include: list[str] | None = None
    exclude: list[str] | None = None
    buildpacks: list[ProjectBuildpack] = []
    env: list[EnvVar] = []
    builder: str | None = None

    @model_validator(mode="after")
    def _filters(self) -> BuildV01:
        _include_or_exclude(self.include, self.exclude)
        return self


class ProjectV01(Document):
    """``project.toml`` of schema 0.1. Other top-level tables are the user's own (pack warns
    only on unknown keys under ``[project]`` and ``[build]``)."""

    file_name: ClassVar[str] = "project.toml"
    extensible: ClassVar[bool] = True
    model_config = ConfigDict(extra="allow")

    project: ProjectInfo | None = None
    build: BuildV01 = BuildV01()
    metadata: FreeForm | None = None

    def normalized(self) -> ProjectSettings:
        """The settings of this descriptor, independent of its schema."""
        project = self.project or ProjectInfo()
        return ProjectSettings(
            schema_version="0.1",
            name=project.name,
            version=project.version,
            source_url=project.source_url,
            licenses=list(project.licenses or []),
            include=self.build.include,
            exclude=self.build.exclude,
            buildpacks=list(self.build.buildpacks),
            env=list(self.build.env),
            builder=self.build.builder,
            metadata=dict(self.metadata or {}),
        )


# --- schema 0.2 ------------------------------------------------------------------------------


class ProjectInfoV02(ProjectInfo):
    """``[_]`` of schema 0.2."""

    schema_version: str
    metadata: FreeForm | None = None


class BuildEnvTable(_Open):
    """``[io.buildpacks.build]``: ``[[io.buildpacks.build.env]]``."""

    env: list[EnvVar] = []


class LegacyEnvTable(_Open):
    """``[io.buildpacks.env]`` (deprecated): ``[[io.buildpacks.env.build]]``."""

    build: list[EnvVar] = []


class BuildpacksTable(_Open):
    """``[io.buildpacks]``."""

    builder: str | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    group: list[ProjectBuildpack] = []
    pre: Group | None = None
    post: Group | None = None
    build: BuildEnvTable | None = None
    env: LegacyEnvTable | None = None

    @model_validator(mode="after")
    def _filters(self) -> BuildpacksTable:
        _include_or_exclude(self.include, self.exclude)
        return self


class IoTable(_Open):
    """``[io]``; other reverse-domain tables under it are kept as they are."""

    extensible: ClassVar[bool] = True

    buildpacks: BuildpacksTable = BuildpacksTable()


class ProjectV02(Document):
    """``project.toml`` of schema 0.2 (and pack's 0.3)."""

    file_name: ClassVar[str] = "project.toml"
    extensible: ClassVar[bool] = True
    model_config = ConfigDict(extra="allow")

    project: ProjectInfoV02 = Field(alias="_")
    io: IoTable = IoTable()

    def normalized(self) -> ProjectSettings:
        """The settings of this descriptor, independent of its schema."""
        table = self.io.buildpacks
        env = table.build.env if table.build and table.build.env else []
        if not env and table.env:
            env = table.env.build
        return ProjectSettings(
            schema_version=self.project.schema_version,
            name=self.project.name,
            version=self.project.version,
            source_url=self.project.source_url,
            licenses=list(self.project.licenses or []),
            include=table.include,
            exclude=table.exclude,
            buildpacks=list(table.group),
            env=list(env),
            builder=table.builder,
            pre=list(table.pre.group) if table.pre else [],
            post=list(table.post.group) if table.post else [],
            metadata=dict(self.project.metadata or {}),
        )


@dataclass
class ProjectSettings:
    """What a build takes from project.toml, whatever its schema."""

    schema_version: str
    name: str | None = None
    version: str | None = None
    source_url: str | None = None
    licenses: list[ProjectLicense] = field(default_factory=list)
    include: list[str] | None = None
    exclude: list[str] | None = None
    buildpacks: list[ProjectBuildpack] = field(default_factory=list)
    env: list[EnvVar] = field(default_factory=list)
    builder: str | None = None
    pre: list[ProjectBuildpack] = field(default_factory=list)
    post: list[ProjectBuildpack] = field(default_factory=list)
    metadata: FreeForm = field(default_factory=dict)


ProjectDescriptor = ProjectV01 | ProjectV02


def schema_version_of(data: dict[str, Any], source: str) -> str:
    """The schema a parsed project.toml declares: ``[_] schema-version``, else 0.1."""
    table = data.get("_")
    if table is None:
        return "0.1"
    if not isinstance(table, dict):
        raise SpecError(source, "_", "must be a table")
    version = table.get("schema-version")
    if version is None:
        raise SpecError(source, "_.schema-version", 'required in the [_] table, e.g. "0.2"')
    if version not in _SCHEMAS:
        raise SpecError(
            source, "_.schema-version", f'unsupported schema version {version!r}; use "0.2"'
        )
    return str(version)


def parse_project(data: dict[str, Any], source: str = "project.toml") -> ProjectDescriptor:
    """Validate parsed project.toml data with the model of its schema."""
    if schema_version_of(data, source) == "0.1":
        return ProjectV01.from_data(data, source)
    return ProjectV02.from_data(data, source)


def load_project(path: str | os.PathLike[str]) -> ProjectDescriptor:
    """Read a project.toml of any schema."""
    return parse_project(read_toml_file(path), str(path))
