"""Which model reads which CNB file: by kind name, or guessed from the file name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pypack.errors import UserError
from pypack.spec._base import Document
from pypack.spec.analyzed_toml import AnalyzedFile
from pypack.spec.build_plan import DetectPlan
from pypack.spec.build_toml import BuildFile
from pypack.spec.builder_toml import BuilderConfig
from pypack.spec.buildpack_plan import BuildpackPlan
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.extension_toml import ExtensionDescriptor
from pypack.spec.group_toml import GroupFile
from pypack.spec.launch_toml import LaunchFile
from pypack.spec.layer_toml import LayerFile
from pypack.spec.lifecycle_toml import LifecycleDescriptor
from pypack.spec.metadata_toml import BuildMetadata
from pypack.spec.order_toml import OrderFile
from pypack.spec.package_toml import PackageConfig
from pypack.spec.plan_toml import PlanFile
from pypack.spec.project_metadata import ProjectMetadataFile
from pypack.spec.project_toml import load_project
from pypack.spec.report_toml import ReportFile
from pypack.spec.run_toml import RunFile
from pypack.spec.stack_toml import StackFile
from pypack.spec.store_toml import StoreFile
from pypack.spec.system_toml import SystemFile

Loader = Callable[[str | os.PathLike[str]], Document]

KINDS: dict[str, tuple[str, Loader]] = {
    "buildpack": ("buildpack.toml", BuildpackDescriptor.load),
    "extension": ("extension.toml", ExtensionDescriptor.load),
    "builder": ("builder.toml", BuilderConfig.load),
    "package": ("package.toml", PackageConfig.load),
    "project": ("project.toml", load_project),
    "order": ("order.toml", OrderFile.load),
    "system": ("system.toml", SystemFile.load),
    "run": ("run.toml", RunFile.load),
    "stack": ("stack.toml", StackFile.load),
    "lifecycle": ("lifecycle.toml", LifecycleDescriptor.load),
    "group": ("group.toml", GroupFile.load),
    "plan": ("plan.toml", PlanFile.load),
    "analyzed": ("analyzed.toml", AnalyzedFile.load),
    "metadata": ("metadata.toml", BuildMetadata.load),
    "report": ("report.toml", ReportFile.load),
    "project-metadata": ("project-metadata.toml", ProjectMetadataFile.load),
    "launch": ("launch.toml", LaunchFile.load),
    "build": ("build.toml", BuildFile.load),
    "store": ("store.toml", StoreFile.load),
    "layer": ("<layer>.toml", LayerFile.load),
    "detect-plan": ("the plan bin/detect writes", DetectPlan.load),
    "buildpack-plan": ("the Buildpack Plan bin/build reads", BuildpackPlan.load),
}
"""Kind name → (what file it is, how to load it)."""

_BY_FILE_NAME = {file_name: kind for kind, (file_name, _) in KINDS.items()}


def kind_for(path: str | os.PathLike[str]) -> str:
    """The kind of a file from its name; a name that says nothing is a :class:`UserError`."""
    kind = _BY_FILE_NAME.get(Path(path).name)
    if kind is None:
        raise UserError(
            f"{path}: cannot tell which CNB file this is from its name; "
            f"pass --kind with one of: {', '.join(KINDS)}"
        )
    return kind


def load_any(path: str | os.PathLike[str], kind: str | None = None) -> Document:
    """Load ``path`` with the model of ``kind`` (or of its file name)."""
    chosen = kind or kind_for(path)
    if chosen not in KINDS:
        raise UserError(f"unknown kind {chosen!r}; use one of: {', '.join(KINDS)}")
    return KINDS[chosen][1](path)
