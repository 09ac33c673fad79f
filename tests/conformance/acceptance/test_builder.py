"""The reference lifecycle's builder acceptance tests (``acceptance/builder_test.go``),
translated: each Go ``it`` runs the builder of a builder-like image, here a workspace whose
``/cnb``, ``/layers`` and ``/env_folders`` stand in for the image's, started as the CNB user.

The image's default paths (``/layers``, ``/workspace``, ``/cnb/buildpacks``, ``/platform``) are
given as the ``CNB_*`` variables the builder reads them from, never as flags, so the variables
a case sets win as they do in the Go test; the working directory is ``<layers>``, the image's
``WORKDIR``. The Go test runs at the latest Platform API unless it says otherwise.

Not translated: none.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.harness import CNB_GID, CNB_UID, Result, Workspace

LATEST = "0.15"
HELLO = ("hello_world", "0.0.1")
HELLO_2 = ("hello_world_2", "0.0.2")
HELLO_3 = ("hello_world_3", "0.0.3")

PRINT_INPUTS = """echo "CNB_APP_DIR: ${PWD}"
echo "PLATFORM_DIR: $2"
echo "LAYERS_DIR: $1"
echo "PLAN_PATH: $3"
echo "plan contents:"
cat "$3"
echo"""

HELLO_PROCESS = """cat > "$1/launch.toml" <<EOF
[[processes]]
type = "hello"
command = ["echo world"]
args = ["arg1"]
EOF"""

PRINT_TARGET = "\n".join(
    f'echo "{name}: $(printenv {name})"'
    for name in (
        "CNB_TARGET_ARCH",
        "CNB_TARGET_ARCH_VARIANT",
        "CNB_TARGET_OS",
        "CNB_TARGET_DISTRO_NAME",
        "CNB_TARGET_DISTRO_VERSION",
    )
)

# An unknown top-level key next to [run-image], as in the Go image's /layers/analyzed.toml.
LAYERS_ANALYZED = '[run-image]\n[target]\nid = "software"\nos = "linux"\narch = "amd64"\n'
TARGET_ANALYZED = """[run-image.target]
id = "my id"
os = "linux"
arch = "amd64"
arch-variant = "some-variant"
[run-image.target.distro]
name = "ubuntu"
version = "some-cute-version"
"""
NOT_TOML = "I am a file which is neither TOML nor a {kind}.\n\nSee the platform spec.\n"


def group_toml(bp: tuple[str, str], api: str = "0.10", section: str = "group") -> str:
    """One ``[[group]]`` (or ``[[group-extensions]]``) element."""
    return f'[[{section}]]\napi = "{api}"\nid = "{bp[0]}"\nversion = "{bp[1]}"\n'


def plan_toml(bp: tuple[str, str], requirement: str | None) -> str:
    """One plan entry provided by ``bp``, requiring ``requirement`` (with empty metadata)."""
    text = f'[[entries]]\n[[entries.providers]]\nid = "{bp[0]}"\nversion = "{bp[1]}"\n'
    if requirement is not None:
        text += f'[[entries.requires]]\nname = "{requirement}"\n[entries.requires.metadata]\n'
    return text


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, making its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def builder_image(ws: Workspace) -> None:
    """The files of the Go test's builder image, under the workspace."""
    builds = ((HELLO, "", HELLO_PROCESS), (HELLO_2, " 2", ""), (HELLO_3, " 3", PRINT_TARGET))
    for bp, name, more in builds:
        ws.buildpack(*bp, build=f'echo "---> Hello World{name} buildpack"\n{PRINT_INPUTS}\n{more}')
    groups = ws.root / "cnb" / "group_tomls"
    write(groups / "always_detect_group.toml", group_toml(HELLO))
    write(groups / "always_detect_group_buildpack2.toml", group_toml(HELLO_2))
    write(groups / "empty_group.toml", "")
    with_ext = group_toml(HELLO) + group_toml(HELLO, section="group-extensions")
    write(groups / "group_with_ext.toml", with_ext)
    write(groups / "invalid_buildpack_api_group.toml", group_toml(HELLO, api="0.2wrongapiblabla"))
    write(groups / "wrong_group.toml", NOT_TOML.format(kind="group.toml"))
    requirement = "different_plan_from_env.toml_reqires_subset_content"
    requirement_3 = "03_plan.toml_requires_subset_content_idk"
    plans = ws.root / "cnb" / "plan_tomls"
    write(plans / "always_detect_plan.toml", plan_toml(HELLO, requirement))
    write(plans / "always_detect_plan_buildpack_2.toml", plan_toml(HELLO_2, requirement))
    write(plans / "always_detect_plan_buildpack_3.toml", plan_toml(HELLO_3, requirement_3))
    write(plans / "different_plan_from_env.toml", plan_toml(HELLO, requirement))
    write(plans / "empty_plan.toml", "")
    write(plans / "wrong_plan.toml", NOT_TOML.format(kind="plan.toml"))
    folders = ws.root / "env_folders"
    other_bp = folders / "different_buildpack_dir_from_env" / "hello_world" / "0.0.1"
    descriptor = 'api = "0.10"\n[buildpack]\nid = "hello_world"\nversion = "0.0.1"\n'
    write(other_bp / "buildpack.toml", descriptor)
    print_dir = '#!/bin/sh\necho "CNB_BUILDPACK_DIR: ${CNB_BUILDPACK_DIR}"\n'
    script = write(other_bp / "bin" / "build", print_dir)
    script.chmod(0o755)
    (folders / "different_cnb_app_dir_from_env").mkdir()
    (folders / "different_platform_dir_from_env").mkdir()
    write(ws.layers / "analyzed.toml", LAYERS_ANALYZED)
    write(ws.layers / "03_layer" / "analyzed.toml", TARGET_ANALYZED)
    write(ws.layers / "03_layer" / "group.toml", group_toml(HELLO_3))
    write(ws.layers / "03_layer" / "plan.toml", plan_toml(HELLO_3, None))
    write(ws.layers / "different_layer_dir_from_env" / "group.toml", group_toml(HELLO_2))
    write(ws.layers / "different_layer_dir_from_env" / "plan.toml", plan_toml(HELLO_2, None))
    for directory, _, files in os.walk(ws.layers):  # the image's `chown -R cnb /layers`
        for name in (directory, *(os.path.join(directory, f) for f in files)):
            os.chown(name, CNB_UID, CNB_GID)


