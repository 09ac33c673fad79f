"""The reference lifecycle's restorer acceptance cases (acceptance/restorer_test.go), translated.

The reference runs the restorer in a container as its CNB user, on a ``/layers`` holding a
group.toml (three buildpacks and an image extension), an analyzed.toml with the previous image's
layer metadata, two analyzed.toml variants naming the run image (to be extended or not), a
``/cache`` volume with committed layer tars, an empty ``/kaniko`` and a ``/docker-config``
with the registry's credentials. Here the same files are written into the workspace (the cache
tars made with ``pypack.oci.layers`` for the workspace's own layers path) and the restorer runs
as the CNB user 1000:1000. The reference's fixed ``/kaniko`` is the workspace's ``kaniko``
directory, named by ``PYPACK_KANIKO_DIR``. Every case runs once per supported Platform API, as
the reference's do; cases the reference skips below some API are parametrized over the APIs it
runs them at.

Not translated: none (12 of 12 cases translated).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.spec.api import ApiVersion
from tests.conformance.acceptance.phase_images import (
    APP_METADATA,
    PLATFORM_APIS,
    RegistryFixtures,
    apis_from,
    reg_fixtures,
)
from tests.conformance.harness import CNB_GID, CNB_UID, Result, Workspace

__all__ = ["reg_fixtures"]

pytestmark = pytest.mark.integration

EMPTY_IMAGE_SHA = "03cbce912ef1a8a658f73c660ab9c539d67188622f00b15c4f15b89b884f0e10"
"""The digest the reference must not record for the run image (that of an empty image)."""

GROUP_TOML = """\
[[group]]
id = "some-buildpack-id"
version = "some-buildpack-version"
api = "0.10"

[[group]]
id = "cacher_buildpack"
version = "cacher_v1"
api = "0.10"

[[group]]
id = "corrupted_buildpack"
version = "corrupted_v1"
api = "0.11"

[[group-extensions]]
id = "some-extension-id"
version = "v1"
api = "0.10"
"""


def _cache_tar(ws: Workspace, buildpack: str, layer: str, content: bytes) -> str:
    """A committed cache tar holding ``<layers>/<buildpack>/<layer>/data``; its digest."""
    committed = ws.root / "cache" / "committed"
    committed.mkdir(parents=True, exist_ok=True)
    staging = committed / "new.tar"
    name = f"{str(ws.layers).lstrip('/')}/{buildpack}/{layer}"

    def fill(writer: LayerWriter) -> None:
        writer.add_parents(f"{name}/data", uid=CNB_UID, gid=CNB_GID)
        writer.add_dir(name, uid=CNB_UID, gid=CNB_GID)
        writer.add_bytes(f"{name}/data", content, uid=CNB_UID, gid=CNB_GID)

    write_layer_file(staging, fill)
    digest = "sha256:" + hashlib.sha256(staging.read_bytes()).hexdigest()
    staging.rename(committed / f"{digest}.tar")
    return digest


def container(ws: Workspace, fixtures: RegistryFixtures | None = None) -> None:
    """The restorer test image's files, owned by the CNB user."""
    (ws.layers / "group.toml").write_text(GROUP_TOML)
    analyzed = {"image": {"reference": "some-previous-image-ref"}, "metadata": APP_METADATA}
    (ws.layers / "analyzed.toml").write_text(tomli_w.dumps(analyzed))
    if fixtures is not None:
        run = fixtures.read_only_run
        for name, extend in (("some-extend-false", False), ("some-extend-true", True)):
            run_image: dict[str, Any] = {"reference": run, "image": run}
            if extend:
                run_image["extend"] = True
            (ws.layers / f"{name}-analyzed.toml").write_text(
                tomli_w.dumps({"run-image": run_image})
            )
        config = ws.root / "docker-config"
        fixtures.registry.write_docker_config(config)
    cached = _cache_tar(ws, "cacher_buildpack", "cached-layer", b"cached-data\n")
    unused = _cache_tar(ws, "unused_buildpack", "cached-layer", b"unused-data\n")
    cacher = ws.layers / "cacher_buildpack"
    cacher.mkdir()
    (cacher / "cached-layer.sha").write_text(cached)
    (cacher / "cached-layer.toml").write_text(
        "[types]\nbuild = false\nlaunch = false\ncache = true\n"
    )
    layer = {"data": None, "build": False, "launch": False, "cache": True}
    metadata = {
        "buildpacks": [
            {
                "key": "cacher_buildpack",
                "version": "cacher_v1",
                "layers": {"cached-layer": {"sha": cached, **layer}},
            },
            {
                "key": "corrupted_buildpack",
                "version": "corrupted_v1",
                "layers": {
                    # a tar the cache does not have
                    "corrupted-layer": {"sha": "sha256:" + "b5" * 32, **layer}
                },
            },
            {
                "key": "unused_buildpack",
                "version": "v1",
                "layers": {"cached-layer": {"sha": unused, **layer}},
            },
        ]
    }
    committed = ws.root / "cache" / "committed"
    (committed / "io.buildpacks.lifecycle.cache.metadata").write_text(json.dumps(metadata))
    kaniko = ws.root / "kaniko"
    kaniko.mkdir()
    (kaniko / ".gitkeep").write_text("")
    for top in (ws.layers, ws.root / "cache", kaniko):
        for path in (top, *top.rglob("*")):
            os.chown(path, CNB_UID, CNB_GID)


