"""The export phase: the app image on the run image, and the build cache.

App image = run image + buildpack launch layers + SBOM layer + app slices + launcher + config +
process types (the reference lifecycle's order), with its entrypoint, env, working dir, labels
and history. A layer whose diffID the previous image already has is reused from it — nothing is
compressed or uploaded again; a launch layer without contents is taken from the previous image
by the sha its metadata recorded. Cache layers go to a volume or image cache; a cache failure
is only a warning.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pypack import __version__
from pypack.errors import ExitCode, PypackError, SpecError, UserError
from pypack.lifecycle.cache import Cache, VolumeCache
from pypack.lifecycle.images import ImageAccess, LayoutImages
from pypack.lifecycle.inputs import CreatorInputs, require_access
from pypack.lifecycle.launch_cache import LaunchCache
from pypack.lifecycle.launch_data import LAUNCH_DATA_FILE, launch_data, launcher_script
from pypack.lifecycle.layer_tars import TarMaker, normalized_copy
from pypack.lifecycle.log import LOGGER
from pypack.oci.image import Image, ImageStore, SaveResult
from pypack.oci.layers import NORMALIZED_MTIME, LayerInfo, gzip_file
from pypack.oci.layout import LayoutStore
from pypack.oci.models import History
from pypack.oci.stores import LayoutImageStore
from pypack.spec.analyzed_toml import AnalyzedFile
from pypack.spec.api import ApiVersion
from pypack.spec.build_toml import BuildFile
from pypack.spec.cache_metadata import CacheMetadata
from pypack.spec.group_toml import GroupElement, GroupFile
from pypack.spec.ids import escape_id
from pypack.spec.launch_toml import process_type_problem
from pypack.spec.layer_toml import LayerFile
from pypack.spec.lifecycle_metadata import (
    BuildpackLayer,
    BuildpackLayers,
    LayerSha,
    LayersMetadata,
    LifecycleMetadataLabel,
    RunImageForExport,
    RunImageForRebase,
    StackMetadata,
)
from pypack.spec.metadata_toml import BuildMetadata, BuildMetadataLabel, LauncherMetadata
from pypack.spec.project_metadata import ProjectMetadataFile, ProjectMetadataLabel
from pypack.spec.report_toml import BuildReport, ImageReport, ReportFile
from pypack.spec.run_toml import RunFile
from pypack.spec.stack_toml import StackFile
from pypack.spec.store_toml import StoreFile

NOT_LAYERS = frozenset({"launch.toml", "build.toml", "store.toml"})
LIFECYCLE_ID = "buildpacksio/lifecycle"
LAUNCH_SBOM_ID = f"{LIFECYCLE_ID}:launch.sbom"
CACHE_SBOM_ID = f"{LIFECYCLE_ID}:cache.sbom"


class ExportError(PypackError):
    """The app image cannot be made (exit 62)."""

    exit_code = ExitCode.EXPORT


@dataclass
class ExportInputs:
    """Everything the export reads besides images."""

    app_dir: Path
    layers_dir: Path
    group: list[GroupElement]
    metadata: BuildMetadata
    analyzed: AnalyzedFile
    platform_api: ApiVersion
    uid: int
    gid: int
    project: ProjectMetadataFile | None = None
    process_type: str | None = None
    created: int | None = None
    exec_env: str = "production"
    root: Path = Path("/")
    """The host directory standing for ``/`` of the image (see :class:`TarMaker`)."""
    run_image_for_export: RunImageForExport | None = None
    """The run image and mirrors to record (see :func:`run_image_for_export`)."""
    launcher: Path | None = None
    """The launcher file (``-launcher``); None: the one this lifecycle carries."""
    extended: Path | None = None
    """``-extended`` (Platform >= 0.12): ``run/`` in it is the run image as image extensions
    extended it; its layers go on the app image and, when analyzed.toml says ``extend``, its
    config is the app image's."""
    layout: bool = False
    """The app image goes to an OCI layout (whose run image config is never the extended
    one, as in the reference)."""
    run_reference: str | None = None
    """The run image's identifier for the lifecycle metadata, as the store names the image it
    read (None: analyzed.toml's reference)."""

    def launcher_bytes(self) -> bytes:
        if self.launcher is None:
            return launcher_script()
        try:
            return self.launcher.read_bytes()
        except OSError as exc:
            raise ExportError(f"failed to read launcher {self.launcher}: {exc}") from None

    def image_path(self, path: Path) -> str:
        """Where a host path is in the image."""
        return "/" + str(path.relative_to(self.root))


