"""The reference lifecycle's exporter acceptance tests (acceptance/exporter_test.go), translated.

The reference runs the exporter in a container built from its testdata/exporter Dockerfile: a
``/layers`` with a group of three buildpacks (one without layers, ``cacher_buildpack`` with a
cache layer and a launch layer, ``corrupted_buildpack`` with a launch+cache layer), empty build
metadata, analyzed.toml files naming the run image, ``/other_layers`` with an empty group, and
``/cnb`` with run.toml (the run image and two mirrors), an empty stack.toml and the lifecycle's
SBOM files. :func:`exporter_container` writes the same things (its own files, written here) into
the workspace, and the phase sees the workspace's ``cnb`` directory as ``/cnb`` (bwrap), so the
defaults ``/cnb/run.toml``, ``/cnb/stack.toml`` and ``/cnb/lifecycle`` are those of the case.

Differences from the reference's set-up, none changing what is asserted:

- The exporter runs as the CNB user 1000:1000 (the reference's image uses 1234:1000). For a
  daemon export it starts as root with ``CNB_USER_ID``/``CNB_GROUP_ID`` and drops to that user
  keeping the socket's group (the reference mounts a socket its user may use).
- The test registry needs no credentials, so ``CNB_REGISTRY_AUTH`` is not passed.
- Layout directories live under the workspace instead of ``/my-layout-dir`` and
  ``/layout-repo``; the paths asserted are the same below them.
- Each case runs at every supported Platform API, less those the reference skips it at.
- "overwrites the original layer": the reference ships a pre-made cache whose metadata records
  the layer's diffID under its tar format; here the layer's diffID under this lifecycle's tar
  format is learnt from a first export, then the cache is given a tar with other contents
  under that diffID.

Translated: 13 of 13 cases. The two "using extensions" cases give the exporter an extended run
image as the extender leaves it: a sparse OCI layout (the run image's own layers left out) with
two layers made by extensions, their history and a config labelled
``io.buildpacks.rebasable=false``, written here with pypack's OCI library. The reference checks
the diffIDs its normalizing re-tar of its own fixture layers gives; here each extension layer of
the app image (read back with ``docker save``) must hold the fixture layer's entries and
contents with every time normalized.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.models import History, Platform
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.spec.api import ApiVersion
from tests.conformance.acceptance.export_images import (
    NORMALIZED_CREATED,
    NORMALIZED_EPOCH,
    SBOM_EXTENSIONS,
    assert_os_arch_created,
    chown_tree,
    daemon_env,
    daemon_images,
    history,
    inspect,
    lifecycle_sboms,
    random_name,
    reference_run_image,
)
from tests.conformance.acceptance.phase_images import PLATFORM_APIS, apis_from
from tests.conformance.harness import Result, Workspace
from tests.conftest import tool

if TYPE_CHECKING:
    import docker

__all__ = ["daemon_images"]

pytestmark = pytest.mark.integration

EPOCH_2022 = 1641359105
"""2022-01-05T05:05:05Z, the reference's SOURCE_DATE_EPOCH."""


@pytest.fixture(scope="module")
def run_image(registry: str, docker_client: docker.DockerClient, busybox_base: Image) -> str:
    """The reference's read-only run image, in the registry and the daemon."""
    return reference_run_image(registry, docker_client, busybox_base, random_name("run"))


