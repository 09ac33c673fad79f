"""The detect phase: pick the first group of buildpacks that passes, and resolve its plan.

The algorithm is the reference lifecycle's (phase/detector.go): composite buildpacks expand
depth first, the rest of the group following each of their sub-groups; an optional composite
also tries the group without it; an ID already reached in a group is not detected again; each
``id@version`` runs ``bin/detect`` once per run, its result reused by later groups. Plan trials
take each passing element's top-level sections, then its ``[[or]]`` alternatives, left to
right; unmet requires and unused provides drop optional elements (only an element's last option
may be dropped) until the plan is stable.

Image extensions (``order-extensions``, Platform >= 0.10) are detected first, as the reference
does it: every group of the order starts with the extensions order, whose elements are all
optional; an extension may only provide. Extensions that pass go to ``[[group-extensions]]``;
a group needs at least one buildpack that passes.

The elements of a group run ``bin/detect`` at once, as the reference's goroutines do (up to
:data:`DETECT_WORKERS` at a time); their output is shown in group order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pypack.errors import ExitCode, PypackError, SpecError, UserError
from pypack.lifecycle.buildpacks import (
    Buildpack,
    BuildpackStore,
    ExtensionStore,
    check_buildpack_api,
    target_matches,
)
from pypack.lifecycle.execution import Execution, execution
from pypack.lifecycle.file_errors import read_problem
from pypack.lifecycle.inputs import CreatorInputs
from pypack.lifecycle.log import LOGGER, held_back
from pypack.spec.analyzed_toml import TargetMetadata
from pypack.spec.api import ApiVersion
from pypack.spec.build_plan import DetectPlan, PlanSections, Require
from pypack.spec.group_toml import GroupElement, GroupFile
from pypack.spec.ids import escape_id
from pypack.spec.module import ModuleRef
from pypack.spec.order_toml import OrderFile
from pypack.spec.plan_toml import PlanEntry, PlanFile
from pypack.spec.system_toml import SystemFile

PASS, FAIL, ERROR = 0, 100, -1


class DetectFailed(PypackError):
    """No group passed and no buildpack errored (exit 20)."""

    exit_code = ExitCode.DETECT_FAILED


class DetectErrored(PypackError):
    """No group passed and a buildpack errored (exit 21)."""

    exit_code = ExitCode.DETECT_ERRORED


@dataclass
class DetectRun:
    """The outcome of one ``bin/detect``."""

    code: int
    output: bytes = b""
    plan: DetectPlan = field(default_factory=DetectPlan)
    error: str = ""


@dataclass(frozen=True)
class ExtensionRef:
    """An extension of the extensions order (always optional)."""

    ref: ModuleRef


@dataclass(frozen=True)
class ExtensionsOrder:
    """The element every group starts with when the order has extensions: their order."""

    order: list[list[ExtensionRef]]


GroupItem = ModuleRef | ExtensionRef | ExtensionsOrder


@dataclass
class DetectOrder:
    """What the detector detects: the buildpack order and the extensions order."""

    buildpacks: list[list[ModuleRef]]
    extensions: list[list[ModuleRef]] = field(default_factory=list)

    def groups(self) -> list[list[GroupItem]]:
        """The buildpack groups, each led by the extensions order when there is one."""
        if not self.extensions:
            return [list(group) for group in self.buildpacks]
        lead = ExtensionsOrder([[ExtensionRef(ref) for ref in g] for g in self.extensions])
        return [[lead, *group] for group in self.buildpacks]


@dataclass
class Detected:
    """A passing group: its buildpacks, its extensions and the resolved plan."""

    group: list[GroupElement]
    extensions: list[GroupElement]
    plan: list[PlanEntry]


@dataclass
class Element:
    """A buildpack (or extension) of a group, with the facts the resolver needs."""

    buildpack: Buildpack
    optional: bool

    @property
    def key(self) -> str:
        return self.buildpack.full_name

    @property
    def run_key(self) -> str:
        """The key of its detect run: a buildpack and an extension may share an ID."""
        return f"{self.buildpack.kind} {self.key}"

    def group_element(self) -> GroupElement:
        bp = self.buildpack
        return GroupElement(id=bp.id, version=bp.version, api=bp.api, homepage=bp.homepage)


@dataclass
class Option:
    """One choice of a passing element: its sections, and whether it may be dropped."""

    element: Element
    sections: PlanSections
    optional: bool


DETECT_WORKERS = max(4, os.cpu_count() or 1)
"""How many ``bin/detect`` processes of one group run at once (they mostly wait on files)."""


def _done(run: DetectRun) -> Future[DetectRun]:
    future: Future[DetectRun] = Future()
    future.set_result(run)
    return future


@dataclass
class Detector:
    """Runs detection for an order of buildpack groups."""

    execution: Execution
    runs: dict[str, Future[DetectRun]] = field(default_factory=dict)
    """Each ``id@version``'s detect run, started once and reused by later groups."""
    _pool: ThreadPoolExecutor | None = None

    @property
    def platform_api(self) -> ApiVersion:
        return self.execution.platform_api

    # --- order and groups --------------------------------------------------------------------

    def detect(self, order: DetectOrder | Sequence[Sequence[ModuleRef]]) -> Detected:
        """The first passing group and its plan, or :class:`DetectFailed`/:class:`DetectErrored`."""
        if not isinstance(order, DetectOrder):
            order = DetectOrder([list(group) for group in order])
        with ThreadPoolExecutor(DETECT_WORKERS, thread_name_prefix="detect") as pool:
            self._pool = pool
            try:
                return self._detect_order(order.groups(), [], [], optional=False)
            finally:
                self._pool = None

    def _run_of(self, element: Element) -> DetectRun:
        return self.runs[element.run_key].result()

    def _detect_order(
        self,
        order: Sequence[Sequence[GroupItem]],
        done: list[Element],
        following: Sequence[GroupItem],
        *,
        optional: bool,
    ) -> Detected:
        errored = False
        for group in order:
            try:
                return self._detect_group([*group, *following], list(done))
            except DetectErrored:
                errored = True
            except DetectFailed:
                pass
        if optional:
            return self._detect_group(list(following), list(done))
        if errored:
            raise DetectErrored("no buildpack group passed detection; a buildpack errored")
        raise DetectFailed("no buildpack group passed detection")

    def _detect_group(self, group: Sequence[GroupItem], done: list[Element]) -> Detected:
        for index, item in enumerate(group):
            if isinstance(item, ExtensionsOrder):
                return self._detect_order(item.order, done, group[index + 1 :], optional=True)
            extension = isinstance(item, ExtensionRef)
            ref = item.ref if isinstance(item, ExtensionRef) else item
            if any(e.buildpack.id == ref.id and e.buildpack.extension == extension for e in done):
                continue
            store: BuildpackStore = self.execution.extensions if extension else self.execution.store
            buildpack = store.lookup(ref.id, ref.version)
            optional = extension or ref.optional
            if buildpack.descriptor.order:
                sub_order = [g.group for g in buildpack.descriptor.order]
                return self._detect_order(
                    sub_order, done, group[index + 1 :], optional=ref.optional
                )
            if not self._supports_exec_env(buildpack):
                LOGGER.debug(
                    "Skipping %s due to execution environment mismatch; current: %s",
                    buildpack.full_name,
                    self.execution.exec_env,
                )
                continue
            element = Element(buildpack, optional)
            done.append(element)
            if element.run_key in self.runs:
                continue
            if not optional and not self._targets_match(buildpack):
                self.runs[element.run_key] = _done(DetectRun(
                    ERROR, error=f"unable to satisfy target os/arch constraints; run image: "
                    f"{self._target_text()}, buildpack: {buildpack.full_name}"
                ))  # fmt: skip
                continue
            if self._pool is None:
                self.runs[element.run_key] = _done(self._run(buildpack))
            else:
                self.runs[element.run_key] = self._pool.submit(self._run, buildpack)
        return self._resolve(done)

    def _supports_exec_env(self, buildpack: Buildpack) -> bool:
        if self.platform_api.less_than("0.15") or buildpack.api.less_than("0.12"):
            return True
        allowed = buildpack.descriptor.buildpack.exec_env or []
        return not allowed or "*" in allowed or self.execution.exec_env in allowed

    def _targets_match(self, buildpack: Buildpack) -> bool:
        if self.platform_api.less_than("0.12") or not buildpack.targets:
            return True
        target = self.execution.run_target or TargetMetadata()
        return any(target_matches(t, target) for t in buildpack.targets)

    def _target_text(self) -> str:
        target = self.execution.run_target or TargetMetadata()
        return "/".join(p for p in (target.os, target.arch, target.arch_variant or "") if p)

    # --- running bin/detect ------------------------------------------------------------------

    def _run(self, buildpack: Buildpack) -> DetectRun:
        run = self._run_detect(buildpack)
        if buildpack.extension and run.code == PASS and _requires(run.plan):
            return DetectRun(
                ERROR,
                run.output,
                error=f'extension {buildpack.id} outputs "requires" which is not allowed',
            )
        return run

    def _run_detect(self, buildpack: Buildpack) -> DetectRun:
        execution = self.execution
        if buildpack.extension and not (buildpack.root / "bin" / "detect").exists():
            # an extension without bin/detect passes with its pre-populated plan, if any
            prepared = buildpack.root / "detect" / "plan.toml"
            return (
                self._read_plan(buildpack, prepared, b"") if prepared.is_file() else DetectRun(PASS)
            )
        kind_dir = "extensions" if buildpack.extension else ""
        plan_path = execution.plan_dir / kind_dir / escape_id(buildpack.id) / "plan.toml"
        plan_path.parent.mkdir(parents=True, exist_ok=True)
        plan_path.write_bytes(b"")
        env = execution.environment(
            buildpack,
            {
                "CNB_PLATFORM_DIR": str(execution.platform_dir),
                "CNB_BUILD_PLAN_PATH": str(plan_path),
            },
        )
        argv = [str(buildpack.root / "bin" / "detect"), str(execution.platform_dir), str(plan_path)]
        result = execution.runner.run(argv, env=env, cwd=execution.app_dir, capture=True)
        if result.code == FAIL:
            return DetectRun(FAIL, result.output)
        if result.code != PASS:
            return DetectRun(result.code, result.output)
        return self._read_plan(buildpack, plan_path, result.output)

    def _read_plan(self, buildpack: Buildpack, plan_path: Path, output: bytes) -> DetectRun:
        try:
            plan = DetectPlan.load(plan_path, context={"buildpack_api": buildpack.api})
        except SpecError as exc:
            return DetectRun(ERROR, output, error=str(exc))
        return DetectRun(PASS, output, plan)

    # --- resolving the group -----------------------------------------------------------------

    def _resolve(self, done: list[Element]) -> Detected:
        for element in done:
            run = self._run_of(element)
            show = LOGGER.debug if run.code in (PASS, FAIL) else LOGGER.info
            if run.output:
                show("======== Output: %s ========", element.key)
                show("%s", run.output.decode("utf-8", "replace").rstrip("\n"))
            if run.error:
                show("======== Error: %s ========", element.key)
                show("%s", run.error)
        LOGGER.debug("======== Results ========")
        passed: list[Element] = []
        detected, errored, any_buildpack = True, False, False
        for element in done:
            run = self._run_of(element)
            if run.code == PASS:
                LOGGER.debug("pass: %s", element.key)
                passed.append(element)
                any_buildpack = any_buildpack or not element.buildpack.extension
                continue
            if run.code == FAIL:
                LOGGER.debug("%s: %s", "skip" if element.optional else "fail", element.key)
            else:
                code = "" if run.code == ERROR else f" ({run.code})"
                LOGGER.info("err:  %s%s", element.key, code)
                errored = True
            detected = detected and element.optional
        if not detected:
            if errored:
                raise DetectErrored("a buildpack errored")
            raise DetectFailed("a required buildpack failed")
        if not any_buildpack:
            LOGGER.debug("fail: no viable buildpacks in group")
            raise DetectFailed("no viable buildpacks in group")
        entries, trial = self._trials(passed, [])
        if len(trial) != len(done):
            LOGGER.info("%d of %d buildpacks participating", len(trial), len(done))
        width = max(len(option.element.buildpack.id) for option in trial)
        for option in trial:
            LOGGER.info(
                "%s %s", option.element.buildpack.id.ljust(width), option.element.buildpack.version
            )
        return Detected(
            group=[o.element.group_element() for o in trial if not o.element.buildpack.extension],
            extensions=[o.element.group_element() for o in trial if o.element.buildpack.extension],
            plan=entries,
        )

    def _trials(
        self, remaining: list[Element], prefix: list[Option]
    ) -> tuple[list[PlanEntry], list[Option]]:
        if not remaining:
            return _run_trial(prefix)
        failure: DetectFailed | None = None
        first, rest = remaining[0], remaining[1:]
        plan = self._run_of(first).plan
        alternatives = plan.alternatives()
        for number, sections in enumerate(alternatives):
            may_drop = first.optional and (
                len(alternatives) == 1 or number == len(alternatives) - 1
            )
            try:
                return self._trials(rest, [*prefix, Option(first, sections, may_drop)])
            except DetectFailed as exc:
                failure = exc
        raise failure or DetectFailed("no plan")


