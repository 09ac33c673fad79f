"""The reference lifecycle's analyzer acceptance cases (acceptance/analyzer_test.go), translated.

The reference runs the analyzer in a container as root, with ``CNB_USER_ID=2222`` and
``CNB_GROUP_ID=3333``, ``/layers`` (holding a ``group.toml``) and ``/some-dir`` owned by that
user, and a ``/cnb/run.toml`` naming two run images no one can reach. Here the same analyzer runs
as root on a workspace laid out the same way; the fixture images live in the test registry,
behind a proxy with the reference registry's authentication and per-repository access
(``phase_images.AccessRegistry``), or in the test dockerd. Every case runs once per supported
Platform API, as the reference's do; cases the reference skips below some API are parametrized
over the APIs it runs them at.

Not translated: none (18 of 18 cases translated).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pypack.oci.image import Image
from pypack.oci.layout import LayoutStore
from pypack.oci.stores import LayoutImageStore
from tests.conformance.acceptance.phase_images import (
    PLATFORM_APIS,
    DaemonFixtures,
    RegistryFixtures,
    apis_from,
    daemon_fixtures,
    labelled,
    reg_fixtures,
)
from tests.conformance.harness import Result, Workspace

__all__ = ["daemon_fixtures", "reg_fixtures"]

pytestmark = pytest.mark.integration

USER, GROUP = 2222, 3333


def container(ws: Workspace) -> None:
    """The analyzer test image's files: ``/layers/group.toml``, ``/cnb/run.toml`` and
    ``/some-dir``, the layers directory and some-dir given to the CNB user."""
    (ws.layers / "group.toml").write_text(
        '[[group]]\nid = "some-buildpack-id"\nversion = "some-buildpack-version"\napi = "0.10"\n'
    )
    (ws.root / "cnb").mkdir(exist_ok=True)
    (ws.root / "cnb" / "run.toml").write_text(
        '[[images]]\nimage = "some-run-image-from-run-toml"\n\n'
        '[[images]]\nimage = "some-other-run-image"\n'
    )
    some_dir = ws.root / "some-dir"
    some_dir.mkdir()
    for path in (some_dir, ws.layers, *ws.layers.rglob("*")):
        os.chown(path, USER, GROUP)


def analyze(ws: Workspace, api: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """The analyzer as root, the container's CNB user being 2222:3333."""
    container(ws)
    environment = {
        "CNB_PLATFORM_API": api,
        "CNB_USER_ID": str(USER),
        "CNB_GROUP_ID": str(GROUP),
        **(env or {}),
    }
    return ws.run("analyzer", *args, env=environment, as_root=True)


def with_auth(fixtures: RegistryFixtures, **extra: str) -> dict[str, str]:
    """The environment of a registry case: the registry's credentials in CNB_REGISTRY_AUTH."""
    return {"CNB_REGISTRY_AUTH": fixtures.auth_config, **extra}


def daemon_env() -> dict[str, str]:
    """The docker socket "mount": the test dockerd's address."""
    return {"DOCKER_HOST": os.environ["PYPACK_TEST_DOCKER_HOST"]}


def analyzed_metadata(path: Path) -> dict[str, Any]:
    """analyzed.toml, asserted to exist, be non-empty and parse (assertAnalyzedMetadata)."""
    text = path.read_text()
    assert len(text) > 0
    return tomllib.loads(text)


def succeeded(result: Result) -> Result:
    assert result.code == 0, result.text
    return result


def owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def test_no_platform_api_errors(ws: Workspace) -> None:
    # acceptance/analyzer_test.go:71 "CNB_PLATFORM_API not provided: errors" (the reference
    # runs it once per API, always with a blank CNB_PLATFORM_API: here once)
    result = analyze(ws, " ", "some-image")
    assert result.code != 0
    assert "please set 'CNB_PLATFORM_API'" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_without_an_app_image_errors(ws: Workspace, api: str) -> None:
    # acceptance/analyzer_test.go:88 "called without an app image: errors"
    result = analyze(ws, api)
    assert result.code != 0
    assert "failed to parse arguments: received 0 arguments, but expected 1" in result.text


