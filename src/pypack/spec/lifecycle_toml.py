"""``lifecycle.toml``: the lifecycle's own descriptor (version and supported APIs).

Written into every lifecycle distribution (and by ``pypack builder create`` for the pypack
lifecycle at ``/cnb/lifecycle/lifecycle.toml``); read by platforms to pick a Platform API. The
``[api]`` table is the old single-version form; ``[apis]`` lists every version.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from pypack.spec._base import Document, Label, SpecModel
from pypack.spec.api import ApiVersion


class LifecycleInfo(SpecModel):
    """``[lifecycle]``."""

    model_config = ConfigDict(extra="allow")

    version: str
    sbom_formats: list[str] | None = None


class ApiPair(SpecModel):
    """``[api]`` (deprecated): the oldest supported Buildpack and Platform API."""

    buildpack: ApiVersion
    platform: ApiVersion


class ApiSet(SpecModel):
    """The supported and deprecated versions of one API."""

    deprecated: list[ApiVersion] = []
    supported: list[ApiVersion] = []


class Apis(SpecModel):
    """``[apis]``: the Buildpack and Platform API sets."""

    buildpack: ApiSet = ApiSet()
    platform: ApiSet = ApiSet()


class LifecycleDescriptor(Document):
    """The whole ``lifecycle.toml``."""

    file_name: ClassVar[str] = "lifecycle.toml"
    model_config = ConfigDict(extra="allow")

    apis: Apis = Apis()
    api: ApiPair | None = None
    lifecycle: LifecycleInfo


class LifecycleApisLabel(Apis, Label):
    """The ``io.buildpacks.lifecycle.apis`` label of lifecycle images."""

    label_name: ClassVar[str] = "io.buildpacks.lifecycle.apis"
