"""Pull policies: when a build looks in the registry for an image (the registry is a fake that
records what it was asked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.oci.layout import LayoutStore
from pypack.oci.stores import LayoutImageStore
from pypack.pack.build_command import build as build_command
from pypack.pack.home import Home
from pypack.pack.images import PlatformImages
from pypack.pack.pull_policy import PULL_POLICIES
from tests.unit.pack.conftest import FakeRegistry, ImagesWith, MakeImage, SaveLocal

DIGEST = "sha256:" + "ab" * 32


def test_the_policies_and_the_build_flag_agree() -> None:
    assert PULL_POLICIES == ("always", "if-not-present", "never")
    (option,) = [p for p in build_command.params if p.name == "pull_policy"]
    assert tuple(option.type.choices) == PULL_POLICIES  # type: ignore[attr-defined]


def test_an_unknown_policy_is_refused(home: Home) -> None:
    with pytest.raises(UserError) as raised:
        PlatformImages(home, pull_policy="sometimes")
    assert str(raised.value) == (
        "--pull-policy 'sometimes': use one of always, if-not-present, never"
    )


def test_the_default_policy_is_if_not_present(home: Home) -> None:
    assert PlatformImages(home).pull_policy == "if-not-present"


def test_if_not_present_takes_a_local_image_without_asking_the_registry(
    platform_images: ImagesWith,
    fake_registry: FakeRegistry,
    save_local: SaveLocal,
    make_image: MakeImage,
) -> None:
    save_local(make_image(labels={"where": "local"}), "my/app")
    fake_registry.images["my/app"] = make_image(labels={"where": "registry"})
    images = platform_images("if-not-present")
    image = images.load("my/app")
    assert image is not None
    assert image.label("where") == "local"
    assert fake_registry.asked == []
    assert images.identifier("my/app", image) == "my/app"


def test_if_not_present_pulls_a_missing_image(
    platform_images: ImagesWith, fake_registry: FakeRegistry, make_image: MakeImage
) -> None:
    pulled = make_image(labels={"where": "registry"}, stored=True)
    fake_registry.images["example.com/run:1"] = pulled
    images = platform_images("if-not-present")
    image = images.load("example.com/run:1")
    assert image is pulled
    assert fake_registry.asked == ["example.com/run:1"]
    assert images.identifier("example.com/run:1", pulled) == f"example.com/run@{pulled.digest}"


def test_if_not_present_with_the_image_nowhere_is_none(
    platform_images: ImagesWith, fake_registry: FakeRegistry
) -> None:
    assert platform_images("if-not-present").load("example.com/none") is None
    assert fake_registry.asked == ["example.com/none"]


def test_never_uses_the_local_store_only(
    platform_images: ImagesWith,
    fake_registry: FakeRegistry,
    save_local: SaveLocal,
    make_image: MakeImage,
) -> None:
    save_local(make_image(labels={"where": "local"}), "my/app")
    fake_registry.images["example.com/remote"] = make_image()
    images = platform_images("never")
    assert not images.registry_allowed()
    local = images.load("my/app")
    assert local is not None
    assert local.label("where") == "local"
    assert images.load("example.com/remote") is None
    assert images.load(f"example.com/remote@{DIGEST}") is None
    assert fake_registry.asked == []


def test_always_prefers_the_registry_even_with_a_local_image(
    platform_images: ImagesWith,
    fake_registry: FakeRegistry,
    save_local: SaveLocal,
    make_image: MakeImage,
) -> None:
    save_local(make_image(labels={"where": "local"}), "example.com/app")
    fake_registry.images["example.com/app"] = make_image(labels={"where": "registry"})
    images = platform_images("always")
    image = images.load("example.com/app")
    assert image is not None
    assert image.label("where") == "registry"
    assert fake_registry.asked == ["example.com/app"]


def test_always_falls_back_to_the_local_image(
    platform_images: ImagesWith,
    fake_registry: FakeRegistry,
    save_local: SaveLocal,
    make_image: MakeImage,
) -> None:
    save_local(make_image(labels={"where": "local"}), "example.com/app")
    images = platform_images("always")
    image = images.load("example.com/app")
    assert image is not None
    assert image.label("where") == "local"
    assert fake_registry.asked == ["example.com/app"]
    assert images.identifier("example.com/app", image) == "example.com/app"


def test_always_with_the_image_nowhere_is_none(
    platform_images: ImagesWith, fake_registry: FakeRegistry
) -> None:
    assert platform_images("always").load("example.com/none") is None
    assert fake_registry.asked == ["example.com/none"]


def test_a_digest_reference_goes_to_the_registry_first(
    platform_images: ImagesWith,
    fake_registry: FakeRegistry,
    save_local: SaveLocal,
    make_image: MakeImage,
) -> None:
    name = f"example.com/app@{DIGEST}"
    save_local(make_image(labels={"where": "local"}), name)
    fake_registry.images[name] = make_image(labels={"where": "registry"})
    image = platform_images("if-not-present").load(name)
    assert image is not None
    assert image.label("where") == "registry"
    assert fake_registry.asked == [name]


@pytest.mark.parametrize("policy", PULL_POLICIES)
def test_the_build_outputs_are_never_pulled(
    policy: str, platform_images: ImagesWith, fake_registry: FakeRegistry, make_image: MakeImage
) -> None:
    fake_registry.images["example.com/app"] = make_image()
    images = platform_images(policy)
    images.outputs.add("example.com/app")
    assert images.load("example.com/app") is None
    assert fake_registry.asked == []


@pytest.mark.parametrize("policy", PULL_POLICIES)
def test_an_oci_layout_is_read_where_it_is_under_every_policy(
    policy: str,
    platform_images: ImagesWith,
    fake_registry: FakeRegistry,
    make_image: MakeImage,
    tmp_path: Path,
) -> None:
    LayoutImageStore(LayoutStore(tmp_path / "layout")).save(make_image(labels={"x": "1"}), ["v1"])
    images = platform_images(policy)
    image = images.load(f"oci:{tmp_path / 'layout'}:v1")
    assert image is not None
    assert image.label("x") == "1"
    assert images.load(f"oci:{tmp_path / 'layout'}:v2") is None
    assert fake_registry.asked == []
