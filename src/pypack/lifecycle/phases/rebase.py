"""The rebase phase: put an app image on a new run image without rebuilding it.

Only config and manifest change: the layers up to ``runImage.topLayer`` are replaced by the new
run image's, the app layers keep their diffIDs. Refusal rules (unless ``-force``): the image is
labelled ``io.buildpacks.rebasable=false`` (the literal value, as the reference lifecycle
checks), the new run image is not the recorded one or a mirror, or its target differs.
"""

from __future__ import annotations

from pypack.errors import ExitCode, PypackError
from pypack.lifecycle.images import ImageAccess
from pypack.oci.image import Image
from pypack.oci.reference import parse_reference
from pypack.spec.lifecycle_metadata import LifecycleMetadataLabel

BASE_LABEL_PREFIXES = ("io.buildpacks.base.", "io.buildpacks.stack.")


class RebaseError(PypackError):
    """The rebase cannot be done (exit 72)."""

    exit_code = ExitCode.REBASE


def rebase(access: ImageAccess, app_name: str, run_image: str | None, *, force: bool) -> Image:
    """The rebased app image (not yet saved)."""
    app = access.load(app_name, "app image", ExitCode.REBASE)
    if app is None:
        raise RebaseError(f"failed to get app image {app_name!r}: it does not exist")
    label = app.label(LifecycleMetadataLabel.label_name)
    if not label:
        raise RebaseError(
            f"app image {app_name!r} has no lifecycle metadata; was it built with buildpacks?"
        )
    metadata = LifecycleMetadataLabel.from_label(label)
    if app.label("io.buildpacks.rebasable") == "false" and not force:
        raise RebaseError(f"app image {app_name!r} is not marked as rebasable")
    recorded = metadata.run_image
    new_name = run_image or recorded.image or ""
    if not new_name:
        raise RebaseError("no run image given and none recorded in the app image; pass -run-image")
    allowed = [n for n in (recorded.image, *(recorded.mirrors or [])) if n]
    if not force and allowed and _name(new_name) not in {_name(n) for n in allowed}:
        raise RebaseError(
            f"new run image {new_name!r} is not the app image's run image or one of its mirrors "
            f"({', '.join(allowed)}); use -force to rebase anyway"
        )
    new_run = access.load(new_name, "run image", ExitCode.REBASE)
    if new_run is None:
        raise PypackError(f"failed to get run image {new_name!r}: it does not exist")
    old_target = (app.platform.os, app.platform.architecture, app.platform.variant or "")
    new_target = (
        new_run.platform.os,
        new_run.platform.architecture,
        new_run.platform.variant or "",
    )
    if not force and old_target != new_target:
        raise RebaseError(
            "unable to satisfy target os/arch constraints; "
            f"new run image: {'/'.join(filter(None, new_target))}, "
            f"app image: {'/'.join(filter(None, old_target))}"
        )
    if not recorded.top_layer or not app.has_layer(recorded.top_layer):
        raise RebaseError(
            f"app image {app_name!r}: run image top layer {recorded.top_layer!r} not found"
        )
    app.rebase(recorded.top_layer, new_run)
    recorded.top_layer = new_run.top_layer or ""
    recorded.reference = access.identifier(new_name, new_run)
    if force:
        recorded.image, recorded.mirrors = new_name, None
    app.set_label(LifecycleMetadataLabel.label_name, metadata.to_label())
    for key in list(app.labels()):
        if key.startswith(BASE_LABEL_PREFIXES):
            app.remove_label(key)
    for key, value in new_run.labels().items():
        if key.startswith(BASE_LABEL_PREFIXES):
            app.set_label(key, value)
    return app


def _name(reference: str) -> str:
    ref = parse_reference(reference)
    return f"{ref.name}:{ref.tag or ''}"
