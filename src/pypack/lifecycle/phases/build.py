"""The build phase: run each selected buildpack's ``bin/build`` and collect what it made.

Follows the reference lifecycle (phase/builder.go, buildpack/build.go): each buildpack gets the
plan entries it provides that no earlier buildpack met, one entry per requirement; its build
layers change the environment of later buildpacks; layers with no type are renamed
``<layer>.ignore``; processes, labels and slices from ``launch.toml`` are merged (a later type
replaces an earlier one, the last default wins, processes are sorted by type) into
``<layers>/config/metadata.toml``; SBOM files are checked against ``sbom-formats`` and copied to
``<layers>/sbom/{launch,build,cache}/<bp>/``.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pypack.errors import ApiError, ExitCode, PypackError, SpecError, UserError
from pypack.lifecycle.buildpacks import Buildpack, check_buildpack_api
from pypack.lifecycle.execution import Execution, execution
from pypack.lifecycle.file_errors import read_problem
from pypack.lifecycle.inputs import CreatorInputs
from pypack.lifecycle.log import LOGGER
from pypack.spec.api import ApiVersion
from pypack.spec.bom import BomEntry
from pypack.spec.build_plan import Require
from pypack.spec.build_toml import BuildFile
from pypack.spec.buildpack_plan import BuildpackPlan
from pypack.spec.buildpack_toml import SBOM_MEDIA_TYPES
from pypack.spec.group_toml import GroupElement, GroupFile
from pypack.spec.ids import escape_id
from pypack.spec.launch_toml import ImageLabel, LaunchFile, ProcessEntry, Slice
from pypack.spec.layer_toml import LayerFile
from pypack.spec.metadata_toml import BuildMetadata, Process
from pypack.spec.plan_toml import PlanEntry, PlanFile

NOT_LAYERS = frozenset({"launch.toml", "build.toml", "store.toml"})


class BuildpackFailed(PypackError):
    """A buildpack's ``bin/build`` exited non-zero (exit 51)."""

    exit_code = ExitCode.BUILDPACK_BUILD_FAILED


class BuildError(PypackError):
    """A buildpack wrote something invalid (exit 52)."""

    exit_code = ExitCode.BUILD


@dataclass
class _Collected:
    processes: dict[str, Process] = field(default_factory=dict)
    default_type: str | None = None
    labels: list[ImageLabel] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    launch_bom: list[BomEntry] = field(default_factory=list)
    build_bom: list[BomEntry] = field(default_factory=list)


