"""Buildpacks a build adds (``--buildpack``, project.toml groups, pre/post) and the order the
build detects with."""

from __future__ import annotations

import json
import stat
import tarfile
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.oci.image import Image
from pypack.pack.buildpackage import write_cnb
from pypack.pack.extra_buildpacks import ExtraBuildpacks, plan_order
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.module import ModuleRef
from pypack.spec.project_toml import InlineScript, ProjectBuildpack
from tests.unit.pack.conftest import MakeImage


def ref(text: str) -> ModuleRef:
    bp_id, _, version = text.partition("@")
    return ModuleRef(id=bp_id, version=version or None)


def ids(order: list[list[ModuleRef]]) -> list[list[str]]:
    return [[r.id for r in group] for group in order]


BUILDER_ORDER = [[ref("b/python@1"), ref("b/procfile@1")], [ref("b/static@2")]]


# --- plan_order ----------------------------------------------------------------------------


def test_nothing_added_keeps_the_builder_order() -> None:
    order = plan_order(BUILDER_ORDER, [], [], [])
    assert order == BUILDER_ORDER
    order[0].append(ref("x/y"))
    assert len(BUILDER_ORDER[0]) == 2, "the builder's groups are copied, not changed"


def test_added_buildpacks_replace_every_builder_group_with_one() -> None:
    order = plan_order(BUILDER_ORDER, [ref("ex/a@1"), ref("ex/b")], [], [])
    assert order == [[ref("ex/a@1"), ref("ex/b")]]


def test_from_builder_splices_the_builder_groups_in_place() -> None:
    added: list[ModuleRef | None] = [ref("ex/first"), None, ref("ex/last")]
    assert ids(plan_order(BUILDER_ORDER, added, [], [])) == [
        ["ex/first", "b/python", "b/procfile", "ex/last"],
        ["ex/first", "b/static", "ex/last"],
    ]


def test_from_builder_alone_is_the_builder_order() -> None:
    assert plan_order(BUILDER_ORDER, [None], [], []) == BUILDER_ORDER


def test_a_second_from_builder_is_ignored() -> None:
    added: list[ModuleRef | None] = [None, ref("ex/a"), None]
    assert ids(plan_order(BUILDER_ORDER, added, [], [])) == [
        ["b/python", "b/procfile", "ex/a"],
        ["b/static", "ex/a"],
    ]


def test_pre_and_post_go_around_every_group() -> None:
    order = plan_order(BUILDER_ORDER, [], [ref("p/pre@1")], [ref("p/post1"), ref("p/post2")])
    assert ids(order) == [
        ["p/pre", "b/python", "b/procfile", "p/post1", "p/post2"],
        ["p/pre", "b/static", "p/post1", "p/post2"],
    ]
    assert order[0][0] == ref("p/pre@1")


def test_pre_and_post_skip_a_group_that_already_has_their_id() -> None:
    order = plan_order(BUILDER_ORDER, [], [ref("b/static@9")], [ref("b/python@9")])
    assert order == [
        [ref("b/static@9"), ref("b/python@1"), ref("b/procfile@1")],
        [ref("b/static@2"), ref("b/python@9")],
    ]


def test_pre_and_post_surround_added_buildpacks_too() -> None:
    order = plan_order(BUILDER_ORDER, [ref("ex/a")], [ref("p/pre")], [ref("p/post")])
    assert ids(order) == [["p/pre", "ex/a", "p/post"]]


def test_an_empty_builder_order_with_from_builder_has_no_groups() -> None:
    assert plan_order([], [None, ref("ex/a")], [ref("p/pre")], []) == []


# --- ExtraBuildpacks -----------------------------------------------------------------------


@pytest.fixture
def packages() -> dict[str, Image]:
    """Package images ``load`` finds, by name."""
    return {}


@pytest.fixture
def extra(tmp_path: Path, packages: dict[str, Image]) -> ExtraBuildpacks:
    (tmp_path / "app").mkdir()
    (tmp_path / "scratch").mkdir()
    return ExtraBuildpacks(tmp_path / "extra", tmp_path / "app", packages.get, tmp_path / "scratch")


def write_buildpack(directory: Path, bp_id: str, version: str | None = "1.0.0") -> Path:
    (directory / "bin").mkdir(parents=True)
    version_line = f'version = "{version}"\n' if version else ""
    (directory / "buildpack.toml").write_text(
        f'api = "0.10"\n[buildpack]\nid = "{bp_id}"\n{version_line}'
    )
    for script in ("detect", "build"):
        (directory / "bin" / script).write_text("#!/bin/sh\nexit 0\n")
        (directory / "bin" / script).chmod(0o755)
    return directory


