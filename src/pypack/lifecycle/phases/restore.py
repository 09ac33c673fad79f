"""The restore phase: layer metadata from the app image, layer contents from the cache.

The restore table of the spec (§1.7): launch-only layers get their ``<layer>.toml``;
cache layers get toml and contents, restored only when the cached sha is the sha of the
metadata just restored (otherwise both are dropped); build-only and launch+build layers without
cache get nothing. Restored tomls never contain ``[types]``; ``store.toml`` is always restored.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pypack.errors import ExitCode, PypackError, SpecError, UserError
from pypack.lifecycle.cache import Cache
from pypack.lifecycle.images import ImageAccess
from pypack.lifecycle.inputs import CreatorInputs
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.phases.analyze import image_target
from pypack.lifecycle.privileges import give_tree
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image
from pypack.oci.layout import LayoutStore
from pypack.spec.analyzed_toml import AnalyzedFile, ImageIdentifier, RunImage
from pypack.spec.api import ApiVersion
from pypack.spec.cache_metadata import CacheMetadata
from pypack.spec.group_toml import GroupElement, GroupFile
from pypack.spec.ids import escape_id
from pypack.spec.layer_toml import LayerFile
from pypack.spec.lifecycle_metadata import BuildpackLayer
from pypack.spec.run_toml import RunFile


def restore(
    *,
    layers_dir: Path,
    group: list[GroupElement],
    analyzed: AnalyzedFile,
    cache: Cache | None,
    skip_layers: bool = False,
    root: Path = Path("/"),
) -> None:
    """Restore store.toml, layer metadata and cached layer contents for the group. Cached
    layers are extracted below ``root``, the host directory standing for ``/``."""
    cache_md = cache.metadata() if cache is not None else CacheMetadata()
    for element in group:
        directory = layers_dir / escape_id(element.id)
        directory.mkdir(parents=True, exist_ok=True)
        app_record = analyzed.metadata.buildpack(element.id)
        if app_record is not None and app_record.store is not None:
            app_record.store.dump(directory / "store.toml")
        if skip_layers:
            continue
        app_layers = app_record.layers if app_record else {}
        cache_record = cache_md.buildpack(element.id)
        cache_layers = cache_record.layers if cache_record else {}
        for name in sorted({*app_layers, *cache_layers}):
            _restore_layer(
                directory,
                name,
                app_layers.get(name),
                cache_layers.get(name),
                cache,
                root,
                f"{element.id}:{name}",
            )
    if skip_layers:
        LOGGER.info("Skipping buildpack layer analysis")


def _restore_layer(
    directory: Path,
    name: str,
    from_app: BuildpackLayer | None,
    from_cache: BuildpackLayer | None,
    cache: Cache | None,
    root: Path,
    identifier: str,
) -> None:
    toml_path = directory / f"{name}.toml"
    if from_app is not None and from_app.launch and not from_app.cache:
        if not from_app.build:
            LOGGER.info("Restoring metadata for %s from app image", _quoted(identifier))
            LayerFile(metadata=from_app.data or {}).dump(toml_path)
        return
    if from_cache is None or cache is None:
        return
    from_app_image = from_app is not None and from_app.launch
    metadata = from_app if from_app is not None and from_app.launch else from_cache
    if metadata.sha != from_cache.sha or not cache.has_layer(from_cache.sha):
        LOGGER.debug("Not restoring %s: cached sha does not match", name)
        return
    source = "app image" if from_app_image else "cache"
    LOGGER.info("Restoring metadata for %s from %s", _quoted(identifier), source)
    LayerFile(metadata=metadata.data or {}).dump(toml_path)
    layer_dir = directory / name
    try:
        with cache.open_layer(from_cache.sha) as stream:
            extract_layer(
                stream,
                root,
                source=f"cache layer {name}",
                only_under=str(layer_dir.relative_to(root)),
            )
    except PypackError as exc:
        LOGGER.warning("Failed to restore layer %r from the cache: %s", name, exc)
        shutil.rmtree(layer_dir, ignore_errors=True)
        toml_path.unlink(missing_ok=True)


def _quoted(text: str) -> str:
    """``text`` in double quotes, as Go's ``%q`` prints a plain string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_build_image(analyzed_path: Path, access: ImageAccess, name: str) -> None:
    """From Platform 0.10 the restorer binary's ``-build-image``: the build image is read from
    its registry and its digest reference goes into analyzed.toml (``[build-image]``), as the
    reference restorer records it for the extender; without analyzed.toml nothing happens."""
    if not analyzed_path.is_file():
        return
    analyzed = AnalyzedFile.load(analyzed_path)
    analyzed.build_image = ImageIdentifier(reference=_pull_build_image(access, name, None))
    analyzed.dump(analyzed_path)


def _pull_build_image(access: ImageAccess, name: str, kaniko: Path | None) -> str:
    try:
        image = access.load(name, "build image", ExitCode.GENERIC)
    except PypackError as exc:
        raise PypackError(f"failed to pull builder image {name}: {exc}") from None
    if image is None:
        raise PypackError(f"failed to pull builder image {name}: it does not exist")
    if kaniko is not None:
        save_sparse(image, kaniko)
    return access.identifier(name, image)