@dataclass
class _LayerTar:
    path: Path
    info: LayerInfo


@dataclass
class Exporter:
    """Builds and saves the app image, and the cache."""

    inputs: ExportInputs
    compress: bool
    scratch: Path
    """Where layer tars are written; the caller removes it."""
    _tars: dict[tuple[str, str], _LayerTar] = field(default_factory=dict)
    added: list[tuple[str, Path]] = field(default_factory=list)
    """(diffID, uncompressed tar) of each layer the app image got from this export."""
    reused: list[str] = field(default_factory=list)
    """DiffIDs of the layers the app image took from the previous image."""

    def __post_init__(self) -> None:
        self._maker = TarMaker(
            self.scratch, self.inputs.uid, self.inputs.gid, NORMALIZED_MTIME, self.inputs.root
        )

    def prepare(self) -> None:
        """Tar every buildpack layer the image or the cache needs, once, before either is
        written (so the two can then be written at the same time)."""
        for element in self.inputs.group:
            directory = self.inputs.layers_dir / escape_id(element.id)
            for name, layer in _layer_files(directory):
                types = layer.types
                if (
                    types is not None
                    and (types.launch or types.cache)
                    and (directory / name).is_dir()
                ):
                    self._tar(element.id, name, directory / name)

    # --- the app image -----------------------------------------------------------------------

    def build_image(self, run_image: Image, previous: Image | None) -> tuple[Image, LayersMetadata]:
        """The app image (not yet saved) and its lifecycle metadata."""
        inputs = self.inputs
        image = run_image.copy()
        image.source = None
        with_history = inputs.platform_api.at_least("0.12")
        if with_history:
            _align_history(image)
        extended = self._extended_run_image()
        if extended is not None:
            run = inputs.analyzed.run_image
            if run is not None and run.extend and not inputs.layout:
                image.config.config = extended[0].config.config.model_copy(deep=True)
            self._add_extension_layers(image, *extended)
        previous_md = _previous_metadata(previous)
        maker = self._maker
        metadata = LayersMetadata()
        for element in inputs.group:
            metadata.buildpacks.append(
                self._buildpack_layers(image, element, previous, previous_md)
            )
        sbom_dir = inputs.layers_dir / "sbom" / "launch"
        if sbom_dir.is_dir() and inputs.platform_api.at_least("0.8"):
            path, info = maker.directory(sbom_dir)
            self._add(image, path, info, previous, "Software Bill-of-Materials", LAUNCH_SBOM_ID)
            metadata.sbom = LayerSha(sha=info.diff_id)
        slices = [s.paths for s in inputs.metadata.slices]
        for number, (path, info) in enumerate(maker.app_slices(inputs.app_dir, slices), start=1):
            name = f"Application Slice: {number}" if slices else "Application Layer"
            self._add(image, path, info, previous, name, f"slice-{number}" if slices else "app")
            metadata.app.append(LayerSha(sha=info.diff_id))
        path, info = maker.launcher(inputs.launcher_bytes())
        self._add(
            image,
            path,
            info,
            previous,
            "Buildpacks Application Launcher",
            f"{LIFECYCLE_ID}:launcher",
        )
        metadata.launcher = LayerSha(sha=info.diff_id)
        path, info = self._config_layer(maker)
        self._add(
            image, path, info, previous, "Buildpacks Launcher Config", f"{LIFECYCLE_ID}:config"
        )
        metadata.config = LayerSha(sha=info.diff_id)
        types = [p.type for p in inputs.metadata.processes]
        for process in inputs.metadata.processes:
            problem = process_type_problem(process.type)
            if problem:
                raise ExportError(
                    f"failed to export: {problem} (launch.toml of buildpack "
                    f"{process.buildpack_id}: change the type there)"
                )
        if types:
            path, info = maker.process_types(types)
            self._add(
                image, path, info, previous, "Buildpacks Process Types",
                f"{LIFECYCLE_ID}:process-types",
            )  # fmt: skip
            metadata.process_types = LayerSha(sha=info.diff_id)
        if not with_history:  # before Platform 0.12 the app image has no history at all
            image.config.history = None
        metadata.run_image = self._run_image_record(run_image)
        run = inputs.analyzed.run_image
        metadata.stack = StackMetadata(
            run_image=inputs.run_image_for_export
            or RunImageForExport(image=run.image if run else None)
        )
        self._configure(image, run_image, metadata)
        return image, metadata

    def _extended_run_image(self) -> tuple[Image, LayoutStore] | None:
        """The run image as image extensions extended it: the one sparse OCI layout in
        ``<extended>/run`` (Platform >= 0.12), or None."""
        inputs = self.inputs
        if inputs.extended is None or inputs.platform_api.less_than("0.12"):
            return None
        parent = inputs.extended / "run"
        entries = sorted(parent.iterdir()) if parent.is_dir() else []
        if not entries:
            return None
        if len(entries) > 1:
            raise ExportError(
                f'expected directory "{parent}" to have only 1 item; found {len(entries)}'
            )
        layout = LayoutStore(entries[0])
        extended = LayoutImageStore(layout).load("")
        if extended is None:
            raise ExportError(f'expected image index at "{entries[0]}" to have only 1 manifest')
        return extended, layout

    def _add_extension_layers(self, image: Image, extended: Image, layout: LayoutStore) -> None:
        """Each layer the extensions added (those whose blob the sparse layout holds; the
        others are the run image's), re-tarred with normalized times, with its history."""
        history = [h for h in extended.history if not h.empty_layer]
        for index, layer in enumerate(extended.layers):
            if not layout.has_blob(layer.digest):
                continue
            created_by = (history[index].created_by or "") if index < len(history) else ""
            tar = self.scratch / f"extension-{index}.tar"
            with layer.open() as stream:
                info = normalized_copy(stream, tar)
            LOGGER.debug("Adding extension layer %d: %s", index, info.diff_id)
            self._put(image, tar, info, created_by)

    def _buildpack_layers(
        self,
        image: Image,
        element: GroupElement,
        previous: Image | None,
        previous_md: LayersMetadata,
    ) -> BuildpackLayers:
        directory = self.inputs.layers_dir / escape_id(element.id)
        record = BuildpackLayers(key=element.id, version=element.version)
        store = directory / "store.toml"
        if store.is_file():
            record.store = StoreFile.load(store)
        for name, layer in _layer_files(directory):
            types = layer.types
            if types is None or not types.launch:
                continue
            layer_dir = directory / name
            created_by = f"Layer: '{name}', Created by buildpack: {element.id}@{element.version}"
            if layer_dir.is_dir():
                tar = self._tar(element.id, name, layer_dir)
                self._add(image, tar.path, tar.info, previous, created_by, f"{element.id}:{name}")
                sha = tar.info.diff_id
            else:
                if types.cache:
                    raise ExportError(
                        f"layer '{element.id}:{name}' is cache=true but has no contents"
                    )
                sha = _reused_sha(previous_md, element.id, name)
                if previous is None or not sha or not previous.has_layer(sha):
                    raise ExportError(
                        f"cannot reuse '{element.id}:{name}', previous image has no metadata "
                        "for layer; its launch=true layer has no contents"
                    )
                LOGGER.info("Reusing layer '%s:%s'", element.id, name)
                LOGGER.debug("Layer '%s:%s' SHA: %s", element.id, name, sha)
                image.reuse_layer(sha, previous, created_by=created_by)
                self.reused.append(sha)
            record.layers[name] = BuildpackLayer(
                sha=sha, data=layer.metadata, build=types.build, launch=True, cache=types.cache
            )
        return record

    def _tar(self, buildpack_id: str, name: str, directory: Path) -> _LayerTar:
        key = (buildpack_id, name)
        if key not in self._tars:
            path, info = self._maker.directory(directory)
            self._tars[key] = _LayerTar(path, info)
        return self._tars[key]

    def _add(
        self,
        image: Image,
        tar: Path,
        info: LayerInfo,
        previous: Image | None,
        created_by: str,
        layer_id: str,
    ) -> None:
        if previous is not None and previous.has_layer(info.diff_id):
            LOGGER.info("Reusing layer '%s'", layer_id)
            LOGGER.debug("Layer '%s' SHA: %s", layer_id, info.diff_id)
            image.reuse_layer(info.diff_id, previous, created_by=created_by)
            self.reused.append(info.diff_id)
            return
        LOGGER.info("Adding layer '%s'", layer_id)
        LOGGER.debug("Layer '%s' SHA: %s", layer_id, info.diff_id)
        self._put(image, tar, info, created_by)

    def _put(self, image: Image, tar: Path, info: LayerInfo, created_by: str) -> None:
        """Add a new layer tar to the image (compressed for a registry or layout)."""
        self.added.append((info.diff_id, tar))
        if self.compress:
            blob = tar.with_suffix(".tar.gz")
            with open(tar, "rb") as source, open(blob, "wb") as out:
                digest, size = gzip_file(source, out)
            info = LayerInfo(
                info.diff_id, digest, size, "application/vnd.oci.image.layer.v1.tar+gzip"
            )
            tar = blob
        image.add_layer(tar, info, created_by=created_by)

    def _config_layer(self, maker: TarMaker) -> tuple[Path, LayerInfo]:
        config = self.inputs.layers_dir / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / LAUNCH_DATA_FILE).write_text(launch_data(self.inputs.metadata))
        return maker.directory(config)

    def _run_image_record(self, run_image: Image) -> RunImageForRebase:
        run = self.inputs.analyzed.run_image
        named = self.inputs.run_image_for_export
        if self.inputs.platform_api.less_than("0.12"):
            named = None  # the reference names the run image here from 0.12 only
        return RunImageForRebase(
            top_layer=run_image.top_layer or "",
            reference=self.inputs.run_reference or (run.reference if run else ""),
            image=named.image if named and named.image else (run.image if run else None),
            mirrors=named.mirrors if named and named.image else None,
        )

    def _configure(self, image: Image, run_image: Image, metadata: LayersMetadata) -> None:
        inputs = self.inputs
        image.set_env("CNB_LAYERS_DIR", inputs.image_path(inputs.layers_dir))
        image.set_env("CNB_APP_DIR", inputs.image_path(inputs.app_dir))
        base_path = run_image.env("PATH") or ""
        image.set_env(
            "PATH", ":".join(p for p in ("/cnb/process", "/cnb/lifecycle", base_path) if p)
        )
        image.set_env("CNB_PLATFORM_API", str(inputs.platform_api))
        image.set_env("CNB_DEPRECATION_MODE", "quiet")
        image.set_working_dir(inputs.image_path(inputs.app_dir))
        image.set_entrypoint(self._entrypoint())
        image.set_cmd()
        image.set_created(inputs.created)
        image.set_label(
            LifecycleMetadataLabel.label_name,
            LifecycleMetadataLabel.model_validate(metadata.model_dump()).to_label(),
        )
        image.set_label(BuildMetadataLabel.label_name, self._build_label())
        project = inputs.project.source if inputs.project else None
        image.set_label(
            ProjectMetadataLabel.label_name, ProjectMetadataLabel(source=project).to_label()
        )
        for label in inputs.metadata.labels:
            image.set_label(label.key, label.value)
        if inputs.platform_api.at_least("0.15"):
            image.set_label("io.buildpacks.exec-env", inputs.exec_env)

    def _entrypoint(self) -> str:
        processes = {p.type for p in self.inputs.metadata.processes}
        wanted = self.inputs.process_type
        if wanted:
            if wanted not in processes:
                raise ExportError(
                    f"default process type '{wanted}' not present in list "
                    f"[{', '.join(sorted(processes))}]"
                )
            return f"/cnb/process/{wanted}"
        default = self.inputs.metadata.buildpack_default_process_type
        if default and default in processes:
            return f"/cnb/process/{default}"
        return "/cnb/lifecycle/launcher"

    def _build_label(self) -> str:
        md = self.inputs.metadata
        processes = [p.model_copy(update={"default": False}) for p in md.processes]
        buildpacks = [b.model_copy(update={"api": None}) for b in md.buildpacks]
        extensions = [e.model_copy(update={"api": None}) for e in md.extensions or []]
        label = BuildMetadataLabel(
            bom=md.bom,
            buildpacks=buildpacks,
            extensions=extensions or None,
            launcher=LauncherMetadata(version=__version__),
            processes=processes,
            buildpack_default_process_type=md.buildpack_default_process_type,
        )
        return label.to_label()

    # --- the cache ---------------------------------------------------------------------------

    def export_cache(self, cache: Cache) -> None:
        """Write the cache layers; failures are warnings, as in the reference lifecycle."""
        metadata = self.stage_cache(cache)
        if metadata is not None:
            self.commit_cache(cache, metadata)

    def stage_cache(self, cache: Cache) -> CacheMetadata | None:
        """Write the cache layers without committing them (None: failed, with a warning)."""
        try:
            return self._stage_cache(cache)
        except (PypackError, OSError) as exc:
            cache.discard()
            LOGGER.warning("Failed to export cache: %s", exc)
            return None

    def commit_cache(self, cache: Cache, metadata: CacheMetadata) -> None:
        """Make the staged cache the cache; a failure is a warning."""
        try:
            cache.commit(metadata)
        except (PypackError, OSError) as exc:
            cache.discard()
            LOGGER.warning("Failed to export cache: %s", exc)

    def _stage_cache(self, cache: Cache) -> CacheMetadata:
        metadata = CacheMetadata()
        previous = cache.metadata()
        cache.start()
        for element in self.inputs.group:
            directory = self.inputs.layers_dir / escape_id(element.id)
            record = BuildpackLayers(key=element.id, version=element.version)
            for name, layer in _layer_files(directory):
                types = layer.types
                if types is None or not types.cache:
                    continue
                layer_dir = directory / name
                if not layer_dir.is_dir():
                    LOGGER.warning(
                        "Layer '%s:%s' is cache=true but has no contents; it is not cached",
                        element.id,
                        name,
                    )
                    continue
                tar = self._tar(element.id, name, layer_dir)
                previous_sha = _cached_sha(previous, element.id, name)
                self._cache_layer(cache, tar, f"{element.id}:{name}", previous_sha)
                record.layers[name] = BuildpackLayer(
                    sha=tar.info.diff_id, data=layer.metadata, build=types.build,
                    launch=types.launch, cache=True,
                )  # fmt: skip
            metadata.buildpacks.append(record)
        sbom_cache = self.inputs.layers_dir / "sbom" / "cache"
        if sbom_cache.is_dir() and self.inputs.platform_api.at_least("0.8"):
            path, info = self._maker.directory(sbom_cache)
            previous_sha = previous.sbom.sha if previous.sbom else ""
            self._cache_layer(cache, _LayerTar(path, info), CACHE_SBOM_ID, previous_sha)
            metadata.sbom = LayerSha(sha=info.diff_id)
        return metadata

    def _cache_layer(
        self,
        cache: Cache,
        tar: _LayerTar,
        layer_id: str,
        previous_sha: str,
    ) -> None:
        """Reuse the cached tar when the previous cache recorded this diffID and its tar still
        has it; otherwise (a corrupt tar is a warning, as the reference's) add the new tar."""
        diff_id = tar.info.diff_id
        if previous_sha == diff_id and cache.has_layer(diff_id):
            problem = _cached_tar_problem(cache, diff_id)
            if problem is None:
                LOGGER.info("Reusing cache layer '%s'", layer_id)
                LOGGER.debug("Layer '%s' SHA: %s", layer_id, diff_id)
                cache.reuse_layer(diff_id)
                return
            LOGGER.warning("Skipping reuse for layer %s: %s", layer_id, problem)
        LOGGER.info("Adding cache layer '%s'", layer_id)
        LOGGER.debug("Layer '%s' SHA: %s", layer_id, diff_id)
        cache.add_layer(tar.path, tar.info)