def exporter_container(ws: Workspace, run_image: str) -> Path:
    """The reference exporter image's ``/layers``, ``/other_layers`` and ``/cnb`` (see the
    module docstring) in the workspace; returns the ``other_layers`` directory."""
    layers = ws.layers
    (layers / "group.toml").write_text(
        '[[group]]\nid = "some-buildpack-id"\nversion = "some-buildpack-version"\napi = "0.7"\n'
        '[[group]]\nid = "cacher_buildpack"\nversion = "cacher_v1"\napi = "0.8"\n'
        '[[group]]\nid = "corrupted_buildpack"\nversion = "corrupted_v1"\napi = "0.8"\n'
    )
    layer_files = {
        "cacher_buildpack/cached-layer": ("[types]\ncache = true\n", "cached-data\n"),
        "cacher_buildpack/launch-layer": ("[types]\nlaunch = true\n", "launch-data"),
        "corrupted_buildpack/corrupted-layer": (
            "[types]\ncache = true\nlaunch = true\n",
            "digest-not-match-data\n",
        ),
    }
    for name, (toml, data) in layer_files.items():
        (layers / name).mkdir(parents=True)
        (layers / name / "data").write_text(data)
        (layers / f"{name}.toml").write_text(toml)
    (layers / "config").mkdir()
    (layers / "config" / "metadata.toml").write_text("")
    (layers / "analyzed.toml").write_text(f'[run-image]\nreference = "{run_image}"\n')
    (layers / "analyzed_insecure.toml").write_text(
        '[run-image]\nreference = "host.docker.internal/bar"\n'
    )
    layout_run = layout_busybox(ws)
    (layers / "layout-analyzed.toml").write_text(f'[run-image]\nreference = "{layout_run}"\n')
    other = ws.root / "other_layers"
    (other / "config").mkdir(parents=True)
    (other / "config" / "metadata.toml").write_text("")
    (other / "group.toml").write_text("")
    (other / "analyzed.toml").write_text(f'[run-image]\nreference = "{run_image}"\n')
    cnb = ws.root / "cnb"
    (cnb / "run.toml").write_text(
        f'[[images]]\nimage = "{run_image}"\nmirrors = ["mirror1", "mirror2"]\n'
    )
    (cnb / "stack.toml").write_text("")
    lifecycle_sboms(cnb)
    (ws.root / "my-layout-dir").mkdir()
    for directory in (layers, other, ws.root / "layout-repo", ws.root / "my-layout-dir"):
        chown_tree(directory)
    return other


def layout_busybox(ws: Workspace) -> str:
    """The reference's ``/layout-repo/index.docker.io/library/busybox/latest``: an OCI layout
    holding a busybox image; returns the analyzed.toml reference ``<layout>@<digest>``."""
    busybox = Path(tool("busybox"))

    def fill(writer: LayerWriter) -> None:
        writer.add_dir("bin")
        writer.add_tree(busybox, "bin/busybox", uid=0, gid=0)
        writer.add_symlink("bin/sh", "busybox")

    image = Image.empty(Platform(os="linux", architecture="amd64"))
    tar = ws.root / "home" / "busybox.tar.gz"
    image.add_layer(tar, write_layer_file(tar, fill, compress=True))
    layout = ws.root / "layout-repo" / "index.docker.io" / "library" / "busybox" / "latest"
    result = LayoutImageStore(LayoutStore(layout)).save(image, ["latest"])
    return f"{layout}@{result.digest}"


def export(
    ws: Workspace, api: str, *flags: str, daemon: bool = False, env: dict[str, str] | None = None
) -> Result:
    """The exporter with the case's ``/cnb``, at Platform API ``api``."""
    environment = {"CNB_PLATFORM_API": api, **(env or {})}
    if daemon:
        environment = daemon_env(environment)
    return ws.run("exporter", *flags, env=environment, as_root=daemon, cnb=ws.root / "cnb")


def at_least(api: str, version: str) -> bool:
    return ApiVersion.parse(api).at_least(version)


# --- daemon case ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_daemon_app_is_created(
    ws: Workspace,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:75 "app is created"
    exporter_container(ws, run_image)
    name = random_name("some-exported-image")
    daemon_images.append(name)
    result = export(ws, api, "-daemon", "-log-level", "debug", name, daemon=True)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    if at_least(api, "0.11"):
        for extension in SBOM_EXTENSIONS:
            build = ws.layers / "sbom" / "build" / "buildpacksio_lifecycle" / extension
            launch = ws.layers / "sbom" / "launch" / "buildpacksio_lifecycle" / "launcher"
            assert f"Copying SBOM lifecycle.{extension} to {build}" in result.text
            assert f"Copying SBOM launcher.{extension} to {launch / extension}" in result.text
    else:
        assert "Copying SBOM" not in result.text
    entries = history(docker_client, name)
    if at_least(api, "0.12"):
        assert [e["CreatedBy"] for e in entries] == [
            "Buildpacks Launcher Config",
            "Buildpacks Application Launcher",
            "Application Layer",
            "Software Bill-of-Materials",
            "Layer: 'corrupted-layer', Created by buildpack: corrupted_buildpack@corrupted_v1",
            "Layer: 'launch-layer', Created by buildpack: cacher_buildpack@cacher_v1",
            "",  # run image layer
        ]
    else:
        assert all(e["CreatedBy"] == "" for e in entries)
    assert all(e["Created"] == NORMALIZED_EPOCH for e in entries)
    assert_os_arch_created(docker_client, name, NORMALIZED_CREATED)


