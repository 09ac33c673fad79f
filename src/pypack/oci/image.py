"""One image API over the local store, registries and the Docker daemon (imgutil's job).

An :class:`Image` is a config plus a list of :class:`Layer`. Each layer knows its diffID, the
descriptor of its blob, and — when its content can be read — the :class:`BlobSource` that has
it. Reusing a layer from a previous image copies that knowledge, not the bytes: a store that
already has the blob (the same registry, the daemon, the local store) never reads it again.

Stores (:class:`ImageStore`) load images and save them under one or more names; see
:mod:`pypack.oci.stores`. Every image pypack saves has an OCI manifest; layers that came from a
Docker v2 manifest keep their bytes and digests and only change media type spelling.
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from pypack.errors import PypackError
from pypack.oci import mediatypes
from pypack.oci.layers import NORMALIZED_MTIME, LayerInfo
from pypack.oci.models import (
    ContainerConfig,
    Descriptor,
    History,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    RawDocument,
    parse_config,
)

_OCI_SPELLING = {
    mediatypes.DOCKER_LAYER_GZIP: mediatypes.OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": mediatypes.OCI_LAYER,
}


class ImageError(PypackError):
    """An image operation that cannot be done (a missing layer, a bad rebase)."""


class BlobSource(Protocol):
    """Something that can produce a blob's bytes by digest."""

    def open_blob(self, digest: str) -> BinaryIO:
        """A readable stream of the blob (its digest is checked by whoever copies it)."""
        ...


@dataclass
class FileBlob:
    """A blob in a file on disk (a layer just written)."""

    path: Path

    def open_blob(self, digest: str) -> BinaryIO:
        """Open the file."""
        return open(self.path, "rb")


@dataclass
class Layer:
    """A layer of an image."""

    diff_id: str
    descriptor: Descriptor
    source: BlobSource | None = None
    origin: str = ""
    """Where the blob lives, e.g. ``registry/repository`` (used for cross-repository mounts)."""

    @property
    def digest(self) -> str:
        """The digest of the stored blob."""
        return self.descriptor.digest

    def open(self) -> BinaryIO:
        """The blob as stored (maybe gzip)."""
        if self.source is None:
            raise ImageError(f"layer {self.diff_id}: its content is not available here")
        return self.source.open_blob(self.digest)

    def open_uncompressed(self) -> BinaryIO:
        """The layer's tar, decompressed if needed (closing it closes the blob too)."""
        stream = self.open()
        if mediatypes.is_gzip_layer(self.descriptor.media_type):
            return _Gunzip(stream)  # type: ignore[return-value]
        return stream