@pytest.fixture
def image(ws: Workspace) -> Workspace:
    """The workspace with the builder image's buildpacks, group, plan and layers files."""
    builder_image(ws)
    return ws


def build(
    ws: Workspace,
    *args: str,
    api: str = LATEST,
    root: bool = False,
    given: dict[str, str] | None = None,
    **env: str,
) -> Result:
    """Run the builder as the Go test's ``docker run`` does: the image's paths as defaults, the
    ``CNB_*`` variables given (``group="..."`` is ``CNB_GROUP_PATH``; also as ``given``) on top,
    in ``<layers>``."""
    variables = {
        "CNB_LAYERS_DIR": str(ws.layers),
        "CNB_APP_DIR": str(ws.app),
        "CNB_BUILDPACKS_DIR": str(ws.buildpacks),
        "CNB_PLATFORM_DIR": str(ws.platform),
        "CNB_BUILD_CONFIG_DIR": str(ws.root / "cnb" / "build-config"),
        "CNB_PLATFORM_API": api,
    }
    names = {
        "group": "CNB_GROUP_PATH",
        "plan": "CNB_PLAN_PATH",
        "layers": "CNB_LAYERS_DIR",
        "app": "CNB_APP_DIR",
        "buildpacks": "CNB_BUILDPACKS_DIR",
        "platform": "CNB_PLATFORM_DIR",
    }
    variables.update({names[key]: value for key, value in {**(given or {}), **env}.items()})
    return ws.run("builder", *args, env=variables, as_root=root, dir_flags=False, cwd=ws.layers)


def group_file(ws: Workspace, name: str) -> str:
    return str(ws.root / "cnb" / "group_tomls" / name)


def plan_file(ws: Workspace, name: str) -> str:
    return str(ws.root / "cnb" / "plan_tomls" / name)


def builder_metadata(layers: Path) -> tuple[str, dict[str, Any]]:
    """``<layers>/config/metadata.toml``: its text (not empty) and its content."""
    contents = (layers / "config" / "metadata.toml").read_text()
    assert len(contents) > 0
    return contents, tomllib.loads(contents)


def assert_hello_world(md: dict[str, Any], bp: tuple[str, str] = HELLO) -> None:
    """The first buildpack of ``metadata.toml`` is ``bp`` at Buildpack API 0.10."""
    first = md["buildpacks"][0]
    assert "0.10" in first["api"]
    assert bp[0] in first["id"]
    assert bp[1] in first["version"]


def assert_hello_process(contents: str, md: dict[str, Any]) -> None:
    """The one process hello_world declares, as the Go test reads it back."""
    assert "processes =" not in contents  # processes are an array of tables, not inline
    assert_hello_world(md)
    assert len(md["processes"]) == 1
    process = md["processes"][0]
    assert process["type"] == "hello"
    command = process["command"]
    assert (command if isinstance(command, list) else [command]) == ["echo world"]
    assert process["args"] == ["arg1"]
    assert process["direct"] is True
    assert process.get("working-dir", "") == ""
    assert process.get("default", False) is False


