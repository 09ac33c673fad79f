"""The launch cache (``-launch-cache``): the app image's layer tars, kept by diffID for the next
daemon export.

Reading a layer of an image in the Docker daemon means saving the whole image; a launch layer
the exporter reuses from the previous image must still be sent to the daemon. With a launch
cache the exporter writes every layer it adds to ``<dir>/committed/<diffID hex>.tar`` and the
next export reads a reused layer from there instead of from the daemon, as the reference
lifecycle's caching image does. Only the layers of the last export are kept.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from pypack.lifecycle.log import LOGGER
from pypack.oci.image import Image


class LaunchCache:
    """Layer tars by diffID in one directory."""

    def __init__(self, directory: Path) -> None:
        self.committed = directory / "committed"

    def path(self, diff_id: str) -> Path:
        return self.committed / f"{diff_id.removeprefix('sha256:')}.tar"

    def open_blob(self, digest: str) -> BinaryIO:
        """A cached layer's tar (daemon layers are addressed by their diffID)."""
        return open(self.path(digest), "rb")

    def serve(self, image: Image) -> int:
        """Let ``image`` (from the daemon) read its cached layers from here; how many."""
        served = 0
        for index, layer in enumerate(image.layers):
            if self.path(layer.diff_id).is_file():
                image.layers[index] = dataclasses.replace(layer, source=self)
                served += 1
        return served

    def commit(self, tars: Iterable[tuple[str, Path]], reused: Iterable[str] = ()) -> None:
        """Keep exactly the layer tars just written (diffID, path) and the cached ones the
        export reused; a failure is only a warning."""
        try:
            self.committed.mkdir(parents=True, exist_ok=True)
            keep = {self.path(diff_id).name for diff_id in reused}
            for diff_id, tar in tars:
                target = self.path(diff_id)
                keep.add(target.name)
                if not target.is_file():
                    partial = target.with_suffix(".partial")
                    shutil.copyfile(tar, partial)
                    os.replace(partial, target)
            for entry in self.committed.iterdir():
                if entry.name not in keep:
                    entry.unlink()
        except OSError as exc:
            LOGGER.warning("Failed to update the launch cache %s: %s", self.committed.parent, exc)
