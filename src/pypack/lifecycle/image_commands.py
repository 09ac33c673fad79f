"""The phase binaries that touch images: analyzer, restorer, exporter, creator and rebaser.

They may start as root (for the Docker socket or registry credentials); like the reference
lifecycle they then give their volumes to ``-uid``/``-gid`` and drop to that user.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from pypack.errors import ExitCode, PypackError, SpecError, UserError
from pypack.lifecycle import privileges
from pypack.lifecycle.analyzer import analyze, choose_run_image
from pypack.lifecycle.cache import Cache, ImageCache, VolumeCache
from pypack.lifecycle.commands import (
    APP,
    BUILDER_FLAGS,
    CNB_RUN,
    COMMON,
    DETECTOR_FLAGS,
    Context,
    PhaseCommand,
    in_layers,
    layers_dir,
    run_builder,
    run_detector,
)
from pypack.lifecycle.exporter import (
    Exporter,
    ExportInputs,
    export,
    export_bases,
    source_date_epoch,
)
from pypack.lifecycle.flags import Flag, Parsed
from pypack.lifecycle.images import ImageAccess, image_access, same_registry
from pypack.lifecycle.log import LOGGER, phase
from pypack.lifecycle.rebaser import rebase
from pypack.lifecycle.restorer import restore
from pypack.oci.image import SaveResult
from pypack.spec.analyzed_toml import AnalyzedFile
from pypack.spec.group_toml import GroupFile
from pypack.spec.metadata_toml import BuildMetadata
from pypack.spec.project_metadata import ProjectMetadataFile
from pypack.spec.report_toml import ImageReport, ReportFile
from pypack.spec.run_toml import RunFile

IMAGE_FLAGS = (
    Flag("daemon", "CNB_USE_DAEMON", boolean=True),
    Flag("insecure-registry", "CNB_INSECURE_REGISTRIES", repeated=True, since="0.13"),
    Flag("layout", "CNB_USE_LAYOUT", boolean=True),
    Flag("layout-dir", "CNB_LAYOUT_DIR"),
    Flag("uid", "CNB_USER_ID"),
    Flag("gid", "CNB_GROUP_ID"),
)
ANALYZER_FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("launch-cache", "CNB_LAUNCH_CACHE_DIR"),
    Flag("layers", "CNB_LAYERS_DIR", "/layers"),
    Flag("previous-image", "CNB_PREVIOUS_IMAGE"),
    Flag("run", "CNB_RUN_PATH", CNB_RUN),
    Flag("run-image", "CNB_RUN_IMAGE"),
    Flag("skip-layers", "CNB_SKIP_LAYERS", boolean=True),
    Flag("tag", repeated=True),
)
RESTORER_FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("build-image", "CNB_BUILD_IMAGE"),
    Flag("cache-dir", "CNB_CACHE_DIR"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("generated", "CNB_GENERATED_DIR"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("layers", "CNB_LAYERS_DIR", "/layers"),
    Flag("run", "CNB_RUN_PATH", CNB_RUN, since="0.14"),
    Flag("skip-layers", "CNB_SKIP_LAYERS", boolean=True),
)
EXPORTER_FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("analyzed", "CNB_ANALYZED_PATH"),
    Flag("app", "CNB_APP_DIR", APP),
    Flag("cache-dir", "CNB_CACHE_DIR"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("extended", "CNB_EXTENDED_DIR"),
    Flag("group", "CNB_GROUP_PATH"),
    Flag("launch-cache", "CNB_LAUNCH_CACHE_DIR"),
    Flag("launcher", "CNB_LAUNCHER_PATH", "/cnb/lifecycle/launcher"),
    Flag("launcher-sbom", "CNB_LAUNCHER_SBOM_DIR", "/cnb/lifecycle"),
    Flag("layers", "CNB_LAYERS_DIR", "/layers"),
    Flag("parallel", "CNB_PARALLEL_EXPORT", boolean=True),
    Flag("process-type", "CNB_PROCESS_TYPE"),
    Flag("project-metadata", "CNB_PROJECT_METADATA_PATH"),
    Flag("report", "CNB_REPORT_PATH"),
    Flag("run", "CNB_RUN_PATH", CNB_RUN),
)
_CREATOR_EXTRA = (
    Flag("previous-image", "CNB_PREVIOUS_IMAGE"),
    Flag("run-image", "CNB_RUN_IMAGE"),
    Flag("skip-restore", "CNB_SKIP_RESTORE", boolean=True),
    Flag("tag", repeated=True),
)
_CREATOR_SKIP = {"analyzed", "group", "plan", "generated", "extensions", "extended", "skip-layers"}


def _creator_flags() -> tuple[Flag, ...]:
    seen: dict[str, Flag] = {}
    for flag in (*DETECTOR_FLAGS, *BUILDER_FLAGS, *EXPORTER_FLAGS, *_CREATOR_EXTRA):
        if flag.name not in _CREATOR_SKIP:
            seen.setdefault(flag.name, flag)
    return tuple(seen.values())


REBASER_FLAGS = (
    *COMMON,
    *IMAGE_FLAGS,
    Flag("force", "CNB_FORCE_REBASE", boolean=True),
    Flag("previous-image", "CNB_PREVIOUS_IMAGE"),
    Flag("report", "CNB_REPORT_PATH"),
    Flag("run-image", "CNB_RUN_IMAGE"),
)


# --- shared ------------------------------------------------------------------------------------


def _access(parsed: Parsed, environ: Mapping[str, str]) -> ImageAccess:
    layout_dir = None
    if parsed.flag("layout"):
        mode = environ.get("CNB_EXPERIMENTAL_MODE", "").lower()
        if mode not in ("warn", "quiet", "silent"):
            raise UserError(
                "experimental feature 'Layout' is not enabled; set CNB_EXPERIMENTAL_MODE=warn"
            )
        if mode == "warn":
            LOGGER.warning("Platform requested experimental feature 'Layout'")
        layout_dir = parsed.text("layout-dir") or "/layout-repo"
    return image_access(
        daemon=parsed.flag("daemon"),
        layout_dir=layout_dir,
        insecure=parsed.many("insecure-registry"),
    )


def _drop_privileges(
    parsed: Parsed, environ: Mapping[str, str], *owned: Path | None
) -> tuple[int, int]:
    uid, gid = privileges.cnb_ids(parsed.text("uid"), parsed.text("gid"), dict(environ))
    privileges.ensure_owner(uid, gid, owned)
    privileges.run_as(uid, gid, keep_docker_socket=parsed.flag("daemon"))
    return uid, gid


def _cache(parsed: Parsed, access: ImageAccess) -> Cache | None:
    cache_dir, cache_image = parsed.text("cache-dir"), parsed.text("cache-image")
    if cache_image:
        if access.kind == "daemon":
            raise UserError("a cache image cannot live in the Docker daemon; use -cache-dir")
        registry = image_access(
            daemon=False, layout_dir=None, insecure=parsed.many("insecure-registry")
        )
        return ImageCache(registry.store, cache_image)
    if cache_dir:
        return VolumeCache(Path(cache_dir))
    return None


def _one_image(parsed: Parsed, name: str) -> str:
    if len(parsed.args) != 1:
        raise PypackError(
            f"failed to parse arguments: {name} needs exactly one <image>, got {len(parsed.args)}",
            exit_code=ExitCode.INVALID_ARGS,
        )
    return parsed.args[0]


def _analyzed(parsed: Parsed) -> AnalyzedFile:
    path = in_layers(parsed, "analyzed", "analyzed.toml")
    return AnalyzedFile.load(path) if path.is_file() else AnalyzedFile()


def _group(parsed: Parsed) -> GroupFile:
    try:
        return GroupFile.load(in_layers(parsed, "group", "group.toml"))
    except SpecError as exc:
        raise UserError(f"failed to read group file: {exc}") from None


def _at_least_one_image(parsed: Parsed) -> None:
    if not parsed.args:
        raise PypackError(
            "failed to parse arguments: at least one image is required",
            exit_code=ExitCode.INVALID_ARGS,
        )


def _write_report(path: Path, result: SaveResult, access: ImageAccess) -> None:
    report = ImageReport(tags=list(result.names))
    if access.kind == "daemon":
        report.image_id = result.image_id
    else:
        report.digest = result.digest
        report.manifest_size = result.manifest_size
    ReportFile(image=report).dump(path)
    for name in result.names:
        LOGGER.info("*** Images (%s):\n      %s", (result.digest or result.image_id)[7:19], name)


# --- phases ------------------------------------------------------------------------------------


def run_analyzer(parsed: Parsed, context: Context) -> None:
    """Write analyzed.toml."""
    phase("ANALYZING")
    image = _one_image(parsed, "analyzer")
    access = _access(parsed, context.environ)
    _drop_privileges(
        parsed, context.environ, layers_dir(parsed), _path(parsed.text("launch-cache"))
    )
    _analyze(parsed, access, image)


def _analyze(parsed: Parsed, access: ImageAccess, image: str) -> None:
    run_image = parsed.text("run-image")
    if not run_image:
        run_path = Path(parsed.text("run") or CNB_RUN)
        run_file = RunFile.load(run_path) if run_path.is_file() else RunFile()
        run_image = choose_run_image(run_file, image)
    analyzed = analyze(
        access,
        image=image,
        previous_image=parsed.text("previous-image"),
        run_image=run_image,
        tags=parsed.many("tag"),
    )
    analyzed.dump(in_layers(parsed, "analyzed", "analyzed.toml"))


def run_restorer(parsed: Parsed, context: Context) -> None:
    """Restore layer metadata and cached layers."""
    phase("RESTORING")
    access = _access(parsed, context.environ)
    _drop_privileges(parsed, context.environ, layers_dir(parsed), _path(parsed.text("cache-dir")))
    group = _group(parsed)
    try:
        restore(
            layers_dir=layers_dir(parsed),
            group=list(group.group),
            analyzed=_analyzed(parsed),
            cache=_cache(parsed, access),
            skip_layers=parsed.flag("skip-layers"),
        )
    except PypackError as exc:
        raise PypackError(f"failed to restore: {exc}", exit_code=ExitCode.RESTORE) from None


def run_exporter(parsed: Parsed, context: Context) -> None:
    """Export the app image (and the cache); write report.toml."""
    phase("EXPORTING")
    _at_least_one_image(parsed)
    access = _access(parsed, context.environ)
    if access.kind == "registry":
        same_registry(parsed.args)
    uid, gid = _drop_privileges(
        parsed, context.environ, _path(parsed.text("cache-dir")), _path(parsed.text("launch-cache"))
    )
    _export(parsed, context, access, uid, gid, list(parsed.args))


def _export(
    parsed: Parsed, context: Context, access: ImageAccess, uid: int, gid: int, names: list[str]
) -> None:
    layers = layers_dir(parsed)
    analyzed = _analyzed(parsed)
    group = _group(parsed)
    try:
        metadata = BuildMetadata.load(layers / "config" / "metadata.toml")
    except SpecError as exc:
        raise UserError(f"failed to read build metadata: {exc}") from None
    project_path = in_layers(parsed, "project-metadata", "project-metadata.toml")
    project = ProjectMetadataFile.load(project_path) if project_path.is_file() else None
    run_image, previous = export_bases(access, analyzed)
    inputs = ExportInputs(
        app_dir=Path(parsed.text("app") or APP),
        layers_dir=layers,
        group=list(group.group),
        metadata=metadata,
        analyzed=analyzed,
        platform_api=context.api,
        uid=uid,
        gid=gid,
        project=project,
        process_type=parsed.text("process-type"),
        created=source_date_epoch(context.environ),
        exec_env=context.environ.get("CNB_EXEC_ENV") or "production",
    )
    exporter = Exporter(inputs, compress=access.kind == "registry")
    try:
        result = export(
            exporter,
            store=access.store,
            run_image=run_image,
            previous=previous,
            names=names,
            cache=_cache(parsed, access),
            parallel=parsed.flag("parallel"),
        )
    finally:
        shutil.rmtree(exporter.scratch, ignore_errors=True)
    _write_report(in_layers(parsed, "report", "report.toml"), result, access)


def run_creator(parsed: Parsed, context: Context) -> None:
    """analyze → detect → restore → build → export in one process, as pack's trusted flow."""
    image = _one_image(parsed, "creator")
    access = _access(parsed, context.environ)
    uid, gid = _drop_privileges(
        parsed,
        context.environ,
        layers_dir(parsed),
        _path(parsed.text("cache-dir")),
        _path(parsed.text("launch-cache")),
    )
    phase("ANALYZING")
    _analyze(parsed, access, image)
    run_detector(parsed, context)
    phase("RESTORING")
    cache = _cache(parsed, access)
    group = _group(parsed)
    restore(
        layers_dir=layers_dir(parsed),
        group=list(group.group),
        analyzed=_analyzed(parsed),
        cache=None if parsed.flag("skip-restore") else cache,
        skip_layers=parsed.flag("skip-restore"),
    )
    run_builder(parsed, context)
    phase("EXPORTING")
    _export(parsed, context, access, uid, gid, [image, *parsed.many("tag")])


