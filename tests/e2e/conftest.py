"""End-to-end fixtures: a Debian builder image with the pypack lifecycle, in the test dockerd."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, tar_file_info, write_layer_file
from pypack.oci.models import ContainerConfig
from pypack.pack.lifecycle_layer import add_lifecycle
from tests.conftest import require_service, tool

if TYPE_CHECKING:
    import docker as docker_sdk

SUITE = "bookworm"
CNB_ID = 1000


@pytest.fixture(scope="session")
def debian_rootfs() -> Path:
    """A Debian bookworm minbase rootfs with python3, made once by mmdebstrap and cached."""
    cache = Path(os.environ.get("PYPACK_RUN") or "/tmp/pypack-cache") / "cache"
    target = cache / f"{SUITE}-minbase-python3.tar"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.tar")
    subprocess.run(
        [
            tool("mmdebstrap"),
            "--quiet",
            "--variant=minbase",
            "--include=python3",
            SUITE,
            str(partial),
        ],
        check=True,
        timeout=600,
    )
    partial.rename(target)
    return target


DETECT = b"""#!/bin/sh
[ -f hello.txt ] || exit 100
exit 0
"""
BUILD = b"""#!/bin/sh
set -e
layer="$CNB_LAYERS_DIR/greeting"
mkdir -p "$layer/bin"
printf '#!/bin/sh\\necho "$(cat /workspace/hello.txt) (served by $0)"\\n' > "$layer/bin/hello"
chmod 755 "$layer/bin/hello"
printf '[types]\\nlaunch = true\\ncache = true\\n[metadata]\\nversion = "1"\\n' > "$layer.toml"
web='[[processes]]\\ntype = "web"\\ncommand = ["hello"]\\ndefault = true\\n'
printf "$web" > "$CNB_LAYERS_DIR/launch.toml"
"""


def fixture_buildpack(writer: LayerWriter) -> None:
    """``e2e/hello``: passes on apps with hello.txt, adds a launch+cache layer and a web process."""
    base = "cnb/buildpacks/e2e_hello/1.0.0"
    for directory in ("cnb/buildpacks", "cnb/buildpacks/e2e_hello", base, f"{base}/bin"):
        writer.add_dir(directory)
    writer.add_bytes(f"{base}/bin/detect", DETECT, mode=0o755)
    writer.add_bytes(f"{base}/bin/build", BUILD, mode=0o755)
    writer.add_bytes(
        f"{base}/buildpack.toml",
        b'api = "0.10"\n[buildpack]\nid = "e2e/hello"\nversion = "1.0.0"\n',
    )


@pytest.fixture(scope="session")
def builder_image(
    debian_rootfs: Path,
    docker_client: docker_sdk.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A builder in dockerd: Debian + python3 + the pypack lifecycle + a fixture buildpack."""
    from pypack.oci.daemon import DaemonImageStore

    image = Image.empty()
    image.add_layer(debian_rootfs, tar_file_info(debian_rootfs))
    layer = tmp_path_factory.mktemp("builder") / "cnb.tar"

    def fill(writer: LayerWriter) -> None:
        add_lifecycle(writer)
        fixture_buildpack(writer)
        writer.add_bytes(
            "cnb/order.toml", b'[[order]]\n[[order.group]]\nid = "e2e/hello"\nversion = "1.0.0"\n'
        )
        for directory in ("workspace", "layers", "platform", "cache"):
            writer.add_dir(directory, uid=CNB_ID, gid=CNB_ID)

    image.add_layer(layer, write_layer_file(layer, fill))
    image.config.config = ContainerConfig(
        env=[
            "PATH=/usr/local/bin:/usr/bin:/bin",
            f"CNB_USER_ID={CNB_ID}",
            f"CNB_GROUP_ID={CNB_ID}",
        ],
        user=f"{CNB_ID}:{CNB_ID}",
        working_dir="/layers",
    )
    name = "pypack-e2e/builder:1"
    DaemonImageStore(docker_client).save(image, [name])
    return name


@pytest.fixture
def volumes() -> Iterator[dict[str, Path]]:
    """Host directories for /workspace, /layers, /cache and /platform, owned by the CNB user."""
    root = Path(tempfile.mkdtemp(prefix="pypack-e2e-", dir="/tmp"))
    root.chmod(0o755)
    paths = {name: root / name for name in ("workspace", "layers", "cache", "platform")}
    for path in paths.values():
        path.mkdir()
        os.chown(path, CNB_ID, CNB_ID)
    hello = paths["workspace"] / "hello.txt"
    hello.write_text("hello from an app built by the pypack lifecycle")
    os.chown(hello, CNB_ID, CNB_ID)
    yield paths
    shutil.rmtree(root, ignore_errors=True)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The docker CLI against the test daemon."""
    host = require_service("PYPACK_TEST_DOCKER_HOST", "the test dockerd")
    return subprocess.run(
        [tool("docker"), *args],
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, "DOCKER_HOST": host},
        timeout=600,
    )


PYPACK = str(Path(sys.executable).parent / "pypack")


def run_pypack(
    home: Path, *args: str, check: bool = True, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """The ``pypack`` CLI with ``home`` as PYPACK_HOME (and the test dockerd, if there is one)."""
    env = {**os.environ, "PYPACK_HOME": str(home)}
    if "PYPACK_TEST_DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["PYPACK_TEST_DOCKER_HOST"]
    result = subprocess.run(
        [PYPACK, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, f"pypack {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def http_answer(home: Path, image: str) -> bytes:
    """Start ``image`` with ``pypack run`` on a free loopback port; its answer to GET /."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYPACK_HOME": str(home)}
    server = subprocess.Popen(
        [PYPACK, "run", image, "--env", f"PORT={port}"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    return bytes(response.read())
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{image} did not answer on port {port}")
    finally:
        server.terminate()
        server.wait(10)
