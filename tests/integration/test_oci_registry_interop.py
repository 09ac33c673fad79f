"""Images pypack pushes are read by skopeo; images skopeo pushes are pulled by pypack."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pypack.oci import mediatypes
from pypack.oci.digest import DigestMismatch, sha256_of
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.models import Descriptor, Index, Platform, RawDocument
from pypack.oci.registry import RegistryClient
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.oci.streams import reader
from tests.integration.conftest import tool
from tests.integration.registries import CountingSession, registry_process

pytestmark = pytest.mark.integration


def with_file(base: Image, tmp: Path, name: str, content: bytes) -> Image:
    image = base.copy()
    path = tmp / f"{name}.tar.gz"
    image.add_layer(
        path, write_layer_file(path, lambda w: w.add_bytes(name, content), compress=True)
    )
    return image


def skopeo(*args: str) -> bytes:
    return subprocess.run([tool("skopeo"), *args], capture_output=True, check=True).stdout


def test_skopeo_reads_and_copies_what_we_push(
    registry: str, tmp_path: Path, busybox_base: Image
) -> None:
    image = with_file(busybox_base, tmp_path, "hello.txt", b"hello registry\n")
    image.set_label("io.pypack.test", "push")
    result = RegistryImageStore().save(
        image, [f"{registry}/pypack/push:v1", f"{registry}/pypack/push:v2"]
    )
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{registry}/pypack/push:v2")
    assert raw == image.manifest_document().raw
    details = json.loads(
        skopeo("inspect", "--tls-verify=false", f"docker://{registry}/pypack/push:v1")
    )
    assert details["Digest"] == result.digest
    assert details["Labels"] == {"io.pypack.test": "push"}
    skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{registry}/pypack/push:v1",
        f"oci:{tmp_path / 'copy'}:copied",
    )
    copied = LayoutImageStore(LayoutStore(tmp_path / "copy")).load("copied")
    assert copied is not None
    assert copied.diff_ids == image.diff_ids
    with copied.layers[-1].open() as blob:
        extract_layer(blob, tmp_path / "rootfs")
    assert (tmp_path / "rootfs" / "hello.txt").read_bytes() == b"hello registry\n"


@pytest.mark.parametrize("manifest_format", ["oci", "v2s2"])
def test_we_pull_what_skopeo_pushes(
    registry: str, tmp_path: Path, busybox_base: Image, manifest_format: str
) -> None:
    image = with_file(busybox_base, tmp_path, "from-skopeo.txt", b"pushed by skopeo\n")
    image.set_env("ORIGIN", "skopeo")
    LayoutImageStore(LayoutStore(tmp_path / "src")).save(image, ["img"])
    target = f"{registry}/pypack/skopeo-{manifest_format}:1"
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--format",
        manifest_format,
        f"oci:{tmp_path / 'src'}:img",
        f"docker://{target}",
    )
    pulled = RegistryImageStore().load(target)
    assert pulled is not None
    assert pulled.env("ORIGIN") == "skopeo"
    assert pulled.diff_ids == image.diff_ids
    document = RegistryClient(registry).get_manifest(f"pypack/skopeo-{manifest_format}", "1")
    expected_type = (
        mediatypes.DOCKER_MANIFEST if manifest_format == "v2s2" else mediatypes.OCI_MANIFEST
    )
    assert document.media_type == expected_type
    rootfs = tmp_path / "rootfs"
    for layer in pulled.layers:
        with layer.open() as blob:
            extract_layer(blob, rootfs)
    assert (rootfs / "from-skopeo.txt").read_bytes() == b"pushed by skopeo\n"
    assert (rootfs / "bin" / "busybox").stat().st_size > 100_000
    kept = LayoutImageStore(LayoutStore(tmp_path / "kept")).save(pulled, ["same"])
    assert kept.digest == document.digest  # unchanged bytes, whatever the manifest flavour


def test_we_pull_the_right_image_from_a_multi_platform_index(
    registry: str, tmp_path: Path, busybox_base: Image
) -> None:
    layout = LayoutStore(tmp_path / "multi")
    store = LayoutImageStore(layout)
    descriptors = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        image = with_file(busybox_base, tmp_path, f"arch-{arch}", arch.encode())
        image.set_platform(Platform(os="linux", architecture=arch, variant=variant))
        saved = store.save(image, [f"only-{arch}"])
        descriptor = layout.resolve(f"only-{arch}")
        assert descriptor is not None
        assert descriptor.digest == saved.digest
        descriptors.append(
            Descriptor(
                media_type=mediatypes.OCI_MANIFEST,
                digest=saved.digest,
                size=saved.manifest_size,
                platform=Platform(os="linux", architecture=arch, variant=variant),
            )
        )
    index = RawDocument.of(
        Index(media_type=mediatypes.OCI_INDEX, manifests=descriptors), mediatypes.OCI_INDEX
    )
    layout.tag("multi", index)
    target = f"{registry}/pypack/multi:1"
    skopeo(
        "copy", "--all", "--dest-tls-verify=false", f"oci:{layout.root}:multi", f"docker://{target}"
    )
    assert RegistryClient(registry).get_manifest("pypack/multi", "1").is_index
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        pulled = RegistryImageStore().load(
            target, Platform(os="linux", architecture=arch, variant=variant)
        )
        assert pulled is not None
        assert pulled.platform.architecture == arch
        with pulled.layers[-1].open() as blob:
            extract_layer(blob, tmp_path / f"rootfs-{arch}")
        assert (tmp_path / f"rootfs-{arch}" / f"arch-{arch}").read_bytes() == arch.encode()


def test_second_push_uploads_no_layer_bytes_and_mounts_across_repositories(
    registry: str, tmp_path: Path
) -> None:
    session = CountingSession()
    store = RegistryImageStore(client_factory=lambda host: RegistryClient(host, session=session))
    unique = str(tmp_path).encode()  # layers no other test pushed
    image = with_file(Image.empty(), tmp_path, "base.bin", unique + bytes(range(256)) * 2000)
    image = with_file(image, tmp_path, "app.txt", unique + b"x" * 100_000)
    store.save(image, [f"{registry}/pypack/wire-a:1"])
    first = session.uploaded_bytes()
    layer_bytes = sum(layer.descriptor.size for layer in image.layers)
    assert first >= layer_bytes
    session.sent.clear()
    store.save(image, [f"{registry}/pypack/wire-a:2"])
    assert session.uploaded_bytes() == 0
    assert [method for method, url, _ in session.sent if "/blobs/" in url] == ["HEAD"] * 3
    session.sent.clear()
    store.save(image, [f"{registry}/pypack/wire-b:1"])
    assert len(session.mount_requests()) == len(image.layers)
    config_size = len(image.config_document().raw)
    assert session.uploaded_bytes() == config_size  # only the small config; no layer bytes
    pulled = RegistryImageStore().load(f"{registry}/pypack/wire-b:1")
    assert pulled is not None
    assert pulled.diff_ids == image.diff_ids


def test_a_blob_whose_content_does_not_match_its_digest_is_rejected(
    tmp_path: Path, busybox_base: Image
) -> None:
    image = with_file(busybox_base, tmp_path, "t.txt", b"trust me")
    with registry_process(tmp_path / "reg") as address:
        RegistryImageStore().save(image, [f"{address}/pypack/tamper:1"])
        digest = image.layers[-1].digest
        data = next(
            (tmp_path / "reg" / "data").rglob(f"blobs/sha256/{digest[7:9]}/{digest[7:]}/data")
        )
        data.write_bytes(b"\x00" * data.stat().st_size)  # same size, other content
        pulled = RegistryImageStore().load(f"{address}/pypack/tamper:1")
        assert pulled is not None
        expected = f"blob {digest}: content has digest sha256:"
        with pytest.raises(DigestMismatch, match=expected), pulled.layers[-1].open() as blob:
            blob.read()


def test_chunked_upload_of_a_stream_with_unknown_digest(registry: str) -> None:
    client = RegistryClient(registry)
    pieces = [os.urandom(1 << 16) for _ in range(5)]
    digest, size = client.upload_chunks("pypack/chunked", iter(pieces))
    content = b"".join(pieces)
    assert (digest, size) == (sha256_of(content), len(content))
    assert client.head_blob("pypack/chunked", digest) == len(content)
    assert client.read_blob("pypack/chunked", digest) == content


def test_a_blob_streamed_from_a_non_file_uploads_in_one_put(registry: str) -> None:
    """A blob read from another registry is a buffered reader over HTTP chunks, which
    requests cannot size: it marked the body chunked and sent it unframed beside our
    Content-Length, and the registry refused it ("invalid byte in chunk length") whenever a
    build's run image was in another registry than the app."""
    client = RegistryClient(registry)
    content = os.urandom(300_000)
    digest = sha256_of(content)
    pieces = [content[i : i + 65536] for i in range(0, len(content), 65536)]
    for size in (len(content), -1):  # -1: the size is not known (the stream is sent chunked)
        client.upload_blob(f"pypack/streamed{size}", lambda: reader(iter(pieces)), digest, size)
        assert client.read_blob(f"pypack/streamed{size}", digest) == content
