"""``/cnb/system.toml``: buildpacks added before and after every order group (Platform 0.15).

Written by ``pypack builder create``; read by the detector. The reference lifecycle ignores
``optional`` here, so every system buildpack is required; the key is kept as read.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel
from pypack.spec.module import ModuleRef


class SystemBuildpacks(SpecModel):
    """``[system.pre]`` or ``[system.post]``."""

    buildpacks: list[ModuleRef] = []


class System(SpecModel):
    """``[system]``."""

    pre: SystemBuildpacks = SystemBuildpacks()
    post: SystemBuildpacks = SystemBuildpacks()


class SystemFile(Document):
    """The whole ``system.toml``."""

    file_name: ClassVar[str] = "system.toml"

    system: System = System()