def package_image(make_image: MakeImage, *, metadata: bool = True) -> Image:
    """A buildpackage of ``ex/pkg@2.0.0``; its layer also has a file outside /cnb/buildpacks."""
    image = make_image(
        {
            "cnb/buildpacks/ex_pkg/2.0.0/buildpack.toml": (
                b'api = "0.10"\n[buildpack]\nid = "ex/pkg"\nversion = "2.0.0"\n'
            ),
            "cnb/buildpacks/ex_pkg/2.0.0/bin/build": b"#!/bin/sh\n",
            "etc/evil": b"outside the buildpacks directory\n",
        }
    )
    layers = {"ex/pkg": {"2.0.0": {"api": "0.10", "layerDiffID": image.diff_ids[0]}}}
    image.set_label("io.buildpacks.buildpack.layers", json.dumps(layers))
    if metadata:
        image.set_label(
            "io.buildpacks.buildpackage.metadata", json.dumps({"id": "ex/pkg", "version": "2.0.0"})
        )
    return image


def test_from_builder_text_is_none(extra: ExtraBuildpacks) -> None:
    assert extra.from_text("from=builder") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ex/a", ModuleRef(id="ex/a")),
        ("ex/a@1.2.3", ModuleRef(id="ex/a", version="1.2.3")),
        ("simple", ModuleRef(id="simple")),
    ],
)
def test_an_id_with_an_optional_version(
    extra: ExtraBuildpacks, text: str, expected: ModuleRef
) -> None:
    assert extra.from_text(text) == expected
    assert not extra.buildpacks_dir.exists(), "an ID the builder has adds no files"


def test_a_directory_relative_to_the_app_is_copied_in(
    extra: ExtraBuildpacks, tmp_path: Path
) -> None:
    source = write_buildpack(tmp_path / "app" / "bps" / "hello", "ex/hello", "0.3.0")
    (source / "bin" / "helper").symlink_to("build")
    assert extra.from_text("bps/hello") == ModuleRef(id="ex/hello", version="0.3.0")
    target = tmp_path / "extra" / "cnb" / "buildpacks" / "ex_hello" / "0.3.0"
    assert (target / "buildpack.toml").is_file()
    assert stat.S_IMODE((target / "bin" / "build").stat().st_mode) == 0o755
    assert (target / "bin" / "helper").is_symlink()


def test_an_absolute_directory_and_the_same_one_twice(
    extra: ExtraBuildpacks, tmp_path: Path
) -> None:
    source = write_buildpack(tmp_path / "elsewhere", "ex/abs")
    assert extra.from_text(str(source)) == ModuleRef(id="ex/abs", version="1.0.0")
    assert extra.from_text(str(source)) == ModuleRef(id="ex/abs", version="1.0.0")
    assert [p.name for p in extra.buildpacks_dir.iterdir()] == ["ex_abs"]


def test_a_directory_without_a_version_goes_under_0_0_0(
    extra: ExtraBuildpacks, tmp_path: Path
) -> None:
    source = write_buildpack(tmp_path / "noversion", "ex/nov", None)
    assert extra.from_text(str(source)) == ModuleRef(id="ex/nov")
    assert (extra.buildpacks_dir / "ex_nov" / "0.0.0" / "buildpack.toml").is_file()


def test_a_directory_without_buildpack_toml_is_refused(
    extra: ExtraBuildpacks, tmp_path: Path
) -> None:
    (tmp_path / "app" / "notabp").mkdir()
    with pytest.raises(UserError) as raised:
        extra.from_text("notabp")
    assert str(raised.value) == (
        f"buildpack '{tmp_path / 'app' / 'notabp'}': {tmp_path / 'app' / 'notabp'} "
        "has no buildpack.toml"
    )


def test_a_tgz_is_unpacked_and_copied_in(extra: ExtraBuildpacks, tmp_path: Path) -> None:
    source = write_buildpack(tmp_path / "src-bp", "ex/tgz", "4.0.0")
    with tarfile.open(tmp_path / "app" / "bp.tgz", "w:gz") as archive:
        for path in sorted(source.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(source)), recursive=False)
    assert extra.from_text("bp.tgz") == ModuleRef(id="ex/tgz", version="4.0.0")
    build = extra.buildpacks_dir / "ex_tgz" / "4.0.0" / "bin" / "build"
    assert build.read_text() == "#!/bin/sh\nexit 0\n"


def test_a_tgz_packed_as_pack_packs_it_is_readable_by_everyone(
    extra: ExtraBuildpacks, tmp_path: Path
) -> None:
    """pack's archives hold ``./`` entries; the buildpack's directory must not stay 0700."""
    source = write_buildpack(tmp_path / "src-bp", "ex/dot", "1.2.3")
    with tarfile.open(tmp_path / "app" / "dot.tgz", "w:gz") as archive:
        archive.add(source, arcname=".")
    assert extra.from_text("dot.tgz") == ModuleRef(id="ex/dot", version="1.2.3")
    version_dir = extra.buildpacks_dir / "ex_dot" / "1.2.3"
    assert stat.S_IMODE(version_dir.stat().st_mode) == 0o755


