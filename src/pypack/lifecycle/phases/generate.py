"""The generate phase: each extension of group.toml runs ``bin/generate``; a ``run.Dockerfile``
that only switches the base image switches the run image in analyzed.toml.

As the reference generator (phase/generator.go, buildpack/generate.go): extensions run in group
order, each handed the plan entries it provides that no earlier extension met; its output
directory is ``<generated>/<escaped id>`` from Platform 0.13 (a temporary directory before,
its Dockerfiles then copied to ``<generated>/<run|build>/<escaped id>/Dockerfile``); an
extension without ``bin/generate`` has its outputs pre-populated in ``<root>/generate``. The
last ``run.Dockerfile`` with a ``FROM <image>`` decides the run image; earlier run.Dockerfiles
are ignored (``.ignore``). analyzed.toml's ``[run-image]`` then gets that image as ``image``
and ``reference``, its target cleared, and plan.toml loses the entries extensions met.

pypack has no extender: a Dockerfile the extender would apply (a ``build.Dockerfile`` with
instructions after ``FROM``, or a run.Dockerfile not ignored with any) is refused, before
analyzed.toml or plan.toml change, with the exit code of the reference extender's failure (102)
and the output this run generated removed.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Sequence
from pathlib import Path

from pypack.errors import ExitCode, PypackError, SpecError
from pypack.lifecycle.buildpacks import Buildpack, check_buildpack_api
from pypack.lifecycle.dockerfiles import Dockerfile, DockerfileError, classify
from pypack.lifecycle.execution import Execution, execution
from pypack.lifecycle.inputs import CreatorInputs
from pypack.lifecycle.log import LOGGER
from pypack.lifecycle.phases.detect import write_plan
from pypack.spec.analyzed_toml import AnalyzedFile, RunImage
from pypack.spec.build_plan import Require
from pypack.spec.buildpack_plan import BuildpackPlan
from pypack.spec.group_toml import GroupElement
from pypack.spec.ids import escape_id
from pypack.spec.plan_toml import PlanEntry, PlanFile
from pypack.spec.run_toml import RunFile

LIFECYCLE_ARGS = ("build_id", "user_id", "group_id")
"""Build args the lifecycle provides; extend-config.toml may not set them."""


class GenerateFailed(PypackError):
    """An extension's ``bin/generate`` exited non-zero (exit 91)."""

    exit_code = ExitCode.EXTENSION_GENERATE_FAILED


class GenerateError(PypackError):
    """An extension generated something invalid (exit 92)."""

    exit_code = ExitCode.GENERATE


class ExtendUnsupported(PypackError):
    """A Dockerfile that would need the extender, which pypack does not have (exit 102, the
    reference extender's code for a failed extension)."""

    exit_code = ExitCode.EXTEND


def generate_phase(inputs: CreatorInputs, extensions: Sequence[GroupElement]) -> AnalyzedFile:
    """Run ``bin/generate`` of ``extensions`` (group.toml's), then write analyzed.toml (the run
    image an extension switched to) and plan.toml (without the entries extensions met)."""
    paths = inputs.paths
    plan = PlanFile.load(paths.plan_file) if paths.plan_file.is_file() else PlanFile()
    analyzed_path = paths.analyzed_file
    analyzed = AnalyzedFile.load(analyzed_path) if analyzed_path.is_file() else AnalyzedFile()
    with execution(inputs) as context:
        generator = _Generator(context, paths.generated_dir)
        try:
            dockerfiles, remaining = generator.run(extensions, list(plan.entries))
            new_base = _run_image_from(dockerfiles)
            _refuse_extending(dockerfiles)
            generator.place(dockerfiles)
        except BaseException:
            generator.remove_output()
            raise
    if new_base and _is_new(inputs, analyzed, new_base):
        if not _offered(inputs, new_base):
            LOGGER.warning("new runtime base image '%s' not found in run metadata", new_base)
        LOGGER.debug("Updating analyzed metadata with new run image '%s'", new_base)
        analyzed.run_image = RunImage(reference=new_base, image=new_base, extend=False)
    analyzed.dump(analyzed_path)
    write_plan(paths.plan_file, remaining)
    return analyzed


