"""The reference lifecycle's detector acceptance tests (``acceptance/detector_test.go``),
translated: each Go ``it`` runs the detector of a builder-like image, here a workspace whose
``/cnb``, ``/layers`` and ``/workspace`` stand in for the image's, started as the CNB user.

As in the Go test, every case runs at each supported Platform API from 0.12 on. The Go image's
default paths (``/layers``, ``/cnb/buildpacks`` ...) are given as the ``CNB_*`` variables the
detector reads them from, never as flags, so flags and variables a case sets win as they do
there; the working directory is ``<layers>``, the image's ``WORKDIR``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.spec.api import ApiVersion
from tests.conformance.harness import Result, Workspace

PLATFORM_APIS = ("0.12", "0.13", "0.14", "0.15")
ALWAYS = ("always_detect_buildpack", "always_detect_buildpack_version")
FOR_EXT = ("buildpack_for_ext", "buildpack_for_ext_version")
SIMPLE = ("simple_buildpack", "simple_buildpack_version")

SIMPLE_PLAN = """cat >> "$2" <<EOF
[[provides]]
name = "some_requirement"

[[requires]]
name = "some_requirement"
[requires.metadata]
version = "some_version"
some_metadata_key = "some_metadata_val"
EOF"""

REQUIRES_ONLY_PLAN = """cat >> "$2" <<EOF
[[requires]]
name = "some_requirement"
[requires.metadata]
version = "some_version"
some_metadata_key = "some_metadata_val"
EOF"""

PRINT_DIRS = 'echo "platform_path: $1"\necho "app_dir: $(pwd)"'


def order_toml(*refs: tuple[str, str]) -> str:
    """An order.toml of one group of (id, version)."""
    return "[[order]]\n" + "".join(
        f'[[order.group]]\nid = "{bp_id}"\nversion = "{version}"\n' for bp_id, version in refs
    )


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, making its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def detector_image(ws: Workspace) -> None:
    """The files of the Go test's detector image, under the workspace."""
    ws.buildpack(
        "always_detect_buildpack",
        "always_detect_buildpack_version",
        detect=f'{PRINT_DIRS}\ncat >> "$2" <<EOF\n[[provides]]\nname = "some_requirement"\nEOF',
    )
    ws.buildpack(
        "buildpack_for_ext", "buildpack_for_ext_version", detect=f"env\n{REQUIRES_ONLY_PLAN}"
    )
    ws.buildpack(
        "fail_detect_buildpack",
        "some_version",
        api="0.9",
        detect='echo "Opted out of detection"\nexit 100',
    )
    ws.buildpack(
        "simple_buildpack",
        "simple_buildpack_version",
        api="0.9",
        detect=SIMPLE_PLAN,
        toml='[[stacks]]\nid = "io.buildpacks.stacks.bionic"\n'
        '[[stacks]]\nid = "io.buildpacks.stacks.jammy"\n',
    )
    bad_api = ws.buildpacks / "bad_api" / "bad_api_version"
    write(
        bad_api / "buildpack.toml",
        'api = "0.1"\n[buildpack]\nid = "bad_api"\nversion = "bad_api_version"\n',
    )
    custom = ws.root / "cnb" / "custom_buildpacks" / "always_detect_buildpack"
    custom_bp = custom / "always_detect_buildpack_version"
    write(
        custom_bp / "buildpack.toml",
        'api = "0.10"\n[buildpack]\nid = "always_detect_buildpack"\n'
        'version = "always_detect_buildpack_version"\n',
    )
    script = write(custom_bp / "bin" / "detect", f"#!/bin/sh\n{PRINT_DIRS}\n")
    script.chmod(0o755)
    orders = {
        "always_detect_order.toml": ("always_detect_buildpack", "always_detect_buildpack_version"),
        "bad_api.toml": ("bad_api", "bad_api_version"),
        "fail_detect_order.toml": ("fail_detect_buildpack", "some_version"),
        "middle_order.toml": ("buildpack_for_ext", "buildpack_for_ext_version"),
        "simple_order.toml": SIMPLE,
    }
    for name, ref in orders.items():
        write(ws.root / "cnb" / "orders" / name, order_toml(ref))
    write(
        ws.root / "cnb" / "test-data" / "system.toml",
        '[[system.pre.buildpacks]]\nid = "always_detect_buildpack"\n'
        'version = "always_detect_buildpack_version"\n'
        '[[system.post.buildpacks]]\nid = "simple_buildpack"\n'
        'version = "simple_buildpack_version"\n',
    )
    ws.extension(
        "simple_extension",
        "simple_extension_version",
        api="0.9",
        detect='cat >> "$2" <<EOF\n[[provides]]\nname = "some_requirement"\nEOF\n'
        'echo "simple_extension: output from /bin/detect"',
        generate='echo "FROM some-run-image-from-extension" >> "$CNB_OUTPUT_DIR/run.Dockerfile"\n'
        'echo "simple_extension: output from /bin/generate"',
        toml='name = "Simple Extension"\n',
    )
    write(
        ws.root / "cnb" / "orders" / "order_with_ext.toml",
        order_toml(FOR_EXT)
        + '[[order-extensions]]\n[[order-extensions.group]]\nid = "simple_extension"\n'
        'version = "simple_extension_version"\n',
    )
    write(ws.root / "cnb" / "build-config" / "env" / "FOO", "val-from-build-config")
    write(ws.layers / "analyzed.toml", '[run-image]\nreference = "some-old-run-image"\n')
    (ws.root / "custom_workspace").mkdir()


