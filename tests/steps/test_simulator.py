"""The step simulator against Tekton's documented Task semantics: substitutions, array params,
workspaces, results, stepTemplate, scripts, volumes, users, failure — the translation checked
on its own, and each behaviour once for real in containers on the test dockerd."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from pypack.oci.image import Image
from tests.steps.simulator import TaskError, as_task, docker_cli, resolve_params, run_task

if TYPE_CHECKING:
    from docker import DockerClient

TASK = """
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: probe
spec:
  params:
    - name: WORD
    - name: LIST
      type: array
      default: []
    - name: DIR
      default: scratch
  workspaces:
    - name: source
    - name: cache
      optional: true
      mountPath: /cache
  results:
    - name: OUT
  stepTemplate:
    env:
      - name: FROM_TEMPLATE
        value: template
      - name: OVERRIDDEN
        value: template
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
  volumes:
    - name: scratch
      emptyDir: {}
  steps:
    - name: write
      image: $(params.IMAGE_NAME)
      command: ["/bin/sh", "-c"]
      args:
        - >-
          echo "$FROM_TEMPLATE $OVERRIDDEN $(params.WORD) $(params['WORD'])
          $(workspaces.source.path) cache=$(workspaces.cache.path)
          bound=$(workspaces.cache.bound) $(context.task.name)/$(context.taskRun.name)
          $(id -u):$(id -g)" > /shared/line;
          cat /shared/line > $(workspaces.source.path)/seen
      env:
        - name: OVERRIDDEN
          value: step
      volumeMounts:
        - name: $(params.DIR)
          mountPath: /shared
    - name: count
      image: $(params.IMAGE_NAME)
      args: ["$(params.LIST[*])"]
      script: |
        echo "$# args: $*" >> /shared/line
        cat /shared/line > $(results.OUT.path)
      securityContext:
        runAsUser: 0
      volumeMounts:
        - name: scratch
          mountPath: /shared
"""


def task(image_name: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(TASK)
    document["spec"]["params"].append({"name": "IMAGE_NAME", "default": image_name or "x"})
    return document


class Recorder:
    """A runner that keeps each docker argv and answers with ``code``."""

    def __init__(self, code: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.code = code

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, self.code, "", "")


def test_params_take_defaults_and_refuse_what_tekton_refuses() -> None:
    spec = as_task(task())
    values = resolve_params(spec, {"WORD": "hi"})
    assert values == {"WORD": "hi", "LIST": [], "DIR": "scratch", "IMAGE_NAME": "x"}
    with pytest.raises(TaskError, match="param 'WORD' has no value and no default"):
        resolve_params(spec, {})
    with pytest.raises(TaskError, match=r"params \['NOPE'\] are not declared"):
        resolve_params(spec, {"WORD": "a", "NOPE": "b"})
    with pytest.raises(TaskError, match="param 'LIST' must be an array"):
        resolve_params(spec, {"WORD": "a", "LIST": "one"})


def test_workspaces_and_references_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="workspace 'source' is required and not bound"):
        run_task(task(), {"WORD": "a"}, {}, Recorder())
    broken = task()
    broken["spec"]["steps"][0]["args"] = ["$(params.MISSING)"]
    with pytest.raises(TaskError, match=r"\$\(params.MISSING\) names no declared param"):
        run_task(broken, {"WORD": "a"}, {"source": tmp_path}, Recorder())
    inline = task()
    inline["spec"]["steps"][0]["args"] = ["all: $(params.LIST[*])"]
    with pytest.raises(TaskError, match="an array param must be a whole list item"):
        run_task(inline, {"WORD": "a", "LIST": ["x"]}, {"source": tmp_path}, Recorder())


def test_the_translation_to_docker_runs(tmp_path: Path) -> None:
    recorder = Recorder()
    run = run_task(task("img:1"), {"WORD": "hi", "LIST": ["a", "b c"]}, {"source": tmp_path},
                   recorder, name="tr-1")  # fmt: skip
    assert run.succeeded
    first, second = recorder.calls
    assert first[first.index("-u") + 1] == "1000:1000"
    assert f"{tmp_path}:/workspace/source" in first
    assert "FROM_TEMPLATE=template" in first
    assert "OVERRIDDEN=step" in first
    assert "OVERRIDDEN=template" not in first
    assert first[first.index("--entrypoint") + 1 :][:3] == ["/bin/sh", "img:1", "-c"]
    assert "hi hi /workspace/source cache= bound=false probe/tr-1" in first[-1]
    assert second[second.index("-u") + 1] == "0:1000"  # the step's runAsUser, template's group
    assert second[-3:] == ["img:1", "a", "b c"]  # the array expanded into items
    assert second[second.index("--entrypoint") + 1].startswith("/tekton/scripts/1-count")


def test_a_failing_step_ends_the_run(tmp_path: Path) -> None:
    recorder = Recorder(code=3)
    run = run_task(task(), {"WORD": "a"}, {"source": tmp_path}, recorder)
    assert not run.succeeded
    assert [(s.name, s.code) for s in run.steps] == [("write", 3)]
    assert len(recorder.calls) == 1


@pytest.mark.integration
def test_a_task_runs_in_containers(
    busybox_base: Image, docker_client: DockerClient, tmp_path: Path
) -> None:
    from pypack.oci.daemon import DaemonImageStore
    from tests.conftest import require_service

    DaemonImageStore(docker_client).save(busybox_base, ["pypack-test/steps-busybox:1"])
    source = tmp_path / "source"
    source.mkdir()
    source.chmod(0o777)
    cache = tmp_path / "cache"
    cache.mkdir()
    docker = docker_cli(require_service("PYPACK_TEST_DOCKER_HOST", "the test dockerd"))
    params: dict[str, str | list[str]] = {"WORD": "hi", "LIST": ["one", "two words"]}
    bound = {"source": source, "cache": cache}
    run = run_task(task("pypack-test/steps-busybox:1"), params, bound, docker, network="none",
                   name="tr-2")  # fmt: skip
    assert run.succeeded, [s.output for s in run.steps]
    assert run.results["OUT"] == (
        "template step hi hi /workspace/source cache=/cache bound=true probe/tr-2 1000:1000\n"
        "2 args: one two words\n"
    )
    assert (source / "seen").read_text().startswith("template step hi")
    assert (source / "seen").stat().st_uid == 1000