class _Generator:
    """Runs each extension's ``bin/generate`` and keeps track of the output it wrote."""

    def __init__(self, context: Execution, generated: Path) -> None:
        self.context = context
        self.generated = generated
        self.modern = context.platform_api.at_least("0.13")
        self.written: list[Path] = []

    def run(
        self, extensions: Sequence[GroupElement], plan: list[PlanEntry]
    ) -> tuple[list[Dockerfile], list[PlanEntry]]:
        dockerfiles: list[Dockerfile] = []
        for element in extensions:
            LOGGER.debug("Running generate for extension %s", element.full_name)
            extension = self.context.extensions.lookup(element.id, element.version)
            check_buildpack_api(extension)
            entries = [
                require
                for entry in plan
                if any(p.id == extension.id and p.extension for p in entry.providers)
                for require in entry.requires
            ]
            output = self._generate(extension, entries)
            dockerfiles += _read_outputs(extension, output)
            met = {require.name for require in entries}
            plan = [e for e in plan if not any(r.name in met for r in e.requires)]
            LOGGER.debug("Finished running generate for extension %s", element.full_name)
        return dockerfiles, plan

    def _generate(self, extension: Buildpack, entries: list[Require]) -> Path:
        if not (extension.root / "bin" / "generate").exists():
            return extension.root / "generate"
        context = self.context
        name = escape_id(extension.id)
        parent = self.generated if self.modern else context.plan_dir / "generated"
        output = parent / name
        if not output.exists():
            self.written.append(output)
        output.mkdir(parents=True, exist_ok=True)
        plan_path = context.plan_dir / "generate" / name / "plan.toml"
        BuildpackPlan(entries=entries).dump(plan_path)
        platform = str(context.platform_dir)
        env = context.environment(
            extension,
            {
                "CNB_BP_PLAN_PATH": str(plan_path),
                "CNB_OUTPUT_DIR": str(output),
                "CNB_PLATFORM_DIR": platform,
            },
        )
        env.pop("CNB_EXEC_ENV", None)  # the reference gives it to bin/detect and bin/build only
        argv = [str(extension.root / "bin" / "generate"), str(output), platform, str(plan_path)]
        result = context.runner.run(argv, env=env, cwd=context.app_dir, capture=False)
        if result.code != 0:
            raise GenerateFailed(
                f"failed to build: extension {extension.full_name} exited with status {result.code}"
            )
        return output

    def place(self, dockerfiles: list[Dockerfile]) -> None:
        """Where the extender looks for them: from Platform 0.13 they stay in the output
        directory (an ignored run.Dockerfile renamed ``.ignore``); before, each is copied to
        ``<generated>/<kind>/<escaped id>/Dockerfile`` with its extend-config.toml."""
        for dockerfile in dockerfiles:
            ignore = dockerfile.kind == "run" and dockerfile.ignore
            if self.modern:
                if ignore:
                    dockerfile.path.rename(
                        dockerfile.path.with_name(dockerfile.path.name + ".ignore")
                    )
                continue
            target = self.generated / dockerfile.kind / escape_id(dockerfile.extension_id)
            if not target.exists():
                self.written.append(target)
            target.mkdir(parents=True, exist_ok=True)
            name = "Dockerfile.ignore" if ignore else "Dockerfile"
            LOGGER.debug("Copying %s to %s", dockerfile.path, target / name)
            shutil.copyfile(dockerfile.path, target / name)
            config = dockerfile.path.parent / "extend-config.toml"
            if config.is_file():
                shutil.copyfile(config, target / "extend-config.toml")

    def remove_output(self) -> None:
        """Remove the output directories this run made (a refused generate leaves none)."""
        for path in self.written:
            shutil.rmtree(path, ignore_errors=True)


