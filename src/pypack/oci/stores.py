"""Image stores over an OCI layout (the local store) and registries.

The Docker daemon store lives in :mod:`pypack.oci.daemon`, so the docker SDK is imported only
when a daemon is used.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import BinaryIO

from pypack.oci.auth import Keychain
from pypack.oci.image import BlobSource, Image, ImageError, Layer, SaveResult, select_manifest
from pypack.oci.layout import LayoutStore
from pypack.oci.models import ImageConfig, Manifest, Platform, RawDocument, parse_config
from pypack.oci.progress import Advance, counting, short, tracked
from pypack.oci.reference import Reference, parse_reference
from pypack.oci.registry import ManifestUnknown, RegistryClient
from pypack.oci.streams import reader

DEFAULT_PLATFORM = Platform(os="linux", architecture="amd64")


def _layers(
    manifest: Manifest, config: ImageConfig, source: BlobSource, origin: str, where: str
) -> list[Layer]:
    diff_ids = config.rootfs.diff_ids
    if len(diff_ids) != len(manifest.layers):
        raise ImageError(
            f"{where}: the manifest lists {len(manifest.layers)} layers "
            f"but the config {len(diff_ids)} diffIDs"
        )
    return [
        Layer(diff_id, descriptor, source, origin)
        for diff_id, descriptor in zip(diff_ids, manifest.layers, strict=True)
    ]


class LayoutImageStore:
    """Images in an OCI image layout, named by their ``ref.name`` annotation."""

    def __init__(self, layout: LayoutStore) -> None:
        self.layout = layout

    def _manifest(self, name: str, platform: Platform | None) -> RawDocument | None:
        if name:
            descriptor = self.layout.resolve(name) if self.layout.exists() else None
        else:  # the layout's only image, named or not
            listed = self.layout.descriptors() if self.layout.exists() else []
            descriptor = listed[0] if len(listed) == 1 else None
        if descriptor is None:
            return None
        document = self.layout.read_document(descriptor)
        if document.is_index:
            chosen = select_manifest(
                document.index(), platform or DEFAULT_PLATFORM, f"oci:{self.layout.root}:{name}"
            )
            document = self.layout.read_document(chosen)
        return document

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        """The image called ``name`` (``""``: the layout's only image, as a sparse layout the
        extender writes has it), or None."""
        document = self._manifest(name, platform)
        if document is None:
            return None
        manifest = document.manifest()
        raw_config = self.layout.read_blob(manifest.config.digest)
        where = f"oci:{self.layout.root}:{name}"
        config = parse_config(raw_config, manifest.config.digest, where)
        layers = _layers(manifest, config, self.layout, f"oci:{self.layout.root}", where)
        source = (_config_document(manifest, raw_config), document)
        return Image(config, layers, name=name, digest=document.digest, source=source)

    def exists(self, name: str) -> bool:
        """True when ``name`` is in the layout."""
        return self.layout.exists() and self.layout.resolve(name) is not None

    def save(self, image: Image, names: list[str]) -> SaveResult:
        """Copy missing blobs in (checked against their digests), then name the manifest."""
        count = len(image.layers)
        for number, layer in enumerate(image.layers, start=1):
            if self.layout.has_blob(layer.digest):
                continue
            if layer.origin.startswith("/") or not layer.origin:  # a local file: no pull
                with layer.open() as stream:
                    self.layout.put_stream(stream, layer.digest)
                continue
            item = f"layer {number}/{count} {short(layer.digest)}"
            with (
                tracked("Pulling", layer.origin, item, layer.descriptor.size) as advance,
                layer.open() as stream,
            ):
                self.layout.put_stream(counting(stream, advance), layer.digest)
        config = image.config_document()
        self.layout.put_bytes(config.raw)
        manifest = image.manifest_document(config)
        self.layout.put_bytes(manifest.raw)
        for name in names:
            self.layout.tag(name, manifest)
        return SaveResult(manifest.digest, len(manifest.raw), config.digest, tuple(names))


class _RegistryBlobs:
    """Blobs of one repository, read through a registry client."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self._client = client
        self._repository = repository

    def open_blob(self, digest: str) -> BinaryIO:
        return reader(self._client.open_blob(self._repository, digest))


