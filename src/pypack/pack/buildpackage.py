"""Buildpackages: buildpacks as OCI images (or ``.cnb`` files), one layer per buildpack.

A layer holds exactly one buildpack at ``/cnb/buildpacks/<escaped id>/<version>/``; the label
``io.buildpacks.buildpack.layers`` maps every buildpack to its layer and descriptor facts, and
``io.buildpacks.buildpackage.metadata`` names the entry buildpack. A ``.cnb`` file is a tar of
an OCI image layout. Builders take buildpacks from packages by reusing their layers as they
are — no buildpack is re-tarred.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from pypack.buildpacks.sdk.packaging import is_sdk_buildpack, stage
from pypack.errors import PypackError, UserError
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image, Layer
from pypack.oci.layers import LayerInfo, LayerWriter, write_layer_file
from pypack.oci.layout import LayoutStore
from pypack.oci.models import Platform
from pypack.oci.stores import LayoutImageStore
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.ids import escape_id
from pypack.spec.labels import BuildpackageMetadataLabel, BuildpackLayersLabel, ModuleLayerInfo
from pypack.spec.module import ModuleInfo
from pypack.spec.package_toml import PackageConfig
from pypack.spec.warnings import document_warnings

CNB_FILE_TAG = "buildpackage"
INSTALLED_PREFIX = "pypack:"


def installed_directory(uri: str) -> Path:
    """The directory of installed buildpack ``pypack:ID``."""
    from pypack.buildpacks.sdk.discovery import installed_buildpacks

    wanted = uri.removeprefix(INSTALLED_PREFIX)
    found = {b.id: b.directory for b in installed_buildpacks()}
    if wanted not in found:
        known = ", ".join(sorted(found)) or "none"
        raise UserError(f"buildpack {uri}: no installed package offers it (installed: {known})")
    return found[wanted]


@dataclass
class PackagedBuildpack:
    """A buildpack inside a package: who it is, and the layer that holds it."""

    info: ModuleInfo
    layer_info: ModuleLayerInfo
    layer: Layer


def buildpack_directory(
    uri: str, base: Path, scratch: Path, descriptor: str = "buildpack.toml"
) -> Path:
    """The directory of a buildpack given as a directory, a ``.tgz``/``.tar`` file or
    ``pypack:ID`` (a buildpack an installed Python package offers); with ``descriptor =
    "extension.toml"``, of an image extension given as a directory or file."""
    if uri.startswith(INSTALLED_PREFIX):
        return buildpack_directory(str(installed_directory(uri)), base, scratch)
    path = (base / uri.removeprefix("file://")).resolve()
    if path.is_file() and path.name.endswith((".tgz", ".tar.gz", ".tar")):
        target = Path(tempfile.mkdtemp(prefix="bp-", dir=scratch))
        # the buildpack's own directory is the archive's "./": a buildpack directory, 0755 as
        # pack makes it (mkdtemp's 0700 would shut the CNB user out of it)
        target.chmod(0o755)
        with open(path, "rb") as archive:
            extract_layer(archive, target, whiteouts=False, same_owner=False, source=str(path))
        path = target
    if not (path / descriptor).is_file():
        kind = descriptor.partition(".")[0]
        raise UserError(f"{kind} {uri!r}: {path} has no {descriptor}")
    if descriptor == "buildpack.toml" and is_sdk_buildpack(path):
        return stage(path, Path(tempfile.mkdtemp(prefix="bp-", dir=scratch)) / path.name)
    return path


def buildpack_layer(directory: Path, scratch: Path) -> tuple[BuildpackDescriptor, Path, LayerInfo]:
    """A layer with the buildpack at ``directory`` under ``/cnb/buildpacks``, root-owned."""
    descriptor = BuildpackDescriptor.load(directory / "buildpack.toml")
    for line in document_warnings(descriptor, str(directory / "buildpack.toml")):
        click.echo(f"warning: {line}", err=True)
    info = descriptor.buildpack
    if not info.version:  # the lifecycle reads such a file; pack refuses to package it
        raise UserError(
            f"{directory / 'buildpack.toml'}: buildpack.version is required; add e.g. "
            'version = "1.0.0" under [buildpack]'
        )
    path, layer = module_layer(directory, "buildpacks", info, scratch)
    return descriptor, path, layer


def module_layer(
    directory: Path, kind_dir: str, info: ModuleInfo, scratch: Path
) -> tuple[Path, LayerInfo]:
    """A layer with the module at ``directory`` under ``/cnb/<kind_dir>/<escaped id>/<version>``,
    root-owned (``kind_dir``: ``buildpacks`` or ``extensions``)."""
    base = f"cnb/{kind_dir}/{escape_id(info.id)}"

    def fill(writer: LayerWriter) -> None:
        writer.add_dir("cnb")
        writer.add_dir(f"cnb/{kind_dir}")
        writer.add_dir(base)
        writer.add_tree(directory, f"{base}/{info.version}", uid=0, gid=0)

    fd, name = tempfile.mkstemp(dir=scratch, prefix="layer-", suffix=".tar")
    os.close(fd)
    path = Path(name)
    return path, write_layer_file(path, fill)


def layer_info(descriptor: BuildpackDescriptor, diff_id: str) -> ModuleLayerInfo:
    """The ``io.buildpacks.buildpack.layers`` entry of a buildpack."""
    return ModuleLayerInfo.model_validate(
        {
            "api": descriptor.api,
            "stacks": descriptor.stacks,
            "targets": descriptor.targets,
            "order": descriptor.order,
            "layerDiffID": diff_id,
            "homepage": descriptor.buildpack.homepage,
            "name": descriptor.buildpack.name,
        }
    )


def packaged_buildpacks(image: Image, where: str) -> list[PackagedBuildpack]:
    """The buildpacks a package (or builder) image carries."""
    label = image.label(BuildpackLayersLabel.label_name)
    if not label:
        raise UserError(
            f"{where}: not a buildpackage: it has no {BuildpackLayersLabel.label_name} label"
        )
    result = []
    for bp_id, versions in BuildpackLayersLabel.from_label(label).modules.items():
        for version, info in versions.items():
            module = ModuleInfo(id=bp_id, version=version, homepage=info.homepage, name=info.name)
            result.append(PackagedBuildpack(module, info, image.layer(info.layer_diff_id)))
    return result


def read_cnb(path: Path, scratch: Path) -> Image:
    """The image in a ``.cnb`` file."""
    target = Path(tempfile.mkdtemp(prefix="cnb-", dir=scratch))
    try:
        with open(path, "rb") as archive:
            extract_layer(archive, target, whiteouts=False, same_owner=False, source=str(path))
    except (OSError, PypackError) as exc:
        raise UserError(f"{path}: not a readable .cnb file: {exc}") from None
    layout = LayoutStore(target)
    names = layout.names()
    image = LayoutImageStore(layout).load(names[0]) if names else None
    if image is None:
        raise UserError(f"{path}: the .cnb file holds no image")
    return image


def write_cnb(image: Image, path: Path, scratch: Path) -> str:
    """Write ``image`` as a ``.cnb`` file (a tar of an OCI layout); return its digest."""
    directory = Path(tempfile.mkdtemp(prefix="cnb-out-", dir=scratch))
    result = LayoutImageStore(LayoutStore(directory)).save(image, [CNB_FILE_TAG])
    partial = path.with_name(path.name + ".partial")
    try:
        with tarfile.open(partial, "w") as archive:
            for item in sorted(directory.rglob("*")):
                relative = item.relative_to(directory)
                if relative.name.startswith("."):
                    continue
                archive.add(item, arcname=str(relative), recursive=False)
        partial.replace(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the .cnb file: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return result.digest


def package(
    config: PackageConfig, config_dir: Path, load: Callable[[str], Image | None], scratch: Path
) -> Image:
    """The buildpackage image ``config`` describes."""
    if config.buildpack is None:
        raise UserError("only buildpacks can be packaged (not extensions) so far")
    directory = buildpack_directory(config.buildpack.uri, config_dir, scratch)
    descriptor, path, info = buildpack_layer(directory, scratch)
    platform = Platform(os=config.platform.os, architecture="amd64")
    if config.targets and config.targets[0].os and config.targets[0].arch:
        platform = Platform(os=config.targets[0].os, architecture=config.targets[0].arch)
    image = Image.empty(platform)
    modules: dict[str, dict[str, ModuleLayerInfo]] = {}
    for dependency in config.dependencies:
        for bp in dependency_buildpacks(
            dependency.uri, dependency.image, config_dir, load, scratch
        ):
            version = bp.info.version or ""
            if version in modules.get(bp.info.id, {}):
                continue
            image.layers.append(bp.layer)
            modules.setdefault(bp.info.id, {})[version] = bp.layer_info
    image.add_layer(path, info)
    main = descriptor.buildpack
    modules.setdefault(main.id, {})[main.version or ""] = layer_info(descriptor, info.diff_id)
    image.set_label(
        BuildpackLayersLabel.label_name, BuildpackLayersLabel(modules=modules).to_label()
    )
    metadata = BuildpackageMetadataLabel.model_validate(
        {**main.model_dump(exclude_none=True, by_alias=True), "stacks": descriptor.stacks}
    )
    image.set_label(BuildpackageMetadataLabel.label_name, metadata.to_label())
    return image


def dependency_buildpacks(
    uri: str | None,
    image_name: str | None,
    base: Path,
    load: Callable[[str], Image | None],
    scratch: Path,
) -> list[PackagedBuildpack]:
    """The buildpacks a dependency (a directory, file, ``.cnb`` or package image) brings."""
    if image_name or (uri and uri.startswith("docker://")):
        name = image_name or (uri or "").removeprefix("docker://")
        image = load(name)
        if image is None:
            raise UserError(f"buildpackage image {name!r} not found locally or in its registry")
        return packaged_buildpacks(image, name)
    assert uri is not None  # package.toml validation requires uri or image
    if uri.endswith(".cnb"):
        cnb = (base / uri).resolve()
        return packaged_buildpacks(read_cnb(cnb, scratch), str(cnb))
    directory = buildpack_directory(uri, base, scratch)
    descriptor, path, info = buildpack_layer(directory, scratch)
    holder = Image.empty()
    layer = holder.add_layer(path, info)
    return [PackagedBuildpack(descriptor.buildpack, layer_info(descriptor, info.diff_id), layer)]
