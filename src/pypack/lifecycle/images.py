"""Where the phases find and put images: a registry, the Docker daemon, or OCI layouts.

With ``-layout``, an image reference maps to the layout directory
``<layout-dir>/<registry>/<repository>`` with the tag (or ``sha256/<hex>``) as its name, as the
reference lifecycle lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pypack.errors import ExitCode, PypackError
from pypack.oci.auth import Keychain
from pypack.oci.image import Image, ImageStore, SaveResult
from pypack.oci.layout import LayoutStore
from pypack.oci.models import Platform
from pypack.oci.reference import parse_reference
from pypack.oci.stores import LayoutImageStore, RegistryImageStore


class LayoutImages:
    """Images in OCI layouts under one directory, one layout per image as the reference lays
    them out: ``<root>/<registry>/<repository>/<tag>`` (``docker.io`` spelled
    ``index.docker.io``, a digest as ``sha256/<hex>``). A name that is already a layout path
    (as analyzed.toml records one, ``<path>[@<digest>]``) is that layout."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        """The layout directory of ``name``."""
        if name.startswith("/"):
            return Path(name.split("@", 1)[0])
        ref = parse_reference(name)
        registry = "index.docker.io" if ref.registry == "docker.io" else ref.registry
        leaf = ref.tag or (ref.digest or "latest").replace(":", "/")
        return self.root / registry / ref.repository / leaf

    def _store(self, name: str) -> tuple[LayoutImageStore, str]:
        store = LayoutImageStore(LayoutStore(self.path(name)))
        if name.startswith("/"):
            names = store.layout.names() if store.layout.exists() else []
            return store, names[-1] if names else "latest"
        ref = parse_reference(name)
        return store, ref.tag or (ref.digest or "latest")

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        """The image ``name`` from its layout, or None."""
        store, tag = self._store(name)
        return store.load(tag, platform)

    def exists(self, name: str) -> bool:
        """True when the layout has ``name``."""
        store, tag = self._store(name)
        return store.exists(tag)

    def save(self, image: Image, names: list[str]) -> SaveResult:
        """Save ``image`` into the layout of each name."""
        result = None
        for name in names:
            store, tag = self._store(name)
            result = store.save(image, [tag])
        assert result is not None, "at least one name"
        return SaveResult(result.digest, result.manifest_size, result.image_id, tuple(names))

    def reference(self, name: str) -> str:
        """How analyzed.toml names a layout image: its layout path."""
        return str(self.path(name))


@dataclass
class ImageAccess:
    """The store a phase reads and writes app, run and previous images through."""

    store: ImageStore
    kind: str
    """``registry``, ``daemon`` or ``layout``."""

    def identifier(self, name: str, image: Image) -> str:
        """What analyzed.toml and report.toml record for an image: a digest reference
        (registry), the image ID (daemon) or the layout path (layout). A store that knows
        better (the platform's) says itself."""
        own = getattr(self.store, "identifier", None)
        if callable(own):
            return str(own(name, image))
        if self.kind == "daemon":
            return image.digest or ""
        if self.kind == "layout":
            assert isinstance(self.store, LayoutImages)
            return f"{self.store.reference(name)}@{image.digest}"
        return f"{parse_reference(name).name}@{image.digest}"

    def default_platform(self) -> Platform:
        """The platform of an image the store does not have, as the reference's imgutil
        starts one: the Docker daemon's OS and architecture, else linux/amd64."""
        if self.kind == "daemon":
            client = getattr(self.store, "client", None)
            try:
                info = client.info() if client is not None else {}
            except Exception:  # no answer from the daemon: the default below
                info = {}
            arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(
                str(info.get("Architecture", "")), str(info.get("Architecture") or "amd64")
            )
            return Platform(os=str(info.get("OSType") or "linux"), architecture=arch)
        return Platform(os="linux", architecture="amd64")

    def load(self, name: str, what: str, exit_code: int) -> Image | None:
        """``name`` or None; a failure to read it is an error with ``exit_code``."""
        try:
            return self.store.load(name)
        except PypackError as exc:
            raise PypackError(f"failed to read {what} {name}: {exc}", exit_code=exit_code) from None


def image_access(
    *,
    daemon: bool,
    layout_dir: str | None,
    insecure: Sequence[str] = (),
    keychain: Keychain | None = None,
) -> ImageAccess:
    """The store for the phase's flags: ``-daemon``, ``-layout`` or a registry."""
    if daemon:
        from pypack.oci.daemon import DaemonImageStore

        return ImageAccess(DaemonImageStore(), "daemon")
    if layout_dir:
        return ImageAccess(LayoutImages(Path(layout_dir)), "layout")
    return ImageAccess(
        RegistryImageStore(keychain, insecure_registries=tuple(insecure)), "registry"
    )


def same_registry(names: Sequence[str]) -> None:
    """All tags of an export must be on one registry (exit 3 otherwise)."""
    registries = {parse_reference(name).registry for name in names}
    if len(registries) > 1:
        raise PypackError(
            f"writing to multiple registries is unsupported: {', '.join(sorted(registries))}",
            exit_code=ExitCode.INVALID_ARGS,
        )
