"""Builder (and app) images unpacked once into a content-addressed directory.

The key is the image ID (config digest), so a changed builder gets a new directory and an
unchanged one is never unpacked twice. Layers are applied with whiteouts through the safe
extractor; the directory appears only when complete (written under a temporary name first).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pypack.fsutil import claimed
from pypack.oci.digest import hex_of
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image
from pypack.oci.progress import counting, short, tracked

MOUNT_POINTS = ("workspace", "layers", "platform", "tmp", "proc", "dev")
_COMPLETE = ".pypack-complete"
PARTIAL_MARK = ".partial-"
"""Unpacks in progress are ``.<key>.partial-<pid>`` until complete."""


def unpack(image: Image, cache_root: Path) -> Path:
    """The directory holding ``image``'s filesystem (unpacked now if it is not yet)."""
    key = hex_of(image.config_document().digest)
    target = cache_root / key
    if (target / _COMPLETE).exists():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    partial = cache_root / f".{key}{PARTIAL_MARK}{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        with claimed(partial):
            count = len(image.layers)
            for number, layer in enumerate(image.layers, start=1):
                where = f"{image.name or 'image'} layer {number}"
                item = f"layer {number}/{count} {short(layer.digest)}"
                with (
                    tracked(
                        "Unpacking", image.name or "image", item, layer.descriptor.size
                    ) as advance,
                    layer.open() as blob,
                ):
                    extract_layer(counting(blob, advance), partial, source=where)
            for name in MOUNT_POINTS:
                (partial / name).mkdir(exist_ok=True)
            os.chmod(partial, 0o755)
            (partial / _COMPLETE).touch()
            try:
                partial.rename(target)
            except OSError:  # another build unpacked it meanwhile
                if not (target / _COMPLETE).exists():
                    raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