def _run_trial(trial: list[Option]) -> tuple[list[PlanEntry], list[Option]]:
    while True:
        deps = _DepMap(trial)
        drop = deps.unmet_requires() + deps.unused_provides()
        if not drop:
            break
        for what, name, option in drop:
            if not option.optional:
                LOGGER.debug("fail: %s %s %s", option.element.key, what, name)
                raise DetectFailed(f"{option.element.key} {what} {name}")
            LOGGER.debug("skip: %s %s %s", option.element.key, what, name)
        dropped = {id(option) for _, _, option in drop}
        trial = [option for option in trial if id(option) not in dropped]
    if not trial:
        LOGGER.debug("fail: no viable buildpacks in group")
        raise DetectFailed("no viable buildpacks in group")
    return deps.entries(), trial


class _DepMap:
    """For each dependency name: its providers and requirers, in group order."""

    def __init__(self, trial: list[Option]) -> None:
        self._providers: dict[str, list[Option]] = {}
        self._requires: dict[str, list[tuple[Option, Require]]] = {}
        self._early: dict[str, list[Option]] = {}
        self._extra: dict[str, list[Option]] = {}
        self._order: list[str] = []
        for option in trial:
            for provide in option.sections.provides:
                self._note(provide.name)
                self._extra.setdefault(provide.name, []).append(option)
            for require in option.sections.requires:
                self._note(require.name)
                providers = self._providers.setdefault(require.name, [])
                providers.extend(self._extra.pop(require.name, []))
                if providers:
                    self._requires.setdefault(require.name, []).append((option, require))
                else:
                    self._early.setdefault(require.name, []).append(option)

    def _note(self, name: str) -> None:
        if name not in self._order:
            self._order.append(name)

    def unmet_requires(self) -> list[tuple[str, str, Option]]:
        return [("requires", n, o) for n in self._order for o in self._early.get(n, [])]

    def unused_provides(self) -> list[tuple[str, str, Option]]:
        return [("provides unused", n, o) for n in self._order for o in self._extra.get(n, [])]

    def entries(self) -> list[PlanEntry]:
        result = []
        for name in self._order:
            providers = self._providers.get(name, [])
            requires = self._requires.get(name, [])
            if providers and requires:
                result.append(
                    PlanEntry(
                        providers=[_provider(o) for o in _unique(providers)],
                        requires=[r for _, r in requires],
                    )
                )
        return result


