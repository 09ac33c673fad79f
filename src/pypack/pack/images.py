"""Where the platform finds images: the local store, ``oci:`` layouts, registries — with a pull
policy — and where it puts them."""

from __future__ import annotations

from pypack.errors import UserError
from pypack.oci.auth import Keychain
from pypack.oci.image import Image, ImageStore, SaveResult
from pypack.oci.layout import LayoutStore
from pypack.oci.models import Platform
from pypack.oci.reference import LAYOUT_PREFIX, parse_layout_reference, parse_reference
from pypack.oci.registry import RegistryError
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.pack.home import Home
from pypack.pack.pull_policy import PULL_POLICIES


def local_name(name: str) -> str:
    """How the local store names an image: its normalised reference."""
    return str(parse_reference(name))


class PlatformImages:
    """Images the way ``pypack`` sees them; saving goes to ``target``."""

    def __init__(
        self,
        home: Home,
        *,
        pull_policy: str = "if-not-present",
        insecure: tuple[str, ...] = (),
        keychain: Keychain | None = None,
        target: ImageStore | None = None,
    ) -> None:
        if pull_policy not in PULL_POLICIES:
            raise UserError(f"--pull-policy {pull_policy!r}: use one of {', '.join(PULL_POLICIES)}")
        self.home = home
        self.pull_policy = pull_policy
        self.local = LayoutImageStore(home.images)
        self.registry = RegistryImageStore(keychain, insecure_registries=insecure)
        self.target: ImageStore = target or _LocalNames(self.local)
        self._sources: dict[str, str] = {}
        self.outputs: set[str] = set()
        """Names that live where the build writes (the app image, the previous image): they are
        read from the target only, never pulled from elsewhere."""

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        """``name`` from a layout, the local store or a registry, as the pull policy says."""
        if name in self.outputs:
            return self.target.load(name, platform)
        if name.startswith(LAYOUT_PREFIX):
            ref = parse_layout_reference(name)
            return LayoutImageStore(LayoutStore(ref.path)).load(ref.tag, platform)
        if "@sha256:" in name and self.registry_allowed():
            return self._from_registry(name, platform)
        local = self.local.load(local_name(name), platform)
        if local is not None and self.pull_policy != "always":
            self._sources[name] = "local"
            return local
        if not self.registry_allowed():
            return local
        remote = self._from_registry(name, platform)
        return remote if remote is not None else local

    def registry_allowed(self) -> bool:
        """False with ``--pull-policy never``."""
        return self.pull_policy != "never"

    def _from_registry(self, name: str, platform: Platform | None) -> Image | None:
        image = self.registry.load(name, platform)
        if image is not None:
            self._sources[name] = "registry"
        return image

    def readable(self, name: str) -> bool:
        """True when a build could read ``name``: from the local store, else (unless the pull
        policy is ``never``) from its registry; a registry that fails counts as no."""
        if self.local.exists(local_name(name)):
            return True
        if not self.registry_allowed():
            return False
        try:
            return self.registry.exists(name)
        except (RegistryError, UserError):
            return False

    def exists(self, name: str) -> bool:
        """True when the target has ``name``."""
        return self.target.exists(name)

    def save(self, image: Image, names: list[str]) -> SaveResult:
        """Save to the target store."""
        return self.target.save(image, names)

    def identifier(self, name: str, image: Image) -> str:
        """A registry image is recorded by digest; a local one by its name."""
        if self._sources.get(name) == "registry" and image.digest:
            return f"{parse_reference(name).name}@{image.digest}"
        return name


class _LocalNames:
    """The local store, addressed by image references."""

    def __init__(self, store: LayoutImageStore) -> None:
        self._store = store

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        return self._store.load(local_name(name), platform)

    def exists(self, name: str) -> bool:
        return self._store.exists(local_name(name))

    def save(self, image: Image, names: list[str]) -> SaveResult:
        result = self._store.save(image, [local_name(n) for n in names])
        return SaveResult(result.digest, result.manifest_size, result.image_id, tuple(names))


def local_or_daemon(home: Home, name: str) -> Image | None:
    """``name`` where pack would call it local: the local store, else the Docker daemon (when
    one is reachable)."""
    stored = LayoutImageStore(home.images).load(local_name(name))
    if stored is not None:
        return stored
    from pypack.oci.daemon import DaemonError, DaemonImageStore

    try:
        return DaemonImageStore().load(name)
    except DaemonError:  # no daemon here: nothing local beyond the store
        return None


def layout_target(name: str) -> ImageStore:
    """The store behind an ``oci:PATH[:TAG]`` output name."""
    ref = parse_layout_reference(name)
    return _LayoutTarget(LayoutImageStore(LayoutStore(ref.path)), ref.tag)


class _LayoutTarget:
    def __init__(self, store: LayoutImageStore, tag: str) -> None:
        self._store, self._tag = store, tag

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        return self._store.load(self._tag, platform)

    def exists(self, name: str) -> bool:
        return self._store.exists(self._tag)

    def save(self, image: Image, names: list[str]) -> SaveResult:
        result = self._store.save(image, [self._tag])
        return SaveResult(result.digest, result.manifest_size, result.image_id, tuple(names))


def platform_images(
    home: Home, *, publish: bool, pull_policy: str, insecure: tuple[str, ...]
) -> PlatformImages:
    """The images of a command that writes to the local store, or with ``publish`` to a registry."""
    keychain = Keychain()
    target = RegistryImageStore(keychain, insecure_registries=insecure) if publish else None
    return PlatformImages(
        home, pull_policy=pull_policy, insecure=insecure, keychain=keychain, target=target
    )
