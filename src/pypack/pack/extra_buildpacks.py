"""Buildpacks a build adds to its builder's: ``--buildpack`` and project.toml groups.

A buildpack can be an ``id[@version]`` the builder has, a directory, a ``.tgz``/``.cnb`` file, a
package image (``docker://...``), an inline script from project.toml, or ``from=builder`` (the
builder's own order). Added buildpacks are put in the build's own buildpacks directory, which
the sandbox sees next to the builder's; the order becomes one group of them (or the builder's
groups around ``from=builder``), with project.toml ``pre``/``post`` buildpacks around every group.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from pypack.errors import UserError
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image
from pypack.pack.buildpackage import buildpack_directory, packaged_buildpacks, read_cnb
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.ids import escape_id
from pypack.spec.labels import BuildpackageMetadataLabel
from pypack.spec.module import ModuleRef
from pypack.spec.project_toml import ProjectBuildpack
from pypack.spec.warnings import document_warnings

FROM_BUILDER = "from=builder"


@dataclass
class ExtraBuildpacks:
    """Puts added buildpacks under ``root`` (``<root>/cnb/buildpacks/<id>/<version>``)."""

    root: Path
    base: Path
    """Where relative paths are taken from (the app directory)."""
    load: Callable[[str], Image | None]
    scratch: Path

    @property
    def buildpacks_dir(self) -> Path:
        return self.root / "cnb" / "buildpacks"

    def from_text(self, text: str) -> ModuleRef | None:
        """A ``--buildpack`` value as an order entry (None for ``from=builder``)."""
        if text == FROM_BUILDER:
            return None
        path = (self.base / text).resolve() if not text.startswith("docker://") else None
        if path is not None and path.exists():
            return self._from_path(path, text)
        if text.startswith("docker://") or ("/" in text.split("@")[0] and ":" in text):
            return self._from_package_image(text.removeprefix("docker://"))
        bp_id, _, version = text.partition("@")
        return ModuleRef(id=bp_id, version=version or None)

    def from_project(self, entry: ProjectBuildpack) -> ModuleRef | None:
        """A project.toml group entry as an order entry (None for ``from=builder``)."""
        if entry.script is not None:
            return self._inline(entry)
        if entry.uri:
            return self.from_text(entry.uri)
        return ModuleRef(id=entry.id or "", version=entry.version)

    def around_groups(self, entry: ProjectBuildpack, where: str) -> ModuleRef:
        """A project.toml ``pre``/``post`` entry, which cannot be ``from=builder``."""
        ref = self.from_project(entry)
        if ref is None:
            raise UserError(
                f"project.toml: {FROM_BUILDER} belongs in io.buildpacks.group, not {where}"
            )
        return ref

    def _from_path(self, path: Path, text: str) -> ModuleRef:
        if path.name.endswith(".cnb"):
            return self._add_package(read_cnb(path, self.scratch), text)
        directory = buildpack_directory(str(path), self.base, self.scratch)
        descriptor = BuildpackDescriptor.load(directory / "buildpack.toml")
        for line in document_warnings(descriptor, str(directory / "buildpack.toml")):
            click.echo(f"warning: {line}", err=True)
        info = descriptor.buildpack
        target = self.buildpacks_dir / escape_id(info.id) / (info.version or "0.0.0")
        if not target.exists():
            shutil.copytree(directory, target, symlinks=True)
        return ModuleRef(id=info.id, version=info.version)

    def _from_package_image(self, name: str) -> ModuleRef:
        image = self.load(name)
        if image is None:
            raise UserError(
                f"--buildpack {name}: no such buildpack package locally or in its registry"
            )
        return self._add_package(image, name)

    def _add_package(self, image: Image, where: str) -> ModuleRef:
        for bp in packaged_buildpacks(image, where):
            with bp.layer.open() as blob:
                extract_layer(
                    blob, self.root, source=where, only_under="cnb/buildpacks", same_owner=False
                )
        label = image.label(BuildpackageMetadataLabel.label_name)
        if not label:
            raise UserError(
                f"{where}: not a buildpackage: no {BuildpackageMetadataLabel.label_name} label"
            )
        main = BuildpackageMetadataLabel.from_label(label)
        return ModuleRef(id=main.id, version=main.version)

    def _inline(self, entry: ProjectBuildpack) -> ModuleRef:
        assert entry.script is not None  # the caller checked
        version = "0.0.0"
        bp_id = entry.id or "inline"
        directory = self.buildpacks_dir / escape_id(bp_id) / version
        (directory / "bin").mkdir(parents=True, exist_ok=True)
        (directory / "buildpack.toml").write_text(
            f'api = "{entry.script.api}"\n[buildpack]\nid = "{bp_id}"\nversion = "{version}"\n'
        )
        (directory / "bin" / "detect").write_text("#!/bin/sh\nexit 0\n")
        (directory / "bin" / "build").write_text(f"#!{entry.script.shell}\n{entry.script.inline}\n")
        for script in (directory / "bin").iterdir():
            script.chmod(0o755)
        return ModuleRef(id=bp_id, version=version)


def plan_order(
    builder_order: list[list[ModuleRef]],
    added: list[ModuleRef | None],
    pre: list[ModuleRef],
    post: list[ModuleRef],
) -> list[list[ModuleRef]]:
    """The order a build detects with: see the module docstring."""
    if not added:
        groups = [list(g) for g in builder_order]
    elif None in added:
        cut = added.index(None)
        before = [r for r in added[:cut] if r is not None]
        after = [r for r in added[cut + 1 :] if r is not None]
        groups = [[*before, *g, *after] for g in builder_order]
    else:
        groups = [[r for r in added if r is not None]]
    result = []
    for group in groups:
        ids = {ref.id for ref in group}
        result.append(
            [*(r for r in pre if r.id not in ids), *group, *(r for r in post if r.id not in ids)]
        )
    return result
