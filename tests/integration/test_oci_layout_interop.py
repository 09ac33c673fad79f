"""Images pypack writes to an OCI layout are read by skopeo and unpacked by umoci unchanged."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from pypack.oci.extract import extract_layer
from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.stores import LayoutImageStore
from tests.integration.conftest import tool

pytestmark = pytest.mark.integration


def app_tree(root: Path) -> Path:
    app = root / "workspace"
    (app / "pkg" / "sub").mkdir(parents=True)
    (app / "main.py").write_text("print('hello')\n")
    (app / "pkg" / "__init__.py").write_text("")
    (app / "pkg" / "sub" / "data.bin").write_bytes(bytes(range(256)) * 64)
    (app / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(app / "run.sh", 0o755)
    os.chmod(app / "pkg" / "sub", 0o750)
    (app / "link-rel").symlink_to("pkg/sub/data.bin")
    (app / "link-abs").symlink_to("/etc/os-release")
    os.link(app / "main.py", app / "main-hard.py")
    return app


def build(tmp_path: Path, busybox_base: Image) -> tuple[Image, Path]:
    app = app_tree(tmp_path / "src")
    image = busybox_base.copy()
    layer = tmp_path / "app.tar"

    def fill(writer: LayerWriter) -> None:
        writer.add_tree(app, "workspace", uid=1000, gid=1001)

    image.add_layer(layer, write_layer_file(layer, fill), created_by="app")
    image.set_working_dir("/workspace")
    image.set_entrypoint("/bin/sh", "/workspace/run.sh")
    image.set_label("io.pypack.test", "layout")
    return image, app


def test_skopeo_reads_what_we_write(tmp_path: Path, busybox_base: Image) -> None:
    image, _ = build(tmp_path, busybox_base)
    store = LayoutImageStore(LayoutStore(tmp_path / "store"))
    result = store.save(image, ["example.com/team/app:v1", "app-v1"])
    for name in ("example.com/team/app:v1", "app-v1"):
        raw = subprocess.run(
            [tool("skopeo"), "inspect", "--raw", f"oci:{tmp_path / 'store'}:{name}"],
            capture_output=True,
            check=True,
        ).stdout
        assert raw == image.manifest_document().raw
    details = json.loads(
        subprocess.run(
            [tool("skopeo"), "inspect", f"oci:{tmp_path / 'store'}:app-v1"],
            capture_output=True,
            check=True,
        ).stdout
    )
    assert details["Digest"] == result.digest
    assert details["Labels"] == {"io.pypack.test": "layout"}
    assert details["Layers"] == [layer.digest for layer in image.layers]
    assert details["Architecture"] == "amd64"


def test_umoci_unpacks_identical_files(tmp_path: Path, busybox_base: Image) -> None:
    image, app = build(tmp_path, busybox_base)
    LayoutImageStore(LayoutStore(tmp_path / "store")).save(image, ["app-v1"])
    bundle = tmp_path / "bundle"
    subprocess.run(
        [
            tool("umoci"),
            "unpack",
            "--rootless",
            "--image",
            f"{tmp_path / 'store'}:app-v1",
            str(bundle),
        ],
        capture_output=True,
        check=True,
    )
    rootfs = bundle / "rootfs"
    unpacked = rootfs / "workspace"
    for source in sorted(app.rglob("*")):
        relative = source.relative_to(app)
        target = unpacked / relative
        source_stat, target_stat = os.lstat(source), os.lstat(target)
        assert stat.S_IFMT(source_stat.st_mode) == stat.S_IFMT(target_stat.st_mode), relative
        assert stat.S_IMODE(source_stat.st_mode) == stat.S_IMODE(target_stat.st_mode), relative
        if source.is_symlink():
            assert os.readlink(target) == os.readlink(source)
        elif source.is_file():
            assert target.read_bytes() == source.read_bytes(), relative
    assert os.lstat(unpacked / "main.py").st_ino == os.lstat(unpacked / "main-hard.py").st_ino
    assert os.readlink(rootfs / "bin" / "sh") == "busybox"
    assert (rootfs / "bin" / "busybox").read_bytes() == Path(tool("busybox")).read_bytes()
    config = json.loads((bundle / "config.json").read_text())
    assert config["process"]["args"] == ["/bin/sh", "/workspace/run.sh"]
    assert config["process"]["cwd"] == "/workspace"


def test_we_read_what_umoci_writes(tmp_path: Path) -> None:
    layout = tmp_path / "umoci-layout"
    umoci = tool("umoci")
    subprocess.run([umoci, "init", "--layout", str(layout)], check=True)
    subprocess.run([umoci, "new", "--image", f"{layout}:base"], check=True)
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "greeting").write_text("hi from umoci\n")
    subprocess.run(
        [
            umoci,
            "insert",
            "--rootless",
            "--image",
            f"{layout}:base",
            str(tmp_path / "extra" / "greeting"),
            "/greeting",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [umoci, "config", "--image", f"{layout}:base", "--config.env", "FROM_UMOCI=yes"],
        check=True,
        capture_output=True,
    )
    image = LayoutImageStore(LayoutStore(layout)).load("base")
    assert image is not None
    assert image.env("FROM_UMOCI") == "yes"
    with image.layers[-1].open() as blob:
        written = extract_layer(blob, tmp_path / "rootfs")
    assert written == ["greeting"]
    assert (tmp_path / "rootfs" / "greeting").read_text() == "hi from umoci\n"
