"""``deploy/``'s Tekton Tasks and Shipwright strategy, run from their YAML by the step simulator
on the test dockerd, publish the fixture app to the test registry: the digest in the results is
the registry's (skopeo), and the image runs under docker."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.stores import RegistryImageStore
from tests.conftest import require_service, tool
from tests.e2e.conftest import docker
from tests.steps.simulator import Runner, docker_cli, load, run_task

if TYPE_CHECKING:
    from docker import DockerClient

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


@pytest.fixture
def builder_in_registry(builder_image: str, registry: str, docker_client: DockerClient) -> str:
    """The fixture builder pushed to the test registry (the restorer reads it from there)."""
    from pypack.oci.daemon import DaemonImageStore

    builder = DaemonImageStore(docker_client).load(builder_image)
    assert builder is not None
    name = f"{registry}/e2e/deploy-builder:1"
    RegistryImageStore().save(builder, [name])
    return name


def registry_digest(image: str) -> str:
    done = subprocess.run(
        [tool("skopeo"), "inspect", "--tls-verify=false", f"docker://{image}"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return str(json.loads(done.stdout)["Digest"])


def runs_and_greets(image: str) -> None:
    """The default process runs; the app is the image's working directory (the workspace's
    path in the Task, ``/workspace/source``, where the fixture's process does not look)."""
    docker("pull", image)
    ran = docker("run", "--rm", "--network", "none", image)
    assert ran.stdout.endswith("(served by /layers/e2e_hello/greeting/bin/hello)\n")
    app = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", image, "hello.txt")
    assert app.stdout == GREETING


def engine() -> Runner:
    """The simulator's runner: the docker CLI against the test dockerd."""
    return docker_cli(require_service("PYPACK_TEST_DOCKER_HOST", "the test dockerd"))


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
