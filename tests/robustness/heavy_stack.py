"""A builder whose buildpack writes deterministic layers big enough (24 + 8 MB) for a kill or
a second build to land inside a write, and apps with 16 MB of incompressible data, so that
uploads take a while too."""

from __future__ import annotations

import random

import pytest

from tests.e2e.busybox_stack import Stack, write_buildpack

HEAVY_BUILD = """#!/bin/sh
set -e
L="$CNB_LAYERS_DIR"
g=$(cat hello.txt)
mkdir -p "$L/big" "$L/data/bin"
busybox yes "big $g" | busybox head -c 24000000 > "$L/big/blob"
printf '[types]\\nlaunch = true\\ncache = true\\n' > "$L/big.toml"
busybox yes "data $g" | busybox head -c 8000000 > "$L/data/blob"
printf '#!/bin/sh\\necho "hello: $(cat /workspace/hello.txt)"\\n' > "$L/data/bin/hello"
busybox chmod 755 "$L/data/bin/hello"
printf '[types]\\nlaunch = true\\n' > "$L/data.toml"
printf '[[processes]]\\ntype = "web"\\ncommand = ["hello"]\\ndefault = true\\n' > "$L/launch.toml"
"""
BUILDER = "test/heavy:1"


@pytest.fixture(scope="module")
def heavy(stack: Stack) -> Stack:
    write_buildpack(stack.root / "buildpacks", "test/heavy", HEAVY_BUILD)
    (stack.root / "heavy.toml").write_text(
        (stack.root / "builder.toml")
        .read_text()
        .replace('uri = "buildpacks/test_hello"', 'uri = "buildpacks/test_heavy"')
        .replace('id = "test/hello"', 'id = "test/heavy"')
    )
    stack.pypack("builder", "create", BUILDER, "--config", str(stack.root / "heavy.toml"))
    return stack


def build_args(stack: Stack, name: str, greeting: str, *extra: str) -> list[str]:
    """``pypack build name`` of an app of its own that greets ``greeting``."""
    app = stack.app(f"app-{greeting}", greeting)
    noise = app / "noise.bin"
    if not noise.exists():
        noise.write_bytes(random.Random(greeting).randbytes(16 << 20))
    return ["--verbose", "build", name, "--path", str(app), "--builder", BUILDER, *extra]
