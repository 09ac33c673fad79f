"""``pypack build`` without Docker: the lifecycle in-process, buildpacks under bubblewrap.

The builder image is unpacked once (content-addressed); each build gets a work directory with
``workspace/``, ``layers/``, ``platform/`` and ``plan/`` that the sandbox binds at ``/workspace``,
``/layers``, ``/platform`` and ``/tmp/cnb-plan``. The phases are the lifecycle's own code —
analyze, detect, restore, build, export — with the work directory standing for ``/`` of the
image. Works with any CNB builder: only its filesystem, order and buildpacks are used.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypack.errors import UserError
from pypack.fsutil import exclusive, work_directory
from pypack.lifecycle.cache import Cache, ImageCache, VolumeCache
from pypack.lifecycle.creator import CreatorInputs, LifecyclePaths, create
from pypack.lifecycle.images import ImageAccess
from pypack.lifecycle.inputs import OrderTransform
from pypack.lifecycle.phases.analyze import choose_run_image
from pypack.lifecycle.privileges import give_tree
from pypack.oci.image import Image, ImageStore, SaveResult
from pypack.oci.reference import LAYOUT_PREFIX
from pypack.oci.registry import RegistryError
from pypack.pack.app_filter import AppFilter
from pypack.pack.app_source import copy_app, is_app_archive, unpack_app_archive
from pypack.pack.extra_buildpacks import ExtraBuildpacks, plan_order
from pypack.pack.health import sweeping
from pypack.pack.home import Home
from pypack.pack.images import PlatformImages
from pypack.pack.reuse import REUSE_LABEL, Reuse
from pypack.pack.rootfs import unpack
from pypack.pack.run_mirrors import best_run_mirror, registry_of
from pypack.pack.sandbox import HOST_CA_MOUNT, BwrapRunner, Volume
from pypack.spec.labels import BuilderMetadataLabel
from pypack.spec.module import ModuleRef
from pypack.spec.project_metadata import ProjectMetadataFile
from pypack.spec.project_toml import ProjectBuildpack
from pypack.spec.run_toml import RunFile, RunImageEntry

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")
HOST_CA_VARIABLES = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)


@dataclass
class BuildRequest:
    """What to build and where to put it."""

    image: str
    app: Path
    builder: str
    target: ImageStore
    images: PlatformImages
    env: dict[str, str] = field(default_factory=dict)
    run_image: str | None = None
    tags: list[str] = field(default_factory=list)
    previous_image: str | None = None
    cache_dir: Path | None = None
    clear_cache: bool = False
    network: bool = False
    volumes: list[Volume] = field(default_factory=list)
    host_ca: Path | None = None
    creation_time: int | None = None
    default_process: str | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    buildpacks: list[str] = field(default_factory=list)
    """``--buildpack`` values; they replace project.toml's group."""
    project_group: list[ProjectBuildpack] = field(default_factory=list)
    pre: list[ProjectBuildpack] = field(default_factory=list)
    post: list[ProjectBuildpack] = field(default_factory=list)
    uid: int | None = None
    gid: int | None = None
    cache_image: str | None = None
    """A registry image to keep the build cache in, instead of a directory."""
    report_dir: Path | None = None
    insecure: tuple[str, ...] = ()
    """Registries to reach over plain http."""
    sbom_dir: Path | None = None
    compress_layers: bool = False
    """Gzip new layers (for a registry); the local store and the daemon keep them plain."""
    publish: bool = False
    """The image goes to a registry: the run image is preferred on the app image's registry."""
    run_image_mirrors: dict[str, list[str]] = field(default_factory=dict)
    """The user's mirrors of run images (``pypack config run-image-mirrors``)."""
    quiet: bool = False
    """``--quiet``: buildpack output only when a buildpack fails."""
    project_source: dict[str, Any] | None = None
    """``[source]`` of project-metadata.toml (see :mod:`pypack.pack.project_source`)."""
    reuse: Reuse | None = None
    """Whole-build reuse: told what the build made, to skip the next one if nothing changes."""


Say = Callable[[str], None]


@contextmanager
def _phase(say: Say, name: str) -> Iterator[None]:
    say(f"===> {name}")
    started = time.monotonic()
    yield
    say(f"     {name.lower()} done in {time.monotonic() - started:.2f} s")


def cnb_ids(request: BuildRequest, builder: Image) -> tuple[int, int]:
    """The CNB uid/gid: ``--uid``/``--gid``, else the builder's ``CNB_USER_ID``/``CNB_GROUP_ID``."""
    try:
        uid = request.uid if request.uid is not None else int(builder.env("CNB_USER_ID") or "")
        gid = request.gid if request.gid is not None else int(builder.env("CNB_GROUP_ID") or "")
    except ValueError:
        raise UserError(
            f"builder {builder.name}: its image must set CNB_USER_ID and CNB_GROUP_ID"
        ) from None
    return uid, gid