@pytest.mark.parametrize("api", apis_from("0.9"))
def test_daemon_source_date_epoch(
    ws: Workspace,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:206 "app is created with config CreatedAt set to
    # SOURCE_DATE_EPOCH"
    exporter_container(ws, run_image)
    name = random_name("some-exported-image")
    daemon_images.append(name)
    env = {"SOURCE_DATE_EPOCH": str(EPOCH_2022)}
    result = export(ws, api, "-daemon", name, daemon=True, env=env)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    assert_os_arch_created(docker_client, name, "2022-01-05T05:05:05Z")


EXTENSION_HISTORY = (
    "Layer: 'RUN mkdir /some-dir && echo some-data > /some-dir/some-file && echo some-data > "
    "/some-file', Created by extension: first-extension",
    "Layer: 'RUN mkdir /some-other-dir && echo some-data > /some-other-dir/some-file && echo "
    "some-data > /some-other-file', Created by extension: second-extension",
)
EXTENSION_FILES = (
    ("some-dir/some-file", "some-file"),
    ("some-other-dir/some-file", "some-other-file"),
)
Entries = list[tuple[str, int, bytes]]


def tar_entries(data: bytes) -> Entries:
    """(name, mtime, content) of each entry of a (possibly compressed) tar."""
    entries: Entries = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            content = tar.extractfile(member) if member.isfile() else None
            entries.append((member.name, int(member.mtime), content.read() if content else b""))
    return entries


def extended_run_image(ws: Workspace, run_image: str) -> list[Entries]:
    """``<layers>/some-extended-dir/run/sha256_<digest>``: the run image as two image
    extensions extended it (see the module docstring), and ``run-image-extended-analyzed.toml``
    naming the run image to extend. Returns the entries of the two extension layers."""
    base = RegistryImageStore().load(run_image)
    assert base is not None
    assert base.digest
    extended = base.copy()
    extended.set_history([History(created_by="") for _ in base.layers])
    written = []
    for number, (files, created_by) in enumerate(
        zip(EXTENSION_FILES, EXTENSION_HISTORY, strict=True)
    ):

        def fill(writer: LayerWriter, files: tuple[str, ...] = files) -> None:
            for name in files:
                if "/" in name:
                    writer.add_dir(name.split("/")[0])
                writer.add_bytes(name, b"some-data\n")

        tar = ws.root / "home" / f"extension-{number}.tar.gz"
        extended.add_layer(
            tar, write_layer_file(tar, fill, compress=True, mtime=1700000000), created_by=created_by
        )
        written.append(tar_entries(tar.read_bytes()))
    extended.set_label("io.buildpacks.rebasable", "false")
    run = ws.layers / "some-extended-dir" / "run"
    layout = run / f"sha256_{base.digest.removeprefix('sha256:')}"
    LayoutImageStore(LayoutStore(layout)).save(extended, ["extended"])
    for layer in base.layers:  # sparse: the run image's own layers are not in it
        (layout / "blobs" / "sha256" / layer.digest.removeprefix("sha256:")).unlink()
    (ws.layers / "run-image-extended-analyzed.toml").write_text(
        f'[run-image]\nreference = "{run_image}"\nextend = true\n'
    )
    chown_tree(ws.layers)
    return written


def saved_layers(client: docker.DockerClient, name: str) -> list[bytes]:
    """The layer tars of ``name``, bottom first, as ``docker save`` writes them."""
    data = b"".join(client.images.get(name).save())
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        return [archive.extractfile(path).read() for path in manifest[0]["Layers"]]  # type: ignore[union-attr]


def assert_extension_layers(layers: list[bytes], expected: list[Entries]) -> None:
    """Layers 1 and 2 (above the run image's) are the extension layers, re-tarred with
    normalized times."""
    for index, entries in enumerate(expected, start=1):
        found = tar_entries(layers[index])
        assert [(n, c) for n, _, c in found] == [(n, c) for n, _, c in entries]
        assert {t for _, t, _ in found} == {NORMALIZED_EPOCH}


def extension_export(ws: Workspace, api: str, name: str, *, daemon: bool) -> Result:
    """The exporter of the "using extensions" cases."""
    experimental = "warn" if ApiVersion.parse(api).less_than("0.13") else "error"
    return export(
        ws, api, "-analyzed", str(ws.layers / "run-image-extended-analyzed.toml"),
        *(["-daemon"] if daemon else []),
        "-extended", str(ws.layers / "some-extended-dir"), "-log-level", "debug",
        "-run", "/cnb/run.toml", name,
        daemon=daemon, env={"CNB_EXPERIMENTAL_MODE": experimental},
    )  # fmt: skip


def assert_run_image_metadata(labels: dict[str, str], run_image: str, top: str, ref: str) -> None:
    """The lifecycle metadata's run image: analyzed.toml's, run.toml's mirrors, the run
    image's top layer and identifier."""
    metadata = json.loads(labels["io.buildpacks.lifecycle.metadata"])["runImage"]
    assert metadata["image"] == run_image  # from analyzed.toml
    assert metadata["mirrors"] == ["mirror1", "mirror2"]  # from run.toml
    assert metadata["topLayer"] == top
    assert metadata["reference"] == ref


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_daemon_app_from_extended_run_image(
    ws: Workspace,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:124 "app is created from the extended run image"
    exporter_container(ws, run_image)
    expected = extended_run_image(ws, run_image)
    run = inspect(docker_client, run_image)
    name = random_name("some-exported-image")
    daemon_images.append(name)
    result = extension_export(ws, api, name, daemon=True)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    assert_os_arch_created(docker_client, name, NORMALIZED_CREATED)
    assert [e["CreatedBy"] for e in history(docker_client, name)] == [
        "Buildpacks Launcher Config",
        "Buildpacks Application Launcher",
        "Application Layer",
        "Software Bill-of-Materials",
        "Layer: 'corrupted-layer', Created by buildpack: corrupted_buildpack@corrupted_v1",
        "Layer: 'launch-layer', Created by buildpack: cacher_buildpack@cacher_v1",
        EXTENSION_HISTORY[1],
        EXTENSION_HISTORY[0],
        "",  # run image layer
    ]
    # bases the exported image on the extended run image
    labels = inspect(docker_client, name)["Config"]["Labels"]
    assert labels["io.buildpacks.rebasable"] == "false"
    # adds extension layers
    assert_extension_layers(saved_layers(docker_client, name), expected)
    # sets the layers metadata label according to the new spec
    top = run["RootFS"]["Layers"][-1]
    assert_run_image_metadata(labels, run_image, top, run["Id"].removeprefix("sha256:"))


# --- registry case ----------------------------------------------------------------------------


def pull(client: docker.DockerClient, names: list[str], name: str) -> None:
    """``docker pull`` (the reference's ``h.DockerPullWithRetry``), removed after the test."""
    names.append(name)
    client.images.pull(name)


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_registry_app_is_created(
    ws: Workspace,
    registry: str,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:239 "app is created"
    exporter_container(ws, run_image)
    name = f"{registry}/acceptance/{random_name('some-exported-image')}"
    result = export(ws, api, name)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    pull(docker_client, daemon_images, name)
    assert_os_arch_created(docker_client, name, NORMALIZED_CREATED)


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_registry_insecure_uses_http(
    ws: Workspace, registry: str, run_image: str, api: str
) -> None:
    # acceptance/exporter_test.go:266 "uses http protocol"
    exporter_container(ws, run_image)
    name = f"{registry}/acceptance/{random_name('some-insecure-exported-image')}"
    env = {
        "CNB_INSECURE_REGISTRIES": "host.docker.internal/bar",
        "CNB_ANALYZED_PATH": str(ws.layers / "analyzed_insecure.toml"),
    }
    result = export(ws, api, name, env=env)
    assert result.code != 0
    assert "http://host.docker.internal" in result.text


@pytest.mark.parametrize("api", apis_from("0.9"))
def test_registry_source_date_epoch(
    ws: Workspace,
    registry: str,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:289 "app is created with config CreatedAt set to
    # SOURCE_DATE_EPOCH"
    exporter_container(ws, run_image)
    name = f"{registry}/acceptance/{random_name('some-exported-image')}"
    result = export(ws, api, name, env={"SOURCE_DATE_EPOCH": str(EPOCH_2022)})
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    pull(docker_client, daemon_images, name)
    assert_os_arch_created(docker_client, name, "2022-01-05T05:05:05Z")


@pytest.mark.parametrize("api", PLATFORM_APIS)
@pytest.mark.parametrize(
    "parallel",
    [
        # acceptance/exporter_test.go:319 "cache is created"
        pytest.param((), id="serial"),
        # acceptance/exporter_test.go:345 parallel export is enabled / "cache is created"
        pytest.param(("-parallel",), id="parallel"),
    ],
)
def test_cache_image_is_created(
    ws: Workspace,
    registry: str,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
    parallel: tuple[str, ...],
) -> None:
    exporter_container(ws, run_image)
    cache = f"{registry}/acceptance/{random_name('some-cache-image')}"
    name = f"{registry}/acceptance/{random_name('some-exported-image')}"
    result = export(ws, api, "-cache-image", cache, *parallel, name)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    pull(docker_client, daemon_images, name)
    assert_os_arch_created(docker_client, name, NORMALIZED_CREATED)
    pull(docker_client, daemon_images, cache)


def skopeo_inspect(reference: str) -> dict[str, Any]:
    """``skopeo inspect`` of a registry image."""
    done = subprocess.run(
        [tool("skopeo"), "inspect", "--tls-verify=false", f"docker://{reference}"],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def skopeo_config(reference: str) -> dict[str, object]:
    """The image config of a registry image, read by skopeo."""
    done = subprocess.run(
        [tool("skopeo"), "inspect", "--tls-verify=false", "--config", f"docker://{reference}"],
        capture_output=True,
        text=True,
        check=True,
    )
    config: dict[str, object] = json.loads(done.stdout)
    return config


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_cache_image_without_cached_data_has_an_empty_layer(
    ws: Workspace, registry: str, run_image: str, api: str
) -> None:
    # acceptance/exporter_test.go:372 "cache is created with an empty layer"
    other = exporter_container(ws, run_image)
    cache = f"{registry}/acceptance/{random_name('some-empty-cache-image')}"
    name = f"{registry}/acceptance/{random_name('some-exported-image')}"
    result = ws.run(
        "exporter", "-layers", str(other), "-app", str(ws.app), "-cache-image", cache, name,
        env={"CNB_PLATFORM_API": api}, cnb=ws.root / "cnb", dir_flags=False,
    )  # fmt: skip
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    # an empty tar archive: two 512-byte zero blocks
    empty_layer = "sha256:" + hashlib.sha256(bytes(1024)).hexdigest()
    rootfs = skopeo_config(cache)["rootfs"]
    assert isinstance(rootfs, dict)
    assert empty_layer in rootfs["diff_ids"]


def tar_of(data: bytes) -> bytes:
    """A tar with one file, for a cache entry whose contents are not what its name says."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("some-other-file")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_corrupted_cache_layer_is_overwritten(
    ws: Workspace,
    registry: str,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:432 "overwrites the original layer"
    exporter_container(ws, run_image)
    learn = ws.root / "home" / "learn-cache"
    first = export(ws, api, "-cache-dir", str(learn), f"{registry}/acceptance/learn-sha")
    assert first.code == 0, first.text
    learnt = json.loads(
        (learn / "committed" / "io.buildpacks.lifecycle.cache.metadata").read_text()
    )
    sha = next(
        bp["layers"]["corrupted-layer"]["sha"]
        for bp in learnt["buildpacks"]
        if bp["key"] == "corrupted_buildpack"
    )
    # the fixture cache: its metadata records the layer's diffID; its tar holds other bytes
    cache = ws.root / "cache"
    (cache / "committed").mkdir(parents=True)
    corrupted = tar_of(b"some-other-data\n")
    found = "sha256:" + hashlib.sha256(corrupted).hexdigest()
    (cache / "committed" / f"{sha}.tar").write_bytes(corrupted)
    (cache / "committed" / "io.buildpacks.lifecycle.cache.metadata").write_text(
        json.dumps({
            "buildpacks": [{
                "key": "corrupted_buildpack", "version": "corrupted_v1",
                "layers": {"corrupted-layer": {
                    "sha": sha, "data": None, "build": False, "launch": True, "cache": True,
                }},
            }],
        })
    )  # fmt: skip
    cache.chmod(0o777)
    chown_tree(cache)
    name = f"{registry}/acceptance/{random_name('some-exported-image')}"
    result = export(ws, api, "-cache-dir", str(cache), "-log-level", "debug", name)
    assert result.code == 0, result.text
    assert (
        "Skipping reuse for layer corrupted_buildpack:corrupted-layer: expected layer contents "
        f"to have SHA '{sha}'; found '{found}'"
    ) in result.text
    assert f"Saving {name}" in result.text
    pull(docker_client, daemon_images, name)
    labels = inspect(docker_client, name)["Config"]["Labels"]
    metadata = json.loads(labels["io.buildpacks.lifecycle.metadata"])
    assert metadata["buildpacks"][2]["layers"]["corrupted-layer"]["sha"] == sha
    tar = (cache / "committed" / f"{sha}.tar").read_bytes()
    assert "sha256:" + hashlib.sha256(tar).hexdigest() == sha


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_registry_app_from_extended_run_image(
    ws: Workspace,
    registry: str,
    run_image: str,
    docker_client: docker.DockerClient,
    daemon_images: list[str],
    api: str,
) -> None:
    # acceptance/exporter_test.go:492 "app is created from the extended run image"
    exporter_container(ws, run_image)
    expected = extended_run_image(ws, run_image)
    run_digest = skopeo_inspect(run_image)["Digest"]
    run_rootfs = skopeo_config(run_image)["rootfs"]
    assert isinstance(run_rootfs, dict)
    name = f"{registry}/acceptance/{random_name('some-exported-image')}"
    result = extension_export(ws, api, name, daemon=False)
    assert result.code == 0, result.text
    assert f"Saving {name}" in result.text
    pull(docker_client, daemon_images, name)
    assert_os_arch_created(docker_client, name, NORMALIZED_CREATED)
    # bases the exported image on the extended run image
    config = skopeo_config(name)["config"]
    assert isinstance(config, dict)
    assert config["Labels"]["io.buildpacks.rebasable"] == "false"
    # adds extension layers
    assert_extension_layers(saved_layers(docker_client, name), expected)
    # sets the layers metadata label according to the new spec
    top = run_rootfs["diff_ids"][-1]
    assert_run_image_metadata(config["Labels"], run_image, top, f"{run_image}@{run_digest}")


# --- layout case ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_layout_app_is_created(ws: Workspace, run_image: str, api: str) -> None:
    # acceptance/exporter_test.go:610 "app is created"
    exporter_container(ws, run_image)
    layout_dir = ws.root / "my-layout-dir"
    result = export(
        ws, api, "-layout", "-layout-dir", str(layout_dir),
        "-analyzed", str(ws.layers / "layout-analyzed.toml"), "my-custom-layout-app",
        env={"CNB_EXPERIMENTAL_MODE": "warn"},
    )  # fmt: skip
    assert result.code == 0, result.text
    saved = layout_dir / "index.docker.io" / "library" / "my-custom-layout-app" / "latest"
    assert f"Saving {saved}" in result.text
    index = json.loads((saved / "index.json").read_text())
    assert len(index["manifests"]) == 1
    subprocess.run([tool("skopeo"), "inspect", f"oci:{saved}"], check=True, capture_output=True)


@pytest.mark.parametrize("api", apis_from("0.12"))
def test_layout_without_experimental_mode_errors(ws: Workspace, run_image: str, api: str) -> None:
    # acceptance/exporter_test.go:638 "errors"
    exporter_container(ws, run_image)
    result = export(ws, api, "-layout", "-layout-dir", str(ws.root / "layout-dir"), "some-image")
    assert result.code != 0
    assert "experimental features are disabled by CNB_EXPERIMENTAL_MODE=error" in result.text