class RegistryImageStore:
    """Images in registries, by reference (``host[:port]/repository:tag``)."""

    def __init__(
        self,
        keychain: Keychain | None = None,
        *,
        insecure_registries: tuple[str, ...] = (),
        client_factory: Callable[[str], RegistryClient] | None = None,
    ) -> None:
        self._keychain = keychain or Keychain()
        # an entry may name a repository too (``host/repo``), as the reference accepts
        self._insecure = {entry.split("/", 1)[0] for entry in insecure_registries}
        self._factory = client_factory
        self._clients: dict[str, RegistryClient] = {}

    def client(self, registry: str) -> RegistryClient:
        """The (cached) client for ``registry``."""
        if registry not in self._clients:
            if self._factory is not None:
                self._clients[registry] = self._factory(registry)
            else:
                self._clients[registry] = RegistryClient(
                    registry, keychain=self._keychain, insecure=registry in self._insecure
                )
        return self._clients[registry]

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        """Pull the manifest and config of ``name`` (layers are read only when needed)."""
        ref = parse_reference(name)
        client = self.client(ref.registry)
        try:
            document = client.get_manifest(ref.repository, ref.identifier)
        except ManifestUnknown:
            return None
        if document.is_index:
            chosen = select_manifest(document.index(), platform or DEFAULT_PLATFORM, str(ref))
            document = client.get_manifest(ref.repository, chosen.digest)
        manifest = document.manifest()
        raw_config = client.read_blob(ref.repository, manifest.config.digest)
        config = parse_config(raw_config, manifest.config.digest, str(ref))
        blobs = _RegistryBlobs(client, ref.repository)
        layers = _layers(manifest, config, blobs, ref.name, str(ref))
        source = (_config_document(manifest, raw_config), document)
        return Image(config, layers, name=str(ref), digest=document.digest, source=source)

    def exists(self, name: str) -> bool:
        """True when the registry has a manifest for ``name``."""
        ref = parse_reference(name)
        return self.client(ref.registry).head_manifest(ref.repository, ref.identifier) is not None

    def save(self, image: Image, names: list[str]) -> SaveResult:
        """Push the image to every name: blobs the repository has are skipped, blobs in another
        repository of the same registry are mounted, the rest are uploaded."""
        refs = [parse_reference(name) for name in names]
        registries = {ref.registry for ref in refs}
        if len(registries) != 1:
            raise ImageError(
                f"all names must be on one registry, got: {', '.join(sorted(registries))}"
            )
        config = image.config_document()
        manifest = image.manifest_document(config)
        for repository in dict.fromkeys(ref.repository for ref in refs):
            self._push_blobs(refs[0], repository, image, config)
            for layer in image.layers:
                if _same_registry_repository(layer.origin, refs[0].registry) is None:
                    layer.origin = f"{refs[0].registry}/{repository}"  # mountable from now on
        for ref in refs:
            self.client(ref.registry).put_manifest(
                ref.repository, ref.tag or manifest.digest, manifest
            )
        return SaveResult(
            manifest.digest, len(manifest.raw), config.digest, tuple(str(r) for r in refs)
        )

    def _push_blobs(
        self, ref: Reference, repository: str, image: Image, config: RawDocument
    ) -> None:
        client = self.client(ref.registry)
        count = len(image.layers)
        for number, layer in enumerate(image.layers, start=1):
            if client.head_blob(repository, layer.digest) is not None:
                continue
            source_repo = _same_registry_repository(layer.origin, ref.registry)
            mountable = source_repo is not None and source_repo != repository
            if mountable and client.mount_blob(repository, layer.digest, str(source_repo)):
                continue
            where, item = (
                f"{ref.registry}/{repository}",
                f"layer {number}/{count} {short(layer.digest)}",
            )
            with tracked("Pushing", where, item, layer.descriptor.size) as advance:
                client.upload_blob(
                    repository,
                    functools.partial(_counted_open, layer, advance),
                    layer.digest,
                    layer.descriptor.size,
                )
        if client.head_blob(repository, config.digest) is None:
            client.upload_blob(
                repository, lambda: _bytes_io(config.raw), config.digest, len(config.raw)
            )


def _config_document(manifest: Manifest, raw: bytes) -> RawDocument:
    return RawDocument(raw, manifest.config.media_type, manifest.config.digest)


def _same_registry_repository(origin: str, registry: str) -> str | None:
    prefix = f"{registry}/"
    return origin[len(prefix) :] if origin.startswith(prefix) else None


def _counted_open(layer: Layer, advance: Advance) -> BinaryIO:
    return counting(layer.open(), advance)


def _bytes_io(data: bytes) -> BinaryIO:
    return io.BytesIO(data)
