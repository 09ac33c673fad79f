"""Platform API 0.7 to 0.15 through the real phase binaries: what the reference lifecycle does
differently per version (``platform/resolve_inputs.go``, ``phase/analyzer.go``,
``phase/exporter.go``, ``cmd/lifecycle/creator.go``, ``cmd/lifecycle/exporter.go``,
``launch/process.go`` of buildpacks/lifecycle 0.21).

- every version from 0.7 to 0.15 runs; 0.6 and 0.16 are exit 11;
- before 0.12 the run image comes from ``stack.toml`` (``-stack``), analyzed.toml records only
  its reference, and the app image's ``stack`` metadata is stack.toml's run image;
- ``SOURCE_DATE_EPOCH`` is honoured from 0.9; image history is written from 0.12;
- before 0.10 the creator's ``-skip-restore`` skips the restore step; ``metadata.toml`` keeps a
  process's command as one string and the launcher appends user arguments;
- the exporter refuses ``-run-image`` and ``-image`` (exit 3), the rebaser takes ``-image``;
- the exporter puts the ``-launcher`` file in the app image and the ``-launcher-sbom`` files
  in its launch SBOM; ``-launch-cache`` without ``-daemon`` is a warning.
"""

from __future__ import annotations

import io
import json
import tarfile
import tomllib

import pytest

from pypack.oci.image import Image
from pypack.oci.models import Platform
from pypack.oci.stores import RegistryImageStore
from pypack.spec.api import SUPPORTED_PLATFORM_APIS
from pypack.spec.metadata_toml import Process
from tests.conformance.harness import Workspace
from tests.conformance.test_export import WEB, build, launch_toml, pull, push_run_image
from tests.conformance.test_launch import Image as LaunchImage
from tests.conformance.test_launch import argv_printer, image, web

__all__ = ["image"]

EPOCH = "1700000000"  # 2023-11-14T22:13:20Z


def api_env(api: str, **extra: str) -> dict[str, str]:
    return {"CNB_PLATFORM_API": api, **extra}


@pytest.mark.parametrize("api", [str(v) for v in SUPPORTED_PLATFORM_APIS])
def test_every_supported_platform_api_detects(ws: Workspace, api: str) -> None:
    ws.buildpack("a")
    ws.order([[("a", "1.0.0", False)]])
    result = ws.run("detector", env=api_env(api))
    assert result.code == 0, result.text
    assert ws.group() == ["a@1.0.0"]


@pytest.mark.parametrize("api", ["0.6", "0.16"])
def test_unsupported_platform_api_is_exit_11(ws: Workspace, api: str) -> None:
    result = ws.run("detector", env=api_env(api))
    assert result.code == 11
    assert f"platform API version '{api}' is incompatible with the lifecycle" in result.err


def test_flag_of_a_later_platform_api_is_exit_2(ws: Workspace) -> None:
    result = ws.run("detector", "-analyzed", str(ws.layers / "a.toml"), env=api_env("0.9"))
    assert result.code == 2
    assert "flag provided but not defined: -analyzed" in result.err
    result = ws.run("analyzer", "-run", "/cnb/run.toml", "some/app", env=api_env("0.11"))
    assert result.code == 2
    assert "flag provided but not defined: -run" in result.err


def write_stack(ws: Workspace, image: str, mirrors: list[str]) -> None:
    path = ws.root / "cnb" / "stack.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[run-image]\nimage = {json.dumps(image)}\nmirrors = {json.dumps(mirrors)}\n")


