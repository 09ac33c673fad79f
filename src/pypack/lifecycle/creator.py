"""The one place the phases are chained: analyze → detect → restore → build → export.

The creator binary, the daemonless platform (``pypack build``) and, one phase at a time, the
separate phase binaries all run the same phase functions from one :class:`CreatorInputs`; a
platform differs only in the inputs it fills (runner, paths, image access, cache).
"""

from __future__ import annotations

from pypack.lifecycle.inputs import CreatorInputs, LifecyclePaths
from pypack.lifecycle.phases.analyze import analyze_phase
from pypack.lifecycle.phases.build import build_phase
from pypack.lifecycle.phases.detect import detect_phase
from pypack.lifecycle.phases.export import export_phase
from pypack.lifecycle.phases.restore import restore_phase
from pypack.oci.image import SaveResult

__all__ = ["CreatorInputs", "LifecyclePaths", "create"]


def create(inputs: CreatorInputs) -> SaveResult:
    """Build ``inputs.image`` from source: every phase in order, as the reference creator
    runs them (analysis first, Platform API >= 0.7). Before Platform 0.10 ``-skip-restore``
    skips the restore step itself (no layer metadata, no ``store.toml``); from 0.10 the restorer
    still runs and restores metadata only."""
    with inputs.phase_log("ANALYZING"):
        analyze_phase(inputs)
    with inputs.phase_log("DETECTING"):
        detect_phase(inputs)
    if not (inputs.skip_restore and inputs.platform_api.less_than("0.10")):
        with inputs.phase_log("RESTORING"):
            restore_phase(inputs)
    with inputs.phase_log("BUILDING"):
        build_phase(inputs)
    with inputs.phase_log("EXPORTING"):
        return export_phase(inputs)
