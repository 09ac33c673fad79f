"""The pypack home: the local image store, unpacked builders, build caches, configuration.

``$PYPACK_HOME`` (default ``~/.local/share/pypack``) holds ``images/`` (one OCI image layout
for every local image), ``rootfs/`` (builder filesystems by image ID), ``cache/`` (a volume
cache per app image name), ``builds/`` (work directories of builds in progress),
``lifecycle-wheels/`` (the lifecycle's dependencies per build-image Python, for builders) and
``config.toml``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypack.oci.layout import LayoutStore


def default_home() -> Path:
    """``$PYPACK_HOME``, else ``~/.local/share/pypack`` (``/var/lib/pypack`` for root, because
    the CNB user that runs buildpacks must be able to reach the unpacked builder)."""
    configured = os.environ.get("PYPACK_HOME")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/lib/pypack")
    return Path.home() / ".local" / "share" / "pypack"


@dataclass(frozen=True)
class Home:
    """Paths under the pypack home."""

    root: Path

    @property
    def images(self) -> LayoutStore:
        """The local image store."""
        from pypack.oci.layout import LayoutStore

        return LayoutStore(self.root / "images")

    @property
    def rootfs(self) -> Path:
        """Where builder filesystems are unpacked."""
        return self.root / "rootfs"

    @property
    def wheels(self) -> Path:
        """Wheel sets of the lifecycle's dependencies, one per build-image Python."""
        return self.root / "lifecycle-wheels"

    @property
    def builds(self) -> Path:
        """Work directories of running builds."""
        return self.root / "builds"

    @property
    def config(self) -> Path:
        """``config.toml``."""
        return self.root / "config.toml"

    def cache_for(self, image: str) -> Path:
        """The volume build cache of an app image name."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", image)
        # the hash keeps my/app and my_app apart
        return self.root / "cache" / f"{readable}-{hashlib.sha256(image.encode()).hexdigest()[:12]}"