@pytest.fixture
def image(ws: Workspace) -> Workspace:
    """The workspace with the detector image's buildpacks, orders and layers."""
    detector_image(ws)
    return ws


def detect(
    ws: Workspace, api: str, *flags: str, env: dict[str, str] | None = None, root: bool = False
) -> Result:
    """Run the detector as the Go test's ``docker run`` does: the image's paths as defaults,
    ``env`` and ``flags`` on top, in ``<layers>``."""
    defaults = {
        "CNB_LAYERS_DIR": str(ws.layers),
        "CNB_APP_DIR": str(ws.app),
        "CNB_BUILDPACKS_DIR": str(ws.buildpacks),
        "CNB_PLATFORM_DIR": str(ws.platform),
        "CNB_BUILD_CONFIG_DIR": str(ws.root / "cnb" / "build-config"),
        "CNB_EXTENSIONS_DIR": str(ws.root / "cnb" / "extensions"),
        "CNB_RUN_PATH": str(ws.root / "cnb" / "run.toml"),
        "CNB_SYSTEM_PATH": str(ws.root / "cnb" / "system.toml"),
    }
    return ws.run(
        "detector",
        *flags,
        env={**defaults, "CNB_PLATFORM_API": api, **(env or {})},
        as_root=root,
        dir_flags=False,
        cwd=ws.layers,
    )


