"""``--containerd``: an image straight into containerd's ``k8s.io`` namespace (where kubelet
and kind nodes look), no Docker daemon on the way — against the real containerd that Debian's
docker.io brings (the one the test dockerd runs, reached on its own socket), checked with
``ctr images ls`` and a ``ctr run`` of the image answering HTTP; timed against ``--daemon``'s
load of the same image."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import require_service, tool
from tests.e2e.conftest import run_pypack, shared_home

if TYPE_CHECKING:
    from docker import DockerClient

pytestmark = pytest.mark.e2e

HELLO = Path(__file__).parents[2] / "samples" / "python-hello"


def ctr(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    address = require_service("PYPACK_TEST_CONTAINERD", "the test containerd")
    return subprocess.run(
        [tool("ctr"), "--address", address, "--namespace", "k8s.io", *args],
        capture_output=True, text=True, check=check, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    with shared_home("pypack-containerd-") as root:
        yield root


def manifest_digest(home: Path, image: str) -> str:
    from pypack.pack.home import Home
    from pypack.pack.images import local_name

    descriptor = Home(home).images.resolve(local_name(image))
    assert descriptor is not None
    return descriptor.digest


def serve_in_containerd(image: str) -> bytes:
    """``ctr run`` the image's web process on a free port; its answer to GET /."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    name = f"pypack-test-{port}"
    ctr("run", "-d", "--net-host", "--env", f"PORT={port}", image, name)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return bytes(answer.read())
            except OSError:
                assert time.monotonic() < deadline, "the container did not answer"
                time.sleep(0.2)
    finally:
        ctr("task", "kill", "-s", "SIGKILL", name, check=False)
        for _ in range(50):
            if ctr("task", "rm", name, check=False).returncode == 0:
                break
            time.sleep(0.1)
        ctr("container", "rm", name, check=False)


def test_build_and_load_into_containerd_and_run_there(home: Path) -> None:
    address = require_service("PYPACK_TEST_CONTAINERD", "the test containerd")
    built = run_pypack(home, "build", "apps/ctr-hello:1", "--path", str(HELLO), "--containerd",
                       address)  # fmt: skip
    assert f"Loaded docker.io/apps/ctr-hello:1 into containerd ({address}, namespace k8s.io)" in (
        built.stdout
    )
    listed = ctr("images", "ls").stdout.splitlines()
    (row,) = [line for line in listed if line.startswith("docker.io/apps/ctr-hello:1 ")]
    assert manifest_digest(home, "apps/ctr-hello:1") in row
    assert serve_in_containerd("docker.io/apps/ctr-hello:1").startswith(b"Hello from pypack!")


def test_image_load_is_timed_against_the_daemon(home: Path, docker_client: DockerClient) -> None:
    from pypack.oci.daemon import DaemonImageStore
    from pypack.oci.stores import LayoutImageStore
    from pypack.pack.home import Home
    from pypack.pack.images import local_name

    address = require_service("PYPACK_TEST_CONTAINERD", "the test containerd")
    run_pypack(home, "build", "apps/ctr-timed:1", "--path", str(HELLO))
    image = LayoutImageStore(Home(home).images).load(local_name("apps/ctr-timed:1"))
    assert image is not None
    ctr("images", "rm", "docker.io/apps/ctr-timed:1", check=False)
    started = time.monotonic()
    loaded = run_pypack(home, "image", "load", "apps/ctr-timed:1", "--containerd", address)
    into_containerd = time.monotonic() - started
    assert "Loaded docker.io/apps/ctr-timed:1 into containerd" in loaded.stdout
    for old in docker_client.images.list("apps/ctr-timed"):
        docker_client.images.remove(str(old.id), force=True)
    started = time.monotonic()
    DaemonImageStore(docker_client).save(image, ["apps/ctr-timed:1"])
    into_daemon = time.monotonic() - started
    ratio = into_containerd / into_daemon
    print(f"\nload into containerd {into_containerd:.1f} s (pypack image load, a process); "
          f"into the Docker daemon {into_daemon:.1f} s; ratio {ratio:.2f}")  # fmt: skip
    assert "docker.io/apps/ctr-timed:1" in ctr("images", "ls", "-q").stdout.split()


def test_containerd_with_another_destination_is_one_line(home: Path, tmp_path: Path) -> None:
    failed = run_pypack(home, "build", "apps/x:1", "--path", str(HELLO), "--publish",
                        "--containerd", check=False)  # fmt: skip
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "ERROR: --containerd loads the image into containerd from the local store; drop "
        "--publish, --daemon, --docker or the oci: image"
    ]
    missing = run_pypack(home, "image", "load", "apps/x:1", "--containerd",
                         str(tmp_path / "none.sock"), check=False)  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"ERROR: --containerd {tmp_path / 'none.sock'}: no containerd socket there; give its path"
    ]