def test_called_with_arguments_errors(image: Workspace) -> None:
    """acceptance/builder_test.go:78 "called with arguments / errors"."""
    result = build(image, "some-arg")
    assert result.code != 0
    assert "failed to parse arguments: received unexpected arguments" in result.text


def test_running_as_root_errors(image: Workspace) -> None:
    """acceptance/builder_test.go:96 "running as a root / errors"."""
    result = build(image, root=True)
    assert result.code != 0
    assert "failed to build: refusing to run as root" in result.text


def test_correct_group_and_plan_succeeds(image: Workspace) -> None:
    """acceptance/builder_test.go:114 "correct and full group.toml and plan.toml / succeeds"."""
    result = build(
        image,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
    )
    assert result.code == 0, result.text
    assert_hello_world(builder_metadata(image.layers)[1])


@pytest.mark.parametrize(
    "api",
    [
        pytest.param(LATEST, id="builder_test.go:136 writing metadata.toml"),
        pytest.param("0.9", id="builder_test.go:168 the platform < 0.10"),
    ],
)
def test_metadata_toml_is_written_and_reads_back(image: Workspace, api: str) -> None:
    """acceptance/builder_test.go:136 "writing metadata.toml / writes and reads successfully" and
    acceptance/builder_test.go:168 "the platform < 0.10 / writes and reads successfully"."""
    result = build(
        image,
        api=api,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
    )
    assert result.code == 0, result.text
    assert_hello_process(*builder_metadata(image.layers))


