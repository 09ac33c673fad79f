"""``<layers>/<buildpack>/store.toml``: free-form data a buildpack keeps between builds.

Written by ``bin/build``; carried in the image's lifecycle metadata label and restored by the
restorer for the next build.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from pypack.spec._base import Document, FreeForm


class StoreFile(Document):
    """The whole ``store.toml``: a ``[metadata]`` table."""

    file_name: ClassVar[str] = "store.toml"
    model_config = ConfigDict(extra="allow")

    metadata: FreeForm = {}