@dataclass
class Builder:
    """Runs the build of a detected group."""

    execution: Execution
    layers_dir: Path

    @property
    def platform_api(self) -> ApiVersion:
        return self.execution.platform_api

    def build(
        self,
        group: list[GroupElement],
        plan: list[PlanEntry],
        *,
        extensions: list[GroupElement] | None = None,
    ) -> BuildMetadata:
        """Build every buildpack of ``group`` in order and write ``config/metadata.toml``;
        ``extensions`` (group.toml's) are recorded there without ``extension``/``optional``."""
        buildpacks = [self.execution.store.lookup(element.id, element.version) for element in group]
        for buildpack in buildpacks:
            check_buildpack_api(buildpack)
        shutil.rmtree(self.layers_dir / "sbom", ignore_errors=True)
        collected = _Collected()
        remaining = list(plan)
        for buildpack in buildpacks:
            entries = _plan_for(buildpack.id, remaining)
            met = self._build_one(buildpack, entries, collected)
            # As the reference's Plan.Filter: an entry goes once any of its requirements is met;
            # one without requirements (which the reference reads) stays.
            remaining = [e for e in remaining if not any(r.name in met for r in e.requires)]
        metadata = BuildMetadata(
            buildpacks=[
                GroupElement(id=bp.id, version=bp.version, api=bp.api, homepage=bp.homepage)
                for bp in buildpacks
            ],
            labels=collected.labels,
            processes=sorted(collected.processes.values(), key=lambda p: p.type),
            slices=collected.slices,
            buildpack_default_process_type=collected.default_type,
        )
        if extensions:
            metadata.extensions = [
                element.model_copy(update={"extension": None, "optional": None})
                for element in extensions
            ]
        if self.platform_api.at_least("0.9"):
            self._write_legacy_sbom(collected)
        else:  # before Platform 0.9 the launch BOM stays in metadata.toml (and the label)
            metadata.bom = collected.launch_bom or None
        metadata.dump(self.layers_dir / "config" / "metadata.toml")
        return metadata

    def _build_one(
        self, buildpack: Buildpack, entries: list[Require], collected: _Collected
    ) -> set[str]:
        LOGGER.debug("Running build for buildpack %s", buildpack.full_name)
        layers = self.layers_dir / escape_id(buildpack.id)
        layers.mkdir(parents=True, exist_ok=True)
        execution = self.execution
        plan_path = execution.plan_dir / escape_id(buildpack.id) / "plan.toml"
        BuildpackPlan(entries=entries).dump(plan_path)
        platform = str(execution.platform_dir)
        env = execution.environment(
            buildpack,
            {
                "CNB_LAYERS_DIR": str(layers),
                "CNB_PLATFORM_DIR": platform,
                "CNB_BP_PLAN_PATH": str(plan_path),
            },
        )
        argv = [str(buildpack.root / "bin" / "build"), str(layers), platform, str(plan_path)]
        result = execution.runner.run(argv, env=env, cwd=execution.app_dir, capture=False)
        if result.code != 0:
            raise BuildpackFailed(
                f"failed to build: buildpack {buildpack.full_name} exited with status {result.code}"
            )
        try:
            met = self._read_outputs(buildpack, layers, entries, collected)
        except SpecError as exc:
            raise BuildError(f"buildpack {buildpack.full_name}: {exc}") from None
        self._process_layers(buildpack, layers)
        return met

    # --- outputs -----------------------------------------------------------------------------

    def _read_outputs(
        self, buildpack: Buildpack, layers: Path, entries: list[Require], collected: _Collected
    ) -> set[str]:
        context = {"buildpack_api": buildpack.api}
        launch_path, build_path = layers / "launch.toml", layers / "build.toml"
        launch = (
            LaunchFile.load(launch_path, context=context) if launch_path.is_file() else LaunchFile()
        )
        build = BuildFile.load(build_path) if build_path.is_file() else BuildFile()
        names = {entry.name for entry in entries}
        for unmet in build.unmet:
            if unmet.name not in names:
                raise BuildError(
                    f"buildpack {buildpack.full_name}: build.toml: unmet.name {unmet.name!r} "
                    "must match a requested dependency"
                )
        self._merge_processes(buildpack, launch.processes, collected)
        collected.labels.extend(launch.labels)
        collected.slices.extend(launch.slices)
        collected.launch_bom.extend(_with_buildpack(launch.bom, buildpack))
        collected.build_bom.extend(_with_buildpack(build.bom, buildpack))
        return names - {unmet.name for unmet in build.unmet}

    def _merge_processes(
        self, buildpack: Buildpack, entries: list[ProcessEntry], collected: _Collected
    ) -> None:
        for entry in entries:
            direct = entry.direct if entry.direct is not None else buildpack.api.at_least("0.9")
            working_dir = entry.working_dir
            if working_dir and buildpack.api.less_than("0.8"):
                LOGGER.warning(
                    "process working directory isn't supported in this buildpack api version. "
                    "Ignoring working directory for process '%s'", entry.type,
                )  # fmt: skip
                working_dir = None
            process = Process(
                type=entry.type,
                command=self._command(entry.command_list),
                args=list(entry.args or []),
                direct=direct,
                buildpack_id=buildpack.id,
                working_dir=working_dir,
                exec_env=entry.exec_env,
            )
            if self.platform_api.less_than("0.10"):
                process.args = [*entry.command_list[1:], *(process.args or [])]
            if entry.default:
                collected.default_type = entry.type
            elif collected.default_type == entry.type:
                LOGGER.warning(
                    "Warning: redefining the following default process type with a process not "
                    "marked as default: %s", entry.type,
                )  # fmt: skip
                collected.default_type = None
            collected.processes[entry.type] = process

    def _command(self, command: list[str]) -> str | list[str]:
        if self.platform_api.at_least("0.10"):
            return command
        return command[0] if command else ""

    def _process_layers(self, buildpack: Buildpack, layers: Path) -> None:
        declared = set(buildpack.descriptor.buildpack.sbom_formats or [])
        self._copy_sbom(buildpack, layers, "launch", None, declared)
        self._copy_sbom(buildpack, layers, "build", None, declared)
        for toml_path in sorted(layers.glob("*.toml")):
            if toml_path.name in NOT_LAYERS:
                continue
            name = toml_path.name[: -len(".toml")]
            try:
                layer = LayerFile.load(toml_path)
            except SpecError as exc:
                raise BuildError(f"buildpack {buildpack.full_name}: {exc}") from None
            directory = layers / name
            types = layer.types
            if layer.ignored:
                if directory.is_dir():
                    ignored = layers / f"{name}.ignore"
                    shutil.rmtree(ignored, ignore_errors=True)
                    directory.rename(ignored)
                continue
            assert types is not None  # not ignored means some type is set
            kinds = ["launch" if types.launch else "build"] + (["cache"] if types.cache else [])
            for kind in kinds:
                self._copy_sbom(buildpack, layers, kind, name, declared)
            if types.build and directory.is_dir():
                shared = self.execution.env
                shared.add_root_dir(directory)
                shared.add_env_dir(directory / "env")
                shared.add_env_dir(directory / "env.build")

    def _copy_sbom(
        self, buildpack: Buildpack, layers: Path, kind: str, layer: str | None, declared: set[str]
    ) -> None:
        """Copy ``<layer>.sbom.<ext>`` (or, with no layer, ``<kind>.sbom.<ext>``) into
        ``<layers>/sbom/<kind>/<bp>/[<layer>/]sbom.<ext>``."""
        if self.platform_api.less_than("0.8"):  # SBOM files are a Platform 0.8 feature
            return
        stem = layer or kind
        for extension, media_type in SBOM_MEDIA_TYPES.items():
            source = layers / f"{stem}.sbom.{extension}"
            if not source.is_file():
                continue
            if media_type not in declared:
                raise BuildError(
                    f"buildpack {buildpack.full_name}: {source.name}: SBOM type {media_type} "
                    "is not declared in sbom-formats of buildpack.toml"
                )
            target = self.layers_dir / "sbom" / kind / escape_id(buildpack.id)
            if layer is not None:
                target = target / layer
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / f"sbom.{extension}")

    def _write_legacy_sbom(self, collected: _Collected) -> None:
        for kind, entries in (("launch", collected.launch_bom), ("build", collected.build_bom)):
            path = self.layers_dir / "sbom" / kind / "sbom.legacy.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = [
                entry.model_dump(mode="json", by_alias=True, exclude_none=True) for entry in entries
            ]
            path.write_text(json.dumps(data or None))