def _unique(options: list[Option]) -> list[Option]:
    seen: set[str] = set()
    result = []
    for option in options:
        if option.element.run_key not in seen:
            seen.add(option.element.run_key)
            result.append(option)
    return result


def _provider(option: Option) -> GroupElement:
    bp = option.element.buildpack
    return GroupElement(id=bp.id, version=bp.version, extension=bp.extension or None)


def _requires(plan: DetectPlan) -> bool:
    return any(sections.requires for sections in plan.alternatives())


def system_order(
    order: Sequence[Sequence[ModuleRef]], pre: Sequence[ModuleRef], post: Sequence[ModuleRef]
) -> list[list[ModuleRef]]:
    """Add system buildpacks before and after every group (Platform >= 0.15), except where the
    group already has that ID at its top level. As in the reference lifecycle they are
    required: ``optional`` in system.toml is ignored."""
    result = []
    for group in order:
        ids = {ref.id for ref in group}
        before = [ModuleRef(id=r.id, version=r.version) for r in pre if r.id not in ids]
        after = [ModuleRef(id=r.id, version=r.version) for r in post if r.id not in ids]
        if before:
            LOGGER.debug("Prepending %d system buildpack(s) to group", len(before))
        if after:
            LOGGER.debug("Appending %d system buildpack(s) to group", len(after))
        result.append([*before, *group, *after])
    return result


