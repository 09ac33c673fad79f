"""build.py before the lifecycle runs: the run image (builder label, ``/cnb/run.toml``, mirrors,
``--run-image``), the CNB uid/gid, the builder checks, and which buildpacks a build detects
with."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import pypack.pack.build as build_module
from pypack.errors import PypackError, UserError
from pypack.lifecycle.inputs import CreatorInputs
from pypack.oci.image import Image, SaveResult
from pypack.oci.models import Platform
from pypack.oci.registry import RegistryError
from pypack.pack.build import (
    BuildRequest,
    build,
    cnb_ids,
    prepare_work,
    run_image_for,
    run_images_of,
)
from pypack.pack.home import Home
from pypack.pack.images import PlatformImages
from pypack.pack.run_mirrors import best_run_mirror, registry_of
from pypack.spec.module import ModuleRef
from pypack.spec.project_toml import ProjectBuildpack
from pypack.spec.run_toml import RunFile, RunImageEntry
from tests.unit.pack.conftest import FakeRegistry, MakeImage, SaveLocal

BUILDER_LABEL = "io.buildpacks.builder.metadata"
BUILDER = "example.com/builders/base:1"


def builder_with(
    metadata: dict[str, Any] | None = None, *, env: Mapping[str, str] | None = None
) -> Image:
    image = Image.empty()
    image.name = BUILDER
    if metadata is not None:
        image.set_label(BUILDER_LABEL, json.dumps(metadata))
    for key, value in (env or {}).items():
        image.set_env(key, value)
    return image


def rootfs_with_run_toml(tmp_path: Path, text: str) -> Path:
    rootfs = tmp_path / "rootfs"
    (rootfs / "cnb").mkdir(parents=True)
    (rootfs / "cnb" / "run.toml").write_text(text)
    return rootfs


@pytest.fixture
def request_for(home: Home, tmp_path: Path) -> Callable[..., BuildRequest]:
    """``request_for(image, **fields)``: a build request of the app in ``tmp_path/app``."""
    (tmp_path / "app").mkdir(exist_ok=True)
    images = PlatformImages(home, pull_policy="never")

    def make(image: str = "example.com/apps/app", **fields: Any) -> BuildRequest:
        fields.setdefault("builder", BUILDER)
        return BuildRequest(
            image=image, app=tmp_path / "app", target=images, images=images, **fields
        )

    return make


# --- the builder's run images --------------------------------------------------------------


def test_run_images_from_the_builder_label() -> None:
    builder = builder_with(
        {
            "images": [
                {"image": "example.com/run:1", "mirrors": ["mirror.io/run:1"]},
                {"image": ""},
                {"image": "example.com/other-run"},
            ],
            "stack": {"runImage": {"image": "example.com/deprecated-run"}},
        }
    )
    assert run_images_of(builder, None) == RunFile(
        images=[
            RunImageEntry(image="example.com/run:1", mirrors=["mirror.io/run:1"]),
            RunImageEntry(image="example.com/other-run", mirrors=None),
        ]
    )


def test_the_deprecated_stack_run_image_when_the_label_has_no_images() -> None:
    builder = builder_with(
        {"stack": {"runImage": {"image": "example.com/run", "mirrors": ["m.io/run"]}}}
    )
    assert run_images_of(builder, None) == RunFile(
        images=[RunImageEntry(image="example.com/run", mirrors=["m.io/run"])]
    )


def test_the_label_wins_over_run_toml(tmp_path: Path) -> None:
    rootfs = rootfs_with_run_toml(tmp_path, '[[images]]\nimage = "from/run-toml"\n')
    builder = builder_with({"images": [{"image": "from/label"}]})
    assert [i.image for i in run_images_of(builder, rootfs).images] == ["from/label"]


@pytest.mark.parametrize("metadata", [None, {}, {"images": [{"image": ""}]}])
def test_run_toml_of_the_rootfs_when_the_label_names_none(
    tmp_path: Path, metadata: dict[str, Any] | None
) -> None:
    rootfs = rootfs_with_run_toml(
        tmp_path, '[[images]]\nimage = "from/run-toml"\nmirrors = ["m.io/run"]\n'
    )
    assert run_images_of(builder_with(metadata), rootfs) == RunFile(
        images=[RunImageEntry(image="from/run-toml", mirrors=["m.io/run"])]
    )


def test_no_label_and_no_run_toml_is_no_run_image(tmp_path: Path) -> None:
    assert run_images_of(builder_with(), None) == RunFile()
    assert run_images_of(builder_with(), tmp_path / "no-rootfs") == RunFile()


# --- choosing one --------------------------------------------------------------------------


MIRRORED = {
    "images": [{"image": "docker.io/org/run:1", "mirrors": ["ghcr.io/org/run:1", "q.io/run"]}]
}
RUN, GHCR, QIO = "docker.io/org/run:1", "ghcr.io/org/run:1", "q.io/run"


# pack: pkg/client/common.go resolveRunImage/getBestRunMirror.
@pytest.mark.parametrize(
    ("preferred", "user", "readable", "chosen"),
    [
        ("ghcr.io", [], {RUN, GHCR, QIO}, GHCR),
        ("q.io", [], {RUN, GHCR, QIO}, QIO),
        ("docker.io", [], {RUN, GHCR, QIO}, RUN),
        ("elsewhere.io", [], {RUN, GHCR, QIO}, RUN),
        ("elsewhere.io", [], {GHCR, QIO}, GHCR),  # the first readable one
        ("ghcr.io", [], {RUN, QIO}, RUN),
        ("ghcr.io", [], set(), RUN),  # none readable: the run image itself
        ("elsewhere.io", ["mine.io/run"], {RUN, "mine.io/run"}, "mine.io/run"),  # user's first
        ("ghcr.io", ["mine.io/run"], {GHCR, "mine.io/run"}, GHCR),  # registry still wins
    ],
)
def test_best_run_mirror(preferred: str, user: list[str], readable: set[str], chosen: str) -> None:
    checked: list[str] = []

    def can_read(name: str) -> bool:
        checked.append(name)
        return name in readable

    assert best_run_mirror(preferred, RUN, [GHCR, QIO], user, can_read) == chosen
    if registry_of(chosen) == preferred:
        assert checked == [chosen], "a name on the preferred registry is found first"


@pytest.mark.parametrize(
    ("app_image", "publish", "builder", "run_image"),
    [
        ("ghcr.io/me/app", True, BUILDER, GHCR),  # publishing: the app's registry
        ("ghcr.io/me/app", False, "ghcr.io/b/builder", GHCR),  # else the builder's
        ("ghcr.io/me/app", False, "q.io/b/builder", QIO),
        ("ghcr.io/me/app", False, BUILDER, RUN),  # neither registry has one: the first
        ("oci:/tmp/layout:app", False, "q.io/b/builder", QIO),
    ],
)
def test_the_run_image_or_its_mirror_on_the_preferred_registry(
    request_for: Callable[..., BuildRequest],
    monkeypatch: pytest.MonkeyPatch,
    app_image: str,
    publish: bool,
    builder: str,
    run_image: str,
) -> None:
    monkeypatch.setattr(PlatformImages, "readable", lambda self, name: True)
    request = request_for(app_image, publish=publish, builder=builder)
    assert run_image_for(request, builder_with(MIRRORED), None) == run_image


def test_the_users_mirrors_come_first(
    request_for: Callable[..., BuildRequest], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PlatformImages, "readable", lambda self, name: name != RUN)
    request = request_for("me/app", run_image_mirrors={RUN: ["mine.io/run"]})
    assert run_image_for(request, builder_with(MIRRORED), None) == "mine.io/run"


def test_a_run_image_only_in_the_local_store_is_readable(
    request_for: Callable[..., BuildRequest], home: Home
) -> None:
    from pypack.pack.images import local_name

    images = PlatformImages(home, pull_policy="never")
    assert not images.readable(QIO)
    images.local.save(Image.empty(), [local_name(QIO)])
    assert images.readable(QIO)
    assert (
        run_image_for(request_for("q.io/me/app", publish=True), builder_with(MIRRORED), None) == QIO
    )


def test_run_image_flag_wins(request_for: Callable[..., BuildRequest]) -> None:
    request = request_for("ghcr.io/me/app", run_image="my/run")
    assert run_image_for(request, builder_with(MIRRORED), None) == "my/run"
    assert run_image_for(request, builder_with(), None) == "my/run", "even with no run metadata"


def test_only_the_first_run_image_is_considered(request_for: Callable[..., BuildRequest]) -> None:
    builder = builder_with(
        {"images": [{"image": "docker.io/org/run"}, {"image": "ghcr.io/org/second-run"}]}
    )
    assert run_image_for(request_for("ghcr.io/me/app"), builder, None) == "docker.io/org/run"


def test_mirrors_from_run_toml(
    tmp_path: Path, request_for: Callable[..., BuildRequest], monkeypatch: pytest.MonkeyPatch
) -> None:
    rootfs = rootfs_with_run_toml(
        tmp_path, '[[images]]\nimage = "docker.io/org/run"\nmirrors = ["ghcr.io/org/run"]\n'
    )
    request = request_for("ghcr.io/me/app", publish=True)
    assert run_image_for(request, builder_with(), rootfs) == "docker.io/org/run", "none readable"
    monkeypatch.setattr(PlatformImages, "readable", lambda self, name: True)
    assert run_image_for(request, builder_with(), rootfs) == "ghcr.io/org/run"


def test_no_run_image_anywhere_is_the_lifecycle_error(
    request_for: Callable[..., BuildRequest],
) -> None:
    with pytest.raises(PypackError) as raised:
        run_image_for(request_for(), builder_with(), None)
    assert str(raised.value) == "-run-image is required when there is no run metadata available"


# --- CNB uid/gid ---------------------------------------------------------------------------


def test_cnb_ids_from_the_builder(request_for: Callable[..., BuildRequest]) -> None:
    builder = builder_with(env={"CNB_USER_ID": "1001", "CNB_GROUP_ID": "1002"})
    assert cnb_ids(request_for(), builder) == (1001, 1002)


def test_uid_and_gid_flags_override_the_builder(request_for: Callable[..., BuildRequest]) -> None:
    builder = builder_with(env={"CNB_USER_ID": "1001", "CNB_GROUP_ID": "1002"})
    assert cnb_ids(request_for(uid=0), builder) == (0, 1002)
    assert cnb_ids(request_for(gid=0), builder) == (1001, 0)
    assert cnb_ids(request_for(uid=5, gid=6), builder) == (5, 6)


def test_both_flags_need_nothing_from_the_builder(
    request_for: Callable[..., BuildRequest],
) -> None:
    assert cnb_ids(request_for(uid=2000, gid=3000), builder_with()) == (2000, 3000)


@pytest.mark.parametrize(
    ("fields", "env"),
    [
        ({}, {}),
        ({}, {"CNB_USER_ID": "1000"}),
        ({}, {"CNB_GROUP_ID": "1000"}),
        ({"uid": 1000}, {}),
        ({"gid": 1000}, {"CNB_GROUP_ID": "1000"}),
        ({}, {"CNB_USER_ID": "cnb", "CNB_GROUP_ID": "1000"}),
    ],
)
def test_a_builder_without_cnb_ids_is_one_line(
    request_for: Callable[..., BuildRequest], fields: dict[str, int], env: dict[str, str]
) -> None:
    with pytest.raises(UserError) as raised:
        cnb_ids(request_for(**fields), builder_with(env=env))
    assert str(raised.value) == (
        f"builder {BUILDER}: its image must set CNB_USER_ID and CNB_GROUP_ID"
    )


# --- the builder checks of build() ---------------------------------------------------------


def test_a_missing_builder(request_for: Callable[..., BuildRequest], home: Home) -> None:
    said: list[str] = []
    with pytest.raises(UserError) as raised:
        build(request_for(), home, said.append)
    assert str(raised.value) == (
        f"builder {BUILDER!r} not found locally or in its registry; check the name or create it "
        "with pypack builder create"
    )
    assert said == ["===> PREPARING"]
    assert not home.builds.exists()


def test_a_registry_failure_while_looking_for_the_builder(
    request_for: Callable[..., BuildRequest], home: Home
) -> None:
    class Failing(FakeRegistry):
        def load(self, name: str, platform: Platform | None = None) -> Image | None:
            raise RegistryError("example.com: 503 Service Unavailable")

    request = request_for()
    request.images.pull_policy = "if-not-present"
    request.images.registry = Failing()
    with pytest.raises(UserError) as raised:
        build(request, home, lambda _: None)
    assert str(raised.value) == (
        f"builder {BUILDER!r} not found locally, and its registry failed: "
        "example.com: 503 Service Unavailable"
    )


def test_a_builder_without_cnb_ids_stops_the_build(
    request_for: Callable[..., BuildRequest], home: Home, save_local: SaveLocal
) -> None:
    save_local(builder_with(), BUILDER)
    with pytest.raises(UserError) as raised:
        build(request_for(), home, lambda _: None)
    assert str(raised.value) == (
        f"builder {BUILDER}: its image must set CNB_USER_ID and CNB_GROUP_ID"
    )
    assert not home.builds.exists()


def test_an_image_without_order_toml_is_not_a_builder(
    request_for: Callable[..., BuildRequest],
    home: Home,
    save_local: SaveLocal,
    make_image: MakeImage,
) -> None:
    image = make_image(
        {"cnb/run.toml": b'[[images]]\nimage = "x/run"\n'},
        env={"CNB_USER_ID": "1000", "CNB_GROUP_ID": "1000"},
    )
    save_local(image, BUILDER)
    with pytest.raises(UserError) as raised:
        build(request_for(), home, lambda _: None)
    assert str(raised.value) == (
        f"builder {BUILDER!r} has no /cnb/order.toml; it is not a CNB builder"
    )
    assert not home.builds.exists()
    (unpacked,) = home.rootfs.iterdir()
    assert (unpacked / "cnb" / "run.toml").is_file(), "the builder was unpacked to be checked"


# --- a build around the creator --------------------------------------------------------------


@pytest.fixture
def builder_image(make_image: MakeImage, save_local: SaveLocal) -> Image:
    """A minimal CNB builder in the local store: an order, a run image, CNB ids 0:0 (so no
    reachability check and no ownership change is needed under any user)."""
    image = make_image(
        {
            "cnb/order.toml": b'[[order]]\n[[order.group]]\nid = "b/python"\n',
            "cnb/run.toml": b'[[images]]\nimage = "example.com/run"\n',
        },
        env={"CNB_USER_ID": "0", "CNB_GROUP_ID": "0"},
    )
    save_local(image, BUILDER)
    return image


@pytest.fixture
def creator(monkeypatch: pytest.MonkeyPatch) -> list[CreatorInputs]:
    """The inputs build() hands to the creator, which is replaced: it writes an SBOM file and
    fails for an image named ``.../fail``."""
    seen: list[CreatorInputs] = []
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")

    def fake_create(inputs: CreatorInputs) -> SaveResult:
        seen.append(inputs)
        assert inputs.paths.root.is_dir()
        (inputs.paths.layers / "sbom").mkdir()
        (inputs.paths.layers / "sbom" / "launch.json").write_text("{}")
        if inputs.image.endswith("/fail"):
            raise UserError("a buildpack failed")
        return SaveResult("sha256:" + "1" * 64, 100, "sha256:" + "2" * 64, (inputs.image,))

    monkeypatch.setattr(build_module, "create", fake_create)
    return seen


def test_build_runs_the_creator_in_a_work_directory_and_removes_it(
    request_for: Callable[..., BuildRequest],
    home: Home,
    tmp_path: Path,
    builder_image: Image,
    creator: list[CreatorInputs],
) -> None:
    (tmp_path / "app" / "main.py").write_text("print()\n")
    said: list[str] = []
    request = request_for(previous_image="example.com/apps/old", sbom_dir=tmp_path / "sbom")
    result = build(request, home, said.append)
    assert result.digest == "sha256:" + "1" * 64
    (inputs,) = creator
    assert inputs.paths.root.parent == home.builds
    assert inputs.paths.root.name.startswith("build-")
    assert inputs.paths.app == inputs.paths.root / "workspace"
    assert inputs.run_image == "example.com/run"
    assert inputs.image == "example.com/apps/app"
    assert (inputs.uid, inputs.gid) == (0, 0)
    assert request.images.outputs == {"example.com/apps/app", "example.com/apps/old"}
    assert (tmp_path / "sbom" / "sbom" / "launch.json").is_file(), "the SBOM was copied out"
    assert list(home.builds.iterdir()) == [], "the work directory is gone"
    assert said[0] == "===> PREPARING"
    assert said[1].startswith("     preparing done in ")
    assert said[2] == f"     app: 1 files from {tmp_path / 'app'}"


def test_a_failed_build_removes_its_work_directory_too(
    request_for: Callable[..., BuildRequest],
    home: Home,
    builder_image: Image,
    creator: list[CreatorInputs],
) -> None:
    with pytest.raises(UserError) as raised:
        build(request_for("example.com/apps/fail"), home, lambda _: None)
    assert str(raised.value) == "a buildpack failed"
    assert len(creator) == 1
    assert list(home.builds.iterdir()) == []


# --- which buildpacks the build adds -------------------------------------------------------


BUILDER_ORDER = [[ModuleRef(id="b/python")], [ModuleRef(id="b/static")]]


def detect_order(request: BuildRequest, tmp_path: Path) -> list[list[str]]:
    work = tmp_path / "work"
    work.mkdir()
    tree = prepare_work(work, request, 1000, 1000, lambda _: None)
    assert tree.order_transform is not None
    return [[r.id for r in g] for g in tree.order_transform(BUILDER_ORDER)]


PROJECT = {
    "project_group": [ProjectBuildpack(id="proj/one"), ProjectBuildpack(id="proj/two")],
    "pre": [ProjectBuildpack(id="proj/pre")],
    "post": [ProjectBuildpack(id="proj/post")],
}


def test_the_project_group_replaces_the_builder_order(
    request_for: Callable[..., BuildRequest], tmp_path: Path
) -> None:
    assert detect_order(request_for(**PROJECT), tmp_path) == [
        ["proj/pre", "proj/one", "proj/two", "proj/post"]
    ]


def test_buildpack_flags_replace_the_project_group_but_keep_pre_and_post(
    request_for: Callable[..., BuildRequest], tmp_path: Path
) -> None:
    request = request_for(buildpacks=["flag/a", "from=builder"], **PROJECT)
    assert detect_order(request, tmp_path) == [
        ["proj/pre", "flag/a", "b/python", "proj/post"],
        ["proj/pre", "flag/a", "b/static", "proj/post"],
    ]


def test_without_additions_the_builder_order_stays(
    request_for: Callable[..., BuildRequest], tmp_path: Path
) -> None:
    assert detect_order(request_for(), tmp_path) == [["b/python"], ["b/static"]]


def test_added_buildpacks_are_listed_by_the_work_tree(
    request_for: Callable[..., BuildRequest], tmp_path: Path
) -> None:
    inline = ProjectBuildpack.model_validate(
        {"id": "me/inline", "script": {"api": "0.10", "inline": "true"}}
    )
    request = request_for(project_group=[inline], post=[ProjectBuildpack(id="b/static")])
    work = tmp_path / "work"
    work.mkdir()
    tree = prepare_work(work, request, 1000, 1000, lambda _: None)
    assert tree.added_buildpacks() == [tree.extra_buildpacks / "me_inline" / "0.0.0"]