class _Gunzip(gzip.GzipFile):
    """A gzip reader that owns (and closes) the stream it reads."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__(fileobj=stream, mode="rb")
        self._owned = stream

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._owned.close()


def _timestamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


NORMALIZED_CREATED = _timestamp(NORMALIZED_MTIME)


@dataclass
class Image:
    """An image being read or built. Setters change the config; layers are added or reused."""

    config: ImageConfig = field(default_factory=ImageConfig)
    layers: list[Layer] = field(default_factory=list)
    name: str = ""
    digest: str | None = None
    """The manifest digest this image was loaded with, until it is changed."""
    source: tuple[RawDocument, RawDocument] | None = None
    """The config and manifest exactly as read; written back unchanged while they still
    describe the image, so an unchanged image keeps its digest wherever it is saved."""

    @classmethod
    def empty(cls, platform: Platform | None = None) -> Image:
        """A new image with no layers, for ``platform`` (default linux/amd64)."""
        wanted = platform or Platform(os="linux", architecture="amd64")
        config = ImageConfig(
            os=wanted.os,
            architecture=wanted.architecture,
            variant=wanted.variant,
            created=NORMALIZED_CREATED,
            config=ContainerConfig(),
        )
        return cls(config=config)

    def copy(self) -> Image:
        """An independent copy to change without touching this one."""
        return Image(
            copy.deepcopy(self.config), list(self.layers), self.name, self.digest, self.source
        )

    def _changed(self) -> None:
        self.digest = None

    @property
    def _container(self) -> ContainerConfig:
        return self.config.config

    # --- config ------------------------------------------------------------------------------

    def env(self, name: str) -> str | None:
        """The value of an environment variable of the image, if set."""
        for entry in self._container.env or []:
            key, _, value = entry.partition("=")
            if key == name:
                return value
        return None

    def set_env(self, name: str, value: str) -> None:
        """Set (or replace) an environment variable."""
        entries = [e for e in self._container.env or [] if e.partition("=")[0] != name]
        self._container.env = [*entries, f"{name}={value}"]
        self._changed()

    def label(self, name: str) -> str | None:
        """The value of a label, if set."""
        return (self._container.labels or {}).get(name)

    def labels(self) -> dict[str, str]:
        """All labels."""
        return dict(self._container.labels or {})

    def set_label(self, name: str, value: str) -> None:
        """Set a label."""
        self._container.labels = {**(self._container.labels or {}), name: value}
        self._changed()

    def remove_label(self, name: str) -> None:
        """Remove a label if present."""
        labels = dict(self._container.labels or {})
        labels.pop(name, None)
        self._container.labels = labels
        self._changed()

    @property
    def entrypoint(self) -> list[str] | None:
        """The entrypoint."""
        return self._container.entrypoint

    def set_entrypoint(self, *args: str) -> None:
        """Set the entrypoint (no arguments clears it)."""
        self._container.entrypoint = list(args) or None
        self._changed()

    @property
    def cmd(self) -> list[str] | None:
        """The default command arguments."""
        return self._container.cmd

    def set_cmd(self, *args: str) -> None:
        """Set the command (no arguments clears it)."""
        self._container.cmd = list(args) or None
        self._changed()

    @property
    def working_dir(self) -> str | None:
        """The working directory."""
        return self._container.working_dir

    def set_working_dir(self, path: str) -> None:
        """Set the working directory."""
        self._container.working_dir = path
        self._changed()

    @property
    def user(self) -> str | None:
        """The user the image runs as."""
        return self._container.user

    def set_user(self, user: str) -> None:
        """Set the user (``uid[:gid]`` or a name)."""
        self._container.user = user
        self._changed()

    @property
    def platform(self) -> Platform:
        """os/architecture/variant of the image."""
        return self.config.platform

    def set_platform(self, platform: Platform) -> None:
        """Set os/architecture/variant."""
        self.config.os = platform.os
        self.config.architecture = platform.architecture
        self.config.variant = platform.variant
        self._changed()

    @property
    def created(self) -> str | None:
        """The ``created`` timestamp."""
        return self.config.created

    def set_created(self, seconds: int | None) -> None:
        """Set ``created`` from seconds since the epoch (None: the normalized 1980 time)."""
        self.config.created = _timestamp(NORMALIZED_MTIME if seconds is None else seconds)
        self._changed()

    @property
    def history(self) -> list[History]:
        """The history entries."""
        return list(self.config.history or [])

    def set_history(self, history: list[History] | None) -> None:
        """Replace the history."""
        self.config.history = history
        self._changed()

    # --- layers ------------------------------------------------------------------------------

    @property
    def diff_ids(self) -> list[str]:
        """The diffIDs of the layers, bottom first."""
        return [layer.diff_id for layer in self.layers]

    @property
    def top_layer(self) -> str | None:
        """The diffID of the top layer."""
        return self.layers[-1].diff_id if self.layers else None

    def layer(self, diff_id: str) -> Layer:
        """The layer with ``diff_id``."""
        for layer in self.layers:
            if layer.diff_id == diff_id:
                return layer
        raise ImageError(f"image {self.name or '(new)'} has no layer {diff_id}")

    def has_layer(self, diff_id: str) -> bool:
        """True when a layer has ``diff_id``."""
        return any(layer.diff_id == diff_id for layer in self.layers)

    def add_layer(self, path: Path, info: LayerInfo, *, created_by: str | None = None) -> Layer:
        """Add the layer blob written to ``path`` on top."""
        descriptor = Descriptor(media_type=info.media_type, digest=info.digest, size=info.size)
        layer = Layer(info.diff_id, descriptor, FileBlob(path), origin=str(path))
        self._push(layer, created_by)
        return layer

    def reuse_layer(self, diff_id: str, previous: Image, *, created_by: str | None = None) -> Layer:
        """Add ``previous``'s layer ``diff_id`` on top, without reading it."""
        layer = previous.layer(diff_id)
        self.append_layer(layer, created_by=created_by)
        return layer

    def append_layer(self, layer: Layer, *, created_by: str | None = None) -> None:
        """Add an existing layer (of another image) on top, without reading it."""
        self._push(layer, created_by)

    def _push(self, layer: Layer, created_by: str | None) -> None:
        self.layers.append(layer)
        if self.config.history is not None or created_by is not None:
            entry = History(
                created=self.config.created or NORMALIZED_CREATED, created_by=created_by
            )
            self.config.history = [*(self.config.history or []), entry]
        self._changed()

    def rebase(self, old_top_layer: str, new_base: Image) -> None:
        """Replace every layer up to and including ``old_top_layer`` with ``new_base``'s layers.

        The app's config is kept; os/architecture/variant come from the new base; history is
        the new base's followed by this image's entries above the old base.
        """
        tops = [i for i, layer in enumerate(self.layers) if layer.diff_id == old_top_layer]
        if not tops:
            raise ImageError(
                f"cannot rebase {self.name or 'the image'}: it has no layer {old_top_layer}"
            )
        cut = tops[-1] + 1
        upper = self.layers[cut:]
        history = self.history
        non_empty = [h for h in history if not h.empty_layer]
        upper_history = non_empty[cut:] if len(non_empty) == len(self.layers) else []
        self.layers = [*new_base.layers, *upper]
        self.set_platform(new_base.platform)
        if new_base.config.history is not None or upper_history:
            self.config.history = [*new_base.history, *upper_history]
        self._changed()

    # --- documents ---------------------------------------------------------------------------

    def config_document(self) -> RawDocument:
        """The config blob, with ``rootfs`` matching the layers."""
        self.config.rootfs.diff_ids = self.diff_ids
        if self.source is not None:
            config, _ = self.source
            if parse_config(config.raw, config.digest) == self.config:
                return config
        return RawDocument.of(self.config, mediatypes.OCI_CONFIG)

    def layer_descriptors(self) -> list[Descriptor]:
        """Descriptors of the layers as an OCI manifest lists them."""
        result = []
        for layer in self.layers:
            descriptor = layer.descriptor.model_copy()
            descriptor.media_type = _OCI_SPELLING.get(descriptor.media_type, descriptor.media_type)
            result.append(descriptor)
        return result

    def manifest_document(self, config: RawDocument | None = None) -> RawDocument:
        """The OCI manifest of the image."""
        config = config or self.config_document()
        if self.source is not None:
            source_config, source_manifest = self.source
            layers = [layer.descriptor for layer in self.layers]
            if config == source_config and source_manifest.manifest().layers == layers:
                return source_manifest
        manifest = Manifest(
            schema_version=2,
            media_type=mediatypes.OCI_MANIFEST,
            config=config.descriptor(),
            layers=self.layer_descriptors(),
        )
        return RawDocument.of(manifest, mediatypes.OCI_MANIFEST)