def initialize_failure(what: str, path: Path, error: SpecError) -> UserError:
    """A file the detector starts from that cannot be read, worded as the reference's
    ``failed to initialize detector: reading order: ...``."""
    return UserError(
        f"failed to initialize detector: reading {what}: failed to read {what} file: "
        + read_problem(path, error)
    )


def read_order(inputs: CreatorInputs) -> DetectOrder:
    """The order to detect: the builder's, changed by the platform, with the system
    buildpacks (Platform >= 0.15), and its extensions order (Platform >= 0.10); every buildpack
    and extension in it of a supported API."""
    paths = inputs.paths
    order_path = paths.order_file
    try:
        order_file = OrderFile.load(order_path)
    except SpecError as exc:
        raise initialize_failure("order", order_path, exc) from None
    extensions: list[list[ModuleRef]] = [list(g.group) for g in order_file.order_extensions or []]
    if extensions and inputs.platform_api.less_than("0.10"):
        raise PypackError(
            f"{order_path}: image extensions (order-extensions) need Platform API 0.10 or newer "
            f"(this run uses {inputs.platform_api})",
            exit_code=ExitCode.DETECT_GENERIC,
        )
    order: list[list[ModuleRef]] = [list(g.group) for g in order_file.order]
    if inputs.order_transform is not None:
        order = inputs.order_transform(order)
    if inputs.platform_api.at_least("0.15") and paths.system and paths.system.is_file():
        try:
            system = SystemFile.load(paths.system).system
        except SpecError as exc:
            raise initialize_failure("system", paths.system, exc) from None
        order = system_order(order, system.pre.buildpacks, system.post.buildpacks)
    for store, groups in (
        (BuildpackStore(*paths.buildpacks), order),
        (ExtensionStore(paths.extensions), extensions),
    ):
        for group in groups:
            for ref in group:
                check_buildpack_api(store.lookup(ref.id, ref.version))
    return DetectOrder(order, extensions)