def order_path(ws: Workspace, name: str) -> str:
    return str(ws.root / "cnb" / "orders" / name)


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_called_with_arguments_errors(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:64 "called with arguments / errors"."""
    result = detect(image, api, "some-arg")
    assert result.code != 0
    assert "failed to parse arguments: received unexpected arguments" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_running_as_root_errors(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:81 "running as a root / errors"."""
    result = detect(image, api, root=True)
    assert result.code != 0
    assert "failed to detect: refusing to run as root" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_no_order_file_in_the_default_locations_errors(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:99 "read buildpack order file failed / errors": neither
    ``<layers>/order.toml`` nor ``/cnb/order.toml`` exists."""
    assert not Path("/cnb/order.toml").exists(), "this host has a /cnb/order.toml"
    result = detect(image, api)
    assert result.code != 0
    assert "failed to initialize detector: reading order" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_no_group_passing_prints_each_output_and_the_results_and_exits_20(
    image: Workspace, api: str
) -> None:
    """acceptance/detector_test.go:116 "no buildpack group passed detection / errors and exits with
    the expected code": at the default log level the buffered debug lines are all printed."""
    result = detect(image, api, env={"CNB_ORDER_PATH": order_path(image, "fail_detect_order.toml")})
    assert result.code == 20, result.text
    assert (
        "======== Output: fail_detect_buildpack@some_version ========\n"
        "Opted out of detection\n"
        "======== Results ========\n"
        "fail: fail_detect_buildpack@some_version"
    ) in result.text
    assert "No buildpack groups passed detection." in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_passing_group_writes_group_and_plan_at_the_default_locations(
    image: Workspace, api: str
) -> None:
    """acceptance/detector_test.go:160 "there is a buildpack group that passes detection / writes
    group.toml and plan.toml at the default locations"."""
    result = detect(image, api, env={"CNB_ORDER_PATH": order_path(image, "simple_order.toml")})
    assert result.code == 0, result.text
    group = image.read_toml("group.toml")["group"]
    assert (group[0]["id"], group[0]["version"]) == ("simple_buildpack", "simple_buildpack_version")
    entry = image.read_toml("plan.toml")["entries"][0]
    provider = entry["providers"][0]
    assert (provider["id"], provider["version"]) == ("simple_buildpack", "simple_buildpack_version")
    require = entry["requires"][0]
    assert require["name"] == "some_requirement"
    assert require["metadata"]["some_metadata_key"] == "some_metadata_val"
    assert require["metadata"]["version"] == "some_version"
    assert "simple_buildpack simple_buildpack_version" in result.text
    assert "======== Results ========" not in result.text  # info level: detection passed


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_directories_and_output_paths_from_the_environment(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:213 "environment variables are provided for buildpack and app
    directories and for the output files / writes group.toml and plan.toml in the right locations
    and with the right names": relative output paths are relative to the working directory
    (``<layers>``)."""
    custom_platform = str(image.root / "custom_platform")
    custom_workspace = str(image.root / "custom_workspace")
    env = {
        "CNB_ORDER_PATH": order_path(image, "always_detect_order.toml"),
        "CNB_BUILDPACKS_DIR": str(image.root / "cnb" / "custom_buildpacks"),
        "CNB_APP_DIR": custom_workspace,
        "CNB_GROUP_PATH": "./custom_group.toml",
        "CNB_PLAN_PATH": "./custom_plan.toml",
        "CNB_PLATFORM_DIR": custom_platform,
    }
    result = detect(image, api, "-log-level=debug", env=env)
    assert result.code == 0, result.text
    group = image.read_toml("custom_group.toml")["group"]
    assert (group[0]["id"], group[0]["version"]) == (
        "always_detect_buildpack",
        "always_detect_buildpack_version",
    )
    assert (image.layers / "custom_plan.toml").read_bytes() == b""  # no plan: nothing required
    assert f"platform_path: {custom_platform}" in result.text
    assert f"app_dir: {custom_workspace}" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_order_flag_names_the_order_to_process(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:275 "-order is provided / the order.toml exists / processes the
    provided order.toml"."""
    custom = write(image.root / "custom" / "order.toml", order_toml(SIMPLE))
    result = detect(image, api, "-log-level=debug", f"-order={custom}")
    assert result.code == 0, result.text
    group = image.read_toml("group.toml")["group"]
    assert (group[0]["id"], group[0]["version"]) == ("simple_buildpack", "simple_buildpack_version")


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_order_flag_naming_a_missing_file_errors(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:301 "-order is provided / the order.toml does not exist /
    errors"."""
    missing = image.root / "custom" / "order.toml"
    result = detect(image, api, f"-order={missing}")
    assert result.code != 0
    assert (
        "failed to initialize detector: reading order: failed to read order file: "
        f"open {missing}: no such file or directory"
    ) in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_order_with_a_buildpack_of_an_unsupported_api_exits_12(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:316 "-order is provided / the order.toml contains a buildpack
    using an unsupported api / errors"."""
    result = detect(image, api, f"-order={order_path(image, 'bad_api.toml')}")
    assert result.code == 12, result.text
    assert "buildpack API version '0.1' is incompatible with the lifecycle" in result.text


@pytest.mark.parametrize("api", PLATFORM_APIS)
def test_order_with_extensions_detects_and_generates(image: Workspace, api: str) -> None:
    """acceptance/detector_test.go:355 "-order contains extensions / processes the provided
    order.toml": extensions detect with the buildpacks (an experimental feature before Platform
    0.13), group.toml gets ``[[group-extensions]]``, the requirement the extension provides
    leaves plan.toml, and the run.Dockerfile it generates switches analyzed.toml's run image."""
    mode = "error" if ApiVersion.parse(api).at_least("0.13") else "warn"
    run_toml = write(image.layers / "run.toml", '[[images]]\nimage = "some-run-image"\n')
    generated = image.layers / "generated"
    result = detect(
        image,
        api,
        f"-analyzed={image.layers / 'analyzed.toml'}",
        f"-extensions={image.extensions}",
        f"-generated={generated}",
        "-log-level=debug",
        f"-run={run_toml}",
        env={
            "CNB_ORDER_PATH": order_path(image, "order_with_ext.toml"),
            "CNB_EXPERIMENTAL_MODE": mode,
        },
    )
    assert result.code == 0, result.text
    if mode == "warn":
        assert "Platform requested experimental feature 'Dockerfiles'" in result.text
    assert "FOO=val-from-build-config" in result.text
    assert "simple_extension: output from /bin/detect" in result.text
    group = image.read_toml("group.toml")
    extension = group["group-extensions"][0]
    assert (extension["id"], extension["version"]) == (
        "simple_extension",
        "simple_extension_version",
    )
    buildpack = group["group"][0]
    assert (buildpack["id"], buildpack["version"]) == FOR_EXT
    assert not buildpack.get("extension", False)
    assert image.read_toml("plan.toml").get("entries", []) == []  # the extension met it
    assert "simple_extension: output from /bin/generate" in result.text
    if ApiVersion.parse(api).less_than("0.13"):
        dockerfile = generated / "run" / "simple_extension" / "Dockerfile"
    else:
        dockerfile = generated / "simple_extension" / "run.Dockerfile"
    assert dockerfile.read_text() == "FROM some-run-image-from-extension\n"
    assert image.read_toml("analyzed.toml")["run-image"]["image"] == "some-run-image-from-extension"


def test_system_buildpacks_are_merged_into_the_order(image: Workspace) -> None:
    """acceptance/detector_test.go:441 "Platform API >= 0.15 / system.toml is provided / merges
    system buildpacks with order" (the Go test skips it below 0.15)."""
    env = {
        "CNB_ORDER_PATH": order_path(image, "middle_order.toml"),
        "CNB_SYSTEM_PATH": str(image.root / "cnb" / "test-data" / "system.toml"),
    }
    result = detect(image, "0.15", "-log-level=debug", env=env)
    assert result.code == 0, result.text
    assert image.group() == [f"{bp_id}@{version}" for bp_id, version in (ALWAYS, FOR_EXT, SIMPLE)]
    for bp_id, version in (ALWAYS, FOR_EXT, SIMPLE):
        assert bp_id in result.text
        assert version in result.text
    assert "Prepending 1 system buildpack(s) to group" in result.text
    assert "Appending 1 system buildpack(s) to group" in result.text
