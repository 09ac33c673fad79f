"""Images pypack loads into dockerd run with ``docker run --network none``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.daemon import DaemonImageStore, _archive_entries
from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from tests.integration.conftest import tool

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.integration


def docker_cli(docker_client: docker.DockerClient, *args: str) -> str:
    """Run the docker CLI against the test daemon (the fixture made sure it is up)."""
    env = {**os.environ, "DOCKER_HOST": os.environ["PYPACK_TEST_DOCKER_HOST"]}
    return subprocess.run(
        [tool("docker"), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def test_loaded_image_runs(
    docker_client: docker.DockerClient, tmp_path: Path, busybox_base: Image
) -> None:
    image = busybox_base.copy()
    path = tmp_path / "app.tar"
    image.add_layer(
        path, write_layer_file(path, lambda w: w.add_bytes("hello.txt", b"hello from pypack\n"))
    )
    image.set_entrypoint("/bin/cat", "/hello.txt")
    image.set_label("io.pypack.test", "daemon")
    store = DaemonImageStore(docker_client)
    result = store.save(image, ["pypack-test/daemon:1", "pypack-test/daemon:latest"])
    assert result.image_id == image.config_document().digest
    output = docker_cli(docker_client, "run", "--rm", "--network", "none", "pypack-test/daemon:1")
    assert output == "hello from pypack\n"
    inspected = docker_client.images.get("pypack-test/daemon:latest")
    assert inspected.id == result.image_id
    assert inspected.labels == {"io.pypack.test": "daemon"}


def test_daemon_layers_are_not_sent_again(
    docker_client: docker.DockerClient, tmp_path: Path, busybox_base: Image
) -> None:
    store = DaemonImageStore(docker_client)
    store.save(busybox_base, ["pypack-test/base:1"])
    base = store.load("pypack-test/base:1")
    assert base is not None
    assert base.diff_ids == busybox_base.diff_ids
    assert base.env("PATH") == "/bin"
    derived = base.copy()
    path = tmp_path / "more.tar"
    derived.add_layer(path, write_layer_file(path, lambda w: w.add_bytes("more.txt", b"more\n")))
    derived.set_entrypoint("/bin/cat", "/more.txt")
    entries = _archive_entries(derived, derived.config_document().raw, ["pypack-test/derived:1"])
    layer_entries = [name for name, _, _ in entries if name.endswith("layer.tar")]
    assert layer_entries == [f"{derived.diff_ids[-1][7:]}/layer.tar"]  # the base layer stays out
    store.save(derived, ["pypack-test/derived:1"])
    output = docker_cli(docker_client, "run", "--rm", "--network", "none", "pypack-test/derived:1")
    assert output == "more\n"


def test_layers_of_a_daemon_image_can_be_read(
    docker_client: docker.DockerClient, busybox_base: Image
) -> None:
    store = DaemonImageStore(docker_client)
    store.save(busybox_base, ["pypack-test/read:1"])
    loaded = store.load("pypack-test/read:1")
    assert loaded is not None
    with (
        loaded.layers[0].open_uncompressed() as tar,
        busybox_base.layers[0].open_uncompressed() as ours,
    ):
        assert tar.read() == ours.read()
    assert store.load("pypack-test/absent:1") is None
    assert not store.exists("pypack-test/absent:1")
    store.tag(loaded.digest or "", "pypack-test/read:retagged")
    assert docker_client.images.get("pypack-test/read:retagged").id == loaded.digest


def test_an_untagged_name_is_saved_as_latest(
    docker_client: docker.DockerClient, busybox_base: Image
) -> None:
    """pack defaults a missing tag to :latest (``--daemon`` with ``host:port/org/app``)."""
    store = DaemonImageStore(docker_client)
    result = store.save(busybox_base.copy(), ["127.0.0.1:5000/org/untagged-app"])
    assert docker_client.images.get("127.0.0.1:5000/org/untagged-app:latest").id == result.image_id
    assert store.exists("127.0.0.1:5000/org/untagged-app")
