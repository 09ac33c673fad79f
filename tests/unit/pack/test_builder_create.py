"""``builder create`` and ``buildpack package`` in process: every file they open is closed and
their work directory is gone afterwards, whether they succeed or fail."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.fsutil import work_directory
from pypack.oci.image import Image
from pypack.oci.layout import LayoutStore
from pypack.oci.stores import LayoutImageStore
from pypack.pack.builder_create import NO_LIFECYCLE_LABEL, create_builder
from pypack.pack.buildpackage import package, write_cnb
from pypack.spec.builder_toml import BuilderConfig
from pypack.spec.package_toml import PackageConfig

BUILDER_TOML = """
[[buildpacks]]
uri = "bp"
[[order]]
[[order.group]]
id = "t/bp"
{extra}
[build]
image = "test/build:1"
[[run.images]]
image = "test/run:1"
"""


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp directory every ``tempfile`` call in the test uses."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def store(tmp_path: Path, busybox_base: Image) -> LayoutImageStore:
    """A store with a build image that has no python3 (so no wheels are fetched)."""
    store = LayoutImageStore(LayoutStore(tmp_path / "images"))
    build = busybox_base.copy()
    build.set_env("CNB_USER_ID", "1000")
    build.set_env("CNB_GROUP_ID", "1000")
    store.save(build, ["test/build:1"])
    return store


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    (directory / "bp" / "bin").mkdir(parents=True)
    (directory / "bp" / "buildpack.toml").write_text(
        'api = "0.10"\n[buildpack]\nid = "t/bp"\nversion = "1"\n'
    )
    for phase in ("detect", "build"):
        (directory / "bp" / "bin" / phase).write_text("#!/bin/sh\nexit 0\n")
    return directory


def open_files() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def builder(project: Path, store: LayoutImageStore, extra: str = "") -> list[str]:
    """Create ``test/builder:1``; its warnings."""
    (project / "builder.toml").write_text(BUILDER_TOML.format(extra=extra))
    warnings: list[str] = []
    create_builder(
        BuilderConfig.load(project / "builder.toml"),
        project,
        "test/builder:1",
        load=store.load,
        target=store,
        wheel_cache=project / "wheels",
        warn=warnings.append,
    )
    return warnings


def test_builder_create_closes_its_files_and_removes_its_work_directory(
    project: Path, store: LayoutImageStore, temp_dir: Path
) -> None:
    before = open_files()
    warnings = builder(project, store)
    assert open_files() == before
    assert list(temp_dir.iterdir()) == []
    assert warnings == [
        "build image test/build:1 has no python3 for the lifecycle: this builder works only with "
        "the daemonless platform (pypack build), not with --docker or other CNB platforms"
    ]
    made = store.load("test/builder:1")
    assert made is not None
    assert made.label(NO_LIFECYCLE_LABEL) == "true"
    assert not (project / "wheels").exists()


def test_a_failed_builder_create_leaves_nothing_open_or_behind(
    project: Path, store: LayoutImageStore, temp_dir: Path
) -> None:
    before = open_files()
    with pytest.raises(UserError, match="no versions of buildpack 'not/here' were found"):
        builder(project, store, '[[order]]\n[[order.group]]\nid = "not/here"\n')
    assert open_files() == before
    assert list(temp_dir.iterdir()) == []
    assert store.load("test/builder:1") is None


def test_package_closes_its_files(project: Path, temp_dir: Path, tmp_path: Path) -> None:
    (project / "package.toml").write_text('[buildpack]\nuri = "bp"\n')
    config = PackageConfig.load(project / "package.toml")
    before = open_files()
    with work_directory("pypack-package-") as scratch:
        image = package(config, project, lambda _name: None, scratch)
        write_cnb(image, tmp_path / "bp.cnb", scratch)
    assert open_files() == before
    assert list(temp_dir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.glob("bp.cnb*")) == ["bp.cnb"]


def interrupted_command(parent: Path) -> None:
    with work_directory("pypack-x-", parent) as work:
        (work / "deep" / "er").mkdir(parents=True)
        (work / "deep" / "er" / "file").write_text("x")
        raise KeyboardInterrupt


def test_work_directory_is_removed_on_ctrl_c(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupted_command(tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- what pack refuses (internal/builder, pkg/buildpack validateBuildpackDescriptor) --------


def test_a_buildpack_without_a_version_is_refused_as_pack_does(
    project: Path, store: LayoutImageStore
) -> None:
    toml = project / "bp" / "buildpack.toml"
    toml.write_text('api = "0.10"\n[buildpack]\nid = "t/bp"\n')
    with pytest.raises(UserError) as raised:
        builder(project, store)
    assert str(raised.value) == (
        f"builder.toml: [[buildpacks]] {toml}: buildpack.version is required; add e.g. "
        'version = "1.0.0" under [buildpack]'
    )
    assert store.load("test/builder:1") is None


def test_an_order_entry_with_two_versions_on_the_builder_needs_one(
    project: Path, store: LayoutImageStore
) -> None:
    second = project / "bp2"
    second.mkdir()
    (second / "buildpack.toml").write_text(
        'api = "0.10"\n[buildpack]\nid = "t/bp"\nversion = "2"\n'
    )
    with pytest.raises(UserError) as raised:
        builder(project, store, '[[buildpacks]]\nuri = "bp2"\n')
    assert str(raised.value) == (
        "builder.toml: order: unable to resolve version: multiple versions of 't/bp' (1, 2); "
        "give the order entry a version"
    )
