"""The reference lifecycle's creator acceptance tests (acceptance/creator_test.go), translated.

The reference runs the creator in a container built from its testdata/creator Dockerfile:
``/cnb/buildpacks`` with one buildpack, ``samples/hello-world`` (Buildpack API 0.7, CycloneDX
SBOMs), whose build writes a launch layer (setting ``SOME_VAR=some-val``), a cache layer, a
launch+cache layer and a build layer, each with an SBOM, the launch and build SBOMs and
``store.toml``, and prints what the restorer brought back; ``/cnb/order.toml`` with that
buildpack; ``/cnb/order-with-extensions.toml`` adding an extension of the same id (under
``/cnb/extensions``); ``/cnb/run.toml`` with two run images nobody can reach; and
``/layout-repo`` holding busybox as an OCI layout. :func:`creator_container` writes the same
things (its own files, written here) into the workspace, which the creator sees as ``/cnb``.

Differences from the reference's set-up, none changing what is asserted:

- The creator runs as the CNB user 1000:1000 (the reference's image uses 1234:1000); for a
  daemon export it starts as root with ``CNB_USER_ID``/``CNB_GROUP_ID`` and drops to that
  user, keeping the Docker socket's group.
- The test registry needs no credentials, so ``CNB_REGISTRY_AUTH`` is not passed.
- The layers directory is the workspace's, not ``/layers``; "copy ``/layers`` out of the
  container" is reading that directory (the build) or ``docker cp`` of it from a container of
  the app image (the run). The buildpack's scripts are sh, not bash.
- Each case runs at every supported Platform API, less those the reference skips it at.
- "rebuild with cache": after the first build the reference starts a new container, so the
  second build starts from an empty ``/layers``; here the workspace's layers are emptied.

Translated: 8 of 8 cases.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.models import Platform
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.spec.api import ApiVersion
from tests.conformance.acceptance.export_images import (
    chown_tree,
    daemon_env,
    daemon_images,
    random_name,
    reference_run_image,
)
from tests.conformance.acceptance.phase_images import PLATFORM_APIS, apis_from
from tests.conformance.harness import CNB_GID, CNB_UID, Result, Workspace
from tests.conftest import tool

if TYPE_CHECKING:
    import docker

__all__ = ["daemon_images"]

pytestmark = pytest.mark.integration

HELLO_WORLD_BUILD = r"""
echo "---> Hello World buildpack"
layers_dir=$1
if test -d "$(dirname "$layers_dir")/sbom"; then
  echo "the layers' sbom directory should not exist during buildpack builds"
  exit 1
fi
echo "     layers_dir: ${layers_dir}"
restored() {
  if test -f "$layers_dir/$1"; then
    echo "$layers_dir/$1 restored with content: $(cat "$layers_dir/$1")"
  fi
}
# launch=true layer
mkdir -p "$layers_dir/some-layer/env"
printf 'some-val' > "$layers_dir/some-layer/env/SOME_VAR"
restored some-layer.sbom.cdx.json
printf '{"key": "some-launch-true-bom-content"}' > "$layers_dir/some-layer.sbom.cdx.json"
if test -f "$layers_dir/some-layer.toml"; then
  echo "nop"  # as if nothing new had to be downloaded
else
  sleep 1  # as if new content were downloaded
fi
printf '[types]\nlaunch = true\n' > "$layers_dir/some-layer.toml"
# cache=true layer
mkdir -p "$layers_dir/some-cache-layer"
restored some-cache-layer.sbom.cdx.json
printf '{"key": "some-cache-true-bom-content"}' > "$layers_dir/some-cache-layer.sbom.cdx.json"
printf '[types]\ncache = true\n' > "$layers_dir/some-cache-layer.toml"
# launch=true cache=true layer
mkdir -p "$layers_dir/some-launch-cache-layer"
restored some-launch-cache-layer.sbom.cdx.json
printf '{"key": "some-launch-true-cache-true-bom-content"}' \
  > "$layers_dir/some-launch-cache-layer.sbom.cdx.json"
printf '[types]\nlaunch = true\ncache = true\n' > "$layers_dir/some-launch-cache-layer.toml"
# build=true layer
mkdir -p "$layers_dir/some-build-layer"
if test -f "$layers_dir/some-build-layer.sbom.cdx.json"; then
  echo "$layers_dir/some-build-layer.sbom.cdx.json should never be restored"
  exit 1
