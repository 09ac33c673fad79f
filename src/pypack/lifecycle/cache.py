"""The build cache: a volume directory or an image, holding ``cache = true`` layers.

Volume layout (the reference lifecycle's): ``<cache>/committed/sha256:<hex>.tar`` (uncompressed
layer tars) and ``<cache>/committed/io.buildpacks.lifecycle.cache.metadata``. An export writes
into ``staging/``, hard-linking unchanged layers from ``committed/``, then swaps: ``committed``
→ ``committed-backup``, ``staging`` → ``committed``, backup removed; a failed swap rolls back. A
killed export leaves ``committed/`` as it was, or, killed between the two renames, the backup
that :meth:`VolumeCache.recover` makes current again.

An image cache is an image of the cache layers with the metadata as a label.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from pypack.errors import PypackError
from pypack.lifecycle.log import LOGGER
from pypack.oci.digest import CHUNK, verified_chunks
from pypack.oci.image import Image, ImageStore
from pypack.oci.layers import LayerInfo
from pypack.oci.mediatypes import OCI_LAYER
from pypack.oci.streams import reader
from pypack.spec.cache_metadata import CacheMetadata

METADATA_FILE = "io.buildpacks.lifecycle.cache.metadata"


class CacheError(PypackError):
    """The cache cannot be read or written."""


class Cache(Protocol):
    """What the restorer reads and the exporter writes."""

    def metadata(self) -> CacheMetadata:
        """The cache's metadata (empty when there is no cache yet)."""
        ...

    def open_layer(self, diff_id: str) -> BinaryIO:
        """The uncompressed tar of a cached layer, checked against ``diff_id`` as it is read."""
        ...

    def has_layer(self, diff_id: str) -> bool:
        """True when the cache holds the layer."""
        ...

    def start(self) -> None:
        """Begin writing a new cache."""
        ...

    def add_layer(self, tar: Path, info: LayerInfo) -> None:
        """Put a freshly written layer tar into the new cache."""
        ...

    def reuse_layer(self, diff_id: str) -> None:
        """Carry an unchanged layer over from the current cache."""
        ...

    def commit(self, metadata: CacheMetadata) -> None:
        """Make the new cache the current one."""
        ...

    def discard(self) -> None:
        """Drop the new cache (its export failed); the current one stays."""
        ...


class VolumeCache:
    """A cache in a directory (``-cache-dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.committed = root / "committed"
        self.staging = root / "staging"
        self.backup = root / "committed-backup"
        self.lock_path = root / ".pypack.lock"
        """What a platform locks while a build uses the cache (the lifecycle takes no lock)."""

    def _tar(self, directory: Path, diff_id: str) -> Path:
        return directory / f"{diff_id}.tar"

    def recover(self) -> None:
        """Finish a swap a killed export left half done: a backup without ``committed/`` is
        the current cache (the kill came between the two renames); a backup beside it, and a
        staging directory, are leftovers. Only one writer may use the cache meanwhile."""
        if self.backup.is_dir():
            if not self.committed.exists():
                os.rename(self.backup, self.committed)
            else:
                shutil.rmtree(self.backup, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    def metadata(self) -> CacheMetadata:
        self.recover()  # the first thing the restorer and the exporter read
        path = self.committed / METADATA_FILE
        if not path.is_file():
            return CacheMetadata()
        try:
            return CacheMetadata.from_label(path.read_bytes())
        except PypackError as exc:
            LOGGER.warning("ignoring unreadable cache metadata %s: %s", path, exc)
            return CacheMetadata()

    def has_layer(self, diff_id: str) -> bool:
        return self._tar(self.committed, diff_id).is_file()

    def open_layer(self, diff_id: str) -> BinaryIO:
        path = self._tar(self.committed, diff_id)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - handed to the caller
        except FileNotFoundError:
            raise CacheError(f"cache layer {diff_id} is missing from {self.committed}") from None
        return reader(verified_chunks(_file_chunks(handle), diff_id, f"cache layer {path}"))

    def start(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)

    def add_layer(self, tar: Path, info: LayerInfo) -> None:
        target = self._tar(self.staging, info.diff_id)
        if not target.exists():
            shutil.copyfile(tar, target)

    def reuse_layer(self, diff_id: str) -> None:
        source, target = self._tar(self.committed, diff_id), self._tar(self.staging, diff_id)
        if target.exists():
            return
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)

    def commit(self, metadata: CacheMetadata) -> None:
        (self.staging / METADATA_FILE).write_text(metadata.to_label())
        shutil.rmtree(self.backup, ignore_errors=True)
        had_committed = self.committed.exists()
        if had_committed:
            os.rename(self.committed, self.backup)
        try:
            os.rename(self.staging, self.committed)
        except OSError:
            if had_committed:
                os.rename(self.backup, self.committed)
            raise
        shutil.rmtree(self.backup, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _file_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


class ImageCache:
    """A cache kept as an image (``-cache-image``) in a registry."""

    def __init__(self, store: ImageStore, name: str) -> None:
        self._store = store
        self.name = name
        self._current: Image | None = None
        self._loaded = False
        self._new: Image | None = None

    def _image(self) -> Image | None:
        if not self._loaded:
            self._current = self._store.load(self.name)
            self._loaded = True
        return self._current

    def metadata(self) -> CacheMetadata:
        image = self._image()
        label = image.label(CacheMetadata.label_name) if image else None
        return CacheMetadata.from_label(label) if label else CacheMetadata()

    def has_layer(self, diff_id: str) -> bool:
        image = self._image()
        return image is not None and image.has_layer(diff_id)

    def open_layer(self, diff_id: str) -> BinaryIO:
        image = self._image()
        if image is None:
            raise CacheError(f"cache image {self.name} does not exist")
        return image.layer(diff_id).open_uncompressed()

    def start(self) -> None:
        self._new = Image.empty()

    def add_layer(self, tar: Path, info: LayerInfo) -> None:
        assert self._new is not None, "start() first"
        self._new.add_layer(tar, info)

    def reuse_layer(self, diff_id: str) -> None:
        assert self._new is not None, "start() first"
        current = self._image()
        if current is not None:
            self._new.reuse_layer(diff_id, current)

    def discard(self) -> None:
        self._new = None

    def commit(self, metadata: CacheMetadata) -> None:
        assert self._new is not None, "start() first"
        self._new.set_label(CacheMetadata.label_name, metadata.to_label())
        if self._new.layers:
            self._store.save(self._new, [self.name])
            return
        # nothing cached: one empty layer (an empty tar, two zero blocks), as the reference's
        # cache image has, so the image is valid everywhere (docker refuses zero layers)
        with tempfile.TemporaryDirectory(prefix="empty-cache-") as scratch:
            empty = Path(scratch) / "empty.tar"
            empty.write_bytes(bytes(1024))
            digest = "sha256:" + hashlib.sha256(bytes(1024)).hexdigest()
            self._new.add_layer(empty, LayerInfo(digest, digest, 1024, OCI_LAYER))
            self._store.save(self._new, [self.name])
