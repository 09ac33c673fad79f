"""A busybox stack and a builder made by ``pypack builder create`` with sh buildpacks: the
quick platform that the daemonless ``pypack build`` tests share (one per test module)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pypack.oci.image import Image
from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.conftest import run_pypack

BUILD_SCRIPT = """#!/bin/sh
set -e
echo "building in $(pwd) as $(id -u):$(id -g)"
L="$CNB_LAYERS_DIR"
mkdir -p "$L/tools/bin"
printf '#!/bin/sh\\necho "hello: $(cat /workspace/hello.txt)"\\n' > "$L/tools/bin/hello"
chmod 755 "$L/tools/bin/hello"
printf '[types]\\nlaunch = true\\ncache = true\\n[metadata]\\nv = 1\\n' > "$L/tools.toml"
printf '[[processes]]\\ntype = "web"\\ncommand = ["hello"]\\ndefault = true\\n' > "$L/launch.toml"
"""
PROBE_SCRIPT = """#!/bin/sh
for target in /workspace/probe /layers/probe /tmp/probe \\
              /etc/probe /cnb/probe /probe /platform/../probe2; do
  if touch "$target" 2>/dev/null; then echo "writable $target"; else echo "refused $target"; fi
done
"""


@dataclass
class Stack:
    """A pypack home with a busybox stack and a builder, and a way to run pypack there."""

    home: Path
    root: Path

    def pypack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_pypack(self.home, *args, check=check, timeout=300)

    def app(self, name: str = "app", greeting: str = "world") -> Path:
        app = self.root / name
        app.mkdir(exist_ok=True)
        (app / "hello.txt").write_text(greeting)
        return app


def write_buildpack(root: Path, bp_id: str, build: str) -> Path:
    directory = root / bp_id.replace("/", "_")
    (directory / "bin").mkdir(parents=True)
    (directory / "buildpack.toml").write_text(
        f'api = "0.10"\n[buildpack]\nid = "{bp_id}"\nversion = "0.1.0"\n'
    )
    (directory / "bin" / "detect").write_text("#!/bin/sh\n[ -f hello.txt ] || exit 100\n")
    (directory / "bin" / "build").write_text(build)
    for script in (directory / "bin").iterdir():
        script.chmod(0o755)
    return directory


@pytest.fixture(scope="module")
def stack(busybox_base: Image) -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="pypack-platform-", dir="/tmp"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    store = LayoutImageStore(Home(home).images)
    run = busybox_base.copy()
    store.save(run, [local_name("example.com/stacks/run:1")])
    build = busybox_base.copy()
    build.set_env("CNB_USER_ID", "1000")
    build.set_env("CNB_GROUP_ID", "1000")
    store.save(build, [local_name("example.com/stacks/build:1")])
    write_buildpack(root / "buildpacks", "test/hello", BUILD_SCRIPT)
    write_buildpack(root / "buildpacks", "test/probe", PROBE_SCRIPT)
    (root / "builder.toml").write_text(
        """
description = "test builder"
[[buildpacks]]
uri = "buildpacks/test_hello"
[[buildpacks]]
id = "test/probe"
uri = "buildpacks/test_probe"
[[order]]
[[order.group]]
id = "test/hello"
[build]
image = "example.com/stacks/build:1"
[[run.images]]
image = "example.com/stacks/run:1"
mirrors = ["mirror.example.com/stacks/run:1"]
[[targets]]
os = "linux"
arch = "amd64"
"""
    )
    (root / "probe.toml").write_text(
        (root / "builder.toml").read_text().replace('id = "test/hello"', 'id = "test/probe"')
    )
    result = Stack(home, root)
    result.pypack("builder", "create", "test/builder:1", "--config", str(root / "builder.toml"))
    result.pypack("builder", "create", "test/probe-builder:1", "--config", str(root / "probe.toml"))
    yield result
    shutil.rmtree(root, ignore_errors=True)
