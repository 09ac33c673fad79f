"""The pypack lifecycle inside a builder container, driven the way Tekton's tasks drive it.

``/cnb/lifecycle/creator`` with the ``buildpacks`` task's argv publishes to the local registry;
``docker run`` of the result prints the fixture's output; a second run uploads no blob and gives
the same digest; the five phases with the ``buildpacks-phases`` argv give the same image.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.stores import RegistryImageStore
from tests.e2e.conftest import (
    CNB_ID,
    PLATFORM_API,
    TEKTON_CREATOR_API,
    creator_args,
    docker,
    lifecycle,
    report_digest,
)

if TYPE_CHECKING:
    from docker import DockerClient

pytestmark = pytest.mark.e2e


def fresh_layers(volumes: dict[str, Path]) -> None:
    for child in volumes["layers"].iterdir():
        docker_safe_remove(child)


def docker_safe_remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def blob_uploads(log: Path, offset: int) -> list[str]:
    with open(log, encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        lines = handle.readlines()
    # the analyzer's write-access check opens and cancels an upload (POST, DELETE): no bytes
    return [line for line in lines if re.search(r'"(PUT|PATCH) /v2/[^ ]*/blobs/uploads/', line)]


@pytest.mark.parametrize("api", [TEKTON_CREATOR_API, PLATFORM_API])
def test_creator_with_tekton_argv(
    builder_image: str, volumes: dict[str, Path], registry: str, run_image: str, api: str
) -> None:
    app = f"{registry}/e2e/app-{api}:1"
    output = lifecycle(builder_image, volumes, "creator", *creator_args(app, run_image), api=api)
    for banner in (
        "===> ANALYZING",
        "===> DETECTING",
        "===> RESTORING",
        "===> BUILDING",
        "===> EXPORTING",
    ):
        assert banner in output
    assert "Did not find SBOM" not in output, "the builder's lifecycle carries its SBOMs"
    first = report_digest(volumes)
    docker("pull", app)
    ran = docker("run", "--rm", "--network", "none", app)
    served_by = "/layers/e2e_hello/greeting/bin/hello"
    assert (
        ran.stdout == f"hello from an app built by the pypack lifecycle (served by {served_by})\n"
    )
    assert (volumes["cache"] / "committed" / "io.buildpacks.lifecycle.cache.metadata").is_file()

    log = Path(os.environ["PYPACK_RUN"]) / "registry.log"
    offset = log.stat().st_size
    fresh_layers(volumes)  # Tekton gives every run an empty /layers; the cache volume stays
    output = lifecycle(builder_image, volumes, "creator", *creator_args(app, run_image), api=api)
    assert report_digest(volumes) == first
    assert blob_uploads(log, offset) == []
    pulled = RegistryImageStore().load(app)
    assert pulled is not None
    assert pulled.env("CNB_PLATFORM_API") == api


def test_creator_0_9_run_image_from_stack_toml(
    builder_image: str, volumes: dict[str, Path], registry: str, run_image: str, tmp_path: Path
) -> None:
    """Tekton's default ``RUN_IMAGE`` is empty: at 0.9 the builder's ``/cnb/stack.toml`` names
    the run image, and the app image's ``stack`` metadata records it with its mirrors."""
    stack = tmp_path / "stack.toml"
    stack.write_text(f'[run-image]\nimage = "{run_image}"\nmirrors = ["mirror.invalid/run:1"]\n')
    stack.chmod(0o644)
    app = f"{registry}/e2e/app-stack:1"
    lifecycle(
        builder_image,
        volumes,
        "creator",
        *creator_args(app, ""),
        api=TEKTON_CREATOR_API,
        extra_mounts={stack: "/cnb/stack.toml"},
    )
    pulled = RegistryImageStore().load(app)
    assert pulled is not None
    label = json.loads(pulled.label("io.buildpacks.lifecycle.metadata") or "{}")
    assert label["stack"]["runImage"] == {"image": run_image, "mirrors": ["mirror.invalid/run:1"]}
    assert label["runImage"]["reference"].startswith(run_image.rsplit(":", 1)[0] + "@sha256:")


def test_five_phases_match_creator(
    builder_image: str,
    volumes: dict[str, Path],
    registry: str,
    run_image: str,
    tmp_path: Path,
    docker_client: DockerClient,
) -> None:
    by_creator = f"{registry}/e2e/by-creator:1"
    lifecycle(builder_image, volumes, "creator", *creator_args(by_creator, run_image))
    creator_digest = report_digest(volumes)
    fresh_layers(volumes)
    for child in volumes["cache"].iterdir():
        docker_safe_remove(child)
    app = f"{registry}/e2e/by-phases:1"
    from pypack.oci.daemon import DaemonImageStore

    # the task passes the builder as -build-image; the restorer reads it from its registry
    builder_in_registry = f"{registry}/e2e/builder:1"
    builder = DaemonImageStore(docker_client).load(builder_image)
    assert builder is not None
    RegistryImageStore().save(builder, [builder_in_registry])
    common = ["-log-level=info"]
    ids = [f"-uid={CNB_ID}", f"-gid={CNB_ID}"]
    lifecycle(
        builder_image,
        volumes,
        "analyzer",
        *common,
        "-layers=/layers",
        f"-run-image={run_image}",
        "-cache-image=",
        *ids,
        "-insecure-registry=",
        "-tag=",
        "-skip-layers=false",
        app,
    )
    lifecycle(
        builder_image,
        volumes,
        "detector",
        *common,
        "-app=/workspace",
        "-group=/layers/group.toml",
        "-plan=/layers/plan.toml",
        "-layers=/layers",
        "-platform=/platform",
    )
    lifecycle(
        builder_image,
        volumes,
        "restorer",
        *common,
        f"-build-image={builder_in_registry}",
        "-group=/layers/group.toml",
        "-layers=",
        "-cache-dir=/cache",
        "-cache-image=",
        *ids,
        "-insecure-registry=",
        "-skip-layers=false",
    )
    build_image = tomllib.loads((volumes["layers"] / "analyzed.toml").read_text())["build-image"]
    assert build_image["reference"].startswith(f"{registry}/e2e/builder@sha256:")
    lifecycle(
        builder_image,
        volumes,
        "builder",
        *common,
        "-app=/workspace",
        "-layers=/layers",
        "-group=/layers/group.toml",
        "-plan=/layers/plan.toml",
        "-platform=/platform",
    )
    lifecycle(
        builder_image,
        volumes,
        "exporter",
        *common,
        "-app=/workspace",
        "-layers=/layers",
        "-group=/layers/group.toml",
        "-cache-dir=/cache",
        "-cache-image=",
        "-report=/layers/report.toml",
        "-process-type=web",
        *ids,
        "-insecure-registry=",
        app,
    )
    assert report_digest(volumes) == creator_digest