@pytest.mark.integration
def test_creator_0_9_takes_the_run_image_from_stack_toml(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    run = push_run_image(registry, busybox_base, "run-v09:1")
    mirror = "mirror.invalid/conformance/run-v09:1"
    write_stack(ws, run, [mirror])
    ws.buildpack("a", build=launch_toml(WEB))
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app-v09:1"
    result = ws.run("creator", app, env=api_env("0.9", SOURCE_DATE_EPOCH=EPOCH))
    assert result.code == 0, result.text
    assert "===> RESTORING" in result.text
    run_image = ws.read_toml("analyzed.toml")["run-image"]
    assert run_image["reference"].startswith(f"{registry}/conformance/run-v09@sha256:")
    assert "image" not in run_image
    assert "target" not in run_image
    metadata = tomllib.loads((ws.layers / "config" / "metadata.toml").read_text())
    assert metadata["processes"][0]["command"] == "web-cmd"
    built = pull(app)
    label = json.loads(built.label("io.buildpacks.lifecycle.metadata") or "{}")
    assert label["stack"]["runImage"] == {"image": run, "mirrors": [mirror]}
    assert "image" not in label["runImage"]
    assert built.env("CNB_PLATFORM_API") == "0.9"
    assert not built.config.history  # history is written from Platform 0.12
    assert built.created is not None
    assert built.created.startswith("2023-11-14T22:13:20")


@pytest.mark.integration
def test_creator_0_8_ignores_source_date_epoch_and_skips_restore(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    run = push_run_image(registry, busybox_base, "run-v08:1")
    write_stack(ws, run, [])
    ws.buildpack("a", build=launch_toml(WEB))
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app-v08:1"
    env = api_env("0.8", SOURCE_DATE_EPOCH=EPOCH)
    result = ws.run("creator", "-skip-restore", app, env=env)
    assert result.code == 0, result.text
    assert "===> RESTORING" not in result.text
    created = pull(app).created
    assert created is not None
    assert not created.startswith("2023")
    result = ws.run("creator", "-skip-restore", app, env=api_env("0.10"))
    assert result.code == 0, result.text
    assert "===> RESTORING" in result.text  # from 0.10 the restorer runs, metadata only


def test_creator_0_9_without_stack_toml_needs_a_run_image(ws: Workspace) -> None:
    ws.buildpack("a")
    ws.order([[("a", "1.0.0", False)]])
    result = ws.run("creator", "127.0.0.1:9/app:1", env=api_env("0.9"))
    assert result.code == 3, result.text
    assert "missing run image metadata (-run-image)" in result.err


@pytest.mark.parametrize("api", ["0.9", "0.13"])
def test_exporter_refuses_run_image_flags(ws: Workspace, api: str) -> None:
    result = ws.run("exporter", "-run-image", "some/run", "some/app", env=api_env(api))
    assert result.code == 3
    assert "-run-image is unsupported" in result.err
    result = ws.run("exporter", "-image", "some/run", "some/app", env=api_env(api))
    assert result.code == 3
    assert "-image is unsupported" in result.err


def test_rebaser_refuses_both_run_image_flags(ws: Workspace) -> None:
    result = ws.run(
        "rebaser", "-image", "a/run", "-run-image", "b/run", "some/app", env=api_env("0.9")
    )
    assert result.code == 3
    assert "supply only one of -run-image or (deprecated) -image" in result.err


def test_launcher_before_0_10_appends_user_args(image: LaunchImage) -> None:
    argv_printer(image)
    process: Process = web(command=["node"], args=["server.js"])
    image.metadata(process, default="web", api="0.9")
    env = {"CNB_PLATFORM_API": "0.9"}
    assert image.run("web", "other.js", env=env).stdout.split() == ["node", "server.js", "other.js"]
    assert image.run("web", env=env).stdout.split() == ["node", "server.js"]
    env = {"CNB_PLATFORM_API": "0.10"}
    assert image.run("web", "other.js", env=env).stdout.split() == ["node", "other.js"]


@pytest.mark.integration
def test_exporter_takes_the_launcher_and_its_sbom_given(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    run = push_run_image(registry, busybox_base, "run-launcher:1")
    ws.buildpack("a", build=launch_toml(WEB))
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app-launcher:1"
    build(ws, registry, run, app)
    launcher = ws.root / "my-launcher"
    launcher.write_text("#!/bin/sh\necho a launcher of the platform's own\n")
    launcher.chmod(0o755)
    sboms = ws.root / "launcher-sbom"
    sboms.mkdir()
    (sboms / "launcher.sbom.cdx.json").write_text('{"bomFormat": "CycloneDX"}\n')
    (sboms / "notes.txt").write_text("not an SBOM\n")
    result = ws.run(
        "exporter",
        *("-launcher", str(launcher), "-launcher-sbom", str(sboms)),
        *("-launch-cache", str(ws.root / "launch-cache")),
        app,
        env=api_env("0.11"),
    )
    assert result.code == 0, result.text
    assert "Ignoring -launch-cache, only intended for use with -daemon" in result.text
    copied = ws.layers / "sbom" / "launch" / "buildpacksio_lifecycle" / "launcher"
    assert sorted(p.name for p in copied.iterdir()) == ["launcher.sbom.cdx.json"]
    image = pull(app)
    contents = {}
    for index in range(len(image.layers)):
        with image.layers[index].open_uncompressed() as stream:
            data = stream.read()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                extracted = tar.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    contents[member.name] = extracted.read()
    assert contents["cnb/lifecycle/launcher"] == launcher.read_bytes()
    sbom = f"{str(ws.layers).lstrip('/')}/sbom/launch/buildpacksio_lifecycle/launcher/"
    assert sbom + "launcher.sbom.cdx.json" in contents
    missing = ws.run("exporter", "-launcher", str(ws.root / "nope"), app)
    assert missing.code == 3
    assert "-launcher" in missing.err
    assert "no such file" in missing.err


def test_extension_output_is_refused_naming_the_flag(ws: Workspace) -> None:
    """A Dockerfile in ``-generated`` that would need the extender is refused by the restorer;
    one that only switches the run image is not."""
    ws.buildpack("a")
    ws.order([[("a", "1.0.0", False)]])
    (ws.layers / "group.toml").write_text('[[group]]\nid = "a"\nversion = "1.0.0"\napi = "0.10"\n')
    generated = ws.root / "generated"
    (generated / "build" / "ext").mkdir(parents=True)
    (generated / "build" / "ext" / "Dockerfile").write_text(
        "ARG base_image\nFROM ${base_image}\nRUN true\n"
    )
    result = ws.run("restorer", "-generated", str(generated), env=api_env("0.12"))
    assert result.code == 3
    assert f"-generated {generated}: image extensions' output is not supported" in result.err
    switch = ws.root / "switch" / "ext"
    switch.mkdir(parents=True)
    (switch / "run.Dockerfile").write_text("FROM some-run-image\n")
    result = ws.run("restorer", "-generated", str(switch.parent), env=api_env("0.13"))
    assert result.code == 0, result.text


def test_version_flag_among_other_flags(ws: Workspace) -> None:
    result = ws.run("detector", "-log-level=debug", "-version")
    assert result.code == 0, result.text
    assert result.out.strip()
    assert "===> DETECTING" not in result.text


LEGACY_BOM = (
    "cat > \"$1/launch.toml\" <<'EOF'\n"
    '[[processes]]\ntype = "web"\ncommand = ["web-cmd"]\ndefault = true\n'
    '[[bom]]\nname = "runtime-dep"\n[bom.metadata]\nsize = 1\n'
    "EOF\n"
    "cat > \"$1/build.toml\" <<'EOF'\n"
    '[[bom]]\nname = "build-tool"\n'
    "EOF"
)


@pytest.mark.integration
@pytest.mark.parametrize("api", ["0.8", "0.9"])
def test_legacy_bom_before_0_9(ws: Workspace, registry: str, busybox_base: Image, api: str) -> None:
    run = push_run_image(registry, busybox_base, f"run-bom-{api}:1")
    write_stack(ws, run, [])
    ws.buildpack("a", build=LEGACY_BOM)
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app-bom-{api}:1"
    result = ws.run("creator", app, env=api_env(api))
    assert result.code == 0, result.text
    metadata = tomllib.loads((ws.layers / "config" / "metadata.toml").read_text())
    report = ws.read_toml("report.toml")
    legacy = ws.layers / "sbom" / "launch" / "sbom.legacy.json"
    label = json.loads(pull(app).label("io.buildpacks.build.metadata") or "{}")
    if api == "0.8":
        assert [e["name"] for e in metadata["bom"]] == ["runtime-dep"]
        assert [e["name"] for e in label["bom"]] == ["runtime-dep"]
        assert [e["name"] for e in report["build"]["bom"]] == ["build-tool"]
        assert report["build"]["bom"][0]["buildpack"]["id"] == "a"
        assert not legacy.exists()
    else:
        assert "bom" not in metadata
        assert "bom" not in label
        assert "build" not in report
        assert [e["name"] for e in json.loads(legacy.read_text())] == ["runtime-dep"]


@pytest.mark.integration
def test_restorer_from_0_14_checks_the_selected_run_image(ws: Workspace, registry: str) -> None:
    missing = f"{registry}/conformance/no-such-run:1"
    (ws.root / "cnb").mkdir(parents=True, exist_ok=True)
    run_toml = ws.root / "cnb" / "run.toml"
    run_toml.write_text(f'[[images]]\nimage = "{missing}"\n')
    (ws.layers / "group.toml").write_text('[[group]]\nid = "a"\nversion = "1.0.0"\napi = "0.10"\n')
    (ws.layers / "analyzed.toml").write_text(
        f'[run-image]\nreference = "{missing}"\nimage = "{missing}"\n'
    )
    result = ws.run("restorer", "-run", str(run_toml), env=api_env("0.14"))
    assert result.code == 1
    assert f"selected run image '{missing}' is not accessible" in result.err
    result = ws.run("restorer", env=api_env("0.13"))
    assert result.code == 0, result.text


@pytest.mark.integration
def test_restorer_from_0_10_records_the_build_image(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    build_image = push_run_image(registry, busybox_base, "build-v010:1")
    (ws.layers / "group.toml").write_text('[[group]]\nid = "a"\nversion = "1.0.0"\napi = "0.10"\n')
    (ws.layers / "analyzed.toml").write_text('[run-image]\nreference = "some/run:1"\n')
    result = ws.run("restorer", "-build-image", build_image, env=api_env("0.10"))
    assert result.code == 0, result.text
    recorded = ws.read_toml("analyzed.toml")["build-image"]["reference"]
    assert recorded.startswith(f"{registry}/conformance/build-v010@sha256:")
    missing = ws.run(
        "restorer", "-build-image", f"{registry}/conformance/none:1", env=api_env("0.10")
    )
    assert missing.code == 1
    assert "failed to pull builder image" in missing.err


@pytest.mark.integration
def test_analyzer_needs_the_run_image_os_from_0_12(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    no_os = busybox_base.copy()
    no_os.set_platform(Platform(os="", architecture="amd64"))
    run = f"{registry}/conformance/run-no-os:1"
    RegistryImageStore().save(no_os, [run])
    app = f"{registry}/conformance/app-no-os:1"
    result = ws.run("analyzer", "-run-image", run, app, env=api_env("0.12"))
    assert result.code == 32
    assert "failed to find OS in run image config" in result.err
    result = ws.run("analyzer", "-run-image", run, app, env=api_env("0.11"))
    assert result.code == 0, result.text
