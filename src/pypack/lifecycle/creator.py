"""The one place the phases are chained: analyze → detect (→ generate) → restore → build → export.

The creator binary, the daemonless platform (``pypack build``) and, one phase at a time, the
separate phase binaries all run the same phase functions from one :class:`CreatorInputs`; a
platform differs only in the inputs it fills (runner, paths, image access, cache).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pypack.errors import ExitCode, PypackError, SpecError
from pypack.lifecycle.inputs import CreatorInputs, LifecyclePaths, require_access
from pypack.lifecycle.phases.analyze import analyze_phase
from pypack.lifecycle.phases.build import build_phase
from pypack.lifecycle.phases.detect import detect_phase
from pypack.lifecycle.phases.export import export_phase
from pypack.lifecycle.phases.generate import generate_phase
from pypack.lifecycle.phases.restore import restore_phase, update_analyzed
from pypack.lifecycle.sbom_restore import restore_cached_sbom, restore_previous_sbom
from pypack.oci.image import SaveResult
from pypack.spec.order_toml import OrderFile

__all__ = ["CreatorInputs", "LifecyclePaths", "create"]


def create(inputs: CreatorInputs) -> SaveResult:
    """Build ``inputs.image`` from source: every phase in order, as the reference creator
    runs them (analysis first, Platform API >= 0.7), with the layer SBOMs of the previous image and
    the cache restored (Platform >= 0.8). Before Platform 0.10 ``-skip-restore`` skips the
    restore step itself (no layer metadata, no ``store.toml``); from 0.10 the restorer still runs
    and restores metadata only.

    With ``inputs.run_extensions`` (the daemonless platform) the image extensions of the order
    run as they do in a platform that runs each phase: the detector generates, which may switch
    the run image in analyzed.toml, and the restorer records the new run image's identifier and
    target before restoring. Without it an order with extensions is refused, as the reference
    creator refuses it."""
    with inputs.phase_log("ANALYZING"):
        analyzed = analyze_phase(inputs)
        if not inputs.skip_restore:
            restore_previous_sbom(inputs, analyzed)
    with inputs.phase_log("DETECTING"):
        if not inputs.run_extensions:
            refuse_extensions(inputs)
        detected = detect_phase(inputs)
        if detected.extensions:
            generate_phase(inputs, detected.extensions)
    if not (inputs.skip_restore and inputs.platform_api.less_than("0.10")):
        with inputs.phase_log("RESTORING"):
            if detected.extensions:
                update_analyzed(
                    inputs,
                    registry=require_access(inputs),
                    build_image=None,
                    kaniko=Path(tempfile.gettempdir()),  # only for a run image to extend: none
                )
            restore_phase(inputs)
            restore_cached_sbom(inputs, [element.id for element in detected.group])
    with inputs.phase_log("BUILDING"):
        build_phase(inputs)
    with inputs.phase_log("EXPORTING"):
        return export_phase(inputs)


def refuse_extensions(inputs: CreatorInputs) -> None:
    """The creator runs no image extensions: an order with ``order-extensions`` is the
    reference creator's detect error (exit 22). An unreadable order is left to the detector."""
    try:
        order = OrderFile.load(inputs.paths.order_file)
    except SpecError:
        return
    if order.order_extensions:
        raise PypackError(
            "failed to detect: detected order contains extensions which is not supported by "
            "the creator",
            exit_code=ExitCode.DETECT_GENERIC,
        )
