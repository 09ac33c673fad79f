"""Images in a Docker daemon, through the docker SDK (imported only here, and lazily).

Saving streams a docker-archive tar into ``POST /images/load``: the archive carries the config,
a ``manifest.json`` with the tags, and a tar for each layer the daemon does not already have.
A layer is left out when it and every layer below it came from the daemon: the daemon then
finds it by chain ID and never reads a file for it, so an unchanged run image is not sent again.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from pypack.errors import ServiceError
from pypack.oci import mediatypes
from pypack.oci.digest import hex_of, sha256_of
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image, ImageError, Layer, SaveResult
from pypack.oci.models import ContainerConfig, Descriptor, ImageConfig, Platform, RootFs
from pypack.oci.reference import DEFAULT_TAG, parse_reference
from pypack.oci.streams import reader

if TYPE_CHECKING:
    import docker

_BLOCK = tarfile.BLOCKSIZE
_CHUNK = 1 << 20
DAEMON_ORIGIN = "daemon"


class DaemonError(ServiceError):
    """The Docker daemon refused or failed a request."""


def connect(base_url: str | None = None, timeout: int = 600) -> docker.DockerClient:
    """A client for ``base_url`` (default: ``DOCKER_HOST`` or the standard socket)."""
    import docker

    try:
        if base_url:
            return docker.DockerClient(base_url=base_url, version="auto", timeout=timeout)
        return docker.from_env(version="auto", timeout=timeout)
    except docker.errors.DockerException as exc:
        raise DaemonError(f"cannot reach the Docker daemon: {exc}") from None


class _DaemonLayers:
    """Layers of a daemon image, read by saving the image once to a temporary directory."""

    def __init__(self, client: docker.DockerClient, image_id: str) -> None:
        self._client = client
        self._image_id = image_id
        self._dir: Path | None = None
        self._files: dict[str, Path] = {}

    def open_blob(self, digest: str) -> BinaryIO:
        if self._dir is None:
            self._export()
        path = self._files.get(digest)
        if path is None:
            raise ImageError(f"daemon image {self._image_id} has no layer {digest}")
        return open(path, "rb")

    def _export(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="pypack-daemon-"))
        # removed when this image is collected or, at the latest, when the process exits
        weakref.finalize(self, shutil.rmtree, self._dir, True)
        stream = reader(iter(self._client.api.get_image(self._image_id, chunk_size=_CHUNK)))
        extract_layer(stream, self._dir, whiteouts=False, same_owner=False, source="docker save")
        manifest = json.loads((self._dir / "manifest.json").read_text())[0]
        config = json.loads((self._dir / manifest["Config"]).read_text())
        for diff_id, name in zip(config["rootfs"]["diff_ids"], manifest["Layers"], strict=True):
            self._files[diff_id] = self._dir / name


class DaemonImageStore:
    """Images in a Docker daemon."""

    def __init__(self, client: docker.DockerClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> docker.DockerClient:
        """The docker client (connected on first use)."""
        if self._client is None:
            self._client = connect()
        return self._client

    def inspect(self, name: str) -> dict[str, Any] | None:
        """``docker image inspect`` of ``name``, or None when the daemon has no such image."""
        import docker

        try:
            data: dict[str, Any] = self.client.api.inspect_image(name)  # type: ignore[no-untyped-call]
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise DaemonError(f"Docker daemon: inspect {name}: {exc.explanation}") from None
        return data

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        """The daemon's image ``name`` (its layers are read only if something needs them)."""
        data = self.inspect(name)
        if data is None:
            return None
        config = _config_from_inspect(data)
        source = _DaemonLayers(self.client, data["Id"])
        layers = [
            Layer(diff_id, _unknown_size(diff_id), source, DAEMON_ORIGIN)
            for diff_id in config.rootfs.diff_ids
        ]
        return Image(config, layers, name=name, digest=data["Id"])

    def exists(self, name: str) -> bool:
        """True when the daemon has ``name``."""
        return self.inspect(name) is not None

    def save(self, image: Image, names: list[str]) -> SaveResult:
        """Load the image into the daemon under ``names``."""
        config = image.config_document()
        entries = _archive_entries(image, config.raw, names)
        try:
            output = self.client.api.load_image(_tar_stream(entries), quiet=True)  # type: ignore[no-untyped-call]
            for message in output:
                if "errorDetail" in message or "error" in message:
                    detail = message.get("errorDetail", {}).get("message") or message.get("error")
                    raise DaemonError(f"Docker daemon refused the image: {detail}")
        except ServiceError:
            raise
        except Exception as exc:
            raise DaemonError(f"Docker daemon: loading the image failed: {exc}") from None
        return SaveResult(config.digest, 0, config.digest, tuple(names))

    def tag(self, image_id: str, name: str) -> None:
        """Add the tag ``name`` to an image."""
        repository, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "")
        self.client.api.tag(image_id, repository, tag or "latest")