def _plan_for(buildpack_id: str, plan: list[PlanEntry]) -> list[Require]:
    """One entry per requirement of every plan entry ``buildpack_id`` provides."""
    return [
        require
        for entry in plan
        if any(provider.id == buildpack_id for provider in entry.providers)
        for require in entry.requires
    ]


def _with_buildpack(entries: list[BomEntry] | None, buildpack: Buildpack) -> list[BomEntry]:
    element = GroupElement(id=buildpack.id, version=buildpack.version)
    return [entry.model_copy(update={"buildpack": element}) for entry in entries or []]


def _unparsable_api(path: Path) -> ApiError | None:
    """The reference's error for a group element whose ``api`` is no version (exit 12)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for section, kind in (("group", "buildpack"), ("group-extensions", "extension")):
        elements = data.get(section)
        for element in elements if isinstance(elements, list) else []:
            api = element.get("api") if isinstance(element, dict) else None
            if not isinstance(api, str):
                continue
            try:
                ApiVersion.parse(api)
            except ValueError:
                name = f"{element.get('id')}@{element.get('version')}"
                return ApiError(
                    f"failed to parse buildpack API '<nil>' for {kind} '{name}': {api!r} is not "
                    "an API version",
                    exit_code=ExitCode.INCOMPATIBLE_BUILDPACK_API,
                )
    return None


def read_group(path: Path) -> GroupFile:
    """group.toml, its errors worded as the reference builder's (``failed to read group
    file: ...``)."""
    try:
        return GroupFile.load(path)
    except SpecError as exc:
        raise _unparsable_api(path) or UserError(
            f"failed to read group file: {read_problem(path, exc)}"
        ) from None


def read_plan(path: Path) -> PlanFile:
    """plan.toml, its errors worded as the reference builder's (``failed to read plan file:
    ...``)."""
    try:
        return PlanFile.load(path)
    except SpecError as exc:
        raise UserError(f"failed to read plan file: {read_problem(path, exc)}") from None


def build_phase(inputs: CreatorInputs) -> BuildMetadata:
    """The builder: every buildpack of group.toml builds its part of plan.toml; writes
    ``config/metadata.toml`` (with group.toml's extensions, as the reference records them)."""
    paths = inputs.paths
    group = read_group(paths.group_file)
    plan = read_plan(paths.plan_file)
    with execution(inputs) as context:
        return Builder(context, paths.layers).build(
            list(group.group), list(plan.entries), extensions=group.group_extensions
        )
