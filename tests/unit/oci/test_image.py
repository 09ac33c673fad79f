"""The Image API: config setters, layer reuse without reading, rebase, documents."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from pypack.oci import mediatypes
from pypack.oci.image import Image, ImageError, Layer, select_manifest
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.models import Descriptor, History, Index, Platform


def _add_f(writer: LayerWriter, content: bytes) -> None:
    writer.add_bytes("f", content)


def layer_image(tmp: Path, *contents: bytes) -> Image:
    image = Image.empty()
    for i, content in enumerate(contents):
        path = tmp / f"l{i}-{len(contents)}-{content[:4].hex()}.tar"
        image.add_layer(
            path,
            write_layer_file(path, functools.partial(_add_f, content=content)),
            created_by=f"layer {i}",
        )
    return image


def test_config_setters(tmp_path: Path) -> None:
    image = Image.empty()
    image.set_env("PATH", "/usr/bin")
    image.set_env("PATH", "/cnb/process:/usr/bin")
    image.set_env("CNB_APP_DIR", "/workspace")
    image.set_label("a", "1")
    image.set_label("b", "2")
    image.remove_label("a")
    image.set_entrypoint("/cnb/process/web")
    image.set_cmd()
    image.set_working_dir("/workspace")
    image.set_user("1000:1000")
    image.set_created(0)
    assert image.env("PATH") == "/cnb/process:/usr/bin"
    assert image.config.config.env == ["PATH=/cnb/process:/usr/bin", "CNB_APP_DIR=/workspace"]
    assert image.labels() == {"b": "2"}
    assert (image.entrypoint, image.cmd, image.working_dir, image.user) == (
        ["/cnb/process/web"],
        None,
        "/workspace",
        "1000:1000",
    )
    assert image.created == "1970-01-01T00:00:00Z"
    config = json.loads(image.config_document().raw)
    assert config["config"]["Entrypoint"] == ["/cnb/process/web"]
    assert "Cmd" not in config["config"]


def test_new_image_is_reproducible(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = layer_image(tmp_path / "a", b"x")
    second = layer_image(tmp_path / "b", b"x")
    assert first.manifest_document().digest == second.manifest_document().digest
    assert first.created == "1980-01-01T00:00:01Z"


def test_documents_match_layers(tmp_path: Path) -> None:
    image = layer_image(tmp_path, b"one", b"two")
    config = json.loads(image.config_document().raw)
    manifest = json.loads(image.manifest_document().raw)
    assert config["rootfs"]["diff_ids"] == image.diff_ids
    assert [h["created_by"] for h in config["history"]] == ["layer 0", "layer 1"]
    assert manifest["mediaType"] == mediatypes.OCI_MANIFEST
    assert [layer["digest"] for layer in manifest["layers"]] == [x.digest for x in image.layers]
    assert manifest["config"]["digest"] == image.config_document().digest


def test_reuse_layer_does_not_read_it(tmp_path: Path) -> None:
    previous = Image.empty()

    class Unreadable:
        def open_blob(self, digest: str) -> None:
            raise AssertionError("reuse must not read the layer")

    descriptor = Descriptor(
        media_type=mediatypes.OCI_LAYER_GZIP, digest="sha256:" + "1" * 64, size=10
    )
    previous.layers.append(Layer("sha256:" + "2" * 64, descriptor, Unreadable(), "registry/repo"))  # type: ignore[arg-type]
    image = Image.empty()
    reused = image.reuse_layer("sha256:" + "2" * 64, previous)
    assert reused.origin == "registry/repo"
    assert image.manifest_document().manifest().layers[0].digest == "sha256:" + "1" * 64
    with pytest.raises(ImageError, match="has no layer"):
        image.reuse_layer("sha256:" + "3" * 64, previous)


def test_rebase_swaps_the_base(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "app").mkdir()
    old_base = layer_image(tmp_path / "old", b"old-1", b"old-2")
    new_base = layer_image(tmp_path / "new", b"new-1")
    new_base.set_platform(Platform(os="linux", architecture="arm64", variant="v8"))
    app = old_base.copy()
    app.set_env("APP", "1")
    top = app.top_layer
    assert top is not None
    extra = tmp_path / "app" / "app.tar"
    app.add_layer(
        extra, write_layer_file(extra, lambda w: w.add_bytes("app", b"app")), created_by="app"
    )
    app_layer = app.top_layer
    app.rebase(top, new_base)
    assert app.diff_ids == [*new_base.diff_ids, app_layer]
    assert app.env("APP") == "1"
    assert str(app.platform) == "linux/arm64/v8"
    assert [h.created_by for h in app.history] == ["layer 0", "app"]
    with pytest.raises(ImageError, match="has no layer"):
        app.rebase("sha256:" + "9" * 64, new_base)


def test_docker_layer_media_types_become_oci(tmp_path: Path) -> None:
    image = Image.empty()
    descriptor = Descriptor(
        media_type=mediatypes.DOCKER_LAYER_GZIP, digest="sha256:" + "1" * 64, size=1
    )
    image.layers.append(Layer("sha256:" + "2" * 64, descriptor))
    image.config.history = [History(created_by="x")]
    manifest = image.manifest_document().manifest()
    assert manifest.layers[0].media_type == mediatypes.OCI_LAYER_GZIP
    assert manifest.layers[0].digest == "sha256:" + "1" * 64


def _descriptor(os: str, arch: str, variant: str | None = None) -> Descriptor:
    return Descriptor(
        media_type=mediatypes.OCI_MANIFEST,
        digest="sha256:" + (os + arch + (variant or "")).encode().hex().ljust(64, "0")[:64],
        size=1,
        platform=Platform(os=os, architecture=arch, variant=variant),
    )


def test_select_manifest_by_platform() -> None:
    index = Index(
        manifests=[
            _descriptor("linux", "amd64"),
            _descriptor("linux", "arm", "v6"),
            _descriptor("linux", "arm", "v7"),
        ]
    )
    assert (
        select_manifest(index, Platform(os="linux", architecture="arm", variant="v7"), "x")
        == index.manifests[2]
    )
    assert (
        select_manifest(index, Platform(os="linux", architecture="amd64"), "x")
        == index.manifests[0]
    )
    with pytest.raises(
        ImageError,
        match=r"no image for windows/amd64 \(the index offers: "
        r"linux/amd64, linux/arm/v6, linux/arm/v7\)",
    ):
        select_manifest(index, Platform(os="windows", architecture="amd64"), "x")
