"""Shared pieces of the pack unit tests: small images, a registry that is never dialled, and
a directory every user may enter."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from pypack.oci.auth import Keychain
from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.models import Platform
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.pack.home import Home
from pypack.pack.images import PlatformImages, local_name

MakeImage = Callable[..., Image]
SaveLocal = Callable[[Image, str], None]
ImagesWith = Callable[[str], PlatformImages]


class FakeRegistry(RegistryImageStore):
    """Registry images kept in memory; records every name asked for and never opens a socket."""

    def __init__(self, images: Mapping[str, Image] | None = None) -> None:
        super().__init__(Keychain(environ={}, docker_config=Path("/nonexistent")))
        self.images = dict(images or {})
        self.asked: list[str] = []

    def load(self, name: str, platform: Platform | None = None) -> Image | None:
        self.asked.append(name)
        return self.images.get(name)


@pytest.fixture
def make_image(tmp_path: Path) -> MakeImage:
    """``make_image(files, labels=..., env=..., stored=False)``: an image with one layer holding
    ``files`` (path → bytes; none: no layer). With ``stored`` it comes back saved and loaded
    again, so it has a manifest digest, as an image read from any store has."""
    counter = itertools.count()

    def make(
        files: Mapping[str, bytes] | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        stored: bool = False,
    ) -> Image:
        number = next(counter)
        image = Image.empty()
        if files:
            path = tmp_path / f"layer-{number}.tar"

            def fill(writer: LayerWriter) -> None:
                for name, data in sorted(files.items()):
                    writer.add_parents(name)
                    writer.add_bytes(name, data, mode=0o755 if "/bin/" in name else 0o644)

            image.add_layer(path, write_layer_file(path, fill), created_by="test")
        for key, value in (labels or {}).items():
            image.set_label(key, value)
        for key, value in (env or {}).items():
            image.set_env(key, value)
        if not stored:
            return image
        store = LayoutImageStore(LayoutStore(tmp_path / f"made-{number}"))
        store.save(image, ["made"])
        loaded = store.load("made")
        assert loaded is not None
        return loaded

    return make


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A fresh directory under /tmp that every user may enter (mode 755), unlike pytest's
    private ``tmp_path``; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="pypack-unit-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """An empty pypack home."""
    return Home(tmp_path / "home")


@pytest.fixture
def save_local(home: Home) -> SaveLocal:
    """``save_local(image, name)``: put ``image`` in the home's local store as ``name``."""

    def save(image: Image, name: str) -> None:
        LayoutImageStore(home.images).save(image, [local_name(name)])

    return save


@pytest.fixture
def fake_registry() -> FakeRegistry:
    """The registry the images of :func:`platform_images` see (empty until a test fills it)."""
    return FakeRegistry()


@pytest.fixture
def platform_images(home: Home, fake_registry: FakeRegistry) -> ImagesWith:
    """``platform_images(policy)``: the home's images with that pull policy and the fake
    registry."""

    def make(policy: str) -> PlatformImages:
        images = PlatformImages(home, pull_policy=policy)
        images.registry = fake_registry
        return images

    return make
