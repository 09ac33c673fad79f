"""``pypack builder create``: a CNB builder image from pack's builder.toml.

Layers, in pack's order: default directories, the pypack lifecycle (when the build image has a
python3; its dependencies are wheels built for that interpreter), one layer per buildpack at
``/cnb/buildpacks/<escaped id>/<version>``, then ``/cnb/order.toml``, ``/cnb/system.toml``,
``/cnb/stack.toml``, ``/cnb/run.toml`` and the operator env in ``/cnb/build-config/env``.
Labels: ``io.buildpacks.builder.metadata``, ``io.buildpacks.buildpack.layers``,
``io.buildpacks.buildpack.order`` and ``io.buildpacks.extension.layers`` (empty without
``[[extensions]]``: Tekton reads it). Image extensions get a layer each at
``/cnb/extensions/<escaped id>/<version>`` and ``[[order-extensions]]`` in ``/cnb/order.toml``
(see :mod:`pypack.pack.builder_extensions`).

Every temporary file (layer tars, unpacked buildpacks, pip's downloads) lives in one work
directory that is removed however the command ends.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from pathlib import Path

from pypack import __version__
from pypack.errors import UserError
from pypack.fsutil import relative_to_cwd, work_directory
from pypack.oci.image import Image, ImageStore, SaveResult
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.reference import InvalidReference, parse_reference
from pypack.pack.builder_extensions import add_extensions, fetch_extensions, pin_extension_order
from pypack.pack.buildpackage import PackagedBuildpack, dependency_buildpacks
from pypack.pack.image_python import probe
from pypack.pack.lifecycle_layer import add_lifecycle
from pypack.pack.lifecycle_wheels import check_supported, lifecycle_wheels
from pypack.spec.api import (
    DEPRECATED_BUILDPACK_APIS,
    SUPPORTED_BUILDPACK_APIS,
    SUPPORTED_PLATFORM_APIS,
)
from pypack.spec.builder_toml import BuilderConfig, BuilderModule
from pypack.spec.labels import (
    BuilderLifecycle,
    BuilderMetadataLabel,
    BuilderStack,
    BuildpackLayersLabel,
    BuildpackOrderLabel,
    CreatedBy,
    LifecycleApiPair,
    ModuleLayerInfo,
    RunImageMetadata,
)
from pypack.spec.lifecycle_toml import Apis, ApiSet
from pypack.spec.module import ModuleRef, OrderGroup
from pypack.spec.order_toml import OrderFile, PinnedGroup, PinnedRef
from pypack.spec.run_toml import RunFile
from pypack.spec.stack_toml import StackFile, StackRunImage
from pypack.spec.system_toml import SystemFile

NO_LIFECYCLE_LABEL = "io.pypack.builder.daemonless-only"


def _fetch(
    module: BuilderModule,
    config_dir: Path,
    load: Callable[[str], Image | None],
    scratch: Path,
    config_name: str,
) -> list[PackagedBuildpack]:
    """The buildpacks one ``[[buildpacks]]`` entry brings (a package may bring several)."""
    uri = module.uri or ""
    source = module.image or uri
    if re.match(r"^[a-z]+://", uri) and not uri.startswith(("file://", "docker://")):
        raise UserError(
            f"buildpack {uri}: downloads are not supported; use a local path or an image"
        )
    try:
        found = dependency_buildpacks(module.uri, module.image, config_dir, load, scratch)
    except UserError as exc:
        raise UserError(relative_to_cwd(f"{config_name}: [[buildpacks]] {exc}")) from None
    for bp in found:
        _check_api(bp, config_name)
    wanted_id = module.id or found[-1].info.id
    if not any(bp.info.id == wanted_id for bp in found):
        raise UserError(f"{config_name}: buildpack from {source!r} is not {wanted_id!r} as it says")
    versions = {bp.info.version for bp in found if bp.info.id == wanted_id}
    if module.version and module.version not in versions:
        raise UserError(f"buildpack from {source!r}: no version {module.version!r} of {wanted_id}")
    return found


def _check_api(bp: PackagedBuildpack, config_name: str) -> None:
    """pack's check: the lifecycle must support the buildpack's API (exactly, as pack compares)."""
    supported = [str(v) for v in (*SUPPORTED_BUILDPACK_APIS, *DEPRECATED_BUILDPACK_APIS)]
    api = str(bp.layer_info.api)
    if api not in supported:
        raise UserError(
            f"{config_name}: buildpack '{bp.info.full_name}' (Buildpack API {api}) is "
            f"incompatible with lifecycle '{__version__}' (Buildpack API(s) "
            f"{', '.join(supported)}); use a buildpack written for one of those"
        )


def _pin(
    order: list[OrderGroup], buildpacks: list[PackagedBuildpack], config_name: str
) -> list[PinnedGroup]:
    """Give every order entry a version: the only version the builder has of that ID."""
    versions: dict[str, list[str]] = {}
    for bp in buildpacks:
        versions.setdefault(bp.info.id, []).append(bp.info.version or "")
    pinned = []
    for group in order:
        refs = []
        for ref in group.group:
            version = ref.version
            if not version:
                found = versions.get(ref.id, [])
                if not found:
                    raise UserError(
                        f"{config_name}: order: no versions of buildpack {ref.id!r} were found "
                        "on the builder; add it to [[buildpacks]]"
                    )
                if len(found) > 1:
                    raise UserError(
                        f"{config_name}: order: unable to resolve version: multiple versions of "
                        f"{ref.id!r} ({', '.join(found)}); give the order entry a version"
                    )
                version = found[0]
            elif version not in versions.get(ref.id, []):
                raise UserError(
                    f"{config_name}: order: buildpack {ref.id}@{version} is not in [[buildpacks]]"
                )
            refs.append(PinnedRef(id=ref.id, version=version, optional=ref.optional))
        pinned.append(PinnedGroup(group=refs))
    return pinned


def _add_file(writer: LayerWriter, path: str, content: bytes) -> None:
    writer.add_bytes(path, content)


def create_builder(
    config: BuilderConfig,
    config_dir: Path,
    name: str,
    *,
    load: Callable[[str], Image | None],
    target: ImageStore,
    wheel_cache: Path,
    warn: Callable[[str], None],
    say: Callable[[str], None] = lambda _text: None,
    config_name: str = "builder.toml",
    scratch_parent: Path | None = None,
) -> SaveResult:
    """Make the builder image ``name`` from ``config`` and save it to ``target``; the
    lifecycle's wheels come from (or go to) ``wheel_cache``; temporary files go under
    ``scratch_parent`` (default the temporary directory). Errors about the configuration name
    it ``config_name``: the path as the user gave it."""
    with work_directory("pypack-builder-", scratch_parent) as scratch:
        return _create(
            config, config_dir, name, load, target, wheel_cache, warn, say, scratch, config_name
        )


def _check_references(config: BuilderConfig, config_name: str) -> None:
    """Each image the configuration names is a reference, before anything is fetched."""
    keyed = [("build.image", config.build_image)]
    for run in config.run_images:
        keyed += [
            ("run.images", run.image),
            *(("run.images.mirrors", m) for m in run.mirrors or []),
        ]
    for key, text in keyed:
        try:
            parse_reference(text)
        except InvalidReference as exc:
            raise UserError(f"{config_name}: {key}: {exc}") from None


def _create(
    config: BuilderConfig,
    config_dir: Path,
    name: str,
    load: Callable[[str], Image | None],
    target: ImageStore,
    wheel_cache: Path,
    warn: Callable[[str], None],
    say: Callable[[str], None],
    scratch: Path,
    config_name: str,
) -> SaveResult:
    _check_references(config, config_name)
    build_image = load(config.build_image)
    if build_image is None:
        raise UserError(
            f"{config_name}: build.image {config.build_image!r} not found locally or in its "
            "registry"
        )
    if not build_image.env("CNB_USER_ID") or not build_image.env("CNB_GROUP_ID"):
        raise UserError(f"build image {config.build_image!r} must set CNB_USER_ID and CNB_GROUP_ID")
    uid, gid = int(build_image.env("CNB_USER_ID") or 0), int(build_image.env("CNB_GROUP_ID") or 0)
    where = f"build image {config.build_image}"
    python = probe(build_image, where)
    wheels: list[Path] = []
    if python is not None:
        check_supported(python, where)
        wheels = lifecycle_wheels(python, wheel_cache, scratch, say)
    with_lifecycle = python is not None
    image = build_image.copy()
    image.source = None
    numbers = itertools.count(1)

    def layer(fill: Callable[[LayerWriter], None], created_by: str) -> str:
        path = scratch / f"layer-{next(numbers)}.tar"
        info = write_layer_file(path, fill)
        image.add_layer(path, info, created_by=created_by)
        return info.diff_id

    def default_dirs(writer: LayerWriter) -> None:
        writer.add_dir("workspace", uid=uid, gid=gid)
        writer.add_dir("layers", uid=uid, gid=gid)
        for directory in ("cnb", "cnb/buildpacks", "cnb/extensions", "platform", "platform/env",
                          "cnb/build-config", "cnb/build-config/env"):  # fmt: skip
            writer.add_dir(directory)

    layer(default_dirs, "pypack: default directories")
    if python is not None:
        lifecycle = functools.partial(add_lifecycle, python=python.executable, wheels=wheels)
        layer(lifecycle, f"pypack: lifecycle {__version__} for Python {python.version_text}")
    else:
        warn(
            f"{where} has no python3 for the lifecycle: this builder works only with the "
            "daemonless platform (pypack build), not with --docker or other CNB platforms"
        )
    buildpacks: list[PackagedBuildpack] = []
    layers_label: dict[str, dict[str, ModuleLayerInfo]] = {}
    for module in config.buildpacks:
        for bp in _fetch(module, config_dir, load, scratch, config_name):
            version = bp.info.version or ""
            if version in layers_label.get(bp.info.id, {}):
                continue
            image.append_layer(bp.layer, created_by=f"pypack: buildpack {bp.info.full_name}")
            layers_label.setdefault(bp.info.id, {})[version] = bp.layer_info
            buildpacks.append(bp)
    order = _pin(config.order, buildpacks, config_name)
    extensions = fetch_extensions(config.extensions, config_dir, scratch, config_name)
    order_extensions = pin_extension_order(config.order_extensions, extensions, config_name)
    add_extensions(image, extensions, order_extensions)
    run_images = config.run_images
    order_file = OrderFile(order=order, order_extensions=order_extensions or None)
    files: dict[str, bytes] = {"cnb/order.toml": order_file.dumps().encode()}
    if config.system is not None:
        files["cnb/system.toml"] = SystemFile(system=config.system).dumps().encode()
    first = run_images[0]
    files["cnb/stack.toml"] = (
        StackFile(run_image=StackRunImage(image=first.image, mirrors=first.mirrors))
        .dumps()
        .encode()
    )
    files["cnb/run.toml"] = RunFile(images=run_images).dumps().encode()
    for env in config.build.env if config.build else []:
        files[f"cnb/build-config/env/{env.file_name}"] = env.value.encode()
        if env.delim:
            files[f"cnb/build-config/env/{env.name}.delim"] = env.delim.encode()
    for path, content in sorted(files.items()):
        layer(functools.partial(_add_file, path=path, content=content), f"pypack: {path}")
    metadata = BuilderMetadataLabel(
        description=config.description or "",
        buildpacks=[bp.info for bp in buildpacks],
        extensions=[extension.info for extension in extensions],
        stack=BuilderStack(
            run_image=RunImageMetadata(image=first.image, mirrors=first.mirrors or [])
        ),
        lifecycle=BuilderLifecycle(
            version=__version__ if with_lifecycle else "",
            api=LifecycleApiPair(
                buildpack=SUPPORTED_BUILDPACK_APIS[0], platform=SUPPORTED_PLATFORM_APIS[0]
            ),
            apis=Apis(
                buildpack=ApiSet(supported=list(SUPPORTED_BUILDPACK_APIS)),
                platform=ApiSet(supported=list(SUPPORTED_PLATFORM_APIS) if with_lifecycle else []),
            ),
        ),
        created_by=CreatedBy(name="pypack", version=__version__),
        images=[RunImageMetadata(image=r.image, mirrors=r.mirrors or []) for r in run_images],
    )
    image.set_label(BuilderMetadataLabel.label_name, metadata.to_label())
    image.set_label(
        BuildpackLayersLabel.label_name, BuildpackLayersLabel(modules=layers_label).to_label()
    )
    image.set_label(
        BuildpackOrderLabel.label_name,
        BuildpackOrderLabel(
            order=[OrderGroup(group=[ModuleRef(**r.model_dump()) for r in g.group]) for g in order]
        ).to_label(),
    )
    if not with_lifecycle:
        image.set_label(NO_LIFECYCLE_LABEL, "true")
    image.set_working_dir("/layers")
    image.set_user(f"{uid}:{gid}")
    return target.save(image, [name])
