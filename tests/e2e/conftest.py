"""End-to-end fixtures: a Debian builder image with the pypack lifecycle, in the test dockerd;
pypack homes whose slow caches (mmdebstrap rootfs tars, lifecycle wheels) last the CI run; the
pypack CLI and the lifecycle in a container."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, tar_file_info, write_layer_file
from pypack.oci.models import ContainerConfig
from pypack.oci.stores import RegistryImageStore
from pypack.pack.image_python import probe
from pypack.pack.lifecycle_layer import add_lifecycle
from pypack.pack.lifecycle_wheels import lifecycle_wheels
from tests.conftest import require_service, tool
from tests.steps.simulator import Runner, docker_cli

if TYPE_CHECKING:
    import docker as docker_sdk

    from tests.e2e.users import HostUser

SUITE = "bookworm"
CNB_ID = 1000
PLATFORM_API = "0.13"  # buildpacks-phases 0.3 pins 0.13
TEKTON_CREATOR_API = "0.9"  # the buildpacks 0.6 task's stepTemplate


def run_cache() -> Path:
    """Slow things made once per CI run (the services' state directory outlives the tests)."""
    return Path(os.environ.get("PYPACK_RUN") or "/tmp/pypack-cache") / "cache"


@contextmanager
def shared_home(prefix: str) -> Iterator[Path]:
    """A fresh pypack home whose stack rootfs cache and lifecycle wheel cache are the run's."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    root.chmod(0o755)
    try:
        for name in ("stack-cache", "lifecycle-wheels"):
            shared = run_cache() / name
            shared.mkdir(parents=True, exist_ok=True)
            (root / name).symlink_to(shared)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def debian_rootfs() -> Path:
    """A Debian bookworm minbase rootfs with python3, made once by mmdebstrap and cached."""
    cache = run_cache()
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
    """A builder in dockerd: Debian + python3 + the pypack lifecycle (its dependencies as wheels
    for that python3) + a fixture buildpack."""
    from pypack.oci.daemon import DaemonImageStore

    image = Image.empty()
    image.add_layer(debian_rootfs, tar_file_info(debian_rootfs))
    python = probe(image, "the bookworm rootfs")
    assert python is not None
    scratch = tmp_path_factory.mktemp("builder")
    wheels = lifecycle_wheels(python, run_cache() / "lifecycle-wheels", scratch)
    layer = scratch / "cnb.tar"

    def fill(writer: LayerWriter) -> None:
        add_lifecycle(writer, python.executable, wheels)
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


def mounts(volumes: Mapping[str, Path]) -> list[str]:
    """``docker run`` flags binding each volume at ``/<its name>``."""
    args = []
    for name, path in volumes.items():
        args += ["-v", f"{path}:/{name}"]
    return args


def lifecycle(
    builder: str,
    volumes: Mapping[str, Path],
    phase: str,
    *args: str,
    api: str = PLATFORM_API,
    extra_mounts: Mapping[Path, str] | None = None,
) -> str:
    """Run ``/cnb/lifecycle/<phase>`` of ``builder`` in a container as the CNB user, with the
    volumes (and ``extra_mounts``: host file → container path, read-only) bound and the host's
    network, at Platform API ``api``; its output (it must succeed)."""
    extra = [f"-v{host}:{inside}:ro" for host, inside in (extra_mounts or {}).items()]
    result = docker(
        "run",
        "--rm",
        "--network",
        "host",
        "-u",
        f"{CNB_ID}:{CNB_ID}",
        "-e",
        f"CNB_PLATFORM_API={api}",
        "-e",
        "CNB_EXPERIMENTAL_MODE=silent",
        *mounts(volumes),
        *extra,
        "--entrypoint",
        f"/cnb/lifecycle/{phase}",
        builder,
        *args,
        check=False,
    )
    assert result.returncode == 0, (
        f"{phase} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def creator_args(app: str, run: str) -> list[str]:
    """The argv of Tekton's ``buildpacks`` task (0.6), with its optional params empty but
    ``RUN_IMAGE`` (``run``; empty: the builder's ``/cnb/stack.toml`` names it)."""
    return [
        "-app=/workspace",
        "-cache-dir=/cache",
        "-cache-image=",
        f"-uid={CNB_ID}",
        f"-gid={CNB_ID}",
        "-layers=/layers",
        "-platform=/platform",
        "-report=/layers/report.toml",
        "-process-type=web",
        "-skip-restore=false",
        f"-previous-image={app}",
        f"-run-image={run}",
        app,
    ]


def report_digest(volumes: Mapping[str, Path]) -> str:
    """The image digest in the creator's or exporter's ``/layers/report.toml``."""
    digest: str = tomllib.loads((volumes["layers"] / "report.toml").read_text())["image"]["digest"]
    return digest


@pytest.fixture
def run_image(registry: str, busybox_base: Image) -> str:
    """A busybox run image in the test registry."""
    name = f"{registry}/e2e/run:1"
    RegistryImageStore().save(busybox_base, [name])
    return name


PYPACK = str(Path(sys.executable).parent / "pypack")


def pypack_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``pypack`` command: ``home`` as PYPACK_HOME, the test dockerd (if
    there is one), then ``extra``."""
    env = {**os.environ, "PYPACK_HOME": str(home)}
    if "PYPACK_TEST_DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["PYPACK_TEST_DOCKER_HOST"]
    return {**env, **(extra or {})}


def default_sigint() -> None:
    """A ``preexec_fn`` giving a command Ctrl-C back: a test run in the background (``cmd &``)
    ignores SIGINT, and so would the command, and pypack would never see the interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_pypack(
    home: Path,
    *args: str,
    check: bool = True,
    timeout: int = 600,
    user: HostUser | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The ``pypack`` CLI with ``home`` as PYPACK_HOME (and the test dockerd, if there is one),
    as ``user`` if given; ``env`` adds to its environment."""
    environment = pypack_env(home, env)
    argv = [PYPACK, *args]
    if user is not None:
        argv, environment = user.command(argv), user.environment(environment)
    result = subprocess.run(
        argv, capture_output=True, text=True, env=environment, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, f"pypack {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def http_answer(home: Path, image: str) -> bytes:
    """Start ``image`` with ``pypack run`` on a free loopback port; its answer to GET /. The
    first run of an image unpacks it (10 s for a Debian run image on a busy CI machine)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "PYPACK_HOME": str(home)}
    server = subprocess.Popen(
        [PYPACK, "run", image, "--env", f"PORT={port}"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    return bytes(response.read())
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{image} did not answer on port {port} (exit {server.poll()})")
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def builder_in_registry(
    builder_image: str, registry: str, docker_client: docker_sdk.DockerClient
) -> str:
    """The fixture builder pushed to the test registry (the restorer reads it from there)."""
    from pypack.oci.daemon import DaemonImageStore

    builder = DaemonImageStore(docker_client).load(builder_image)
    assert builder is not None
    name = f"{registry}/e2e/deploy-builder:1"
    RegistryImageStore().save(builder, [name])
    docker("pull", name)  # the engine's copy of the tag is this session's builder
    return name


def registry_digest(image: str) -> str:
    done = subprocess.run(
        [tool("skopeo"), "inspect", "--tls-verify=false", f"docker://{image}"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return str(json.loads(done.stdout)["Digest"])


def engine() -> Runner:
    """The simulator's runner: the docker CLI against the test dockerd."""
    return docker_cli(require_service("PYPACK_TEST_DOCKER_HOST", "the test dockerd"))


def venv_diff_id(home: Path, image: str) -> str:
    """The diffID of the pypack/python venv layer of ``image`` in ``home``'s local store."""
    from pypack.oci.stores import LayoutImageStore
    from pypack.pack.home import Home
    from pypack.pack.images import local_name

    found = LayoutImageStore(Home(home).images).load(local_name(image))
    assert found is not None
    metadata = json.loads(found.label("io.buildpacks.lifecycle.metadata") or "{}")
    (python,) = [b for b in metadata["buildpacks"] if b["key"] == "pypack/python"]
    return str(python["layers"]["venv"]["sha"])
