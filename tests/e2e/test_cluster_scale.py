"""Builds as a cluster runs them, measured: several builds of different apps at once through
the ``pypack-build`` Task (the step simulator) against one registry with a shared cache image,
against the same builds one after another; and a second, empty "node" (a fresh pypack home)
reusing the first node's layers through ``--cache-image`` and the registry.

The figures are printed (``-s`` shows them); the assertions are about behaviour: every build
succeeds with the registry's digest, and the second node installs nothing and uploads a small
part of what the first did. The default runs two builds at once; ``PYPACK_SLOW=1`` four.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import engine, registry_digest, run_pypack, shared_home
from tests.integration.registries import registry_process
from tests.steps.simulator import TaskRun, load, run_task

pytestmark = pytest.mark.e2e

TASK = Path(__file__).parents[2] / "deploy" / "tekton" / "pypack-build.yaml"
SAMPLE = Path(__file__).parents[2] / "samples" / "python-requirements"
GREETING = "hello from an app built by the pypack lifecycle"


@dataclass
class Registry:
    """A registry of the test's own (an empty store: every blob in it was uploaded here)."""

    address: str
    data: Path

    def blobs(self) -> dict[str, int]:
        """Digest → size of every blob it stores."""
        root = self.data / "docker/registry/v2/blobs/sha256"
        return {data.parent.name: data.stat().st_size for data in root.glob("*/*/data")}

    def uploaded_since(self, before: dict[str, int]) -> int:
        return sum(size for digest, size in self.blobs().items() if digest not in before)


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[Registry]:
    with registry_process(tmp_path / "registry") as address:
        yield Registry(address, tmp_path / "registry" / "data")


@pytest.fixture
def sources() -> Iterator[list[Path]]:
    count = 4 if os.environ.get("PYPACK_SLOW") else 2
    roots = []
    for index in range(count):
        root = Path(tempfile.mkdtemp(prefix=f"pypack-app{index}-", dir="/tmp"))
        root.chmod(0o755)
        (root / "hello.txt").write_text(f"{GREETING} #{index}")
        roots.append(root)
    yield roots
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


def build(app: str, source: Path, builder: str, run_image: str, cache_image: str) -> TaskRun:
    params: dict[str, str | list[str]] = {
        "APP_IMAGE": app, "BUILDER_IMAGE": builder, "RUN_IMAGE": run_image,
        "CACHE_IMAGE": cache_image,
        "INSECURE_REGISTRIES": f"{app.split('/')[0]},{run_image.split('/')[0]}",
    }  # fmt: skip
    return run_task(load(TASK), params, {"source": source}, engine(), name=app.split("/")[-1])


def test_builds_at_once_share_one_registry_and_cache_image(
    builder_in_registry: str, run_image: str, registry: str, sources: list[Path],
    own_registry: Registry,
) -> None:  # fmt: skip
    timings = {}
    for mode in ("one-by-one", "at-once"):
        cache = f"{own_registry.address}/e2e/scale-cache:{mode}"
        apps = [f"{own_registry.address}/e2e/scale-{mode}-{i}:1" for i in range(len(sources))]
        for index, source in enumerate(sources):  # new apps: nothing of theirs is there yet
            (source / "hello.txt").write_text(f"{GREETING} #{index} ({mode})")
        before = own_registry.blobs()
        started = time.monotonic()
        jobs = [
            (a, s, builder_in_registry, run_image, cache)
            for a, s in zip(apps, sources, strict=True)
        ]
        if mode == "one-by-one":
            runs = [build(*job) for job in jobs]
        else:
            with ThreadPoolExecutor(len(jobs)) as pool:
                runs = list(pool.map(lambda job: build(*job), jobs))
        timings[mode] = time.monotonic() - started
        for app, run in zip(apps, runs, strict=True):
            assert run.succeeded, [s.output for s in run.steps]
            assert run.results["APP_IMAGE_DIGEST"] == registry_digest(app)
        print(f"\n{len(jobs)} builds {mode}: {timings[mode]:.1f} s, "
              f"{own_registry.uploaded_since(before) / len(jobs) / 1e3:.1f} kB uploaded per "
              "build")  # fmt: skip
    print(f"at once / one by one: {timings['at-once'] / timings['one-by-one']:.2f}")


def test_a_second_node_reuses_the_first_nodes_layers_through_the_cache_image(
    own_registry: Registry, tmp_path: Path
) -> None:
    registry = own_registry.address
    app = tmp_path / "app"
    shutil.copytree(SAMPLE, app)
    image, cache = f"{registry}/e2e/node-app:1", f"{registry}/e2e/node-cache:1"
    flags = ["--path", str(app), "--publish", "--cache-image", cache, "--host-ca-certs",
             "--insecure-registry", registry]  # fmt: skip
    figures = {}
    for node in ("first", "second"):
        with shared_home(f"pypack-node-{node}-") as home:
            # the node has the builder already (as a cluster node has it pulled)
            run_pypack(home, "build", "warm/up:1", "--path", str(SAMPLE.parent / "python-hello"))
            if node == "second":
                (app / "app.py").write_text((app / "app.py").read_text() + "# changed\n")
            before = own_registry.blobs()
            started = time.monotonic()
            built = run_pypack(home, "build", image, *flags)
            figures[node] = (time.monotonic() - started, own_registry.uploaded_since(before))
            print(f"\n{node} node: {figures[node][0]:.1f} s, {figures[node][1] / 1e6:.2f} MB "
                  "uploaded")  # fmt: skip
            if node == "second":
                assert "reusing the venv (requirements.txt unchanged)" in built.stdout
                assert "  $ " not in built.stdout  # no installer process on the empty node
    assert figures["second"][1] * 20 < figures["first"][1]