def test_a_cnb_file_is_extracted_under_cnb_buildpacks_only(
    extra: ExtraBuildpacks, tmp_path: Path, make_image: MakeImage
) -> None:
    write_cnb(package_image(make_image), tmp_path / "app" / "pkg.cnb", tmp_path / "scratch")
    assert extra.from_text("pkg.cnb") == ModuleRef(id="ex/pkg", version="2.0.0")
    assert (extra.buildpacks_dir / "ex_pkg" / "2.0.0" / "bin" / "build").is_file()
    assert not (tmp_path / "extra" / "etc").exists()


def test_a_package_image_by_docker_prefix(
    extra: ExtraBuildpacks, tmp_path: Path, packages: dict[str, Image], make_image: MakeImage
) -> None:
    packages["example.com/bps/pkg:2"] = package_image(make_image)
    assert extra.from_text("docker://example.com/bps/pkg:2") == ModuleRef(
        id="ex/pkg", version="2.0.0"
    )
    assert (extra.buildpacks_dir / "ex_pkg" / "2.0.0" / "buildpack.toml").is_file()
    assert not (tmp_path / "extra" / "etc").exists()


def test_a_reference_with_a_slash_and_a_colon_is_a_package_image(
    extra: ExtraBuildpacks, packages: dict[str, Image], make_image: MakeImage
) -> None:
    packages["localhost:5000/pkg"] = package_image(make_image)
    assert extra.from_text("localhost:5000/pkg") == ModuleRef(id="ex/pkg", version="2.0.0")


def test_a_missing_package_image_is_one_line(extra: ExtraBuildpacks) -> None:
    with pytest.raises(UserError) as raised:
        extra.from_text("docker://example.com/bps/missing:1")
    assert str(raised.value) == (
        "--buildpack example.com/bps/missing:1: no such buildpack package locally or in its "
        "registry"
    )


def test_an_image_without_buildpack_layers_is_not_a_package(
    extra: ExtraBuildpacks, packages: dict[str, Image], make_image: MakeImage
) -> None:
    packages["example.com/plain:1"] = make_image()
    with pytest.raises(UserError) as raised:
        extra.from_text("docker://example.com/plain:1")
    assert str(raised.value) == (
        "example.com/plain:1: not a buildpackage: it has no io.buildpacks.buildpack.layers label"
    )


def test_a_package_without_its_metadata_label_is_refused(
    extra: ExtraBuildpacks, packages: dict[str, Image], make_image: MakeImage
) -> None:
    packages["example.com/half:1"] = package_image(make_image, metadata=False)
    with pytest.raises(UserError) as raised:
        extra.from_text("docker://example.com/half:1")
    assert str(raised.value) == (
        "example.com/half:1: not a buildpackage: no io.buildpacks.buildpackage.metadata label"
    )


# --- project.toml entries ------------------------------------------------------------------


def test_a_project_entry_by_id(extra: ExtraBuildpacks) -> None:
    entry = ProjectBuildpack(id="ex/a", version="1.0.0")
    assert extra.from_project(entry) == ModuleRef(id="ex/a", version="1.0.0")


def test_a_project_entry_by_uri_is_read_as_a_buildpack_value(
    extra: ExtraBuildpacks, tmp_path: Path
) -> None:
    write_buildpack(tmp_path / "app" / "local-bp", "ex/local", "0.1.0")
    entry = ProjectBuildpack(uri="local-bp")
    assert extra.from_project(entry) == ModuleRef(id="ex/local", version="0.1.0")
    assert (extra.buildpacks_dir / "ex_local" / "0.1.0").is_dir()


def test_an_inline_script_becomes_a_buildpack(extra: ExtraBuildpacks) -> None:
    entry = ProjectBuildpack(
        id="me/inline",
        script=InlineScript(api="0.10", inline="echo building\nexit 0", shell="/bin/bash"),
    )
    assert extra.from_project(entry) == ModuleRef(id="me/inline", version="0.0.0")
    directory = extra.buildpacks_dir / "me_inline" / "0.0.0"
    descriptor = BuildpackDescriptor.load(directory / "buildpack.toml")
    assert (descriptor.buildpack.id, descriptor.buildpack.version) == ("me/inline", "0.0.0")
    assert str(descriptor.api) == "0.10"
    assert (directory / "bin" / "detect").read_text() == "#!/bin/sh\nexit 0\n"
    assert (directory / "bin" / "build").read_text() == "#!/bin/bash\necho building\nexit 0\n"
    for script in ("detect", "build"):
        assert stat.S_IMODE((directory / "bin" / script).stat().st_mode) == 0o755


def test_an_inline_script_defaults_to_sh(extra: ExtraBuildpacks) -> None:
    entry = ProjectBuildpack(id="me/sh", script=InlineScript(api="0.10", inline="true"))
    extra.from_project(entry)
    build = extra.buildpacks_dir / "me_sh" / "0.0.0" / "bin" / "build"
    assert build.read_text() == "#!/bin/sh\ntrue\n"


def test_a_project_entry_from_builder_is_the_builder_order(extra: ExtraBuildpacks) -> None:
    assert extra.from_project(ProjectBuildpack(uri="from=builder")) is None
