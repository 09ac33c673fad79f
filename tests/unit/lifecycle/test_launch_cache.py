"""The launch cache: layers of a daemon image served from the cache, and only the last
export's layers kept."""

from __future__ import annotations

from pathlib import Path

from pypack.lifecycle.launch_cache import LaunchCache
from pypack.oci import mediatypes
from pypack.oci.image import Image, Layer
from pypack.oci.models import Descriptor

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def daemon_layer(diff_id: str) -> Layer:
    return Layer(diff_id, Descriptor(media_type=mediatypes.OCI_LAYER, digest=diff_id, size=-1))


def test_cached_layers_are_read_from_the_cache(tmp_path: Path) -> None:
    tar = tmp_path / "a.tar"
    tar.write_bytes(b"layer a")
    cache = LaunchCache(tmp_path / "launch-cache")
    cache.commit([(A, tar)])
    image = Image.empty()
    image.layers = [daemon_layer(A), daemon_layer(B)]
    assert cache.serve(image) == 1
    with image.layers[0].open() as stream:
        assert stream.read() == b"layer a"
    assert image.layers[1].source is None


def test_commit_keeps_the_new_and_the_reused_layers_only(tmp_path: Path) -> None:
    cache = LaunchCache(tmp_path / "launch-cache")
    for diff_id, name in ((A, "a"), (B, "b")):
        (tmp_path / name).write_bytes(name.encode())
        cache.commit([(diff_id, tmp_path / name)], reused=[A] if diff_id == B else [])
    assert sorted(p.name for p in cache.committed.iterdir()) == [
        "a" * 64 + ".tar",
        "b" * 64 + ".tar",
    ]
    cache.commit([])
    assert list(cache.committed.iterdir()) == []
