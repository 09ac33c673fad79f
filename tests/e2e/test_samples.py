"""The sample app of the main job: tiny stack, sample builder, static site answering HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
PYPACK = str(Path(sys.executable).parent / "pypack")


def test_sample_static_site_answers_http(tmp_path: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="pypack-sample-", dir="/tmp"))
    home.chmod(0o755)
    env = {**os.environ, "PYPACK_HOME": str(home)}

    def pypack(*args: str) -> str:
        done = subprocess.run(
            [PYPACK, *args], capture_output=True, text=True, env=env, check=False, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    first = pypack("stack", "build", "tiny")
    assert pypack("stack", "build", "tiny") == first  # reproducible: the same digests
    store = LayoutImageStore(Home(home).images)
    build = store.load(local_name("pypack/stacks/tiny-build:latest"))
    run = store.load(local_name("pypack/stacks/tiny-run:latest"))
    assert build is not None
    assert run is not None
    assert (build.env("CNB_USER_ID"), build.env("CNB_GROUP_ID")) == ("1000", "1000")
    assert build.label("io.buildpacks.base.id") == "io.pypack.stacks.tiny"
    assert run.label("io.buildpacks.rebasable") == "true"
    assert run.user == "1001:1000"
    pypack(
        "builder",
        "create",
        "samples/builder:1",
        "--config",
        str(REPO / "samples/builders/tiny/builder.toml"),
    )
    pypack(
        "build",
        "samples/site:1",
        "--builder",
        "samples/builder:1",
        "--path",
        str(REPO / "samples/static-site"),
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([PYPACK, "run", "samples/site:1", "--env", f"PORT={port}"], env=env)
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    body = answer.read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"Hello from an image pypack built without Docker" in body
    finally:
        server.terminate()
        server.wait(10)
