"""Restoring layer SBOMs for a rebuild, as the reference's SBOM restorer does (Platform >= 0.8).

The app image's SBOM layer holds ``<layers>/sbom/launch``; the cache's SBOM layer (written by
the exporter as ``buildpacksio/lifecycle:cache.sbom``) holds ``<layers>/sbom/cache``. Before a
rebuild the analyzer extracts the former from the previous image, the restorer the latter from
the cache, and then every ``sbom/{cache,launch}/<bp>/<layer>/sbom.<ext>`` of a detected
buildpack whose layers directory exists becomes ``<layers>/<bp>/<layer>.sbom.<ext>`` (so the
buildpack finds its layers' SBOMs again), and ``<layers>/sbom`` is removed.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pypack.errors import ExitCode, PypackError
from pypack.lifecycle.inputs import CreatorInputs, require_access
from pypack.lifecycle.launch_cache import LaunchCache
from pypack.lifecycle.log import LOGGER
from pypack.spec.analyzed_toml import AnalyzedFile
from pypack.spec.ids import escape_id

SBOM_KINDS = ("cache", "launch")


def extract_sbom_layer(stream: BinaryIO, root: Path, layers: Path) -> None:
    """Extract the regular files and directories of an SBOM layer tar below
    ``<layers>/sbom``; entry names are paths below ``root`` (the image's ``/``)."""
    sbom = layers / "sbom"
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = PurePosixPath(member.name.lstrip("/"))
            if ".." in name.parts:
                continue
            target = root / name
            if target != sbom and sbom not in target.parents:
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                source = tar.extractfile(member)
                if source is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)


def restore_to_buildpack_layers(
    layers: Path, buildpack_ids: Iterable[str], owner: tuple[int, int] | None = None
) -> None:
    """Copy each restored layer SBOM next to its layer (see the module docstring), given to
    ``owner`` (the CNB user, who must be able to rewrite it; the reference restores as that
    user), then remove ``<layers>/sbom``."""
    detected = {escape_id(bp_id) for bp_id in buildpack_ids}
    try:
        for kind in SBOM_KINDS:
            top = layers / "sbom" / kind
            if not top.is_dir():
                continue
            for path in sorted(top.glob("*/*/sbom.*.json")):
                if not path.is_file():
                    continue
                layer_dir = path.parent
                bp_dir = layer_dir.parent.name
                destination = layers / bp_dir
                if bp_dir not in detected or not destination.is_dir():
                    continue
                restored = destination / f"{layer_dir.name}.{path.name}"
                shutil.copyfile(path, restored)
                if owner is not None and os.geteuid() == 0:
                    os.chown(restored, *owner)
    finally:
        shutil.rmtree(layers / "sbom", ignore_errors=True)
    LOGGER.debug("Restored layer SBOMs to the buildpacks' layers")


def restore_previous_sbom(inputs: CreatorInputs, analyzed: AnalyzedFile) -> None:
    """The analyzer's part (Platform >= 0.8, not with ``-skip-layers``): extract the previous
    image's SBOM layer, the one its lifecycle metadata names, into ``<layers>/sbom``."""
    sha = analyzed.metadata.sbom.sha if analyzed.metadata.sbom else ""
    if inputs.platform_api.less_than("0.8") or not sha or analyzed.image is None:
        return
    access = require_access(inputs)
    previous = access.load(analyzed.image.reference, "previous image", ExitCode.ANALYZE)
    if previous is None or not previous.has_layer(sha):
        return
    if inputs.launch_cache is not None and access.kind == "daemon":
        LaunchCache(inputs.launch_cache).serve(previous)
    LOGGER.info("Restoring data for SBOM from previous image")
    LOGGER.debug("Retrieving previous image SBOM layer for %r", sha)
    try:
        with previous.layer(sha).open_uncompressed() as stream:
            extract_sbom_layer(stream, inputs.paths.root, inputs.paths.layers)
    except (PypackError, OSError, tarfile.TarError) as exc:
        raise PypackError(
            f"retrieving launch SBOM layer: {exc}", exit_code=ExitCode.ANALYZE
        ) from None


def restore_cached_sbom(inputs: CreatorInputs, buildpack_ids: Iterable[str]) -> None:
    """The restorer's part (Platform >= 0.8): extract the cache's SBOM layer (unless
    ``-skip-layers``), then put every restored layer SBOM next to its layer."""
    if inputs.platform_api.less_than("0.8"):
        return
    cache = inputs.cache
    if cache is not None and not inputs.skip_restore:
        metadata = cache.metadata()
        sha = metadata.sbom.sha if metadata.sbom else ""
        if sha and cache.has_layer(sha):
            LOGGER.info("Restoring data for SBOM from cache")
            LOGGER.debug("Retrieving SBOM layer data for %r", sha)
            try:
                with cache.open_layer(sha) as stream:
                    extract_sbom_layer(stream, inputs.paths.root, inputs.paths.layers)
            except (PypackError, OSError, tarfile.TarError) as exc:
                raise PypackError(f"restoring data: {exc}", exit_code=ExitCode.RESTORE) from None
    restore_to_buildpack_layers(inputs.paths.layers, buildpack_ids, (inputs.uid, inputs.gid))
