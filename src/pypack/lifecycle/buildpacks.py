"""Buildpacks and image extensions on disk: ``<buildpacks>/<escaped id>/<version>/buildpack.toml``
and ``<extensions>/<escaped id>/<version>/extension.toml``, and targets.

Target inference and matching follow the reference lifecycle: a buildpack without targets gets
``os = "linux"`` when it has a ``bin/build``, the ``io.buildpacks.stacks.bionic`` stack means
linux/amd64 Ubuntu 18.04 (API >= 0.10 or a single stack), ``*`` matches anything, and a field
empty on either side matches. An extension without targets gets ``os = "linux"`` when it has a
``bin/detect`` or ``bin/generate``, else a target that matches anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pypack.errors import ApiError, ExitCode, PypackError
from pypack.spec.analyzed_toml import TargetMetadata
from pypack.spec.api import SUPPORTED_BUILDPACK_APIS, ApiVersion
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.extension_toml import ExtensionDescriptor
from pypack.spec.ids import escape_id
from pypack.spec.targets import Distro, Target

BIONIC = "io.buildpacks.stacks.bionic"


class BuildpackNotFound(PypackError):
    """The order names a buildpack that is not in the buildpacks directory."""


@dataclass
class Buildpack:
    """A buildpack found on disk, or an image extension (``extension``): an extension's
    ``[extension]`` table stands as the descriptor's ``[buildpack]``; it has no order."""

    descriptor: BuildpackDescriptor
    root: Path
    targets: list[Target] = field(default_factory=list)
    extension: bool = False

    @property
    def kind(self) -> str:
        """``buildpack`` or ``extension``, as the reference names the module's kind."""
        return "extension" if self.extension else "buildpack"

    @property
    def id(self) -> str:
        """The buildpack ID."""
        return self.descriptor.buildpack.id

    @property
    def version(self) -> str:
        """The buildpack version."""
        return self.descriptor.buildpack.version or ""

    @property
    def api(self) -> ApiVersion:
        """The Buildpack API it is written for."""
        return self.descriptor.api

    @property
    def homepage(self) -> str | None:
        """Its homepage."""
        return self.descriptor.buildpack.homepage

    @property
    def full_name(self) -> str:
        """``id@version``."""
        return f"{self.id}@{self.version}"


def check_buildpack_api(buildpack: Buildpack) -> None:
    """Refuse (exit 12) a buildpack (or extension) whose API this lifecycle does not support."""
    if buildpack.api not in SUPPORTED_BUILDPACK_APIS:
        supported = ", ".join(str(v) for v in SUPPORTED_BUILDPACK_APIS)
        raise ApiError(
            f"failed to set API for {buildpack.kind} '{buildpack.full_name}': buildpack API "
            f"version '{buildpack.api}' is incompatible with the lifecycle "
            f"(supported: {supported})",
            exit_code=ExitCode.INCOMPATIBLE_BUILDPACK_API,
        )


class BuildpackStore:
    """Looks buildpacks up by ID and version under one or more buildpacks directories (the
    first that has the ID wins: a platform's extra buildpacks come before the builder's)."""

    kind = "buildpack"

    def __init__(self, root: Path, *more: Path) -> None:
        self.root = root
        self.roots = (root, *more)
        self._cache: dict[tuple[str, str], Buildpack] = {}

    def _load(self, directory: Path) -> Buildpack | None:
        path = directory / "buildpack.toml"
        if not path.is_file():
            return None
        descriptor = BuildpackDescriptor.load(path)
        return Buildpack(descriptor, directory, infer_targets(descriptor, directory))

    def lookup(self, buildpack_id: str, version: str | None) -> Buildpack:
        """The buildpack ``buildpack_id@version`` (the only version when none is given)."""
        candidates = [r / escape_id(buildpack_id) for r in self.roots]
        directory = next((c for c in candidates if c.is_dir()), candidates[0])
        if not version:
            versions = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
            if len(versions) != 1:
                raise BuildpackNotFound(
                    f"{self.kind} {buildpack_id}: no version given and "
                    f"{len(versions)} found in {directory}"
                )
            version = versions[0]
        key = (buildpack_id, version)
        if key not in self._cache:
            found = self._load(directory / version)
            if found is None:
                raise BuildpackNotFound(
                    f"{self.kind} {buildpack_id}@{version}: no {directory / version}/"
                    f"{self.kind}.toml"
                )
            self._cache[key] = found
        return self._cache[key]


class ExtensionStore(BuildpackStore):
    """Looks image extensions up as :class:`BuildpackStore` looks up buildpacks."""

    kind = "extension"

    def _load(self, directory: Path) -> Buildpack | None:
        path = directory / "extension.toml"
        if not path.is_file():
            return None
        found = ExtensionDescriptor.load(path)
        descriptor = BuildpackDescriptor(
            api=found.api, buildpack=found.extension, targets=found.targets
        )
        targets = list(found.targets or [])
        if not targets:
            has_bin = any((directory / "bin" / name).exists() for name in ("detect", "generate"))
            targets = [Target(os="linux") if has_bin else Target()]
        return Buildpack(descriptor, directory, targets, extension=True)


def infer_targets(descriptor: BuildpackDescriptor, root: Path) -> list[Target]:
    """The buildpack's targets: declared, from deprecated stacks, or from ``bin/build``."""
    if descriptor.targets:
        return list(descriptor.targets)
    targets: list[Target] = []
    stacks = descriptor.stacks or []
    for stack in stacks:
        if stack.id == BIONIC and (descriptor.api.at_least("0.10") or len(stacks) == 1):
            targets.append(
                Target(os="linux", arch="amd64", distros=[Distro(name="ubuntu", version="18.04")])
            )
        elif stack.id == "*":
            targets.append(Target())
    if not targets and (root / "bin" / "build").is_file():
        targets.append(Target(os="linux"))
    return targets


def _field_matches(ours: str | None, theirs: str | None) -> bool:
    return not ours or not theirs or ours == theirs


def target_matches(target: Target, run_image: TargetMetadata) -> bool:
    """True when the buildpack ``target`` can run on the run image's target."""
    if not (
        _field_matches(target.os, run_image.os)
        and _field_matches(target.arch, run_image.arch)
        and _field_matches(target.variant, run_image.arch_variant)
    ):
        return False
    if not target.distros or run_image.distro is None:
        return True
    return any(
        _field_matches(distro.name, run_image.distro.name)
        and _field_matches(distro.version, run_image.distro.version)
        for distro in target.distros
    )


def os_release_distro(path: Path = Path("/etc/os-release")) -> Distro | None:
    """The ``ID``/``VERSION_ID`` of ``/etc/os-release``, as the reference lifecycle fills in a
    run image target that lacks a distro."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    values = {}
    for line in lines:
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    if "ID" not in values:
        return None
    return Distro(name=values["ID"], version=values.get("VERSION_ID", ""))
