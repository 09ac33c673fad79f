"""``pypack build`` with a builder whose image extension switches the run image: the extension
comes from builder.toml's ``[[extensions]]``/``[[order-extensions]]``, its ``run.Dockerfile`` is
only ``FROM <image>``, and the app is exported onto that image."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypack.oci.image import Image
from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.conftest import run_pypack

pytestmark = pytest.mark.e2e

RUN, SWITCHED = "example.com/ext/run:1", "example.com/ext/switched-run:1"
BUILD = """#!/bin/sh
set -e
printf '[[processes]]\\ntype = "web"\\ndefault = true\\n' > "$CNB_LAYERS_DIR/launch.toml"
printf 'command = ["cat", "/workspace/hello.txt"]\\n' >> "$CNB_LAYERS_DIR/launch.toml"
"""
GENERATE = f"""#!/bin/sh
set -e
printf 'ARG base_image\\nFROM {SWITCHED}\\n' > "$CNB_OUTPUT_DIR/run.Dockerfile"
echo "switching the run image"
"""


def _executables(directory: Path, scripts: dict[str, str]) -> None:
    (directory / "bin").mkdir(parents=True)
    for name, text in scripts.items():
        (directory / "bin" / name).write_text(text)
        (directory / "bin" / name).chmod(0o755)


@pytest.fixture(scope="module")
def home(busybox_base: Image) -> Iterator[Path]:
    """A pypack home with a run image, a second run image and a builder whose extension
    switches to the second."""
    root = Path(tempfile.mkdtemp(prefix="pypack-ext-", dir="/tmp"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    store = LayoutImageStore(Home(home).images)
    store.save(busybox_base.copy(), [local_name(RUN)])
    switched = busybox_base.copy()
    switched.set_label("org.example.flavor", "switched")
    store.save(switched, [local_name(SWITCHED)])
    build = busybox_base.copy()
    build.set_env("CNB_USER_ID", "1000")
    build.set_env("CNB_GROUP_ID", "1000")
    store.save(build, [local_name("example.com/ext/build:1")])
    buildpack = root / "bp"
    _executables(buildpack, {"detect": "#!/bin/sh\nexit 0\n", "build": BUILD})
    (buildpack / "buildpack.toml").write_text(
        'api = "0.10"\n[buildpack]\nid = "test/cat"\nversion = "0.1.0"\n'
    )
    extension = root / "ext"
    _executables(extension, {"detect": "#!/bin/sh\nexit 0\n", "generate": GENERATE})
    (extension / "extension.toml").write_text(
        'api = "0.10"\n[extension]\nid = "test/switch"\nversion = "0.1.0"\n'
    )
    (root / "builder.toml").write_text(
        f"""
[[buildpacks]]
uri = "bp"
[[extensions]]
uri = "ext"
[[order]]
[[order.group]]
id = "test/cat"
[[order-extensions]]
[[order-extensions.group]]
id = "test/switch"
[build]
image = "example.com/ext/build:1"
[[run.images]]
image = "{RUN}"
"""
    )
    run_pypack(
        home, "builder", "create", "test/ext-builder:1", "--config", str(root / "builder.toml")
    )
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_extension_switches_the_run_image_of_the_build(home: Path) -> None:
    pypack_home = home / "home"
    app = home / "app"
    app.mkdir()
    (app / "hello.txt").write_text("hi from the switched run image\n")
    built = run_pypack(
        pypack_home, "build", "test/ext-app:1", "--builder", "test/ext-builder:1", "--path",
        str(app), timeout=300,
    )  # fmt: skip
    assert "switching the run image" in built.stdout + built.stderr
    image = LayoutImageStore(Home(pypack_home).images).load(local_name("docker.io/test/ext-app:1"))
    assert image is not None
    assert image.label("org.example.flavor") == "switched"  # exported onto the switched image
    metadata = json.loads(image.label("io.buildpacks.lifecycle.metadata") or "{}")
    assert metadata["runImage"]["image"] == SWITCHED
    build_metadata = json.loads(image.label("io.buildpacks.build.metadata") or "{}")
    assert [e["id"] for e in build_metadata.get("extensions", [])] == ["test/switch"]
    ran = run_pypack(pypack_home, "run", "test/ext-app:1")
    assert ran.stdout == "hi from the switched run image\n"