def save_sparse(image: Image, kaniko: Path) -> None:
    """The image's manifest and config (no layers) as an OCI layout in
    ``<kaniko>/cache/base/<manifest digest>``, where the extender finds its base image, as the
    reference restorer's sparse pull; nothing when the kaniko directory does not exist."""
    if not kaniko.is_dir():
        return
    if image.source is None:
        config = image.config_document()
        manifest = image.manifest_document(config)
    else:
        config, manifest = image.source
    layout = LayoutStore(kaniko / "cache" / "base" / manifest.digest)
    layout.init()
    layout.put_bytes(config.raw)
    layout.tag("latest", manifest)


def update_analyzed(
    inputs: CreatorInputs,
    *,
    registry: ImageAccess,
    build_image: str | None,
    kaniko: Path,
    use_layout: bool = False,
) -> None:
    """What the reference restorer binary does to analyzed.toml before restoring: from
    Platform 0.10 ``-build-image`` is pulled (manifest and config into the kaniko cache) and
    its digest reference recorded; from 0.12 a run image to be extended is pulled the same way
    and its digest reference and target recorded; from 0.10, when the group has image
    extensions, a run image without a target gets its identifier (and from 0.12 its target)
    from the image store. Without analyzed.toml nothing happens."""
    path = inputs.paths.analyzed_file
    if not path.is_file():
        return
    api = inputs.platform_api
    analyzed = AnalyzedFile.load(path)
    if build_image and api.at_least("0.10"):
        LOGGER.debug("Pulling builder image metadata for %s...", build_image)
        reference = _pull_build_image(registry, build_image, kaniko)
        analyzed.build_image = ImageIdentifier(reference=reference)
    run = analyzed.run_image
    name = run.image or run.reference if run is not None else ""
    if run is not None and name:
        if api.at_least("0.12") and not use_layout and run.extend:
            LOGGER.debug("Pulling run image metadata for %s...", name)
            try:
                image = registry.load(name, "run image", ExitCode.GENERIC)
            except PypackError as exc:
                raise PypackError(f"failed to pull run image {name}: {exc}") from None
            if image is None:
                raise PypackError(f"failed to pull run image {name}: failed to get remote image")
            save_sparse(image, kaniko)
            _record_run_image(run, registry, name, image, api)
        elif (
            api.at_least("0.10") and _has_extensions(inputs) and not (run.target and run.target.os)
        ):
            LOGGER.debug("Updating run image info in analyzed metadata...")
            access = inputs.access or registry
            found = access.load(name, "run image", ExitCode.GENERIC)
            if found is None:
                raise PypackError(f"failed to get run image {name}")
            _record_run_image(run, access, name, found, api)
    analyzed.dump(path)


def _record_run_image(
    run: RunImage, access: ImageAccess, name: str, image: Image, api: ApiVersion
) -> None:
    run.reference = access.identifier(name, image)
    run.target = image_target(image) if api.at_least("0.12") else None


def _has_extensions(inputs: CreatorInputs) -> bool:
    path = inputs.paths.group_file
    try:
        return bool(GroupFile.load(path).group_extensions) if path.is_file() else False
    except SpecError:
        return False


def check_run_image(inputs: CreatorInputs) -> None:
    """From Platform 0.14 the restorer binary (``-run``; not the creator) checks that the run
    image the analyzer chose from run.toml can still be read; one run.toml does not list (an
    extension's) passes."""
    path = inputs.paths.analyzed_file
    run = AnalyzedFile.load(path).run_image if path.is_file() else None
    if run is None or not run.image or inputs.access is None:
        return
    run_path = inputs.paths.run
    offered = RunFile.load(run_path).images if run_path.is_file() else []
    if not any(run.image == entry.image or run.image in (entry.mirrors or []) for entry in offered):
        return
    try:
        found = inputs.access.load(run.image, "run image", ExitCode.GENERIC)
    except PypackError:
        found = None
    if found is None:
        raise PypackError(f"selected run image '{run.image}' is not accessible")


def restore_phase(inputs: CreatorInputs) -> None:
    """The restorer: layer metadata from analyzed.toml and cached layers for group.toml.
    Run as root (the daemonless platform), what it writes is given to the CNB user."""
    paths = inputs.paths
    try:
        group = GroupFile.load(paths.group_file)
    except SpecError as exc:
        raise UserError(f"failed to read group file: {exc}") from None
    analyzed_path = paths.analyzed_file
    analyzed = AnalyzedFile.load(analyzed_path) if analyzed_path.is_file() else AnalyzedFile()
    try:
        restore(
            layers_dir=paths.layers,
            group=list(group.group),
            analyzed=analyzed,
            cache=None if inputs.skip_restore else inputs.cache,
            skip_layers=inputs.skip_restore,
            root=paths.root,
        )
    except PypackError as exc:
        raise PypackError(f"failed to restore: {exc}", exit_code=ExitCode.RESTORE) from None
    give_tree(paths.layers, inputs.uid, inputs.gid)