def run_images_of(builder: Image, rootfs: Path | None) -> RunFile:
    """The builder's run images: its metadata label, else ``/cnb/run.toml`` of its rootfs."""
    label = builder.label(BuilderMetadataLabel.label_name)
    if label:
        metadata = BuilderMetadataLabel.from_label(label)
        images = [
            RunImageEntry(image=i.image, mirrors=i.mirrors or None)
            for i in metadata.images
            if i.image
        ]
        if not images and metadata.stack.run_image.image:
            run = metadata.stack.run_image
            images = [RunImageEntry(image=run.image, mirrors=run.mirrors or None)]
        if images:
            return RunFile(images=images)
    run_toml = rootfs / "cnb" / "run.toml" if rootfs else None
    return RunFile.load(run_toml) if run_toml and run_toml.is_file() else RunFile()


def run_image_for(request: BuildRequest, builder: Image, rootfs: Path | None) -> str:
    """``--run-image``, else the builder's run image or one of its mirrors, as pack chooses
    (:mod:`pypack.pack.run_mirrors`)."""
    if request.run_image:
        return request.run_image
    run_file = run_images_of(builder, rootfs)
    if not run_file.images:
        return choose_run_image(run_file, "")  # the lifecycle's error
    entry = run_file.images[0]
    builder_registry = registry_of(request.builder)
    app_registry = "" if request.image.startswith(LAYOUT_PREFIX) else registry_of(request.image)
    preferred = app_registry if request.publish or not builder_registry else builder_registry
    return best_run_mirror(
        preferred,
        entry.image,
        entry.mirrors or [],
        request.run_image_mirrors.get(entry.image, []),
        request.images.readable,
    )


def build(request: BuildRequest, home: Home, say: Say) -> SaveResult:
    """Build ``request.image`` and save it to ``request.target``."""
    images = request.images
    with _phase(say, "PREPARING"):
        try:
            builder = images.load(request.builder)
        except RegistryError as exc:
            raise UserError(
                f"builder {request.builder!r} not found locally, and its registry failed: {exc}"
            ) from None
        if builder is None:
            raise UserError(
                f"builder {request.builder!r} not found locally or in its registry; check the name "
                "or create it with pypack builder create"
            )
        builder.name = request.builder
        uid, gid = cnb_ids(request, builder)
        rootfs = unpack(builder, home.rootfs)
        if not (rootfs / "cnb" / "order.toml").is_file():
            raise UserError(
                f"builder {request.builder!r} has no /cnb/order.toml; it is not a CNB builder"
            )
    with sweeping(home), build_directory(home, "build-") as work:
        return _build_in(work, rootfs, builder, uid, gid, request, home, say)


@contextmanager
def cache_in_use(cache: Cache | None, say: Say) -> Iterator[None]:
    """Hold a volume cache for one build: a second build of the same image waits (saying so)
    rather than writing the same cache at the same time."""
    if not isinstance(cache, VolumeCache):
        yield
        return

    def waiting() -> None:
        say(f"Waiting for another build that is using the cache {cache.root}")

    with exclusive(cache.lock_path, on_wait=waiting):
        yield


@contextmanager
def build_directory(home: Home, prefix: str) -> Iterator[Path]:
    """A build's work directory under the home's ``builds/``, removed however the build ends.
    While it lives the umask is 022, so what the build writes (the work tree, SBOM and config
    files and, through the sandbox, the buildpacks' layers) has a builder container's modes
    whatever the caller's umask (Ubuntu's and Fedora's users have 002): the same layers for
    every user."""
    home.builds.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0o022)
    try:
        with work_directory(prefix, home.builds) as work:
            yield work
    finally:
        os.umask(umask)


@dataclass
class WorkTree:
    """A build's work directory, laid out the same for every platform: ``workspace/`` (the
    app), ``layers/``, ``platform/env/``, ``plan/``, ``extra/cnb/buildpacks/`` (buildpacks the
    build adds) and ``tmp/``."""

    root: Path
    order_transform: OrderTransform

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def platform(self) -> Path:
        return self.root / "platform"

    @property
    def plans(self) -> Path:
        return self.root / "plan"

    @property
    def extra_buildpacks(self) -> Path:
        return self.root / "extra" / "cnb" / "buildpacks"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def added_buildpacks(self) -> list[Path]:
        """The ``<id>/<version>`` directories of the buildpacks this build adds."""
        return sorted(p for p in self.extra_buildpacks.glob("*/*") if p.is_dir())


