"""A step simulator: runs a Tekton Task or a Shipwright ClusterBuildStrategy from its YAML, one
container per step on a Docker engine, as Tekton's controller would lay the pod out.

What it follows (Tekton's documented Task semantics, pipeline v1):

- ``params``: given values over defaults; a param without either is an error. ``$(params.N)``,
  ``$(params['N'])`` and ``$(params["N"])`` are replaced everywhere; an array param is only
  allowed as a whole list item, ``"$(params.N[*])"``, in ``command`` and ``args``, where it
  expands into its items.
- ``workspaces``: each bound one is a host directory mounted at its ``mountPath`` (default
  ``/workspace/<name>``); ``$(workspaces.N.path)`` is that path, or ``""`` for an unbound
  optional one; ``$(workspaces.N.bound)`` is ``true``/``false``. A required unbound one is an
  error.
- ``results``: ``$(results.N.path)`` is ``/tekton/results/N``; after the steps each result is
  the content of that file.
- ``volumes`` (``emptyDir``) are directories shared by the steps that mount them
  (``volumeMounts``, whose names may themselves hold substitutions).
- ``stepTemplate``: its ``env`` and ``securityContext`` apply to every step, the step's own
  entries winning name by name.
- A step's ``script`` becomes a file executed as the step's command (``args`` passed to it);
  without a ``#!`` line it runs under ``/bin/sh`` with ``set -e``. Otherwise ``command`` replaces
  the image's entrypoint and ``args`` its arguments. ``workingDir`` and
  ``securityContext.runAsUser``/``runAsGroup`` apply. ``/tekton/home`` and ``/tekton/results``
  are mounted in every step.
- Steps run in order; the first that fails ends the run.

A Shipwright ``ClusterBuildStrategy`` is turned into such a Task first, as Shipwright's
controller does: the source at ``/workspace/source``, the ``shp-*`` params
(``shp-source-root``, ``shp-source-context``, ``shp-output-image``, ``shp-output-insecure``,
``shp-output-directory``), the strategy's ``parameters`` as params, and the results
``shp-image-digest`` and ``shp-image-size``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ParamValue = str | list[str]
Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]
REFERENCE = re.compile(
    r"\$\((params\.([A-Za-z0-9_.-]+?)|params\[['\"]([^'\"]+)['\"]\]|workspaces\.([A-Za-z0-9_-]+)"
    r"\.(path|bound|claim|volume)|results\.([A-Za-z0-9_-]+)\.path|context\.(task|taskRun)\.name)"
    r"(\[\*\])?\)"
)
SHIPWRIGHT_SOURCE = "/workspace/source"


class TaskError(Exception):
    """The Task cannot run as written or given (Tekton would refuse the TaskRun)."""


@dataclass
class StepRun:
    """One finished step: its name, exit code and output."""

    name: str
    code: int
    output: str


@dataclass
class TaskRun:
    """The outcome: every step that ran, and the results the steps wrote."""

    steps: list[StepRun] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return bool(self.steps) and all(step.code == 0 for step in self.steps)


def load(path: Path) -> dict[str, Any]:
    """The one document of a YAML file."""
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise TaskError(f"{path}: not a YAML mapping")
    return document


def as_task(document: dict[str, Any]) -> dict[str, Any]:
    """The Task spec of a Task, or of a ClusterBuildStrategy as Shipwright makes it."""
    kind = document.get("kind")
    if kind == "Task":
        return dict(document["spec"])
    if kind in ("ClusterBuildStrategy", "BuildStrategy"):
        spec = document["spec"]
        steps = spec.get("steps") or spec.get("buildSteps") or []
        params = [
            {"name": "shp-source-root", "default": SHIPWRIGHT_SOURCE},
            {"name": "shp-source-context", "default": SHIPWRIGHT_SOURCE},
            {"name": "shp-output-image"},
            {"name": "shp-output-insecure", "default": "false"},
            {"name": "shp-output-directory", "default": "/workspace/output-image"},
            *spec.get("parameters", []),
        ]
        return {
            "params": params,
            "workspaces": [{"name": "source", "mountPath": SHIPWRIGHT_SOURCE}],
            "results": [{"name": "shp-image-digest"}, {"name": "shp-image-size"}],
            "steps": steps,
            "volumes": spec.get("volumes", []),
        }
    raise TaskError(f"kind {kind!r} is neither a Task nor a ClusterBuildStrategy")


def resolve_params(spec: dict[str, Any], given: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """Each declared param's value: given, else its default; unknown given params refused."""
    declared = {p["name"]: p for p in spec.get("params", [])}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TaskError(f"params {unknown} are not declared by the Task")
    values: dict[str, ParamValue] = {}
    for name, param in declared.items():
        if name in given:
            value = given[name]
        elif "default" in param:
            value = param["default"]
        else:
            raise TaskError(f"param {name!r} has no value and no default")
        is_array = param.get("type") == "array"
        if is_array != isinstance(value, list):
            kind = "an array" if is_array else "a string"
            raise TaskError(f"param {name!r} must be {kind}")
        values[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return values


@dataclass
class Context:
    """What ``$(...)`` references resolve to."""

    params: dict[str, ParamValue]
    workspace_paths: dict[str, str]
    bound: dict[str, bool]
    results: list[str]
    task_name: str = "task"
    run_name: str = "run"

    def value(self, match: re.Match[str]) -> ParamValue:
        param = match.group(2) or match.group(3)
        if param is not None:
            if param not in self.params:
                raise TaskError(f"$(params.{param}) names no declared param")
            return self.params[param]
        if match.group(4) is not None:
            name, attribute = match.group(4), match.group(5)
            if name not in self.bound:
                raise TaskError(f"$(workspaces.{name}.{attribute}) names no declared workspace")
            if attribute == "bound":
                return "true" if self.bound[name] else "false"
            return self.workspace_paths[name] if attribute == "path" else ""
        if match.group(6) is not None:
            if match.group(6) not in self.results:
                raise TaskError(f"$(results.{match.group(6)}.path) names no declared result")
            return f"/tekton/results/{match.group(6)}"
        return self.task_name if match.group(7) == "task" else self.run_name

    def text(self, value: str) -> str:
        """``value`` with every reference replaced; an array is refused inside a string."""

        def replace(match: re.Match[str]) -> str:
            found = self.value(match)
            if isinstance(found, list):
                raise TaskError(f"{match.group(0)}: an array param must be a whole list item")
            return found

        return REFERENCE.sub(replace, value)

    def items(self, values: list[Any]) -> list[str]:
        """A ``command``/``args`` list with ``"$(params.A[*])"`` items expanded."""
        out: list[str] = []
        for item in values:
            match = REFERENCE.fullmatch(str(item))
            if match and match.group(8):
                found = self.value(match)
                out += found if isinstance(found, list) else [found]
            else:
                out.append(self.text(str(item)))
        return out


def _merged(template: list[dict[str, Any]], own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {entry["name"] for entry in own}
    return [entry for entry in template if entry["name"] not in names] + own


def _shared_dir(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


def run_task(
    document: dict[str, Any],
    params: Mapping[str, ParamValue],
    workspaces: Mapping[str, Path],
    docker: Runner,
    *,
    network: str = "host",
    name: str = "run",
) -> TaskRun:
    """Run every step of ``document`` (a Task or ClusterBuildStrategy) with ``docker``."""
    spec = as_task(document)
    values = resolve_params(spec, params)
    declared = {w["name"]: w for w in spec.get("workspaces", [])}
    unknown = sorted(set(workspaces) - set(declared))
    if unknown:
        raise TaskError(f"workspaces {unknown} are not declared by the Task")
    for ws_name, workspace in declared.items():
        if ws_name not in workspaces and not workspace.get("optional", False):
            raise TaskError(f"workspace {ws_name!r} is required and not bound")
    mount_paths = {n: w.get("mountPath", f"/workspace/{n}") for n, w in declared.items()}
    context = Context(
        params=values,
        workspace_paths={n: (p if n in workspaces else "") for n, p in mount_paths.items()},
        bound={n: n in workspaces for n in declared},
        results=[r["name"] for r in spec.get("results", [])],
        task_name=str(document.get("metadata", {}).get("name", "task")),
        run_name=name,
    )
    scratch = Path(tempfile.mkdtemp(prefix="pypack-steps-", dir="/tmp"))
    scratch.chmod(0o755)
    try:
        return _run_steps(spec, context, workspaces, mount_paths, docker, network, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_steps(
    spec: dict[str, Any],
    context: Context,
    workspaces: Mapping[str, Path],
    mount_paths: dict[str, str],
    docker: Runner,
    network: str,
    scratch: Path,
) -> TaskRun:
    results_dir = _shared_dir(scratch, "results")
    home = _shared_dir(scratch, "home")
    volumes = {
        v["name"]: _shared_dir(scratch / "volumes", v["name"]) for v in spec.get("volumes", [])
    }
    template = spec.get("stepTemplate", {})
    outcome = TaskRun()
    for index, step in enumerate(spec["steps"]):
        step_name = step.get("name", f"step-{index}")
        argv = ["run", "--rm", "--network", network, "-v", f"{results_dir}:/tekton/results",
                "-v", f"{home}:/tekton/home"]  # fmt: skip
        for ws_name, host in workspaces.items():
            argv += ["-v", f"{host}:{mount_paths[ws_name]}"]
        for mount in step.get("volumeMounts", []):
            volume = context.text(str(mount["name"]))
            if volume not in volumes:
                raise TaskError(f"step {step_name}: volumeMount {volume!r} names no volume")
            argv += ["-v", f"{volumes[volume]}:{context.text(mount['mountPath'])}"]
        security = {**template.get("securityContext", {}), **step.get("securityContext", {})}
        if "runAsUser" in security:
            argv += ["-u", f"{security['runAsUser']}:{security.get('runAsGroup', 0)}"]
        for entry in _merged(template.get("env", []), step.get("env", [])):
            argv += ["-e", f"{entry['name']}={context.text(str(entry.get('value', '')))}"]
        if step.get("workingDir"):
            argv += ["-w", context.text(step["workingDir"])]
        args = context.items(step.get("args", []))
        if step.get("script"):
            script = context.text(step["script"])
            if not script.startswith("#!"):
                script = "#!/bin/sh\nset -e\n" + script
            path = scratch / "scripts" / f"{index}-{step_name}"
            path.parent.mkdir(exist_ok=True)
            path.write_text(script)
            path.chmod(0o755)
            argv += ["-v", f"{path}:/tekton/scripts/{path.name}:ro",
                     "--entrypoint", f"/tekton/scripts/{path.name}"]  # fmt: skip
            argv += [context.text(step["image"]), *args]
        elif step.get("command"):
            command = context.items(step["command"])
            argv += ["--entrypoint", command[0], context.text(step["image"]), *command[1:], *args]
        else:
            argv += [context.text(step["image"]), *args]
        done = docker(argv)
        outcome.steps.append(StepRun(step_name, done.returncode, done.stdout + done.stderr))
        if done.returncode != 0:
            break
    for result in context.results:
        path = results_dir / result
        if path.is_file():
            outcome.results[result] = path.read_text()
    return outcome


def docker_cli(host: str) -> Runner:
    """A runner for the docker CLI against the engine at ``host``."""

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *argv], capture_output=True, text=True, check=False, timeout=900,
            env={**os.environ, "DOCKER_HOST": host},
        )  # fmt: skip

    return run
