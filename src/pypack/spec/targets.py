"""Targets: the os/arch/variant and distributions a buildpack or image is for.

Written by buildpack authors (``[[targets]]`` in buildpack.toml), builder authors (builder.toml,
package.toml) and the analyzer (the run image's target in analyzed.toml).
"""

from __future__ import annotations

from typing import ClassVar

from pypack.spec._base import SpecModel


class Distro(SpecModel):
    """A Linux distribution by ``/etc/os-release`` ``ID`` and ``VERSION_ID``."""

    name: str | None = None
    version: str | None = None


class Target(SpecModel):
    """A ``[[targets]]`` entry of buildpack.toml, builder.toml or package.toml.

    The spec and pack spell the variant ``variant``; the reference lifecycle reads
    ``arch-variant``. Both are accepted; ``variant`` is written.
    """

    key_synonyms: ClassVar = {"arch-variant": "variant"}

    os: str | None = None
    arch: str | None = None
    variant: str | None = None
    distros: list[Distro] | None = None
