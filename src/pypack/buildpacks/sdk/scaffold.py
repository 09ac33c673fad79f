"""``pypack buildpack new``: a working SDK buildpack with a passing test."""

from __future__ import annotations

import re
from pathlib import Path

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?$")

DESCRIPTOR = """api = "0.12"

[buildpack]
id = "{id}"
version = "0.0.1"
name = "{id}"

[[targets]]
os = "linux"
"""

BUILDPACK = '''"""{id}: serves the app's hello.txt with a tiny launch layer."""

from pypack.buildpacks.sdk import BuildContext, DetectContext, Detected
from pypack.buildpacks.sdk.layers import cache_key


def detect(ctx: DetectContext) -> Detected | None:
    return Detected() if ctx.app_file("hello.txt") else None


def build(ctx: BuildContext) -> None:
    greeting = ctx.app_dir / "hello.txt"
    layer = ctx.layer("greeter", launch=True, cache=True)
    if not layer.reuse_if(cache_key(greeting)):
        (layer.path / "bin").mkdir()
        script = layer.path / "bin" / "greet"
        script.write_text("#!/bin/sh\\ncat /workspace/hello.txt\\n")
        script.chmod(0o755)
    layer.launch_env().default("GREETING_FILE", "/workspace/hello.txt")
    ctx.launch.process("web", ["greet"], default=True)
'''

TEST = '''"""Tests for {id}: run `pytest`; pypack's SDK brings the buildpack_harness fixture."""

from pathlib import Path

BUILDPACK = Path(__file__).parents[1]


def test_detects_only_apps_with_hello_txt(buildpack_harness, tmp_path: Path) -> None:
    harness = buildpack_harness(BUILDPACK)
    assert not harness.detect(tmp_path).passed
    (tmp_path / "hello.txt").write_text("hi")
    assert harness.detect(tmp_path).passed


def test_build_adds_a_web_process_and_reuses_its_layer(buildpack_harness, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi")
    harness = buildpack_harness(BUILDPACK)
    first = harness.build(tmp_path)
    assert first.processes["web"]["command"] == ["greet"]
    assert first.layers["greeter"]["types"] == {{"launch": True, "build": False, "cache": True}}
    script = first.layer_path("greeter") / "bin" / "greet"
    script.write_text("#!/bin/sh\\necho kept\\n")  # a rerun with the same hello.txt keeps it
    harness.build(tmp_path)
    assert script.read_text() == "#!/bin/sh\\necho kept\\n"
'''


def scaffold(buildpack_id: str, directory: Path) -> list[Path]:
    """Write a new buildpack called ``buildpack_id`` into ``directory`` (which must not exist
    or be empty); the files written."""
    if not ID_PATTERN.match(buildpack_id):
        raise ValueError(
            f"buildpack id {buildpack_id!r}: use lower-case letters, digits, '.', '-', '_' and "
            "at most one '/', like 'example/hello'"
        )
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty; choose a new directory with --path")
    files = {
        "buildpack.toml": DESCRIPTOR.format(id=buildpack_id),
        "buildpack.py": BUILDPACK.format(id=buildpack_id),
        "tests/test_buildpack.py": TEST.format(id=buildpack_id),
    }
    written = []
    for name, text in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written