def _cached_sha(metadata: CacheMetadata, buildpack_id: str, name: str) -> str:
    record = metadata.buildpack(buildpack_id)
    layer = record.layers.get(name) if record else None
    return layer.sha if layer else ""


def _cached_tar_problem(cache: Cache, diff_id: str) -> str | None:
    """Why a volume cache's tar for ``diff_id`` cannot be reused (its bytes hash to something
    else), or None; an image cache's layers are checked by the registry."""
    if not isinstance(cache, VolumeCache):
        return None
    hasher = hashlib.sha256()
    try:
        with open(cache.committed / f"{diff_id}.tar", "rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
    except OSError as exc:
        return f"failed to read cache layer with SHA '{diff_id}': {exc.strerror}"
    found = "sha256:" + hasher.hexdigest()
    if found != diff_id:
        return f"expected layer contents to have SHA '{diff_id}'; found '{found}'"
    return None


def export(
    exporter: Exporter,
    *,
    store: ImageStore,
    run_image: Image,
    previous: Image | None,
    names: list[str],
    cache: Cache | None,
    parallel: bool,
    saving_as: str | None = None,
) -> SaveResult:
    """Build and save the image, and the cache (at the same time with ``parallel``);
    ``saving_as`` is how the ``Saving`` line names the image (default: its first name)."""
    exporter.prepare()

    def save_image() -> SaveResult:
        image, _ = exporter.build_image(run_image, previous)
        LOGGER.info("Saving %s...", saving_as or names[0])
        try:
            return store.save(image, names)
        except PypackError as exc:
            raise ExportError(f"failed to export: {exc}") from None

    if cache is None:
        return save_image()
    if not parallel:
        result = save_image()
        exporter.export_cache(cache)
        return result
    with ThreadPoolExecutor(max_workers=1) as pool:
        staged = pool.submit(exporter.stage_cache, cache)
        try:
            result = save_image()
        except BaseException:
            if staged.result() is not None:
                cache.discard()  # the previous build's cache stays when the image fails
            raise
        metadata = staged.result()
    if metadata is not None:
        exporter.commit_cache(cache, metadata)
    return result


def export_bases(access: ImageAccess, analyzed: AnalyzedFile) -> tuple[Image, Image | None]:
    """The run image the app goes on and the previous image to reuse layers from, as
    analyzed.toml recorded them."""
    run_name = analyzed.run_image.reference if analyzed.run_image else ""
    if not run_name:
        raise PypackError(
            "analyzed.toml has no run image; run the analyzer first",
            exit_code=ExitCode.INVALID_ARGS,
        )
    run_image = access.load(run_name, "run image", ExitCode.EXPORT)
    if run_image is None:
        raise PypackError(f"failed to get run image {run_name!r}", exit_code=ExitCode.EXPORT)
    previous = None
    if analyzed.image is not None:
        previous = access.load(analyzed.image.reference, "previous image", ExitCode.EXPORT)
    return run_image, previous


def _layer_files(directory: Path) -> list[tuple[str, LayerFile]]:
    result: list[tuple[str, LayerFile]] = []
    if not directory.is_dir():
        return result
    for toml_path in sorted(directory.glob("*.toml")):
        if toml_path.name in NOT_LAYERS:
            continue
        try:
            result.append((toml_path.name[: -len(".toml")], LayerFile.load(toml_path)))
        except SpecError as exc:
            raise ExportError(str(exc)) from None
    return result


def _previous_metadata(previous: Image | None) -> LayersMetadata:
    label = previous.label(LifecycleMetadataLabel.label_name) if previous else None
    if not label:
        return LayersMetadata()
    try:
        return LifecycleMetadataLabel.from_label(label)
    except PypackError as exc:
        LOGGER.warning("ignoring the previous image's lifecycle metadata: %s", exc)
        return LayersMetadata()


def _reused_sha(previous: LayersMetadata, buildpack_id: str, name: str) -> str:
    record = previous.buildpack(buildpack_id)
    layer = record.layers.get(name) if record else None
    return layer.sha if layer else ""


def _align_history(image: Image) -> None:
    """Give the run image one history entry per layer, so the app's entries line up."""
    history = image.history
    non_empty = [h for h in history if not h.empty_layer]
    if len(non_empty) != len(image.layers):
        image.config.history = [History(created=image.created, created_by="") for _ in image.layers]


def source_date_epoch(environ: Mapping[str, str]) -> int | None:
    """``SOURCE_DATE_EPOCH`` as seconds; an unparsable value is ignored with a warning."""
    raw = environ.get("SOURCE_DATE_EPOCH")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        LOGGER.warning("Ignoring invalid SOURCE_DATE_EPOCH %r", raw)
        return None


def export_phase(inputs: CreatorInputs, *, extended: Path | None = None) -> SaveResult:
    """The exporter: the app image on the run image analyzed.toml names, saved under
    ``inputs.image`` and its tags, and the cache; writes report.toml."""
    access = require_access(inputs)
    paths = inputs.paths
    analyzed_path = paths.analyzed_file
    analyzed = AnalyzedFile.load(analyzed_path) if analyzed_path.is_file() else AnalyzedFile()
    try:
        group = GroupFile.load(paths.group_file)
        metadata = BuildMetadata.load(paths.layers / "config" / "metadata.toml")
    except SpecError as exc:
        raise UserError(f"failed to read build metadata: {exc}") from None
    project_path = paths.project_metadata_file
    project = ProjectMetadataFile.load(project_path) if project_path.is_file() else None
    run_image, previous = export_bases(access, analyzed)
    launch_cache = LaunchCache(inputs.launch_cache) if inputs.launch_cache else None
    if launch_cache is not None and previous is not None and access.kind == "daemon":
        served = launch_cache.serve(previous)
        LOGGER.debug("Reusing %d layers of the previous image from the launch cache", served)
    if inputs.launcher_sbom is not None and inputs.platform_api.at_least("0.11"):
        copy_launcher_sbom(inputs.launcher_sbom, paths.layers)
    export_inputs = ExportInputs(
        app_dir=paths.app,
        layers_dir=paths.layers,
        group=list(group.group),
        metadata=metadata,
        analyzed=analyzed,
        platform_api=inputs.platform_api,
        uid=inputs.uid,
        gid=inputs.gid,
        project=project,
        process_type=inputs.process_type,
        created=inputs.created,
        exec_env=inputs.exec_env,
        root=paths.root,
        run_image_for_export=run_image_for_export(inputs, analyzed, metadata),
        launcher=inputs.launcher,
        extended=extended,
        layout=access.kind == "layout",
        run_reference=run_identifier(access, analyzed, run_image),
    )
    with tempfile.TemporaryDirectory(prefix="export-", dir=paths.scratch) as scratch:
        exporter = Exporter(export_inputs, inputs.compress_layers, Path(scratch))
        result = export(
            exporter,
            store=access.store,
            run_image=run_image,
            previous=previous,
            names=[inputs.image, *inputs.tags],
            cache=inputs.cache,
            parallel=inputs.parallel_export,
            saving_as=saving_name(access, inputs.image),
        )
        if launch_cache is not None and access.kind == "daemon":
            launch_cache.commit(exporter.added, exporter.reused)
    if inputs.write_report:
        legacy = (
            legacy_build_bom(paths.layers, group) if inputs.platform_api.less_than("0.9") else None
        )
        write_report(paths.report_file, result, access, legacy)
    return result


def run_identifier(access: ImageAccess, analyzed: AnalyzedFile, run_image: Image) -> str:
    """The run image's identifier as the reference records it in the lifecycle metadata: of
    the image it read (a digest reference; in the daemon the image ID without ``sha256:``)."""
    name = analyzed.run_image.reference if analyzed.run_image else ""
    identifier = access.identifier(name, run_image)
    if access.kind == "daemon":
        return identifier.removeprefix("sha256:")
    return identifier


def saving_name(access: ImageAccess, name: str) -> str:
    """How the reference's ``Saving`` line names an image: a layout image by its layout path."""
    if isinstance(access.store, LayoutImages):
        return str(access.store.path(name))
    return name


def legacy_build_bom(layers: Path, group: GroupFile) -> BuildReport:
    """Before Platform 0.9 report.toml carries the build BOM: each buildpack's ``build.toml``
    ``[[bom]]`` entries with the buildpack that wrote them."""
    entries = []
    for element in group.group:
        path = layers / escape_id(element.id) / "build.toml"
        if path.is_file():
            owner = GroupElement(id=element.id, version=element.version)
            for entry in BuildFile.load(path).bom or []:
                entries.append(entry.model_copy(update={"buildpack": owner}))
    return BuildReport(bom=entries)


SBOM_EXTENSIONS = ("sbom.cdx.json", "sbom.spdx.json", "sbom.syft.json")
DEFAULT_SBOM_DIR = Path("/cnb/lifecycle")


def copy_launcher_sbom(source: Path, layers: Path) -> None:
    """The lifecycle's and the launcher's SBOM files into the layers' SBOM, as the reference's
    exporter does from Platform 0.11: ``lifecycle.<ext>`` from the default directory
    ``/cnb/lifecycle`` into the build SBOM of ``buildpacksio/lifecycle`` (as ``<ext>``); the
    launcher's into its launch SBOM as ``buildpacksio/lifecycle``'s ``launcher``: from the default
    directory ``launcher.<ext>`` (as ``<ext>``), from any other every ``*.<ext>`` file. A file
    missing from the default directory is a warning."""
    lifecycle_id = escape_id("buildpacksio/lifecycle")
    _copy_default_sboms("lifecycle", layers / "sbom" / "build" / lifecycle_id)
    target = layers / "sbom" / "launch" / lifecycle_id / "launcher"
    if source == DEFAULT_SBOM_DIR:
        _copy_default_sboms("launcher", target)
        return
    if not source.is_dir():
        raise ExportError(f"failed to read the launcher SBOM directory {source}")
    found = sorted(
        path
        for path in source.iterdir()
        if path.is_file() and path.name.endswith(tuple(f".{e}" for e in SBOM_EXTENSIONS))
    )
    for path in found:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)


