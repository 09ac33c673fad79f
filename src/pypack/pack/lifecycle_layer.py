"""The pypack lifecycle as an image layer: ``/cnb/lifecycle`` for a builder image.

The layer holds the lifecycle's Python packages (pypack and its runtime dependencies, copied
from the running interpreter's environment) under ``/cnb/lifecycle/lib``, one small executable
per phase that starts them with the build image's own ``python3``, the launcher, and
``lifecycle.toml``. The build image's Python must be the same minor version as the one running
pypack, because pydantic-core is compiled.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pypack import __version__
from pypack.lifecycle.launch_data import launcher_script
from pypack.oci.layers import LayerWriter
from pypack.spec.api import SUPPORTED_BUILDPACK_APIS, SUPPORTED_PLATFORM_APIS
from pypack.spec.buildpack_toml import SBOM_MEDIA_TYPES
from pypack.spec.lifecycle_toml import ApiPair, Apis, ApiSet, LifecycleDescriptor, LifecycleInfo

LIFECYCLE_DIR = "cnb/lifecycle"
PHASES = ("analyzer", "detector", "restorer", "builder", "exporter", "creator", "rebaser")
RUNTIME_MODULES = (
    "pypack", "pydantic", "pydantic_core", "annotated_types", "typing_extensions",
    "typing_inspection", "tomli_w", "requests", "urllib3", "idna", "certifi",
    "charset_normalizer", "docker",
)  # fmt: skip
"""What the lifecycle imports at run time; never click or rich. The docker SDK is imported
only for ``-daemon``."""

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


def add_lifecycle(writer: LayerWriter, *, python: str = "/usr/bin/python3") -> None:
    """Add ``/cnb/lifecycle`` (root-owned) to a layer being written."""
    writer.add_dir("cnb")
    writer.add_dir(LIFECYCLE_DIR)
    writer.add_dir(f"{LIFECYCLE_DIR}/lib")
    for name in RUNTIME_MODULES:
        source = module_path(name)
        writer.add_tree(
            source,
            f"{LIFECYCLE_DIR}/lib/{source.name}",
            uid=0,
            gid=0,
            skip=lambda path: path.name == "__pycache__" or path.suffix in _SKIP_SUFFIXES,
        )
    script = phase_script(python)
    for phase in PHASES:
        writer.add_bytes(f"{LIFECYCLE_DIR}/{phase}", script, mode=0o755)
    writer.add_bytes(f"{LIFECYCLE_DIR}/launcher", launcher_script(), mode=0o755)
    writer.add_bytes(f"{LIFECYCLE_DIR}/lifecycle.toml", descriptor().dumps().encode())
