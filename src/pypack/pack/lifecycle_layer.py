"""The pypack lifecycle as an image layer: ``/cnb/lifecycle`` for a builder image.

The layer holds the lifecycle's Python packages under ``/cnb/lifecycle/lib``: pypack itself
(pure Python, copied from this environment) and its runtime dependencies installed from wheels
built for the build image's own interpreter (:mod:`pypack.pack.lifecycle_wheels`), so the
lifecycle starts in the build image whatever Python runs pypack. Beside them: one small
executable per phase that starts them with that interpreter, the launcher, and
``lifecycle.toml``.
"""

from __future__ import annotations

import importlib.util
import posixpath
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pypack import __version__
from pypack.errors import ServiceError
from pypack.lifecycle.launch_data import launcher_script
from pypack.oci.layers import LayerWriter
from pypack.pack.lifecycle_sbom import lifecycle_sbom_files
from pypack.spec.api import SUPPORTED_BUILDPACK_APIS, SUPPORTED_PLATFORM_APIS
from pypack.spec.buildpack_toml import SBOM_MEDIA_TYPES
from pypack.spec.lifecycle_toml import ApiPair, Apis, ApiSet, LifecycleDescriptor, LifecycleInfo

LIFECYCLE_DIR = "cnb/lifecycle"
PHASES = ("analyzer", "detector", "restorer", "builder", "exporter", "creator", "rebaser")
_SKIP_SUFFIXES = (".pyc",)


def phase_script(python: str) -> bytes:
    """The executable behind each ``/cnb/lifecycle/<phase>``: it dispatches on its own name."""
    return (
        f"#!{python}\n"
        "import sys\n"
        f"sys.path.insert(0, '/{LIFECYCLE_DIR}/lib')\n"
        "from pypack.lifecycle.main import run\n"
        "run()\n"
    ).encode()


def descriptor() -> LifecycleDescriptor:
    """``lifecycle.toml`` of this lifecycle."""
    return LifecycleDescriptor(
        apis=Apis(
            buildpack=ApiSet(supported=list(SUPPORTED_BUILDPACK_APIS)),
            platform=ApiSet(supported=list(SUPPORTED_PLATFORM_APIS)),
        ),
        api=ApiPair(buildpack=SUPPORTED_BUILDPACK_APIS[0], platform=SUPPORTED_PLATFORM_APIS[0]),
        lifecycle=LifecycleInfo(version=__version__, sbom_formats=list(SBOM_MEDIA_TYPES.values())),
    )


def module_path(name: str) -> Path:
    """The package directory (or module file) of ``name`` in this environment."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{name} is not installed in {sys.prefix}")
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def _wheel_target(member: str) -> str | None:
    """Where a wheel member goes in ``lib`` (None: not installed — scripts, headers, data)."""
    top, _, rest = member.partition("/")
    if top.endswith(".data"):
        kind, _, rest = rest.partition("/")
        return rest if kind in ("purelib", "platlib") and rest else None
    return member


def add_wheel(writer: LayerWriter, wheel: Path, lib: str, written: set[str]) -> None:
    """Install ``wheel`` into ``lib`` of the layer (as pip would for ``--target``), root-owned;
    files already in ``written`` are kept."""
    with zipfile.ZipFile(wheel) as archive:
        for info in sorted(archive.infolist(), key=lambda item: item.filename):
            target = None if info.is_dir() else _wheel_target(info.filename)
            if target is None or "__pycache__" in target.split("/"):
                continue
            normal = posixpath.normpath(target)
            if normal.startswith(("/", "..")) or normal != target:
                raise ServiceError(f"wheel {wheel.name}: unsafe member name {info.filename!r}")
            name = f"{lib}/{normal}"
            if name in written:
                continue
            written.add(name)
            writer.add_parents(name)
            executable = (info.external_attr >> 16) & 0o111
            writer.add_bytes(name, archive.read(info), mode=0o755 if executable else 0o644)


def add_lifecycle(writer: LayerWriter, python: str, wheels: Sequence[Path]) -> None:
    """Add ``/cnb/lifecycle`` (root-owned) to a layer being written: phases started by the
    image's interpreter ``python``, dependencies installed from ``wheels`` built for it."""
    lib = f"{LIFECYCLE_DIR}/lib"
    writer.add_dir("cnb")
    writer.add_dir(LIFECYCLE_DIR)
    writer.add_dir(lib)
    source = module_path("pypack")
    writer.add_tree(
        source,
        f"{lib}/{source.name}",
        uid=0,
        gid=0,
        skip=lambda path: path.name == "__pycache__" or path.suffix in _SKIP_SUFFIXES,
    )
    written: set[str] = set()
    for wheel in sorted(wheels, key=lambda path: path.name):
        add_wheel(writer, wheel, lib, written)
    script = phase_script(python)
    for phase in PHASES:
        writer.add_bytes(f"{LIFECYCLE_DIR}/{phase}", script, mode=0o755)
    writer.add_bytes(f"{LIFECYCLE_DIR}/launcher", launcher_script(), mode=0o755)
    writer.add_bytes(f"{LIFECYCLE_DIR}/lifecycle.toml", descriptor().dumps().encode())
    for name, content in sorted(lifecycle_sbom_files(wheels).items()):
        writer.add_bytes(f"{LIFECYCLE_DIR}/{name}", content)
