"""``/cnb/stack.toml`` (deprecated, Platform API < 0.12): the builder's run image.

Written by ``pypack builder create`` for older platforms; read by old analyzers and exporters.
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import Document, SpecModel


class StackRunImage(SpecModel):
    """``[run-image]``."""

    image: str | None = None
    mirrors: list[str] | None = None


class StackFile(Document):
    """The whole ``stack.toml``."""

    file_name: ClassVar[str] = "stack.toml"

    run_image: StackRunImage = StackRunImage()