def test_group_extensions_are_recorded_in_metadata_toml(image: Workspace) -> None:
    """acceptance/builder_test.go:202 "-group contains extensions / includes the provided extensions
    in <layers>/config/metadata.toml"."""
    result = build(
        image,
        group=group_file(image, "group_with_ext.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
    )
    assert result.code == 0, result.text
    md = builder_metadata(image.layers)[1]
    assert_hello_world(md)
    extension = md["extensions"][0]
    assert "0.10" in extension["api"]
    assert "hello_world" in extension["id"]
    assert "0.0.1" in extension["version"]


@pytest.mark.parametrize(
    ("group", "plan", "expected"),
    [
        pytest.param(
            None,
            "always_detect_plan.toml",
            "failed to read group file: open {layers}/group.toml: no such file or directory",
            id="builder_test.go:230 group.toml not found",
        ),
        pytest.param(
            "wrong_group.toml",
            "always_detect_plan.toml",
            "failed to read group file: toml: line 1: expected '.' or '=', but got 'a' instead",
            id="builder_test.go:266 group.toml invalid",
        ),
        pytest.param(
            "always_detect_group.toml",
            None,
            "failed to read plan file: open {layers}/plan.toml: no such file or directory",
            id="builder_test.go:306 plan.toml not found",
        ),
        pytest.param(
            "always_detect_group.toml",
            "wrong_plan.toml",
            "failed to read plan file: toml: line 1: expected '.' or '=', but got 'a' instead",
            id="builder_test.go:345 plan.toml invalid",
        ),
    ],
)
def test_unreadable_group_or_plan_errors(
    image: Workspace, group: str | None, plan: str | None, expected: str
) -> None:
    """acceptance/builder_test.go:230, :266, :306 and :345 "invalid input files /
    group.toml|plan.toml / not found|invalid / errors": a missing file is looked for in
    ``<layers>``."""
    env = {}
    if group is not None:
        env["group"] = group_file(image, group)
    if plan is not None:
        env["plan"] = plan_file(image, plan)
    result = build(image, given=env)
    assert result.code != 0
    assert expected.format(layers=image.layers) in result.text


def test_empty_group_succeeds_without_processes(image: Workspace) -> None:
    """acceptance/builder_test.go:247 "invalid input files / group.toml / empty / succeeds"."""
    result = build(
        image,
        group=group_file(image, "empty_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
    )
    assert result.code == 0, result.text
    assert len(builder_metadata(image.layers)[1].get("processes", [])) == 0


def test_unparsable_buildpack_api_in_group_errors(image: Workspace) -> None:
    """acceptance/builder_test.go:285 "invalid input files / group.toml / invalid builpack api /
    errors"."""
    result = build(
        image,
        group=group_file(image, "invalid_buildpack_api_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
    )
    assert result.code != 0
    assert "parse buildpack API '<nil>' for buildpack 'hello_world@0.0.1'" in result.text


def test_empty_plan_succeeds(image: Workspace) -> None:
    """acceptance/builder_test.go:323 "invalid input files / plan.toml / empty / succeeds"."""
    result = build(
        image,
        plan=plan_file(image, "empty_plan.toml"),
        group=group_file(image, "always_detect_group.toml"),
    )
    assert result.code == 0, result.text
    assert_hello_world(builder_metadata(image.layers)[1])


@pytest.mark.parametrize(
    ("given", "name"),
    [
        pytest.param("plan", "always_detect_plan_buildpack_2.toml", id="builder_test.go:367"),
        pytest.param("group", "always_detect_group_buildpack2.toml", id="builder_test.go:389"),
    ],
)
def test_the_file_not_given_is_read_from_the_layers_directory(
    image: Workspace, given: str, name: str
) -> None:
    """acceptance/builder_test.go:367 "group.toml path is not specified / will look for group.toml
    in the provided layers directory" and builder_test.go:389 "plan.toml path is not specified /
    will look for plan.toml in the provided layers directory"."""
    layers = image.layers / "different_layer_dir_from_env"
    path = (group_file if given == "group" else plan_file)(image, name)
    result = build(image, layers=str(layers), given={given: path})
    assert result.code == 0, result.text
    assert_hello_world(builder_metadata(layers)[1], HELLO_2)


def test_buildpacks_run_in_cnb_app_dir(image: Workspace) -> None:
    """acceptance/builder_test.go:411 "CNB_APP_DIR is set / sets the buildpacks' working directory
    to CNB_APP_DIR"."""
    app = image.root / "env_folders" / "different_cnb_app_dir_from_env"
    result = build(
        image,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
        app=str(app),
    )
    assert result.code == 0, result.text
    assert f"CNB_APP_DIR: {app}" in result.text


def test_buildpacks_come_from_cnb_buildpacks_dir(image: Workspace) -> None:
    """acceptance/builder_test.go:430 "CNB_BUILDPACKS_DIR is set / uses buildpacks from
    CNB_BUILDPACKS_DIR"."""
    buildpacks = image.root / "env_folders" / "different_buildpack_dir_from_env"
    result = build(
        image,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
        buildpacks=str(buildpacks),
    )
    assert result.code == 0, result.text
    assert f"CNB_BUILDPACK_DIR: {buildpacks}" in result.text


def test_cnb_layers_dir_is_the_parent_of_the_buildpack_layers_dir(image: Workspace) -> None:
    """acceptance/builder_test.go:449 "CNB_LAYERS_DIR is set / CNB_LAYERS_DIR is a parent of the
    buildpack layers dir"."""
    layers = image.layers / "different_layer_dir_from_env"
    result = build(
        image,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
        layers=str(layers),
    )
    assert result.code == 0, result.text
    assert f"LAYERS_DIR: {layers}/hello_world" in result.text


def test_buildpack_gets_its_part_of_the_plan_at_cnb_plan_path(image: Workspace) -> None:
    """acceptance/builder_test.go:468 "CNB_PLAN_PATH is set / provides the buildpack a filtered
    version of the plan found at CNB_PLAN_PATH"."""
    result = build(
        image,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "different_plan_from_env.toml"),
    )
    assert result.code == 0, result.text
    assert 'name = "different_plan_from_env.toml_reqires_subset_content"' in result.text


def test_cnb_platform_dir_reaches_the_build_script(image: Workspace) -> None:
    """acceptance/builder_test.go:486 "CNB_PLATFORM_DIR is set / CNB_PLATFORM_DIR is successfully
    transmitted to build script"."""
    platform = image.root / "env_folders" / "different_platform_dir_from_env"
    result = build(
        image,
        group=group_file(image, "always_detect_group.toml"),
        plan=plan_file(image, "always_detect_plan.toml"),
        platform=str(platform),
    )
    assert result.code == 0, result.text
    assert f"PLATFORM_DIR: {platform}" in result.text


def test_cnb_target_variables_come_from_analyzed_toml(image: Workspace) -> None:
    """acceptance/builder_test.go:505 "It runs / sets CNB_TARGET_* vars"."""
    result = build(
        image,
        layers=str(image.layers / "03_layer"),
        plan=plan_file(image, "always_detect_plan_buildpack_3.toml"),
    )
    assert result.code == 0, result.text
    for line in (
        "CNB_TARGET_ARCH: amd64",
        "CNB_TARGET_ARCH_VARIANT: some-variant",
        "CNB_TARGET_OS: linux",
        "CNB_TARGET_DISTRO_NAME: ubuntu",
        "CNB_TARGET_DISTRO_VERSION: some-cute-version",
    ):
        assert line in result.text