fi
printf '{"key": "some-bom-content"}' > "$layers_dir/some-build-layer.sbom.cdx.json"
printf '[types]\nbuild = true\n' > "$layers_dir/some-build-layer.toml"
for bom in launch build; do
  if test -f "$layers_dir/$bom.sbom.cdx.json"; then
    echo "$layers_dir/$bom.sbom.cdx.json should never be restored"
    exit 1
  fi
  printf '{"key": "some-bom-content"}' > "$layers_dir/$bom.sbom.cdx.json"
done
restored store.toml
printf '[metadata]\n"some-key" = "some-value"' > "$layers_dir/store.toml"
"""

RESTORED = {
    "some-layer": '{"key": "some-launch-true-bom-content"}',
    "some-cache-layer": '{"key": "some-cache-true-bom-content"}',
    "some-launch-cache-layer": '{"key": "some-launch-true-cache-true-bom-content"}',
}


@pytest.fixture(scope="module")
def run_image(registry: str, docker_client: docker.DockerClient, busybox_base: Image) -> str:
    """The reference's read-only run image, in the registry and the daemon."""
    return reference_run_image(registry, docker_client, busybox_base, random_name("run"))


@pytest.fixture(scope="module")
def some_app_image(registry: str, busybox_base: Image) -> str:
    """The reference's ``SomeAppImage``: an image in the registry, named as the app."""
    image = busybox_base.copy()
    image.set_platform(Platform(os="linux", architecture="amd64"))
    name = f"{registry}/acceptance/{random_name('some-app-image')}"
    RegistryImageStore().save(image, [name])
    return name


def creator_container(ws: Workspace) -> None:
    """The reference creator image's ``/cnb`` and ``/layout-repo`` (see the module docstring)
    in the workspace."""
    ws.buildpack(
        "samples/hello-world", "0.0.1", api="0.7", build=HELLO_WORLD_BUILD,
        buildpack_keys='name = "Hello World Buildpack"\n'
        'sbom-formats = ["application/vnd.cyclonedx+json"]',
        toml='[[stacks]]\nid = "*"\n',
    )  # fmt: skip
    ws.order([[("samples/hello-world", "0.0.1", False)]])
    cnb = ws.root / "cnb"
    (cnb / "order-with-extensions.toml").write_text(
        '[[order]]\n[[order.group]]\nid = "samples/hello-world"\nversion = "0.0.1"\n'
        '[[order-extensions]]\n[[order-extensions.group]]\nid = "samples/hello-world"\n'
        'version = "0.0.1"\n'
    )
    extension = cnb / "extensions" / "samples_hello-world" / "0.0.1"
    extension.mkdir(parents=True)
    (extension / "extension.toml").write_text(
        'api = "0.9"\n[extension]\nid = "samples/hello-world"\nversion = "0.0.1"\n'
        'name = "Hello World Extension"\n'
    )
    (cnb / "run.toml").write_text(
        '[[images]]\nimage = "some-run-image-from-run-toml"\n'
        '[[images]]\nimage = "some-other-run-image"\n'
    )
    (cnb / "stack.toml").write_text("")
    busybox_layout(ws.root / "layout-repo")
    chown_tree(ws.root / "layout-repo")


def busybox_layout(layout_repo: Path) -> None:
    """``<layout_repo>/index.docker.io/library/busybox/latest``: busybox as an OCI layout."""
    busybox = Path(tool("busybox"))

    def fill(writer: LayerWriter) -> None:
        writer.add_dir("bin")
        writer.add_tree(busybox, "bin/busybox", uid=0, gid=0)
        writer.add_symlink("bin/sh", "busybox")

    image = Image.empty(Platform(os="linux", architecture="amd64"))
    tar = layout_repo.parent / "home" / "busybox.tar.gz"
    image.add_layer(tar, write_layer_file(tar, fill, compress=True))
    layout = layout_repo / "index.docker.io" / "library" / "busybox" / "latest"
    LayoutImageStore(LayoutStore(layout)).save(image, ["latest"])


def create(
    ws: Workspace, api: str, *flags: str, daemon: bool = False, env: dict[str, str] | None = None
) -> Result:
    """The creator with the case's ``/cnb``, at Platform API ``api``."""
    environment = {"CNB_PLATFORM_API": api, **(env or {})}
    if daemon:
        environment = daemon_env(environment)
    return ws.run("creator", *flags, env=environment, as_root=daemon, cnb=ws.root / "cnb")