def restore(
    ws: Workspace,
    api: str,
    *args: str,
    env: dict[str, str] | None = None,
    as_root: bool = False,
) -> Result:
    """The restorer as the CNB user (``as_root``: started as root, the restorer becoming the
    CNB user itself)."""
    environment = {
        "CNB_PLATFORM_API": api,
        "CNB_USER_ID": str(CNB_UID),
        "CNB_GROUP_ID": str(CNB_GID),
        "PYPACK_KANIKO_DIR": str(ws.root / "kaniko"),
        **(env or {}),
    }
    return ws.run("restorer", *args, env=environment, as_root=as_root)


def succeeded(result: Result) -> Result:
    assert result.code == 0, result.text
    return result


def registry_env(ws: Workspace, **extra: str) -> dict[str, str]:
    """``DOCKER_CONFIG`` naming the credentials of the fixtures' registry."""
    return {"DOCKER_CONFIG": str(ws.root / "docker-config"), **extra}


def daemon_env() -> dict[str, str]:
    """The docker socket "mount": the test dockerd's address."""
    return {"DOCKER_HOST": os.environ["PYPACK_TEST_DOCKER_HOST"]}


def read_analyzed(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def kaniko_base(ws: Workspace) -> list[Path]:
    return sorted((ws.root / "kaniko" / "cache" / "base").iterdir())


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_arguments_error(ws: Workspace, api: str) -> None:
    # acceptance/restorer_test.go:69 "called with arguments: errors"
    container(ws)
    result = restore(ws, api, "some-arg")
    assert result.code != 0
    assert "failed to parse arguments: received unexpected Args" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_no_cache_flag(ws: Workspace, api: str) -> None:
    # acceptance/restorer_test.go:79 "called without any cache flag: outputs it will not
    # restore cache layer data"
    container(ws)
    result = succeeded(restore(ws, api))
    assert "No cached data will be used, no cache specified" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_restores_app_metadata(ws: Workspace, api: str) -> None:
    # acceptance/restorer_test.go:89 "analyzed.toml exists with app metadata: restores app
    # metadata"
    container(ws)
    result = succeeded(restore(ws, api, env=daemon_env()))
    assert 'Restoring metadata for "some-buildpack-id:launch-layer"' in result.text


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_insecure_registry_is_asked_over_http(ws: Workspace, api: str) -> None:
    # acceptance/restorer_test.go:109 "restores app metadata using an insecure registry: does
    # an http request"
    container(ws)
    insecure = "host.docker.internal"
    result = restore(
        ws,
        api,
        env={
            **daemon_env(),
            "CNB_INSECURE_REGISTRIES": insecure,
            "CNB_BUILD_IMAGE": f"{insecure}/bar",
        },
    )
    assert result.code != 0
    assert f"http://{insecure}" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
@pytest.mark.parametrize(
    "case",
    [
        # acceptance/restorer_test.go:129 "there is cache present from a previous build:
        # restores cached layer data"
        "restores cached layer data",
        # acceptance/restorer_test.go:149 "does not restore cache=true layers not in cache"
        "does not restore cache=true layers not in cache",
        # acceptance/restorer_test.go:164 "does not restore layer data from unused buildpacks"
        "does not restore layer data from unused buildpacks",
        # acceptance/restorer_test.go:179 "does not restore corrupted layer data"
        "does not restore corrupted layer data",
    ],
)
def test_cache_dir(ws: Workspace, api: str, case: str) -> None:
    container(ws)
    succeeded(restore(ws, api, "-cache-dir", str(ws.root / "cache")))
    if case == "restores cached layer data":
        cached = ws.layers / "cacher_buildpack" / "cached-layer" / "data"
        assert cached.is_file()
        assert cached.read_text() == "cached-data\n"
    elif case == "does not restore cache=true layers not in cache":
        assert not (ws.layers / "cacher_buildpack" / "uncached-layer").exists()
    elif case == "does not restore layer data from unused buildpacks":
        assert not (ws.layers / "unused_buildpack").exists()
    else:
        assert not (ws.layers / "corrupted_buildpack" / "corrupted-layer").exists()


@pytest.mark.parametrize("api", apis_from("0.10"))
def test_build_image_metadata_for_extensions(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/restorer_test.go:197 "restoring builder image metadata for extensions: accepts
    # -build-image and saves the metadata to /kaniko/cache"
    container(ws, reg_fixtures)
    succeeded(restore(ws, api, "-build-image", reg_fixtures.some_cache, env=registry_env(ws)))
    # records builder image digest in analyzed.toml
    analyzed = read_analyzed(ws.layers / "analyzed.toml")
    reference = analyzed["build-image"]["reference"]
    assert f"{reg_fixtures.some_cache}@sha256:" in reference
    # writes builder manifest and config to the kaniko cache
    digest = reference.rsplit("@", 1)[1]
    assert len(kaniko_base(ws)) == 1
    assert (ws.root / "kaniko" / "cache" / "base" / digest / "oci-layout").is_file()


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_run_image_metadata_for_extensions(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/restorer_test.go:226 "restoring run image metadata for extensions: saves
    # metadata to /kaniko/cache"
    container(ws, reg_fixtures)
    path = ws.layers / "some-extend-true-analyzed.toml"
    succeeded(restore(ws, api, "-analyzed", str(path), "-log-level", "debug", env=registry_env(ws)))
    run = read_analyzed(path)["run-image"]
    # updates run image reference in analyzed.toml to include digest and target data
    assert f"{reg_fixtures.read_only_run}@sha256:" in run["reference"]
    assert run["image"] == reg_fixtures.read_only_run
    assert run["target"]["os"] == "linux"
    # does not return the digest for an empty image
    assert f"{reg_fixtures.read_only_run}@sha256:{EMPTY_IMAGE_SHA}" not in run["reference"]
    # writes run image manifest and config to the kaniko cache
    digest = run["reference"].rsplit("@", 1)[1]
    assert len(kaniko_base(ws)) == 1
    assert (ws.root / "kaniko" / "cache" / "base" / digest / "oci-layout").is_file()


@pytest.mark.parametrize("api", apis_from("0.10"))
def test_target_data(ws: Workspace, api: str, reg_fixtures: RegistryFixtures) -> None:
    # acceptance/restorer_test.go:262 "target data: updates run image reference in
    # analyzed.toml to include digest and target data on newer platforms"
    container(ws, reg_fixtures)
    path = ws.layers / "some-extend-false-analyzed.toml"
    succeeded(restore(ws, api, "-analyzed", str(path), "-log-level", "debug", env=registry_env(ws)))
    run = read_analyzed(path)["run-image"]
    assert f"{reg_fixtures.read_only_run}@sha256:" in run["reference"]
    assert run["image"] == reg_fixtures.read_only_run
    assert f"{reg_fixtures.read_only_run}@sha256:{EMPTY_IMAGE_SHA}" not in run["reference"]
    if ApiVersion.parse(api).at_least("0.12"):
        assert run["target"]["os"] == "linux"
        # does not write run image manifest and config to the kaniko cache
        assert [p.name for p in (ws.root / "kaniko").iterdir()] == [".gitkeep"]
    else:  # digest only
        assert "target" not in run


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_target_data_daemon(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures, docker_client: Any
) -> None:
    # acceptance/restorer_test.go:305 "target data, -daemon: updates run image reference in
    # analyzed.toml to include digest and target data on newer platforms"
    from pypack.oci.daemon import DaemonImageStore

    # the reference builds its registry fixtures in the daemon before pushing them
    DaemonImageStore(docker_client).save(reg_fixtures.run_image, [reg_fixtures.read_only_run])
    container(ws, reg_fixtures)
    path = ws.layers / "some-extend-false-analyzed.toml"
    try:
        succeeded(
            restore(
                ws,
                api,
                *("-analyzed", str(path), "-daemon", "-log-level", "debug"),
                env=registry_env(ws, **daemon_env()),
                # the reference's CNB user can use the mounted socket; here only root can, and
                # the restorer keeps the socket's group when it becomes the CNB user
                as_root=True,
            )
        )
    finally:
        docker_client.images.remove(reg_fixtures.read_only_run)
    run = read_analyzed(path)["run-image"]
    assert "@sha256:" not in run["reference"]  # the daemon's image ID
    assert run["image"] == reg_fixtures.read_only_run
    assert run["target"]["os"] == "linux"
    # does not write run image manifest and config to the kaniko cache
    assert [p.name for p in (ws.root / "kaniko").iterdir()] == [".gitkeep"]
