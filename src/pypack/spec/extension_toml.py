"""``extension.toml``: the descriptor of an image extension (parsed, not yet run).

Written by extension authors; read by the detector and ``pypack builder create``. Extensions
are never composite and always optional.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from pypack.spec._base import Document, FreeForm
from pypack.spec.api import ApiVersion
from pypack.spec.module import ModuleInfo
from pypack.spec.targets import Target


class ExtensionDescriptor(Document):
    """The whole ``extension.toml``."""

    file_name: ClassVar[str] = "extension.toml"
    model_config = ConfigDict(extra="allow")

    api: ApiVersion
    extension: ModuleInfo
    targets: list[Target] | None = None
    metadata: FreeForm | None = None