def select_manifest(index: Index, platform: Platform, where: str) -> Descriptor:
    """The manifest of ``index`` for ``platform``, or an :class:`ImageError` saying what the
    index offers."""
    candidates = [
        d
        for d in index.manifests
        if d.media_type in mediatypes.MANIFESTS and d.platform and d.platform.matches(platform)
    ]
    exact = [d for d in candidates if d.platform and d.platform.variant == platform.variant]
    if not candidates:
        offered = ", ".join(str(d.platform) for d in index.manifests if d.platform) or "none"
        raise ImageError(f"{where}: no image for {platform} (the index offers: {offered})")
    return (exact or candidates)[0]


@dataclass(frozen=True)
class SaveResult:
    """What a save produced: the manifest digest and size, the image ID, the names saved."""

    digest: str
    manifest_size: int
    image_id: str
    names: tuple[str, ...]


class ImageStore(Protocol):
    """Where images live: the local store, a registry, the daemon."""

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        """The image called ``name``, or None when there is none."""
        ...

    def exists(self, name: str) -> bool:
        """True when an image called ``name`` exists."""
        ...

    def save(self, image: Image, names: list[str]) -> SaveResult:
        """Store ``image`` under every name in ``names``."""
        ...


OpenFn = Callable[[], BinaryIO]
