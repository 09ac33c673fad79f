"""The local store: many images in one layout, shared blobs, atomic index, gc, verified reads."""

from __future__ import annotations

import io
import json
import multiprocessing
from pathlib import Path

import pytest

from pypack.oci.digest import DigestMismatch, sha256_of
from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.layout import REF_NAME, LayoutError, LayoutStore
from pypack.oci.stores import LayoutImageStore


def simple_image(tmp: Path, content: bytes, *, name: str = "f.txt") -> Image:
    image = Image.empty()
    path = tmp / f"layer-{sha256_of(content)[7:19]}.tar"
    info = write_layer_file(path, lambda w: w.add_bytes(name, content))
    image.add_layer(path, info, created_by="test")
    image.set_env("PATH", "/bin")
    image.set_label("io.example", "yes")
    return image


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = LayoutImageStore(LayoutStore(tmp_path / "store"))
    image = simple_image(tmp_path, b"hello")
    result = store.save(image, ["example/app:latest", "example/app:v1"])
    assert store.exists("example/app:latest")
    assert not store.exists("example/other:latest")
    loaded = store.load("example/app:v1")
    assert loaded is not None
    assert loaded.digest == result.digest
    assert loaded.diff_ids == image.diff_ids
    assert loaded.env("PATH") == "/bin"
    assert loaded.label("io.example") == "yes"
    with loaded.layers[0].open_uncompressed() as tar:
        assert b"hello" in tar.read()
    assert store.layout.names() == ["example/app:latest", "example/app:v1"]


def test_blobs_are_shared_and_gc_removes_unreferenced(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "store")
    store = LayoutImageStore(layout)
    store.save(simple_image(tmp_path, b"one"), ["a"])
    blobs_after_first = set((layout.root / "blobs" / "sha256").iterdir())
    store.save(simple_image(tmp_path, b"one"), ["b"])
    assert set((layout.root / "blobs" / "sha256").iterdir()) == blobs_after_first
    store.save(simple_image(tmp_path, b"two"), ["a"])  # "a" now points elsewhere
    removed = layout.gc()
    assert removed == []  # "b" still holds the first image
    assert layout.untag("b")
    removed = layout.gc()
    assert len(removed) == 3  # the first image's manifest, config and layer
    assert store.load("a") is not None
    assert store.load("b") is None


def test_tag_replaces_an_existing_name(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "store")
    store = LayoutImageStore(layout)
    store.save(simple_image(tmp_path, b"one"), ["app"])
    second = store.save(simple_image(tmp_path, b"two"), ["app"])
    index = json.loads((layout.root / "index.json").read_text())
    assert [m["annotations"][REF_NAME] for m in index["manifests"]] == ["app"]
    assert index["manifests"][0]["digest"] == second.digest


def test_tampered_blob_is_rejected(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "store")
    store = LayoutImageStore(layout)
    result = store.save(simple_image(tmp_path, b"one"), ["app"])
    layout.blob_path(result.image_id).write_bytes(b'{"architecture":"evil"}')
    with pytest.raises(DigestMismatch, match="content has digest"):
        store.load("app")


def test_put_stream_checks_the_digest_and_leaves_nothing(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "store")
    with pytest.raises(DigestMismatch):
        layout.put_stream(io.BytesIO(b"data"), sha256_of(b"other"))
    assert list((layout.root / "blobs" / "sha256").iterdir()) == []


def test_missing_blob(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "store")
    layout.init()
    with pytest.raises(LayoutError, match="is missing"):
        layout.read_blob(sha256_of(b"nothing"))


def _tag_many(root: str, worker: int) -> None:
    layout = LayoutStore(Path(root))
    for i in range(15):
        digest = layout.put_bytes(json.dumps({"w": worker, "i": i}).encode())
        from pypack.oci.models import RawDocument

        raw = layout.read_blob(digest)
        layout.tag(
            f"w{worker}-{i}", RawDocument(raw, "application/vnd.oci.image.manifest.v1+json", digest)
        )


def test_concurrent_writers_never_lose_a_name(tmp_path: Path) -> None:
    root = tmp_path / "store"
    LayoutStore(root).init()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_tag_many, args=(str(root), w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    names = LayoutStore(root).names()
    assert sorted(names) == sorted(f"w{w}-{i}" for w in range(4) for i in range(15))


def test_unchanged_image_keeps_its_digest_when_copied(tmp_path: Path) -> None:
    first = LayoutImageStore(LayoutStore(tmp_path / "one"))
    saved = first.save(simple_image(tmp_path, b"same"), ["app"])
    loaded = first.load("app")
    assert loaded is not None
    second = LayoutImageStore(LayoutStore(tmp_path / "two"))
    assert second.save(loaded, ["copy"]).digest == saved.digest
    assert second.save(loaded.copy(), ["copy2"]).digest == saved.digest
    changed = loaded.copy()
    changed.set_env("NEW", "1")
    assert second.save(changed, ["changed"]).digest != saved.digest
    assert loaded.env("NEW") is None
