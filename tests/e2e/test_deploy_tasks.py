"""``deploy/``'s Tekton Tasks and Shipwright strategy, run from their YAML by the step simulator
on the test dockerd, publish the fixture app to the test registry: the digest in the results is
the registry's (skopeo), and the image runs under docker."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import docker, engine, registry_digest
from tests.steps.simulator import load, run_task

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.e2e

DEPLOY = Path(__file__).parents[2] / "deploy"
GREETING = "hello from an app built by the pypack lifecycle"


@pytest.fixture
def source() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="pypack-source-", dir="/tmp"))
    root.chmod(0o755)
    (root / "hello.txt").write_text(GREETING)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def runs_and_greets(image: str) -> None:
    """The default process runs; the app is the image's working directory (the workspace's
    path in the Task, ``/workspace/source``, where the fixture's process does not look)."""
    docker("pull", image)
    ran = docker("run", "--rm", "--network", "none", image)
    assert ran.stdout.endswith("(served by /layers/e2e_hello/greeting/bin/hello)\n")
    app = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", image, "hello.txt")
    assert app.stdout == GREETING


@pytest.mark.parametrize("task", ["pypack-build.yaml", "pypack-build-phases.yaml"])
def test_tekton_task_publishes_and_reports_the_registry_digest(
    task: str, builder_in_registry: str, run_image: str, registry: str, source: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    app = f"{registry}/e2e/tekton-{task.split('.')[0]}:1"
    cache = tmp_path / "cache"
    cache.mkdir()
    params: dict[str, str | list[str]] = {
        "APP_IMAGE": app, "BUILDER_IMAGE": builder_in_registry, "RUN_IMAGE": run_image,
        "ENV_VARS": ["GREETING=hi", "EMPTY="], "INSECURE_REGISTRIES": registry,
    }  # fmt: skip
    run = run_task(load(DEPLOY / "tekton" / task), params, {"source": source, "cache": cache},
                   engine())  # fmt: skip
    assert run.succeeded, "\n".join(f"--- {s.name} ({s.code})\n{s.output}" for s in run.steps)
    assert "build-time variable GREETING" in run.steps[0].output
    assert run.results["APP_IMAGE_URL"] == app
    assert run.results["APP_IMAGE_DIGEST"] == registry_digest(app)
    assert any(cache.iterdir()), "the cache workspace holds the build cache"
    runs_and_greets(f"{app}@{run.results['APP_IMAGE_DIGEST']}")


def test_shipwright_strategy_publishes_and_reports_the_registry_digest(
    builder_in_registry: str, run_image: str, registry: str, source: Path
) -> None:
    app = f"{registry}/e2e/shipwright-app:1"
    params: dict[str, str | list[str]] = {
        "shp-output-image": app, "builder-image": builder_in_registry, "run-image": run_image,
        "insecure-registries": registry,
    }  # fmt: skip
    strategy = load(DEPLOY / "shipwright" / "pypack-strategy.yaml")
    run = run_task(strategy, params, {"source": source}, engine())
    assert run.succeeded, "\n".join(f"--- {s.name} ({s.code})\n{s.output}" for s in run.steps)
    assert run.results["shp-image-digest"] == registry_digest(app)
    runs_and_greets(f"{app}@{run.results['shp-image-digest']}")
