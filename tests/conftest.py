"""Shared fixtures: paths to test data, and the real services started by scripts/services.sh.

A test that needs a service asks for its fixture. Without the service the test is skipped with
the reason, except under ``CI=true``, where a missing service fails the test: a green CI run
must prove that the services really ran.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file

if TYPE_CHECKING:
    import docker

DATA = Path(__file__).parent / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long variants (marker ``slow``) run only with ``PYPACK_SLOW=1``."""
    if os.environ.get("PYPACK_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow variant; set PYPACK_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def require_service(variable: str, what: str) -> str:
    """The value of ``variable``, or skip (fail under CI) when the service is not running."""
    value = os.environ.get(variable)
    if value:
        return value
    message = f"{what} is not running ({variable} unset); start it with scripts/services.sh start"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def registry() -> str:
    """``host:port`` of the real OCI registry on loopback."""
    return require_service("PYPACK_TEST_REGISTRY", "the test registry")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A Docker SDK client for the test dockerd on its private socket."""
    import docker

    host = require_service("PYPACK_TEST_DOCKER_HOST", "the test dockerd")
    client = docker.DockerClient(base_url=host, version="auto", timeout=120)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def spec_data() -> Path:
    """The folder of realistic CNB files and labels."""
    return DATA / "spec"


BUSYBOX_APPLETS = (
    "sh",
    "cat",
    "echo",
    "ls",
    "env",
    "sed",
    "tr",
    "mkdir",
    "rm",
    "true",
    "pwd",
    "id",
)


def tool(name: str) -> str:
    """The path of a validator tool; CI installs them all, so a missing one fails."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/setup.sh")
    return path


@pytest.fixture(scope="session")
def busybox_base(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """A one-layer linux/amd64 image: /bin/busybox and links for a few applets."""
    busybox = Path(tool("busybox"))
    layer = tmp_path_factory.mktemp("busybox") / "layer.tar.gz"

    def fill(writer: LayerWriter) -> None:
        writer.add_dir("bin")
        writer.add_tree(busybox, "bin/busybox", uid=0, gid=0)
        for applet in BUSYBOX_APPLETS:
            writer.add_symlink(f"bin/{applet}", "busybox")
        writer.add_dir("tmp", mode=0o1777)

    image = Image.empty()
    image.add_layer(layer, write_layer_file(layer, fill, compress=True), created_by="busybox")
    image.set_env("PATH", "/bin")
    return image
