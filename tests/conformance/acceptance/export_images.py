"""Images and checks shared by the exporter, creator and rebaser translations.

The reference builds its run image with ``docker build`` and pushes it to its test registry, so
the same tag is in both the daemon and the registry; here pypack's own OCI library writes one
busybox image to the test registry and loads it into the test dockerd under the same name.
Checks go through the daemon (``docker pull``, inspect, history), a tool no one here wrote.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pypack.oci.daemon import DaemonImageStore
from pypack.oci.image import Image
from pypack.oci.models import Platform
from pypack.oci.stores import RegistryImageStore
from tests.conformance.harness import CNB_GID, CNB_UID

if TYPE_CHECKING:
    import docker

NORMALIZED_CREATED = "1980-01-01T00:00:01Z"
NORMALIZED_EPOCH = 315532801
SBOM_EXTENSIONS = ("sbom.cdx.json", "sbom.spdx.json", "sbom.syft.json")


def random_name(prefix: str) -> str:
    """``prefix`` and ten random characters, as the reference's ``h.RandString(10)``."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def reference_run_image(registry: str, client: docker.DockerClient, base: Image, name: str) -> str:
    """A linux/amd64 run image ``<registry>/acceptance/<name>`` in the registry and, under the
    same name, in the daemon. Its layer has no history entry (the reference expects ``""``)."""
    image = base.copy()
    image.set_platform(Platform(os="linux", architecture="amd64"))
    image.set_history(None)
    image.set_label("io.buildpacks.base.distro.name", "busybox")
    reference = f"{registry}/acceptance/{name}"
    RegistryImageStore().save(image, [reference])
    DaemonImageStore(client).save(image, [reference])
    return reference


def chown_tree(top: Path) -> None:
    """Give ``top`` and everything in it to the CNB user, as the reference's Dockerfiles do."""
    for root, dirs, files in os.walk(top):
        os.chown(root, CNB_UID, CNB_GID)
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), CNB_UID, CNB_GID)


def lifecycle_sboms(cnb: Path) -> None:
    """``<cnb>/lifecycle/{lifecycle,launcher}.sbom.*.json``: the lifecycle's own SBOM files a
    builder image carries (the reference's acceptance build writes fake ones)."""
    directory = cnb / "lifecycle"
    directory.mkdir(parents=True, exist_ok=True)
    for component in ("lifecycle", "launcher"):
        for extension in SBOM_EXTENSIONS:
            (directory / f"{component}.{extension}").write_text('"fake data"')


def daemon_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a phase run as root that drops to the CNB user and talks to the
    test dockerd (the reference mounts the daemon socket into its container)."""
    return {
        "DOCKER_HOST": os.environ["PYPACK_TEST_DOCKER_HOST"],
        "CNB_USER_ID": str(CNB_UID),
        "CNB_GROUP_ID": str(CNB_GID),
        **(extra or {}),
    }


def inspect(client: docker.DockerClient, name: str) -> dict[str, Any]:
    """``docker image inspect`` of ``name``."""
    data: dict[str, Any] = client.api.inspect_image(name)  # type: ignore[no-untyped-call]
    return data


def history(client: docker.DockerClient, name: str) -> list[dict[str, Any]]:
    """``docker history`` of ``name``, newest first."""
    entries: list[dict[str, Any]] = client.api.history(name)  # type: ignore[no-untyped-call]
    return entries


def assert_os_arch_created(client: docker.DockerClient, name: str, created: str) -> None:
    """The reference's ``assertImageOSAndArchAndCreatedAt``: linux/amd64, created at
    ``created``."""
    data = inspect(client, name)
    assert (data["Os"], data["Architecture"]) == ("linux", "amd64")
    assert data["Created"] == created


@pytest.fixture
def daemon_images(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Names a test put in the daemon; removed afterwards (the reference's ``docker rmi``)."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            docker_client.images.remove(name, force=True)
