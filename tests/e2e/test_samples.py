"""The sample app of the main job: tiny stack, sample builder, static site answering HTTP."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.conftest import http_answer, run_pypack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]


def test_sample_static_site_answers_http(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    home = Path(tempfile.mkdtemp(prefix="pypack-sample-", dir="/tmp"))
    home.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))

    def pypack(*args: str) -> str:
        return run_pypack(home, *args, timeout=300).stdout

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
    body = http_answer(home, "samples/site:1")
    assert b"Hello from an image pypack built without Docker" in body