def run_rebaser(parsed: Parsed, context: Context) -> None:
    """Rebase the app image onto a new run image; write report.toml."""
    phase("REBASING")
    _at_least_one_image(parsed)
    access = _access(parsed, context.environ)
    _drop_privileges(parsed, context.environ)
    source = parsed.text("previous-image") or parsed.args[0]
    image = rebase(access, source, parsed.text("run-image"), force=parsed.flag("force"))
    try:
        result = access.store.save(image, list(parsed.args))
    except PypackError as exc:
        raise PypackError(
            f"failed to write rebased image: {exc}", exit_code=ExitCode.REBASE
        ) from None
    _write_report(Path(parsed.text("report") or "/layers/report.toml"), result, access)


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


IMAGE_COMMANDS: dict[str, PhaseCommand] = {
    "analyzer": PhaseCommand("analyzer", ANALYZER_FLAGS, run_analyzer, positional=True),
    "restorer": PhaseCommand("restorer", RESTORER_FLAGS, run_restorer),
    "exporter": PhaseCommand("exporter", EXPORTER_FLAGS, run_exporter, positional=True),
    "creator": PhaseCommand("creator", _creator_flags(), run_creator, positional=True),
    "rebaser": PhaseCommand("rebaser", REBASER_FLAGS, run_rebaser, positional=True),
}
