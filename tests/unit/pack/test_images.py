"""Image references the way the platform sees them: local store names, ``oci:`` targets, and
the stores ``PlatformImages`` reads and writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.oci.layout import LayoutStore
from pypack.oci.reference import InvalidReference
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.pack.home import Home
from pypack.pack.images import PlatformImages, layout_target, local_name, platform_images
from tests.unit.pack.conftest import MakeImage, SaveLocal


@pytest.mark.parametrize(
    ("name", "stored_as"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("my/app", "docker.io/my/app:latest"),
        ("my/app:v1", "docker.io/my/app:v1"),
        ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("index.docker.io/my/app", "docker.io/my/app:latest"),
        ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b:t"),
    ],
)
def test_local_name_is_the_normalised_reference(name: str, stored_as: str) -> None:
    assert local_name(name) == stored_as


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "invalid image reference '': empty or padded"),
        (" app", "invalid image reference ' app': empty or padded"),
        ("app@sha256:xyz", "invalid image reference 'app@sha256:xyz': bad digest 'sha256:xyz'"),
    ],
)
def test_local_name_of_a_malformed_reference(name: str, message: str) -> None:
    with pytest.raises(InvalidReference) as raised:
        local_name(name)
    assert str(raised.value) == message


def test_the_default_target_is_the_local_store_by_normalised_name(
    home: Home, make_image: MakeImage
) -> None:
    images = PlatformImages(home)
    result = images.save(make_image(labels={"v": "1"}), ["my/app", "my/app:v1"])
    assert result.names == ("my/app", "my/app:v1"), "the names as given are reported"
    assert LayoutStore(home.root / "images").names() == [
        "docker.io/my/app:latest",
        "docker.io/my/app:v1",
    ]
    assert images.exists("docker.io/my/app:latest")
    assert images.exists("my/app:v1")
    assert not images.exists("my/other")
    loaded = images.target.load("docker.io/my/app")
    assert loaded is not None
    assert loaded.digest == result.digest


def test_a_local_image_is_found_by_any_spelling_of_its_name(
    home: Home, save_local: SaveLocal, make_image: MakeImage
) -> None:
    save_local(make_image(labels={"v": "1"}), "busybox")
    images = PlatformImages(home, pull_policy="never")
    for name in ("busybox", "busybox:latest", "docker.io/library/busybox"):
        image = images.load(name)
        assert image is not None, name
        assert image.label("v") == "1"


def test_layout_target_writes_the_tag_of_the_oci_name(
    tmp_path: Path, make_image: MakeImage
) -> None:
    target = layout_target(f"oci:{tmp_path / 'out'}:v2")
    assert not target.exists("anything")
    assert target.load("anything") is None
    result = target.save(make_image(labels={"v": "2"}), ["oci:out:v2", "my/tag"])
    assert result.names == ("oci:out:v2", "my/tag")
    assert LayoutStore(tmp_path / "out").names() == ["v2"]
    assert target.exists("whatever the name")
    loaded = target.load("ignored")
    assert loaded is not None
    assert loaded.label("v") == "2"
    assert loaded.digest == result.digest


def test_layout_target_without_a_tag_uses_latest(tmp_path: Path, make_image: MakeImage) -> None:
    layout_target(f"oci:{tmp_path / 'out'}").save(make_image(), ["x"])
    assert LayoutStore(tmp_path / "out").names() == ["latest"]


def test_layout_target_of_a_malformed_name() -> None:
    with pytest.raises(InvalidReference) as raised:
        layout_target("oci:")
    assert str(raised.value) == "invalid layout reference 'oci:': no path"


def test_a_given_target_takes_saves_and_outputs(
    home: Home, tmp_path: Path, make_image: MakeImage, save_local: SaveLocal
) -> None:
    target = layout_target(f"oci:{tmp_path / 'out'}:app")
    images = PlatformImages(home, target=target)
    save_local(make_image(labels={"where": "local"}), "my/app")
    images.save(make_image(labels={"where": "target"}), ["my/app"])
    assert LayoutStore(tmp_path / "out").names() == ["app"]
    assert LayoutStore(home.root / "images").names() == ["docker.io/my/app:latest"]
    images.outputs.add("my/app")
    output = images.load("my/app")
    assert output is not None
    assert output.label("where") == "target", "an output is read from where the build writes"


def test_identifier_of_an_image_never_loaded_is_its_name(home: Home, make_image: MakeImage) -> None:
    image = make_image(stored=True)
    assert PlatformImages(home).identifier("example.com/x:1", image) == "example.com/x:1"


def test_platform_images_writes_locally_or_publishes(home: Home) -> None:
    local = platform_images(home, publish=False, pull_policy="never", insecure=())
    assert local.pull_policy == "never"
    assert not isinstance(local.target, RegistryImageStore)
    published = platform_images(
        home, publish=True, pull_policy="always", insecure=("127.0.0.1:5999",)
    )
    assert published.pull_policy == "always"
    assert isinstance(published.target, RegistryImageStore)
    assert published.target._insecure == {"127.0.0.1:5999"}
    assert published.registry._insecure == {"127.0.0.1:5999"}


def test_the_local_store_lives_in_the_home(home: Home) -> None:
    images = PlatformImages(home)
    assert isinstance(images.local, LayoutImageStore)
    assert images.local.layout.root == home.root / "images"
