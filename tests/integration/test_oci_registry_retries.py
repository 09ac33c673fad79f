"""Transient registry failures (5xx, dropped connections) are retried; lasting ones are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.registry import RegistryClient, RegistryError
from pypack.oci.stores import RegistryImageStore
from tests.integration.registries import FaultyProxy

pytestmark = pytest.mark.integration


def image_with(tmp: Path, content: bytes) -> Image:
    image = Image.empty()
    path = tmp / "l.tar.gz"
    image.add_layer(
        path, write_layer_file(path, lambda w: w.add_bytes("f", content), compress=True)
    )
    return image


def test_push_and_pull_survive_5xx_and_dropped_connections(registry: str, tmp_path: Path) -> None:
    # request 1: HEAD layer; 2: POST upload; 3: PUT layer; ... fail a few of them once each
    faults = {1: "503", 3: "drop", 5: "503", 9: "drop"}
    with FaultyProxy(registry, faults).running() as proxy:
        store = RegistryImageStore(client_factory=lambda host: RegistryClient(host, backoff=0.01))
        image = image_with(tmp_path, str(tmp_path).encode() * 50)
        result = store.save(image, [f"{proxy.address}/pypack/flaky:1"])
        pulled = store.load(f"{proxy.address}/pypack/flaky:1")
        assert pulled is not None
        assert pulled.digest == result.digest
        with pulled.layers[0].open_uncompressed() as tar:
            assert str(tmp_path).encode() in tar.read()
        assert len(proxy.injected()) == 4, proxy.summary()
    direct = RegistryClient(registry).get_manifest("pypack/flaky", "1")
    assert direct.digest == result.digest


def test_lasting_failure_is_reported_after_retries(registry: str) -> None:
    faults = dict.fromkeys(range(1, 20), "503")
    with FaultyProxy(registry, faults).running() as proxy:
        client = RegistryClient(proxy.address, retries=3, backoff=0.01)
        with pytest.raises(
            RegistryError,
            match=rf"^registry {proxy.address}: ping: 503 \(tried 4 times\); the registry failed",
        ):
            client.ping()
        assert len(proxy.seen) == 4  # the first try and three retries
