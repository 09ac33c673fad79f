"""The analyze phase: what the previous image and the run image are.

Runs before detection (Platform >= 0.7). Writes analyzed.toml with the previous image's
reference and lifecycle metadata, and the run image's reference and target; checks that the
images it will write can be written. Before Platform 0.12 the run image comes from the
deprecated ``stack.toml`` (not ``run.toml``) and analyzed.toml records only its reference (no
``image``, no ``target``), as the reference analyzer does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pypack.errors import ExitCode, PypackError
from pypack.lifecycle.cache import ImageCache
from pypack.lifecycle.images import ImageAccess
from pypack.lifecycle.inputs import CreatorInputs, require_access
from pypack.lifecycle.log import LOGGER
from pypack.oci.image import Image
from pypack.oci.reference import parse_reference
from pypack.oci.stores import RegistryImageStore
from pypack.spec.analyzed_toml import AnalyzedFile, ImageIdentifier, RunImage, TargetMetadata
from pypack.spec.api import ApiVersion
from pypack.spec.lifecycle_metadata import LayersMetadata, LifecycleMetadataLabel
from pypack.spec.run_toml import RunFile, RunImageEntry
from pypack.spec.stack_toml import StackFile
from pypack.spec.targets import Distro

BIONIC = "io.buildpacks.stacks.bionic"


class AnalyzeError(PypackError):
    """The analysis failed (exit 32)."""

    exit_code = ExitCode.ANALYZE


def image_target(image: Image) -> TargetMetadata:
    """The target of a base image: config os/arch/variant plus ``io.buildpacks.base.*``."""
    target = TargetMetadata(
        id=image.label("io.buildpacks.base.id"),
        os=image.platform.os,
        arch=image.platform.architecture,
        arch_variant=image.platform.variant,
    )
    name = image.label("io.buildpacks.base.distro.name")
    version = image.label("io.buildpacks.base.distro.version")
    if name or version:
        target.distro = Distro(name=name, version=version)
    elif image.label("io.buildpacks.stack.id") == BIONIC:
        target.distro = Distro(name="ubuntu", version="18.04")
    return target


def choose_run_image(
    run_file: RunFile, app_image: str, readable: Callable[[str], bool] | None = None
) -> str:
    """The run image from run.toml: the first entry's image or mirror on the app image's
    registry, else its image (also when ``app_image`` is empty: an image with no registry).
    With ``readable``, as the reference analyzer: the first readable one on the app image's
    registry, else the first readable one, else 'failed to find accessible run image'."""
    if not run_file.images:
        raise PypackError(
            "-run-image is required when there is no run metadata available",
            exit_code=ExitCode.INVALID_ARGS,
        )
    entry = run_file.images[0]
    candidates = [entry.image, *(entry.mirrors or [])]
    if readable is not None:
        registry = parse_reference(app_image).registry if app_image else None
        on_registry = [c for c in candidates if parse_reference(c).registry == registry]
        for candidate in (*on_registry, *candidates):
            if readable(candidate):
                return candidate
        raise PypackError(
            "failed to resolve inputs: failed to find accessible run image",
            exit_code=ExitCode.INVALID_ARGS,
        )
    if not app_image:
        return entry.image
    registry = parse_reference(app_image).registry
    for candidate in candidates:
        if parse_reference(candidate).registry == registry:
            return candidate
    return entry.image


def readable_checker(access: ImageAccess) -> Callable[[str], bool] | None:
    """How the analyzer tells whether a run.toml image can be read: a registry image that
    exists or is merely missing can be (the reference's read check passes on "not found"); one
    whose registry refuses or cannot be reached cannot. Daemon and layout images are not
    checked, as the reference's."""
    if access.kind != "registry":
        return None

    def readable(name: str) -> bool:
        try:
            access.store.load(name)
        except PypackError:
            return False
        return True

    return readable


def analyze(
    access: ImageAccess,
    *,
    image: str,
    previous_image: str | None,
    run_image: str,
    tags: Sequence[str] = (),
    platform_api: ApiVersion | None = None,
    cache_image: str | None = None,
) -> AnalyzedFile:
    """The content of analyzed.toml (the run image's name and target from Platform 0.12)."""
    analyzed = AnalyzedFile()
    previous_name = previous_image or image
    previous = access.load(previous_name, "previous image", ExitCode.ANALYZE)
    if previous is not None:
        analyzed.image = ImageIdentifier(reference=access.identifier(previous_name, previous))
        label = previous.label(LifecycleMetadataLabel.label_name)
        if label:
            try:
                analyzed.metadata = LayersMetadata.model_validate(
                    LifecycleMetadataLabel.from_label(label).model_dump()
                )
            except PypackError as exc:
                LOGGER.warning("ignoring the previous image's lifecycle metadata: %s", exc)
    else:
        LOGGER.info("Previous image with name %r not found", previous_name)
    run = access.load(run_image, "run image", ExitCode.ANALYZE)
    if run is None and access.kind == "registry":
        raise AnalyzeError(f"failed to get run image {run_image!r}: it does not exist")
    if run is None:  # the reference goes on with an empty image on the store's platform
        LOGGER.info('Image with name "%s" not found', run_image)
        analyzed.run_image = RunImage(reference="")
    else:
        analyzed.run_image = RunImage(reference=access.identifier(run_image, run))
    if platform_api is None or platform_api.at_least("0.12"):
        analyzed.run_image.image = run_image
        if run is None:
            default = access.default_platform()
            analyzed.run_image.target = TargetMetadata(
                os=default.os, arch=default.architecture, arch_variant=default.variant
            )
        else:
            analyzed.run_image.target = image_target(run)
        if not analyzed.run_image.target.os:  # targets start at 0.12, and need an OS
            raise AnalyzeError(f"failed to find OS in run image config of {run_image!r}")
    if isinstance(access.store, RegistryImageStore):
        for name in (image, *tags, *([cache_image] if cache_image else [])):
            ref = parse_reference(name)
            try:
                access.store.client(ref.registry).check_push_access(ref.repository)
            except PypackError as exc:
                raise AnalyzeError(
                    f"validating registry write access: failed to ensure registry read/write "
                    f"access to {name}: {exc}"
                ) from None
    return analyzed


def run_images_offered(inputs: CreatorInputs) -> RunFile:
    """The builder's run images: ``run.toml``, or before Platform 0.12 ``stack.toml``'s one
    ``[run-image]`` (missing files offer none)."""
    paths = inputs.paths
    if inputs.platform_api.at_least("0.12"):
        return RunFile.load(paths.run) if paths.run.is_file() else RunFile()
    stack = StackFile.load(paths.stack) if paths.stack.is_file() else StackFile()
    if not stack.run_image.image:
        raise PypackError(
            "missing run image metadata (-run-image)", exit_code=ExitCode.INVALID_ARGS
        )
    return RunFile(
        images=[RunImageEntry(image=stack.run_image.image, mirrors=stack.run_image.mirrors)]
    )


def analyze_phase(inputs: CreatorInputs) -> AnalyzedFile:
    """The analyzer: analyzed.toml for ``inputs.image``, its run image chosen from run.toml
    (stack.toml before Platform 0.12) unless the platform named one."""
    access = require_access(inputs)
    run_image = inputs.run_image or choose_run_image(
        run_images_offered(inputs), inputs.image, readable_checker(access)
    )
    analyzed = analyze(
        access,
        image=inputs.image,
        previous_image=inputs.previous_image,
        run_image=run_image,
        tags=inputs.tags,
        platform_api=inputs.platform_api,
        cache_image=inputs.cache.name if isinstance(inputs.cache, ImageCache) else None,
    )
    analyzed.dump(inputs.paths.analyzed_file)
    return analyzed