def _copy_default_sboms(component: str, target: Path) -> None:
    for extension in SBOM_EXTENSIONS:
        name = f"{component}.{extension}"
        path = DEFAULT_SBOM_DIR / name
        if not path.is_file():
            LOGGER.warning("Did not find SBOM %s in %s", name, DEFAULT_SBOM_DIR)
            continue
        target.mkdir(parents=True, exist_ok=True)
        LOGGER.debug("Copying SBOM %s to %s", name, target / extension)
        shutil.copyfile(path, target / extension)


def write_report(
    path: Path, result: SaveResult, access: ImageAccess, build: BuildReport | None = None
) -> None:
    """report.toml for a saved image (and the legacy build BOM), and the ``*** Images``
    lines."""
    report = ImageReport(tags=list(result.names))
    if access.kind == "daemon":
        report.image_id = result.image_id
    else:
        report.digest = result.digest
        report.manifest_size = result.manifest_size
    ReportFile(image=report, build=build).dump(path)
    for name in result.names:
        LOGGER.info("*** Images (%s):\n      %s", (result.digest or result.image_id)[7:19], name)


def run_image_for_export(
    inputs: CreatorInputs, analyzed: AnalyzedFile, metadata: BuildMetadata
) -> RunImageForExport | None:
    """The run image the app image records, with its mirrors, as the reference chooses it:
    before Platform 0.12 stack.toml's; from 0.12 the run.toml entry whose image or mirror the
    analyzer chose, else the first entry (the analyzed name when extensions may have switched
    it). ``None`` when the file is absent or empty."""
    paths = inputs.paths
    if inputs.platform_api.less_than("0.12"):
        if not paths.stack.is_file():
            return None
        stack = StackFile.load(paths.stack).run_image
        return RunImageForExport(image=stack.image, mirrors=stack.mirrors)
    entries = RunFile.load(paths.run).images if paths.run.is_file() else []
    if not entries:
        return None
    chosen = analyzed.run_image.image if analyzed.run_image else None
    for entry in entries:
        if chosen in (entry.image, *(entry.mirrors or [])):
            return RunImageForExport(image=entry.image, mirrors=entry.mirrors)
    if metadata.extensions:
        return RunImageForExport(image=chosen)
    return RunImageForExport(image=entries[0].image, mirrors=entries[0].mirrors)
