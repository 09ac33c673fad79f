"""What every phase runs from: one typed object, filled by a phase binary's flags or by a platform.

The phase binaries (``cmd/``) fill :class:`CreatorInputs` from Go-style flags and ``CNB_*``
variables with the container's paths; the daemonless platform fills it with host paths (its work
directory standing for ``/``), its bubblewrap runner and its image stores. The phases
(``phases/``) read nothing else, so an option reaches every platform or none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pypack.errors import PypackError
from pypack.lifecycle.cache import Cache
from pypack.lifecycle.images import ImageAccess
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.runner import BuildpackRunner, ProcessRunner
from pypack.spec.api import LATEST_PLATFORM_API, ApiVersion
from pypack.spec.module import ModuleRef

Order = list[list[ModuleRef]]
OrderTransform = Callable[[Order], Order]
PhaseLog = Callable[[str], AbstractContextManager[None]]


@contextmanager
def banner(name: str) -> Iterator[None]:
    """The ``===> DETECTING`` line a phase starts with, and its time at debug level."""
    LOGGER.info("===> %s", name)
    started = time.monotonic()
    yield
    LOGGER.debug("Timer: %s ran for %.2fs", name.capitalize(), time.monotonic() - started)


@dataclass
class LifecyclePaths:
    """Where the phases read and write, as paths of the process running them."""

    app: Path = Path("/workspace")
    layers: Path = Path("/layers")
    platform: Path = Path("/platform")
    buildpacks: Sequence[Path] = (Path("/cnb/buildpacks"),)
    """Buildpack directories, searched in order (a platform may add its own before the
    builder's)."""
    extensions: Path = Path("/cnb/extensions")
    """Image extensions (``-extensions``, Platform >= 0.10)."""
    generated: Path | None = None
    """What extensions generate (``-generated``); None: ``<layers>/generated``."""
    build_config: Path | None = Path("/cnb/build-config")
    order: Path | None = None
    """None: ``<layers>/order.toml`` when it exists, else ``/cnb/order.toml``."""
    run: Path = Path("/cnb/run.toml")
    stack: Path = Path("/cnb/stack.toml")
    """The deprecated ``stack.toml``: the run image before Platform API 0.12."""
    system: Path | None = Path("/cnb/system.toml")
    analyzed: Path | None = None
    group: Path | None = None
    plan: Path | None = None
    report: Path | None = None
    """None: ``<layers>/report.toml``; a platform that wants none sets ``write_report``."""
    project_metadata: Path | None = None
    root: Path = Path("/")
    """The directory standing for ``/`` of the image (layers and app are below it)."""
    build_root: Path = Path("/")
    """The build image's filesystem (its ``/etc/os-release`` completes the run target)."""
    plans: Path | None = None
    """Where buildpacks write their plan files; None: a temporary directory per run."""
    scratch: Path | None = None
    """Where temporary files go (layer tars, plan copies); None: the system's temp dir."""

    def in_layers(self, given: Path | None, name: str) -> Path:
        """``given``, else ``<layers>/<name>``."""
        return given if given is not None else self.layers / name

    @property
    def analyzed_file(self) -> Path:
        return self.in_layers(self.analyzed, "analyzed.toml")

    @property
    def generated_dir(self) -> Path:
        return self.in_layers(self.generated, "generated")

    @property
    def group_file(self) -> Path:
        return self.in_layers(self.group, "group.toml")

    @property
    def plan_file(self) -> Path:
        return self.in_layers(self.plan, "plan.toml")

    @property
    def report_file(self) -> Path:
        return self.in_layers(self.report, "report.toml")

    @property
    def project_metadata_file(self) -> Path:
        return self.in_layers(self.project_metadata, "project-metadata.toml")

    @property
    def order_file(self) -> Path:
        if self.order is not None:
            return self.order
        in_layers = self.layers / "order.toml"
        return in_layers if in_layers.is_file() else Path("/cnb/order.toml")


@dataclass
class CreatorInputs:
    """Everything analyze → detect → restore → build → export need, for any platform."""

    paths: LifecyclePaths = field(default_factory=LifecyclePaths)
    access: ImageAccess | None = None
    """Where app, run and previous images are read and the app image is written."""
    runner: BuildpackRunner = field(default_factory=ProcessRunner)
    platform_api: ApiVersion = LATEST_PLATFORM_API
    build_env: Mapping[str, str] = field(default_factory=dict)
    """The environment buildpacks start from (before platform and build-config env)."""
    image: str = ""
    tags: Sequence[str] = ()
    previous_image: str | None = None
    run_image: str | None = None
    """None: chosen from run.toml (or the platform's run images)."""
    cache: Cache | None = None
    skip_restore: bool = False
    """Restore no layer contents (the creator's ``-skip-restore``, the restorer's
    ``-skip-layers``); metadata is still restored."""
    uid: int = 1000
    gid: int = 1000
    process_type: str | None = None
    created: int | None = None
    exec_env: str = "production"
    parallel_export: bool = False
    launcher: Path | None = None
    """The launcher the app image gets (``-launcher``); None: the one this lifecycle carries."""
    launcher_sbom: Path | None = None
    """``-launcher-sbom`` (Platform >= 0.11): a directory whose ``*.sbom.{cdx,spdx,syft}.json``
    files describe the launcher; the default ``/cnb/lifecycle`` holds ``launcher.sbom.*``."""
    launch_cache: Path | None = None
    """``-launch-cache`` (daemon exports): layer tars kept for the next export."""
    compress_layers: bool = False
    write_report: bool = True
    run_extensions: bool = False
    """Run the image extensions of ``order-extensions`` (detect, then generate) as the reference
    detector does; False: an order with extensions is refused, as the reference creator does."""
    order_transform: OrderTransform | None = None
    """The platform's change to the builder's order (``--buildpack``, project.toml groups),
    applied before the system buildpacks are added."""
    phase_log: PhaseLog = banner


def require_access(inputs: CreatorInputs) -> ImageAccess:
    """The image access of a phase that reads or writes images."""
    if inputs.access is None:
        raise PypackError("this phase needs image access (registry, daemon or layout)")
    return inputs.access