def write_plan(path: Path, entries: Sequence[PlanEntry]) -> None:
    """plan.toml; without entries an empty file, as the reference lifecycle writes it."""
    if entries:
        PlanFile(entries=list(entries)).dump(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def detect_phase(inputs: CreatorInputs, order: DetectOrder | None = None) -> Detected:
    """The detector: the order (``order``, else :func:`read_order`'s), the first group that
    passes, group.toml (with ``[[group-extensions]]`` when extensions passed) and plan.toml.

    As in the reference, what detection logs is held back and printed at the configured level
    when a group passes, all of it (each buildpack's output, the results) when none does."""
    paths = inputs.paths
    if order is None:
        order = read_order(inputs)
    try:
        with execution(inputs) as context, held_back():
            detected = Detector(context).detect(order)
    except DetectFailed:
        LOGGER.error("No buildpack groups passed detection.")
        LOGGER.error("Please check that you are running against the correct path.")
        raise DetectFailed("failed to detect: no buildpacks participating") from None
    except DetectErrored:
        LOGGER.error("No buildpack groups passed detection.")
        raise DetectErrored("failed to detect: buildpack(s) failed with err") from None
    GroupFile(group=detected.group, group_extensions=detected.extensions or None).dump(
        paths.group_file
    )
    write_plan(paths.plan_file, detected.plan)
    return detected
