"""Fixtures for integration tests: tools on PATH and a tiny busybox base image."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file

BUSYBOX_APPLETS = ("sh", "cat", "echo", "ls", "env")


def tool(name: str) -> str:
    """The path of a validator tool; CI installs them all, so a missing one fails."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/setup.sh")
    return path


@pytest.fixture(scope="session")
def busybox_base(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """A one-layer linux/amd64 image: /bin/busybox and links for a few applets."""
    busybox = Path(tool("busybox"))
    layer = tmp_path_factory.mktemp("busybox") / "layer.tar.gz"

    def fill(writer: LayerWriter) -> None:
        writer.add_dir("bin")
        writer.add_tree(busybox, "bin/busybox", uid=0, gid=0)
        for applet in BUSYBOX_APPLETS:
            writer.add_symlink(f"bin/{applet}", "busybox")
        writer.add_dir("tmp", mode=0o1777)

    image = Image.empty()
    image.add_layer(layer, write_layer_file(layer, fill, compress=True), created_by="busybox")
    image.set_env("PATH", "/bin")
    return image