def prepare_work(work: Path, request: BuildRequest, uid: int, gid: int, say: Say) -> WorkTree:
    """Lay out ``work`` for ``request``: the app copied (project.toml filters applied), the
    platform env, the buildpacks the build adds and the order change they make; everything
    given to the CNB user."""
    os.chmod(work, 0o755)
    for directory in ("workspace", "layers", "platform/env", "plan", "extra/cnb/buildpacks", "tmp"):
        (work / directory).mkdir(parents=True)
    extra = ExtraBuildpacks(work / "extra", request.app, request.images.load, work / "tmp")
    added: list[ModuleRef | None] = [extra.from_text(t) for t in request.buildpacks]
    if not request.buildpacks:
        added = [extra.from_project(entry) for entry in request.project_group]
    pre = [extra.around_groups(entry, "io.buildpacks.pre") for entry in request.pre]
    post = [extra.around_groups(entry, "io.buildpacks.post") for entry in request.post]
    tree = WorkTree(work, lambda order: plan_order(order, added, pre, post))
    source = request.app
    if is_app_archive(source):
        source = unpack_app_archive(source, tree.tmp / "app")
    app_filter = AppFilter.for_app(source, request.include, request.exclude)
    copied = copy_app(source, tree.workspace, app_filter)
    filtered = f" (filtered by {app_filter.source})" if app_filter.source else ""
    say(f"     app: {copied} files from {request.app}{filtered}")
    env = dict(request.env)
    if request.host_ca is not None:
        env.update(dict.fromkeys(HOST_CA_VARIABLES, HOST_CA_MOUNT))
    for name, value in env.items():
        (tree.platform / "env" / name).write_text(value)
    if request.project_source is not None:
        ProjectMetadataFile.model_validate({"source": request.project_source}).dump(
            tree.layers / "project-metadata.toml"
        )
    give_tree(work, uid, gid)
    return tree


def _build_in(
    work: Path,
    rootfs: Path,
    builder: Image,
    uid: int,
    gid: int,
    request: BuildRequest,
    home: Home,
    say: Say,
) -> SaveResult:
    tree = prepare_work(work, request, uid, gid, say)
    request.images.outputs.update({request.image, request.previous_image or request.image})
    inputs = daemonless_inputs(request, tree, rootfs, builder, (uid, gid), home, say)
    with cache_in_use(inputs.cache, say):
        result = create(inputs)
    copy_sbom(tree, request.sbom_dir)
    if request.reuse is not None:
        request.reuse.finish(
            result.digest,
            result.image_id,
            request.builder,
            inputs.run_image,
            opted_out=(builder.label(REUSE_LABEL) or "").lower() == "false",
            report=inputs.paths.report,
        )
    return result


def daemonless_inputs(
    request: BuildRequest,
    tree: WorkTree,
    rootfs: Path,
    builder: Image,
    ids: tuple[int, int],
    home: Home,
    say: Say,
) -> CreatorInputs:
    """Every option of ``request`` as the lifecycle's inputs: host paths of the work tree and
    the unpacked builder, the bubblewrap runner, the platform's image stores and cache."""
    uid, gid = ids
    base_env = dict(e.partition("=")[::2] for e in builder.config.config.env or [])
    base_env.update({k: v for k, v in os.environ.items() if k in PROXY_VARIABLES})
    base_env.setdefault("HOME", "/tmp")
    cache: Cache = VolumeCache(request.cache_dir or home.cache_for(request.image))
    if request.cache_image:
        cache = ImageCache(request.images.registry, request.cache_image)
    return CreatorInputs(
        paths=LifecyclePaths(
            app=tree.workspace,
            layers=tree.layers,
            platform=tree.platform,
            buildpacks=(tree.extra_buildpacks, rootfs / "cnb" / "buildpacks"),
            extensions=rootfs / "cnb" / "extensions",
            build_config=rootfs / "cnb" / "build-config",
            order=rootfs / "cnb" / "order.toml",
            run=rootfs / "cnb" / "run.toml",
            system=rootfs / "cnb" / "system.toml",
            report=request.report_dir / "report.toml" if request.report_dir else None,
            root=tree.root,
            build_root=rootfs,
            plans=tree.plans,
            scratch=tree.tmp,
        ),
        access=ImageAccess(request.images, "local"),
        runner=BwrapRunner(
            rootfs,
            tree.root,
            uid,
            gid,
            network=request.network,
            volumes=request.volumes,
            host_ca=request.host_ca,
            quiet=request.quiet,
        ),
        build_env=base_env,
        image=request.image,
        tags=request.tags,
        previous_image=request.previous_image,
        run_image=run_image_for(request, builder, rootfs),
        cache=cache,
        skip_restore=request.clear_cache,
        uid=uid,
        gid=gid,
        process_type=request.default_process,
        created=request.creation_time,
        parallel_export=True,
        compress_layers=request.compress_layers,
        write_report=request.report_dir is not None,
        run_extensions=True,
        order_transform=tree.order_transform,
        phase_log=lambda name: _phase(say, name),
    )


def copy_sbom(tree: WorkTree, sbom_dir: Path | None) -> None:
    """``--sbom-output-dir``: the build's SBOM files (``layers/sbom``) copied out."""
    if sbom_dir is not None and (tree.layers / "sbom").is_dir():
        shutil.copytree(tree.layers / "sbom", sbom_dir / "sbom", dirs_exist_ok=True)