def launcher_env(client: docker.DockerClient, name: str) -> str:
    """``docker run --entrypoint /cnb/lifecycle/launcher <name> env``."""
    output: bytes = client.containers.run(
        name, ["env"], entrypoint="/cnb/lifecycle/launcher", network_mode="none", remove=True
    )
    return output.decode()


def layers_after_run(client: docker.DockerClient, name: str, layers: Path) -> set[str]:
    """The paths below ``layers`` in a container of ``name`` after ``launcher env`` ran (the
    reference's ``DockerRunAndCopy`` of ``/layers``), relative to ``layers``."""
    container = client.containers.create(
        name, ["env"], entrypoint="/cnb/lifecycle/launcher", network_mode="none"
    )
    try:
        container.start()
        container.wait()
        chunks, _ = container.get_archive(str(layers))
        data = b"".join(chunks)
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = [m.name for m in tar.getmembers()]
    return {name.partition("/")[2] for name in names}


# --- called with run ----------------------------------------------------------------------------


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_uses_the_provided_run_toml(ws: Workspace, some_app_image: str, api: str) -> None:
    # acceptance/creator_test.go:54 "uses the provided run.toml path"
    creator_container(ws)
    result = create(ws, api, "-run", str(ws.root / "cnb" / "run.toml"), some_app_image)
    assert result.code != 0
    assert "failed to resolve inputs: failed to find accessible run image" in result.text


# --- detected order contains extensions ---------------------------------------------------------


@pytest.mark.parametrize("api", apis_from("0.10"))
def test_order_with_extensions_errors(
    ws: Workspace, run_image: str, some_app_image: str, api: str
) -> None:
    # acceptance/creator_test.go:75 "errors"
    creator_container(ws)
    result = create(
        ws, api, "-log-level", "debug",
        "-order", str(ws.root / "cnb" / "order-with-extensions.toml"),
        "-run-image", run_image, some_app_image,
    )  # fmt: skip
    assert result.code != 0
    assert "detected order contains extensions which is not supported by the creator" in (
        result.text
    )