def _read_outputs(extension: Buildpack, output: Path) -> list[Dockerfile]:
    _check_extend_config(output / "extend-config.toml")
    found = []
    for kind in ("run", "build"):
        path = output / f"{kind}.Dockerfile"
        if not path.is_file():
            continue
        try:
            found.append(classify(extension.id, kind, path))
        except (DockerfileError, OSError, UnicodeDecodeError) as exc:
            raise GenerateError(
                f"failed to build: failed to parse {kind}.Dockerfile for extension "
                f"{extension.id}: {exc}"
            ) from None
        LOGGER.debug("Found %s.Dockerfile for processing", kind)
    return found


def _check_extend_config(path: Path) -> None:
    if not path.is_file():
        return
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GenerateError(f"failed to build: reading extend config: {exc}") from None
    for kind in ("build", "run"):
        table = config.get(kind)
        args = table.get("args", []) if isinstance(table, dict) else []
        for arg in args if isinstance(args, list) else []:
            name = arg.get("name") if isinstance(arg, dict) else None
            if name in LIFECYCLE_ARGS:
                raise GenerateError(
                    "failed to build: validating extend config: invalid content: arg with name "
                    f'"{name}" is not allowed'
                )


def _run_image_from(dockerfiles: list[Dockerfile]) -> str:
    """The run image the last switching run.Dockerfile names; the run.Dockerfiles before it are
    marked ignored."""
    new_base = ""
    for dockerfile in reversed(dockerfiles):
        if dockerfile.kind != "run":
            continue
        if new_base:
            dockerfile.ignore = True
            continue
        if dockerfile.with_base:
            new_base = dockerfile.with_base
            LOGGER.debug(
                "Found a run.Dockerfile from extension '%s' setting run image to '%s' ",
                dockerfile.extension_id,
                new_base,
            )
    return new_base


def _refuse_extending(dockerfiles: list[Dockerfile]) -> None:
    for dockerfile in dockerfiles:
        change = dockerfile.first_change
        if change is None or dockerfile.ignore:
            continue
        allowed = "switch the run image with FROM" if dockerfile.kind == "run" else "be a no-op"
        raise ExtendUnsupported(
            f"failed to extend {dockerfile.kind} image: extension {dockerfile.extension_id}: "
            f"{dockerfile.path}: {change.name} on line {change.line} is not supported (the pypack "
            f"lifecycle has no extender; a {dockerfile.kind}.Dockerfile may only {allowed})"
        )


def _is_new(inputs: CreatorInputs, analyzed: AnalyzedFile, image: str) -> bool:
    if inputs.platform_api.at_least("0.12"):
        current = analyzed.run_image.image if analyzed.run_image else None
        return image != (current or "")
    return bool(image)


def _offered(inputs: CreatorInputs, image: str) -> bool:
    path = inputs.paths.run
    try:
        offered = RunFile.load(path).images if path.is_file() else []
    except SpecError:
        offered = []
    return any(image == entry.image or image in (entry.mirrors or []) for entry in offered)


def needs_extender(generated: Path) -> Path | None:
    """The first Dockerfile under ``generated`` the extender would have to apply (one that
    changes an image, not only switches the run image), or None. Both layouts are read:
    ``<id>/<kind>.Dockerfile`` (Platform >= 0.13) and ``<kind>/<id>/Dockerfile``."""
    if not generated.is_dir():
        return None
    for path in sorted(generated.rglob("*Dockerfile")):
        if path.name in ("run.Dockerfile", "build.Dockerfile"):
            kind = path.name.partition(".")[0]
        elif path.name == "Dockerfile" and path.parent.parent.name in ("run", "build"):
            kind = path.parent.parent.name
        else:
            continue
        try:
            if classify(path.parent.name, kind, path).extend:
                return path
        except (DockerfileError, OSError, UnicodeDecodeError):
            return path
    return None
