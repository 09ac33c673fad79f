"""Tables shared by buildpack.toml, extension.toml, order.toml, builder.toml and labels.

A *module* is a buildpack or an image extension. ``ModuleInfo`` is its ``[buildpack]`` (or
``[extension]``) table; ``ModuleRef`` names a module inside an order group.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, field_validator, model_validator

from pypack.spec._base import SpecModel
from pypack.spec.ids import check_id


class License(SpecModel):
    """A ``[[buildpack.licenses]]`` entry: an SPDX ``type`` or a ``uri`` to the license text.

    pack writes licenses into JSON labels as ``Type``/``URI``; those spellings are read too.
    """

    key_synonyms: ClassVar = {"Type": "type", "URI": "uri"}

    type: str | None = None
    uri: str | None = None


class ProjectLicense(License):
    """A license of project.toml, where pack requires a ``type`` or a ``uri`` ("must have a type
    or uri defined for each license"); in buildpack.toml neither pack nor the lifecycle checks."""

    @model_validator(mode="after")
    def _type_or_uri(self) -> ProjectLicense:
        if not self.type and not self.uri:
            raise ValueError("a license needs a 'type' or a 'uri'")
        return self


def env_file_name(value: str) -> str:
    """An env var name that is written as a file (``/platform/env/<name>``,
    ``/cnb/build-config/env/<name>``): not empty, no ``/`` or ``=``, no leading dot."""
    if not value or "/" in value or "=" in value or value.startswith("."):
        raise ValueError(f"{value!r} is not a valid environment variable name")
    return value


def exec_env_names(value: Any) -> Any:
    """Accept ``exec-env`` as the reference lifecycle and pack write it (``["production"]``)
    and as the spec writes it (``[{name = "production"}]``); keep the list of names."""
    if isinstance(value, list):
        return [
            item["name"] if isinstance(item, dict) and set(item) == {"name"} else item
            for item in value
        ]
    return value


class ModuleMeta(SpecModel):
    """The keys a module's table may hold besides its ID (pack's ModuleInfo).

    Unknown keys are kept, not refused: the reference lifecycle ignores them, and a buildpack
    that runs there must run here. :func:`pypack.spec.unknown_keys` lists them for warnings.
    """

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    version: str | None = None
    name: str | None = None
    homepage: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    licenses: list[License] | None = None
    clear_env: bool = False
    sbom_formats: list[str] | None = None
    exec_env: list[str] | None = None

    _exec_env = field_validator("exec_env", mode="before")(
        classmethod(lambda cls, v: exec_env_names(v))
    )


class ModuleInfo(ModuleMeta):
    """The ``[buildpack]`` or ``[extension]`` table of a descriptor."""

    id: str

    _check_id = field_validator("id")(classmethod(lambda cls, value: check_id(value)))

    @property
    def full_name(self) -> str:
        """``id@version``, or ``id`` when there is no version."""
        return f"{self.id}@{self.version}" if self.version else self.id


class ModuleRef(SpecModel):
    """A module inside an order group: ``id``, optionally ``version`` and ``optional``.

    The reference lifecycle ignores ``exec-env`` on group entries; it is kept as read.
    """

    id: str
    version: str | None = None
    optional: bool = False
    exec_env: list[str] | None = None

    _exec_env = field_validator("exec_env", mode="before")(
        classmethod(lambda cls, v: exec_env_names(v))
    )

    @property
    def full_name(self) -> str:
        """``id@version``, or ``id`` when there is no version."""
        return f"{self.id}@{self.version}" if self.version else self.id


class OrderGroup(SpecModel):
    """One ``[[order]]`` entry: a group of modules tried together."""

    group: list[ModuleRef]


class Stack(SpecModel):
    """A deprecated ``[[stacks]]`` entry (Buildpack API < 0.10): a stack ID and its mixins."""

    id: str
    mixins: list[str] | None = None
