"""An OCI image layout directory that holds many images and shares their blobs.

This is pypack's local image store (and what ``oci:PATH[:TAG]`` points at). Each image is an
entry of ``index.json`` named by the ``org.opencontainers.image.ref.name`` annotation, so
``skopeo inspect oci:DIR:NAME`` and ``umoci`` read it. Blobs are written to a temporary file
in the blob directory, checked against their digest and renamed into place; ``index.json`` is
rewritten whole under a lock, so concurrent writers never corrupt it and a killed writer leaves
the old index. Blobs no image refers to are removed by :meth:`LayoutStore.gc`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pypack.errors import PypackError
from pypack.fsutil import (
    TEMP_SUFFIX,
    abandoned,
    claim,
    exclusive,
    owned_name,
    remove_if_abandoned,
    write_atomically,
)
from pypack.oci import mediatypes
from pypack.oci.digest import CHUNK, DigestMismatch, file_digest, hex_of, sha256_of, verify
from pypack.oci.models import Descriptor, ImageLayout, Index, RawDocument, media_type_of

REF_NAME = "org.opencontainers.image.ref.name"
LOCK_FILE = ".pypack.lock"
INCOMING_PREFIX = ".incoming-"
"""Blobs being written are ``blobs/sha256/.incoming-*`` until they are checked and renamed."""


class LayoutError(PypackError):
    """The layout directory is unusable (not a layout, or a referenced blob is missing)."""


@dataclass
class LayoutCheck:
    """What :meth:`LayoutStore.check` found."""

    images: int = 0
    blobs: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    """Damage: an unreadable index, a blob an image needs missing or not matching its digest."""
    leftovers: list[Path] = field(default_factory=list)
    """Temporary files of killed writers (harmless; :meth:`LayoutStore.sweep` removes them)."""
    unreferenced: list[str] = field(default_factory=list)
    """Blobs no image reaches (harmless; ``gc`` removes them)."""


class LayoutStore:
    """Read and write images in the OCI image layout at ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # --- structure ---------------------------------------------------------------------------

    @property
    def _blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    @property
    def _index_path(self) -> Path:
        return self.root / "index.json"

    def exists(self) -> bool:
        """True when ``root`` is an image layout."""
        return (self.root / "oci-layout").is_file()

    def init(self) -> None:
        """Create the layout's files if they are missing."""
        self._blobs.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            _write_atomic(self.root / "oci-layout", ImageLayout().to_json())
        if not self._index_path.exists():
            _write_atomic(self._index_path, Index(media_type=mediatypes.OCI_INDEX).to_json())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the layout's write lock (an ``flock`` shared with other pypack processes)."""
        self.init()
        with exclusive(self.root / LOCK_FILE):
            yield

    # --- blobs -------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (it may not exist)."""
        return self._blobs / hex_of(digest)

    def has_blob(self, digest: str) -> bool:
        """True when the blob is present."""
        return self.blob_path(digest).is_file()

    def open_blob(self, digest: str) -> BinaryIO:
        """Open a blob for reading; a missing blob is a :class:`LayoutError`."""
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise LayoutError(f"{self.root}: blob {digest} is missing") from None

    def read_blob(self, digest: str) -> bytes:
        """A small blob (manifest, config), checked against its digest."""
        with self.open_blob(digest) as blob:
            return verify(blob.read(), digest, f"{self.root}: blob")

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` as a blob; return its digest."""
        digest = sha256_of(data)
        if not self.has_blob(digest):
            self.init()
            _write_atomic(self.blob_path(digest), data)
        return digest

    def put_stream(self, stream: BinaryIO, digest: str | None = None) -> tuple[str, int]:
        """Copy ``stream`` into a blob, checking it against ``digest`` when given; return the
        digest and size. Memory use does not depend on the blob's size."""
        self.init()
        fd, tmp_name = tempfile.mkstemp(dir=self._blobs, prefix=owned_name(INCOMING_PREFIX))
        tmp = Path(tmp_name)
        try:
            claim(fd)
            hasher = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            actual = "sha256:" + hasher.hexdigest()
            if digest is not None and actual != digest:
                raise DigestMismatch(f"blob {digest}: content has digest {actual}")
            os.replace(tmp, self.blob_path(actual))
            return actual, size
        finally:
            tmp.unlink(missing_ok=True)

    def adopt_file(self, path: Path, digest: str) -> None:
        """Move a file already written with a known digest into the blob store."""
        self.init()
        target = self.blob_path(digest)
        if target.exists():
            path.unlink()
            return
        try:
            os.replace(path, target)
        except OSError:  # another filesystem: copy, then rename
            with open(path, "rb") as source:
                self.put_stream(source, digest)
            path.unlink()

    # --- images ------------------------------------------------------------------------------

    def _read_index(self) -> Index:
        if not self._index_path.exists():
            return Index(media_type=mediatypes.OCI_INDEX)
        raw = self._index_path.read_bytes()
        try:
            return Index.model_validate_json(raw)
        except ValueError:
            raise LayoutError(f"{self._index_path}: not a valid image index") from None

    def descriptors(self) -> list[Descriptor]:
        """Every manifest (or index) the layout's index lists, named or not, in order."""
        return list(self._read_index().manifests)

    def names(self) -> list[str]:
        """The names of the images in the layout, in index order."""
        return [
            name
            for descriptor in self._read_index().manifests
            if (name := (descriptor.annotations or {}).get(REF_NAME))
        ]

    def resolve(self, name: str) -> Descriptor | None:
        """The descriptor named ``name`` (the last one, if several share it)."""
        found = None
        for descriptor in self._read_index().manifests:
            if (descriptor.annotations or {}).get(REF_NAME) == name:
                found = descriptor
        return found

    def read_document(self, descriptor: Descriptor) -> RawDocument:
        """The manifest or index a descriptor points at, checked against its digest."""
        raw = self.read_blob(descriptor.digest)
        media_type = descriptor.media_type or media_type_of(raw) or mediatypes.OCI_MANIFEST
        return RawDocument(raw, media_type, descriptor.digest)

    def tag(self, name: str, document: RawDocument) -> None:
        """Name the stored manifest (or index) ``document`` ``name``, replacing what had it."""
        if not self.has_blob(document.digest):
            self.put_bytes(document.raw)
        descriptor = document.descriptor()
        descriptor.annotations = {REF_NAME: name}
        with self.locked():
            index = self._read_index()
            index.manifests = [
                d for d in index.manifests if (d.annotations or {}).get(REF_NAME) != name
            ]
            index.manifests.append(descriptor)
            _write_atomic(self._index_path, index.to_json())

    def untag(self, name: str) -> bool:
        """Remove the name ``name``; its blobs stay until :meth:`gc`. True if it existed."""
        with self.locked():
            index = self._read_index()
            kept = [d for d in index.manifests if (d.annotations or {}).get(REF_NAME) != name]
            if len(kept) == len(index.manifests):
                return False
            index.manifests = kept
            _write_atomic(self._index_path, index.to_json())
            return True

    def gc(self) -> list[str]:
        """Delete blobs no image in ``index.json`` reaches; return their digests."""
        with self.locked():
            reachable: set[str] = set()
            for descriptor in self._read_index().manifests:
                self._mark(descriptor, reachable)
            removed = []
            for path in self._blobs.iterdir():
                digest = f"sha256:{path.name}"
                if path.name.startswith("."):
                    continue  # a write in progress
                if digest not in reachable:
                    path.unlink()
                    removed.append(digest)
            return sorted(removed)

    def _mark(self, descriptor: Descriptor, reachable: set[str]) -> None:
        reachable.add(descriptor.digest)
        if not self.has_blob(descriptor.digest):
            return  # a sparse layout may lack blobs it only describes
        if mediatypes.is_index(descriptor.media_type):
            for child in self.read_document(descriptor).index().manifests:
                self._mark(child, reachable)
        elif descriptor.media_type in mediatypes.MANIFESTS:
            manifest = self.read_document(descriptor).manifest()
            reachable.add(manifest.config.digest)
            reachable.update(layer.digest for layer in manifest.layers)

    # --- health ------------------------------------------------------------------------------

    def check(self) -> LayoutCheck:
        """Read every blob an image of the index reaches and check it against its digest; list
        what writers killed mid-write left (temporary files no live process holds) and the
        blobs no image reaches."""
        result = LayoutCheck()
        if not self.exists():
            return result
        try:
            descriptors = self.descriptors()
        except LayoutError as exc:
            result.problems.append(str(exc))
            return result
        reachable: set[str] = set()
        for descriptor in descriptors:
            name = (descriptor.annotations or {}).get(REF_NAME) or descriptor.digest
            result.images += 1
            self._check_tree(descriptor, name, reachable, result, top=True)
        result.leftovers = self._leftovers()
        result.unreferenced = sorted(
            f"sha256:{path.name}"
            for path in self._blobs.iterdir()
            if not path.name.startswith(".") and f"sha256:{path.name}" not in reachable
        )
        return result

    def _check_tree(
        self,
        descriptor: Descriptor,
        name: str,
        reachable: set[str],
        result: LayoutCheck,
        *,
        top: bool,
    ) -> None:
        if descriptor.digest in reachable:
            return
        reachable.add(descriptor.digest)
        if not self.has_blob(descriptor.digest):
            if top:  # an index's other platforms may be described and not stored
                result.problems.append(
                    f"{self.root}: image {name}: manifest {descriptor.digest} is missing"
                )
            return
        if not self._check_blob(descriptor.digest, name, "manifest", result):
            return
        document = self.read_document(descriptor)
        if mediatypes.is_index(document.media_type):
            for child in document.index().manifests:
                self._check_tree(child, name, reachable, result, top=False)
            return
        manifest = document.manifest()
        parts = [("config", manifest.config.digest)]
        parts += [("layer", layer.digest) for layer in manifest.layers]
        for what, digest in parts:
            if digest in reachable:
                continue
            reachable.add(digest)
            if not self.has_blob(digest):
                result.problems.append(f"{self.root}: image {name}: {what} {digest} is missing")
            else:
                self._check_blob(digest, name, what, result)

    def _check_blob(self, digest: str, name: str, what: str, result: LayoutCheck) -> bool:
        with self.open_blob(digest) as blob:
            actual, size = file_digest(blob)
        result.bytes += size
        result.blobs += 1
        if actual != digest:
            result.problems.append(
                f"{self.root}: image {name}: {what} {digest} does not match its digest"
            )
            return False
        return True

    def _leftovers(self) -> list[Path]:
        candidates = [p for p in self.root.iterdir() if p.name.endswith(TEMP_SUFFIX)]
        candidates += [p for p in self._blobs.iterdir() if p.name.startswith(".")]
        return sorted(p for p in candidates if abandoned(p))

    def sweep(self) -> list[Path]:
        """Remove the temporary files writers killed mid-write left; return them."""
        if not self.exists():
            return []
        return [path for path in self._leftovers() if remove_if_abandoned(path)]

    def remove(self) -> None:
        """Delete the whole layout directory."""
        shutil.rmtree(self.root, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomically(path, data, durable=True)