# --- daemon and registry cases -----------------------------------------------------------------


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_daemon_creates_app(
    ws: Workspace,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/creator_test.go:102 "creates app"
    creator_container(ws)
    name = random_name("some-created-image")
    daemon_images.append(name)
    result = create(ws, api, "-daemon", "-run-image", run_image, name, daemon=True)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    data = docker_client.api.inspect_image(name)  # type: ignore[no-untyped-call]
    assert (data["Os"], data["Architecture"]) == ("linux", "amd64")
    assert "SOME_VAR=some-val" in launcher_env(docker_client, name)  # set by buildpack


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_registry_creates_app(
    ws: Workspace,
    registry: str,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/creator_test.go:140 "creates app"
    creator_container(ws)
    name = f"{registry}/acceptance/{random_name('some-created-image')}"
    result = create(ws, api, "-run-image", run_image, name)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    daemon_images.append(name)
    docker_client.images.pull(name)
    data = docker_client.api.inspect_image(name)  # type: ignore[no-untyped-call]
    assert (data["Os"], data["Architecture"]) == ("linux", "amd64")
    assert "SOME_VAR=some-val" in launcher_env(docker_client, name)  # set by buildpack


# --- multiple builds ---------------------------------------------------------------------------


LAUNCH_SBOMS = {
    "sbom/launch/samples_hello-world/sbom.cdx.json",
    "sbom/launch/samples_hello-world/some-launch-cache-layer/sbom.cdx.json",
    "sbom/launch/samples_hello-world/some-layer/sbom.cdx.json",
}
BUILD_SBOMS = (
    "sbom/build/samples_hello-world/sbom.cdx.json",
    "sbom/build/samples_hello-world/some-build-layer/sbom.cdx.json",
)


def assert_run_layers(client: docker.DockerClient, name: str, layers: Path) -> None:
    """The app image's layers directory has the launch SBOMs and no build or cache SBOM."""
    found = layers_after_run(client, name, layers)
    assert found >= LAUNCH_SBOMS
    assert not any(p == "sbom/build" or p.startswith("sbom/build/") for p in found)
    assert not any(p == "sbom/cache" or p.startswith("sbom/cache/") for p in found)


def fresh_layers(ws: Workspace) -> None:
    """An empty layers directory, as a new container of the creator image has."""
    shutil.rmtree(ws.layers)
    ws.layers.mkdir()
    ws.layers.chmod(0o755)
    os.chown(ws.layers, CNB_UID, CNB_GID)


def first_build(
    ws: Workspace, api: str, run_image: str, client: docker.DockerClient, name: str
) -> tuple[list[str], float]:
    """The "multiple builds" set-up: one build with a cache and a launch cache, then a run of
    the app image; the creator's flags and how long the build took."""
    # acceptance/creator_test.go:230 it.Before of "multiple builds"
    creator_container(ws)
    cache, launch_cache = ws.root / "cache", ws.root / "launch-cache"
    for directory in (cache, launch_cache):
        directory.mkdir()
        directory.chmod(0o777)
    flags = [
        "-daemon", "-run-image", run_image, "-cache-dir", str(cache),
        "-launch-cache", str(launch_cache), "-log-level", "debug",
    ]  # fmt: skip
    started = time.monotonic()
    result = create(ws, api, *flags, name, daemon=True)
    duration = time.monotonic() - started
    assert result.code == 0, result.text
    assert "restored with content" not in result.text
    for path in BUILD_SBOMS:
        assert (ws.layers / path).is_file(), path
    assert_run_layers(client, name, ws.layers)
    return flags, duration


@pytest.mark.parametrize("api", apis_from("0.8"))
def test_rebuild_with_cache_exports_sbom(
    ws: Workspace,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/creator_test.go:285 rebuild with cache / "exports SBOM in the app image"
    name = random_name("some-created-image")
    daemon_images.append(name)
    flags, first = first_build(ws, api, run_image, docker_client, name)
    fresh_layers(ws)
    started = time.monotonic()
    result = create(ws, api, *flags, name, daemon=True)
    second = time.monotonic() - started
    assert result.code == 0, result.text
    # the launch cache was used
    assert second + 0.1 < first, f"first build {first:.2f}s, second {second:.2f}s"
    for layer, content in RESTORED.items():
        assert f"{layer}.sbom.cdx.json restored with content: {content}" in result.text
    assert "Reusing layer 'buildpacksio/lifecycle:launch.sbom'" in result.text
    for path in BUILD_SBOMS:
        assert (ws.layers / path).is_file(), path
    # restores store.toml
    assert "store.toml restored with content: [metadata]" in result.text
    assert_run_layers(docker_client, name, ws.layers)


@pytest.mark.parametrize("api", apis_from("0.8"))
def test_rebuild_with_clear_cache_exports_sbom(
    ws: Workspace,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/creator_test.go:339 rebuild with clear cache / "exports SBOM in the app image"
    name = random_name("some-created-image")
    daemon_images.append(name)
    flags, _ = first_build(ws, api, run_image, docker_client, name)
    fresh_layers(ws)
    result = create(ws, api, *flags, "-skip-restore", name, daemon=True)
    assert result.code == 0, result.text
    for layer, content in RESTORED.items():
        assert f"{layer}.sbom.cdx.json restored with content: {content}" not in result.text
    # store.toml is restored from Platform 0.10 even with -skip-restore
    if ApiVersion.parse(api).at_least("0.10"):
        assert "store.toml restored with content: [metadata]" in result.text
    else:
        assert "store.toml restored with content" not in result.text


# --- layout case -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_layout_creates_app(ws: Workspace, api: str) -> None:
    # acceptance/creator_test.go:401 "creates app"
    creator_container(ws)
    layout_dir = ws.root / "layout-repo"
    name = random_name("some-created-image")
    result = create(
        ws, api, "-layout", "-layout-dir", str(layout_dir), "-run-image", "busybox", name,
        env={"CNB_EXPERIMENTAL_MODE": "warn"},
    )  # fmt: skip
    assert result.code == 0, result.text
    saved = layout_dir / "index.docker.io" / "library" / name / "latest"
    assert f"Saving {saved}" in result.text
    index = json.loads((saved / "index.json").read_text())
    assert len(index["manifests"]) == 1


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_layout_without_experimental_mode_errors(ws: Workspace, api: str) -> None:
    # acceptance/creator_test.go:424 "errors"
    creator_container(ws)
    result = create(
        ws, api, "-layout", "-layout-dir", str(ws.root / "layout-repo"),
        "-run-image", "busybox", "some-image",
    )  # fmt: skip
    assert result.code != 0
    assert "experimental features are disabled by CNB_EXPERIMENTAL_MODE=error" in result.text