def _unknown_size(diff_id: str) -> Descriptor:
    # the daemon keeps layers uncompressed and does not say their size
    return Descriptor(media_type=mediatypes.OCI_LAYER, digest=diff_id, size=-1)


def _config_from_inspect(data: dict[str, Any]) -> ImageConfig:
    container = data.get("Config") or {}
    return ImageConfig(
        created=data.get("Created"),
        architecture=data.get("Architecture") or "amd64",
        os=data.get("Os") or "linux",
        variant=data.get("Variant"),
        config=ContainerConfig.model_validate(
            {k: v for k, v in container.items() if k in _CONTAINER_KEYS and v is not None}
        ),
        rootfs=RootFs(diff_ids=list((data.get("RootFS") or {}).get("Layers") or [])),
    )


_CONTAINER_KEYS = frozenset(
    {
        "User",
        "ExposedPorts",
        "Env",
        "Entrypoint",
        "Cmd",
        "Volumes",
        "WorkingDir",
        "Labels",
        "StopSignal",
    }
)

Entry = tuple[str, int, Callable[[], BinaryIO] | bytes]


def _tagged(name: str) -> str:
    """``name`` with ``:latest`` when it has no tag, as docker and pack default it."""
    parse_reference(name)  # a malformed name is refused here, not by the daemon
    untagged = "@" not in name and ":" not in name.rsplit("/", 1)[-1]
    return f"{name}:{DEFAULT_TAG}" if untagged else name


def _archive_entries(image: Image, config: bytes, names: list[str]) -> list[Entry]:
    config_name = f"{hex_of(sha256_of(config))}.json"
    entries: list[Entry] = [(config_name, len(config), config)]
    layer_names = []
    from_daemon = True
    for layer in image.layers:
        name = f"{hex_of(layer.diff_id)}/layer.tar"
        layer_names.append(name)
        from_daemon = from_daemon and layer.origin == DAEMON_ORIGIN
        if from_daemon:
            continue  # the daemon has it and everything below it
        entries.append((name, *_sized_opener(layer)))
    tags = [_tagged(name) for name in names]
    manifest = [{"Config": config_name, "RepoTags": tags, "Layers": layer_names}]
    raw = json.dumps(manifest).encode()
    entries.append(("manifest.json", len(raw), raw))
    return entries


def _sized_opener(layer: Layer) -> tuple[int, Callable[[], BinaryIO]]:
    if layer.descriptor.size >= 0:
        return layer.descriptor.size, layer.open
    # a daemon layer above a non-daemon one: its size is known only once exported
    with layer.open() as stream:
        size = stream.seek(0, os.SEEK_END)
    return size, layer.open


def _tar_stream(entries: list[Entry]) -> Iterator[bytes]:
    for name, size, content in entries:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        yield info.tobuf(tarfile.PAX_FORMAT)
        if isinstance(content, bytes):
            yield content
        else:
            written = 0
            with content() as stream:
                while chunk := stream.read(_CHUNK):
                    written += len(chunk)
                    yield chunk
            if written != size:
                raise ImageError(f"{name}: expected {size} bytes, read {written}")
        if size % _BLOCK:
            yield b"\0" * (_BLOCK - size % _BLOCK)
    yield b"\0" * (_BLOCK * 2)