@pytest.mark.parametrize("api", apis_from("0.9"))
def test_skip_layers_does_not_restore_previous_sbom(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures, daemon_fixtures: DaemonFixtures
) -> None:
    # acceptance/analyzer_test.go:104 "writes analyzed.toml and does not restore previous
    # image SBOM"
    result = succeeded(
        analyze(
            ws,
            api,
            *("-daemon", "-run-image", reg_fixtures.read_only_run, "-skip-layers"),
            daemon_fixtures.app,
            env=daemon_env(),
        )
    )
    analyzed_metadata(ws.layers / "analyzed.toml")
    assert "Restoring data for SBOM from previous image" not in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_unwritable_layers_directory_is_chowned(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/analyzer_test.go:129 "the provided layers directory isn't writeable:
    # recursively chowns the directory"
    container(ws)
    for path in (ws.layers, *ws.layers.rglob("*")):
        os.chown(path, 9999, 9999)
        path.chmod(0o775)
    result = ws.run(
        "analyzer",
        *("-run-image", reg_fixtures.read_only_run),
        reg_fixtures.some_app,
        env=with_auth(
            reg_fixtures,
            CNB_PLATFORM_API=api,
            CNB_USER_ID=str(USER),
            CNB_GROUP_ID=str(GROUP),
        ),
        as_root=True,
    )
    assert result.code == 0, result.text  # the reference ignores the code (`...; ls -al`)
    assert owner(ws.layers) == (USER, GROUP)
    assert owner(ws.layers / "group.toml") == (USER, GROUP)


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_uses_the_analyzed_path_given(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/analyzer_test.go:153 "called with analyzed: uses the provided analyzed.toml
    # path"
    target = ws.root / "some-dir" / "some-analyzed.toml"
    succeeded(
        analyze(
            ws,
            api,
            *("-analyzed", str(target), "-run-image", reg_fixtures.read_only_run),
            reg_fixtures.some_app,
            env=with_auth(reg_fixtures),
        )
    )
    analyzed_metadata(target)


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_uses_the_run_toml_given(ws: Workspace, api: str, reg_fixtures: RegistryFixtures) -> None:
    # acceptance/analyzer_test.go:181 "called with run: uses the provided run.toml path"
    result = analyze(
        ws,
        api,
        *("-run", str(ws.root / "cnb" / "run.toml")),
        reg_fixtures.some_app,
        env=with_auth(reg_fixtures),
    )
    assert result.code != 0
    assert "failed to find accessible run image" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_drops_privileges(ws: Workspace, api: str, reg_fixtures: RegistryFixtures) -> None:
    # acceptance/analyzer_test.go:201 "drops privileges"
    target = ws.root / "some-dir" / "some-analyzed.toml"
    analyze(
        ws,
        api,
        *("-analyzed", str(target), "-run-image", reg_fixtures.read_only_run),
        reg_fixtures.some_app,
        env=with_auth(reg_fixtures),
    )
    assert owner(target) == (USER, GROUP)


@pytest.mark.parametrize("api", PLATFORM_APIS)
@pytest.mark.parametrize("how", ["flag", "env"])
def test_run_image_is_recorded(
    ws: Workspace, api: str, how: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/analyzer_test.go:228 "run image provided: is recorded in analyzed.toml"
    # acceptance/analyzer_test.go:248 "run image not provided: falls back to CNB_RUN_IMAGE"
    run = reg_fixtures.read_only_run
    flags = ["-run-image", run] if how == "flag" else []
    env = with_auth(reg_fixtures, **({"CNB_RUN_IMAGE": run} if how == "env" else {}))
    succeeded(analyze(ws, api, *flags, reg_fixtures.some_app, env=env))
    analyzed = analyzed_metadata(ws.layers / "analyzed.toml")
    assert f"{run}@sha256:" in analyzed["run-image"]["reference"]


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_daemon_writes_analyzed_toml(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures, docker_client: Any
) -> None:
    # acceptance/analyzer_test.go:270 "daemon case: writes analyzed.toml"
    succeeded(
        analyze(
            ws,
            api,
            *("-daemon", "-run-image", "some-run-image"),
            reg_fixtures.read_only_app,
            env=daemon_env(),
        )
    )
    analyzed_metadata(ws.layers / "analyzed.toml")


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_daemon_app_image_metadata_is_not_restored(
    ws: Workspace, api: str, daemon_fixtures: DaemonFixtures
) -> None:
    # acceptance/analyzer_test.go:296 "daemon case, app image exists: does not restore app
    # metadata to the layers directory"
    succeeded(
        analyze(
            ws,
            api,
            *("-daemon", "-run-image", "some-run-image"),
            daemon_fixtures.app,
            env=daemon_env(),
        )
    )
    for name in (
        "launch-build-cache-layer.sha",
        "launch-build-cache-layer.toml",
        "launch-cache-layer.sha",
        "launch-cache-layer.toml",
        "launch-layer.sha",
        "launch-layer.toml",
        "store.toml",
    ):
        assert not (ws.layers / "some-buildpack-id" / name).exists()


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_registry_writes_analyzed_toml(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/analyzer_test.go:321 "registry case: writes analyzed.toml"
    succeeded(
        analyze(
            ws,
            api,
            *("-run-image", reg_fixtures.read_only_run),
            reg_fixtures.some_app,
            env=with_auth(reg_fixtures),
        )
    )
    analyzed_metadata(ws.layers / "analyzed.toml")


@pytest.mark.parametrize("api", PLATFORM_APIS)
@pytest.mark.parametrize(
    "origin",
    [
        # acceptance/analyzer_test.go:347 "the destination image does not exist: writes
        # analyzed.toml with previous image identifier"
        "analyzer_test.go:347",
        # acceptance/analyzer_test.go:375 "the destination image exists: writes analyzed.toml
        # with previous image identifier" (the same flags and images as the case above)
        "analyzer_test.go:375",
    ],
)
def test_previous_image_identifier(
    ws: Workspace, api: str, origin: str, reg_fixtures: RegistryFixtures
) -> None:
    succeeded(
        analyze(
            ws,
            api,
            *("-previous-image", reg_fixtures.read_write_app),
            *("-run-image", reg_fixtures.read_only_run),
            reg_fixtures.read_write_other_app,
            env=with_auth(reg_fixtures),
        )
    )
    analyzed = analyzed_metadata(ws.layers / "analyzed.toml")
    assert reg_fixtures.read_write_app in analyzed["image"]["reference"]


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_tag_with_read_write_access(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/analyzer_test.go:407 "called with tag, read/write access to registry: passes
    # read/write validation and writes analyzed.toml"
    succeeded(
        analyze(
            ws,
            api,
            *("-tag", reg_fixtures.read_write_other_app),
            reg_fixtures.read_write_app,
            env=with_auth(reg_fixtures, CNB_RUN_IMAGE=reg_fixtures.read_only_run),
        )
    )
    analyzed = analyzed_metadata(ws.layers / "analyzed.toml")
    assert reg_fixtures.read_write_app in analyzed["image"]["reference"]


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_tag_without_read_write_access(
    ws: Workspace, api: str, reg_fixtures: RegistryFixtures
) -> None:
    # acceptance/analyzer_test.go:432 "no read/write access to registry: throws read/write
    # error accessing destination tag"
    result = analyze(
        ws,
        api,
        *("-tag", reg_fixtures.inaccessible),
        reg_fixtures.read_write_app,
        env={"CNB_RUN_IMAGE": reg_fixtures.read_only_run},
    )
    assert result.code != 0
    assert f"ensure registry read/write access to {reg_fixtures.inaccessible}" in result.text


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_layout_experimental_mode_enabled(ws: Workspace, api: str, busybox_base: Image) -> None:
    # acceptance/analyzer_test.go:457 "layout case, experimental mode is enabled: writes
    # analyzed.toml"
    layout_dir = ws.root / "layout-repo"
    image_dir = layout_dir / "index.docker.io" / "library" / "busybox" / "latest"
    saved = LayoutImageStore(LayoutStore(image_dir)).save(labelled(busybox_base), ["latest"])
    succeeded(
        analyze(
            ws,
            api,
            *("-layout", "-layout-dir", str(layout_dir), "-run-image", "busybox"),
            "my-app",
            env={"CNB_EXPERIMENTAL_MODE": "warn"},
        )
    )
    analyzed = analyzed_metadata(ws.layers / "analyzed.toml")
    assert analyzed.get("run-image") is not None
    assert analyzed["run-image"]["reference"] == f"{image_dir}@{saved.digest}"


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_layout_experimental_mode_not_enabled(ws: Workspace, api: str) -> None:
    # acceptance/analyzer_test.go:490 "layout case, experimental mode is not enabled: errors"
    result = analyze(
        ws,
        api,
        *("-layout", "-run-image", "busybox"),
        "some-image",
        env={"CNB_LAYOUT_DIR": str(ws.root / "layout-repo")},
    )
    assert result.code != 0
    assert "experimental features are disabled by CNB_EXPERIMENTAL_MODE=error" in result.text
