"""Python apps with the default builder: the bundled Debian stack, the SDK-written python and
procfile buildpacks, venv reuse across rebuilds, and the same buildpacks under ``--docker``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import http_answer, run_pypack, shared_home, venv_diff_id

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]


@dataclass
class Home:
    root: Path

    def pypack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_pypack(self.root, *args, check=check)

    def venv_diff_id(self, image: str) -> str:
        return venv_diff_id(self.root, image)


@pytest.fixture(scope="module")
def home() -> Iterator[Home]:
    """A pypack home whose mmdebstrap rootfs cache and lifecycle wheels outlive the test run."""
    with shared_home("pypack-python-") as root:
        yield Home(root)


@pytest.fixture(scope="module")
def wheels() -> Iterator[str]:
    """A find-links page on loopback with the sample's dependency, downloaded by the host's pip."""
    directory = Path(tempfile.mkdtemp(prefix="pypack-wheels-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "-d",
            str(directory),
            "humanize>=4",
        ],
        check=True,
        timeout=300,
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    shutil.rmtree(directory, ignore_errors=True)


def answer(home: Home, image: str) -> bytes:
    return http_answer(home.root, image)


def test_first_build_makes_the_default_builder_and_the_app_answers(home: Home) -> None:
    first = home.pypack("build", "apps/hello:1", "--path", str(REPO / "samples/python-hello"))
    assert "making the default builder pypack/builder:default" in first.stderr
    assert "Default builder ready after" in first.stderr
    assert answer(home, "apps/hello:1").startswith(b"Hello from pypack! Python 3.11")
    again = home.pypack("build", "apps/hello:2", "--path", str(REPO / "samples/python-hello"))
    assert "default builder" not in again.stderr
    (home.root / "default-builder.key").write_text("made-by-an-older-pypack\n")
    upgraded = home.pypack("build", "apps/hello:3", "--path", str(REPO / "samples/python-hello"))
    assert "The bundled buildpacks changed since the default builder was made" in upgraded.stderr
    assert answer(home, "apps/hello:3").startswith(b"Hello from pypack!")
    info = json.loads(home.pypack("inspect", "apps/hello:2", "--output", "json").stdout)
    assert [(p["type"], p["command"], p["args"]) for p in info["local_info"]["processes"]] == [
        ("web", "sh", ["-c", "exec python app.py"])
    ]


def test_source_change_reuses_the_venv_and_requirements_change_rebuilds_it(
    home: Home, wheels: str, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    shutil.copytree(REPO / "samples/python-deps", app)
    flags = ["--path", str(app), "--env", "PIP_NO_INDEX=1", "--env", f"PIP_FIND_LINKS={wheels}"]
    sbom_dir = tmp_path / "sbom-out"
    first = home.pypack("build", "apps/deps:1", *flags, "--sbom-output-dir", str(sbom_dir))
    assert "installing from requirements.txt with uv" in first.stdout
    sbom = json.loads((sbom_dir / "sbom/launch/pypack_python/venv/sbom.cdx.json").read_text())
    names = {c["name"]: c["purl"] for c in sbom["components"]}
    assert names["humanize"].startswith("pkg:pypi/humanize@4.")
    assert re.search(r"^\s+\+ humanize==4\.", first.stdout, re.MULTILINE)
    assert answer(home, "apps/deps:1").startswith(b"app.py is ")
    venv = home.venv_diff_id("apps/deps:1")

    with open(app / "app.py", "a") as source:
        source.write("# a source-only change\n")
    second = home.pypack("build", "apps/deps:1", *flags)
    assert "reusing the venv (requirements.txt unchanged)" in second.stdout
    # the buildpack shows every process it starts ("  $ uv ..."): none started
    assert "  $ " not in second.stdout
    assert home.venv_diff_id("apps/deps:1") == venv

    (app / "requirements.txt").write_text("humanize>=4.0\n")
    third = home.pypack("build", "apps/deps:1", *flags)
    assert "installing from requirements.txt with uv" in third.stdout
    assert answer(home, "apps/deps:1").startswith(b"app.py is ")


def test_procfile_sets_the_processes(home: Home, tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(REPO / "samples/python-hello", app)
    # `python`, not python3: Debian has no `python`, the buildpack puts one on PATH
    (app / "Procfile").write_text("web: python app.py\nworker: echo working\n")
    home.pypack("build", "apps/procfile:1", "--path", str(app))
    info = json.loads(home.pypack("inspect", "apps/procfile:1", "--output", "json").stdout)
    processes = {
        p["type"]: ([p["command"], *p["args"]], p["default"])
        for p in info["local_info"]["processes"]
    }
    assert processes == {
        "web": (["sh", "-c", "python app.py"], True),
        "worker": (["sh", "-c", "echo working"], False),
    }
    assert answer(home, "apps/procfile:1").startswith(b"Hello from pypack!")


def test_bad_procfile_fails_the_build_with_its_line(home: Home, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("web python3 app.py\n")
    failed = home.pypack("build", "apps/bad:1", "--path", str(app), check=False)
    assert failed.returncode != 0
    assert "Procfile line 1: 'web python3 app.py' is not 'type: command'" in failed.stdout
    assert "apps/bad:1" not in home.pypack("images").stdout


def test_sdk_buildpacks_run_unchanged_under_docker(home: Home, docker_client: object) -> None:
    from tests.e2e.conftest import docker

    home.pypack("build", "apps/hello:1", "--path", str(REPO / "samples/python-hello"))
    built = home.pypack(
        "build",
        "pypack-test/python-hello:1",
        "--docker",
        "--builder",
        "pypack/builder:default",
        "--path",
        str(REPO / "samples/python-hello"),
    )
    assert "[creator] ===> EXPORTING" in built.stdout
    name = f"pypack-python-hello-{os.getpid()}"
    docker("run", "-d", "--name", name, "--network", "none", "pypack-test/python-hello:1")
    fetch = (
        "import time, urllib.request\n"
        "for _ in range(100):\n"
        "    try:\n"
        "        print(urllib.request.urlopen('http://127.0.0.1:8080/').read().decode()); break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
    )
    try:
        ran = docker("exec", name, "python3", "-c", fetch)
    finally:
        docker("rm", "-f", name, check=False)
    assert ran.stdout.startswith("Hello from pypack! Python 3.11")


def test_debian_stack_images_carry_the_cnb_contract(home: Home) -> None:
    import tarfile

    from pypack.oci.stores import LayoutImageStore
    from pypack.pack.home import Home as PypackHome
    from pypack.pack.images import local_name

    home.pypack("build", "apps/hello:1", "--path", str(REPO / "samples/python-hello"))
    store = LayoutImageStore(PypackHome(home.root).images)
    build = store.load(local_name("pypack/stacks/debian-bookworm-build:latest"))
    run = store.load(local_name("pypack/stacks/debian-bookworm-run:latest"))
    assert build is not None
    assert run is not None
    assert (build.env("CNB_USER_ID"), build.env("CNB_GROUP_ID")) == ("1000", "1000")
    assert build.user == "1000:1000"
    assert run.user == "1001:1000"
    for image in (build, run):
        assert image.label("io.buildpacks.base.id") == "io.pypack.stacks.debian-bookworm"
        assert image.label("io.buildpacks.base.distro.name") == "debian"
        assert image.label("io.buildpacks.base.distro.version") == "12"
        assert image.platform.os == "linux"
    (base,) = run.diff_ids
    with run.layer(base).open_uncompressed() as stream, tarfile.open(fileobj=stream) as layer:
        names = set(layer.getnames())
        passwd = layer.extractfile("./etc/passwd")
        assert passwd is not None
        users = passwd.read().decode()
    assert "cnb-run:x:1001:1000:" in users
    assert "cnb:x:1000:1000:" in users
    assert "./usr/bin/python3" in names
    assert "./usr/bin/gcc" not in names  # the run image stays slim
    assert not any(name.startswith("./dev/") for name in names)


@pytest.mark.slow
def test_debian_stack_is_reproducible(tmp_path: Path) -> None:
    """Two mmdebstrap runs from the same package snapshot give the same image digests."""
    outputs = [
        [
            line
            for line in run_pypack(
                tmp_path, "stack", "build", "debian-bookworm", "--refresh", timeout=900
            ).stdout.splitlines()
            if line.startswith("Built ")
        ]
        for _ in range(2)
    ]
    assert len(outputs[0]) == 2
    assert "sha256:" in outputs[0][0]
    assert outputs[0] == outputs[1]


def test_a_scaffolded_buildpack_builds_an_app_with_pypack_build(home: Home, tmp_path: Path) -> None:
    buildpack = tmp_path / "greeter"
    home.pypack("buildpack", "new", "example/greeter", "--path", str(buildpack))
    app = tmp_path / "app"
    app.mkdir()
    (app / "hello.txt").write_text("hi from a scaffolded buildpack\n")
    built = home.pypack(
        "build", "apps/greeter:1", "--path", str(app), "--buildpack", str(buildpack)
    )
    assert "example/greeter 0.0.1" in built.stdout
    ran = home.pypack("run", "apps/greeter:1")
    assert ran.stdout.endswith("hi from a scaffolded buildpack\n")


KPACK_PLATFORM_APIS = ("0.9", "0.8", "0.7")
"""The Platform APIs kpack's build pods run at, highest first (kpack's build_pod.go)."""


def kpack_build_pod_config(image: object) -> dict[str, object]:
    """What kpack's pod generator reads off a builder image (buildpod/generator.go,
    fetchBuilderConfig and highestSupportedPlatformAPI), failing where kpack fails."""
    from pypack.oci.image import Image

    assert isinstance(image, Image)
    stack_id = image.label("io.buildpacks.stack.id")
    assert stack_id, "kpack: builder image stack ID label not present"
    metadata = json.loads(image.label("io.buildpacks.builder.metadata") or "{}")
    platform = metadata["lifecycle"]["apis"]["platform"]
    apis = [*platform.get("deprecated", []), *platform.get("supported", [])]
    chosen = next((api for api in KPACK_PLATFORM_APIS if api in apis), None)
    assert chosen, f"kpack: unsupported builder platform API versions: {apis}"
    env = dict(e.split("=", 1) for e in image.config.config.env or [])
    assert image.config.os == "linux"
    return {
        "stack": stack_id,
        "run_image": metadata["stack"]["runImage"]["image"],
        "platform_api": chosen,
        "ids": (int(env["CNB_USER_ID"]), int(env["CNB_GROUP_ID"])),
    }


def test_the_default_builder_and_its_stack_meet_kpacks_contract(home: Home) -> None:
    """kpack builds with pypack's stack images (ClusterStack: both carry the stack ID) and runs
    its pods at Platform API 0.9 on a builder like pypack's (deploy/kpack/pypack.yaml)."""
    from pypack.oci.stores import LayoutImageStore
    from pypack.pack.home import Home as PypackHome
    from pypack.pack.images import local_name

    home.pypack("build", "apps/kpack:1", "--path", str(REPO / "samples/python-hello"))
    store = LayoutImageStore(PypackHome(home.root).images)
    builder = store.load(local_name("pypack/builder:default"))
    assert kpack_build_pod_config(builder) == {
        "stack": "io.pypack.stacks.debian-bookworm",
        "run_image": "pypack/stacks/debian-bookworm-run:latest",
        "platform_api": "0.9",
        "ids": (1000, 1000),
    }
    for name in ("build", "run"):
        stack_image = store.load(local_name(f"pypack/stacks/debian-bookworm-{name}:latest"))
        assert stack_image is not None
        assert stack_image.label("io.buildpacks.stack.id") == "io.pypack.stacks.debian-bookworm"
    run = store.load(local_name("pypack/stacks/debian-bookworm-run:latest"))
    assert run is not None
    assert run.label("io.buildpacks.rebasable") == "true"
