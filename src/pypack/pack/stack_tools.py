"""Tools a stack's build image takes from PyPI wheels (``[tools] build = ["uv==0.13.9"]``).

Some installers are not Debian packages in every suite but are published on PyPI as wheels that
carry their binary (uv). ``stack build`` downloads the pinned wheel for the machine's
architecture with this environment's pip, and puts the programs under the wheel's
``*.data/scripts/`` into ``/usr/local/bin`` as one more layer. The layer tar is cached by the
requirement and the architecture, so a rebuild downloads nothing; the same wheel gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from pypack.errors import UserError
from pypack.oci.layers import LayerWriter, write_layer_file

WHEEL_PLATFORMS = {"x86_64": "manylinux_2_17_x86_64", "aarch64": "manylinux_2_17_aarch64"}


def _wheel_platform() -> str:
    machine = platform.machine()
    if machine not in WHEEL_PLATFORMS:
        raise UserError(f"stack tools: no wheel platform known for this machine ({machine})")
    return WHEEL_PLATFORMS[machine]


def download_wheel(requirement: str, wheel_platform: str, destination: Path) -> Path:
    """The binary wheel of pinned ``requirement`` for ``wheel_platform``, fetched by pip."""
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    argv = [*pip, "--no-deps", "--only-binary=:all:", "--platform", wheel_platform, "-d",
            str(destination), requirement]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wheels = sorted(destination.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise UserError(f"stack tools: could not download {requirement} ({wheel_platform}): {last}")
    return wheels[0]


def add_scripts(writer: LayerWriter, wheel: Path) -> None:
    """The programs under ``wheel``'s ``*.data/scripts/`` as files of ``usr/local/bin``."""
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(n for n in archive.namelist() if ".data/scripts/" in n and n[-1] != "/")
        if not names:
            raise UserError(f"stack tools: {wheel.name} carries no programs (*.data/scripts)")
        for name in names:
            data = archive.read(name)
            writer.add_bytes(f"usr/local/bin/{name.rsplit('/', 1)[1]}", data, mode=0o755)


def tools_layer(
    requirements: list[str], cache: Path, say: Callable[[str], None] | None = None
) -> Path | None:
    """A layer tar with the programs of ``requirements`` in ``/usr/local/bin``, or ``None``."""
    if not requirements:
        return None
    wheel_platform = _wheel_platform()
    key = hashlib.sha256("\n".join([wheel_platform, *requirements]).encode()).hexdigest()[:16]
    target = cache / f"tools-{key}.tar"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="pypack-tools-", dir=cache))
    try:
        wheels: list[Path] = []
        for requirement in requirements:
            if say is not None:
                say(f"Downloading {requirement} ({wheel_platform}) for the build image")
            wheels.append(download_wheel(requirement, wheel_platform, scratch / str(len(wheels))))
        partial = scratch / "layer.tar"

        def fill(writer: LayerWriter) -> None:
            writer.add_parents("usr/local/bin/")
            writer.add_dir("usr/local/bin")
            for wheel in wheels:
                add_scripts(writer, wheel)

        write_layer_file(partial, fill)
        partial.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
