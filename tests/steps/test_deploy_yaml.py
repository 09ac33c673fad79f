"""``deploy/``'s YAML against the fields of the APIs it targets (Tekton pipeline v1, Shipwright
v1beta1, Knative serving v1, kpack v1alpha2): no CRD schema ships in a package we can install,
so each kind's fields in use are checked against the API references' field lists — unknown
keys, missing required ones, wrong types — and every ``$(...)`` reference must name something
declared (what Tekton's admission webhook refuses)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"

Schema = dict[str, Any]
STRING: Schema = {"type": str}
STRINGS: Schema = {"type": list, "items": STRING}
ENV: Schema = {"type": list, "items": {"fields": {"name": STRING, "value": STRING},
                                       "required": ["name"]}}  # fmt: skip
SECURITY: Schema = {"fields": {"runAsUser": {"type": int}, "runAsGroup": {"type": int},
                               "runAsNonRoot": {"type": bool}}}  # fmt: skip
MOUNTS: Schema = {"type": list, "items": {"fields": {"name": STRING, "mountPath": STRING,
                                                    "readOnly": {"type": bool}},
                                          "required": ["name", "mountPath"]}}  # fmt: skip
STEP: Schema = {
    "fields": {"name": STRING, "image": STRING, "command": STRINGS, "args": STRINGS,
               "script": STRING, "env": ENV, "workingDir": STRING, "securityContext": SECURITY,
               "volumeMounts": MOUNTS, "imagePullPolicy": STRING, "onError": STRING},
    "required": ["name", "image"],
}  # fmt: skip
PARAM: Schema = {"fields": {"name": STRING, "type": STRING, "description": STRING,
                            "default": {"type": (str, list)}}, "required": ["name"]}  # fmt: skip
VOLUMES: Schema = {"type": list, "items": {"fields": {"name": STRING, "emptyDir": {"type": dict}},
                                           "required": ["name"]}}  # fmt: skip
METADATA: Schema = {"fields": {"name": STRING, "namespace": STRING, "labels": {"type": dict},
                               "annotations": {"type": dict}}, "required": ["name"]}  # fmt: skip
NAMED = {"fields": {"name": STRING, "description": STRING, "optional": {"type": bool},
                    "mountPath": STRING}, "required": ["name"]}  # fmt: skip
TASK_SPEC: Schema = {
    "fields": {"description": STRING, "displayName": STRING,
               "params": {"type": list, "items": PARAM},
               "workspaces": {"type": list, "items": NAMED},
               "results": {"type": list, "items": NAMED},
               "stepTemplate": {"fields": {"env": ENV, "securityContext": SECURITY}},
               "volumes": VOLUMES, "steps": {"type": list, "items": STEP}},
    "required": ["steps"],
}  # fmt: skip
PIPELINE_TASK: Schema = {
    "fields": {"name": STRING, "runAfter": STRINGS,
               "taskRef": {"fields": {"name": STRING, "kind": STRING}, "required": ["name"]},
               "taskSpec": TASK_SPEC,
               "params": {"type": list, "items": {"fields": {"name": STRING, "value": STRING},
                                                  "required": ["name", "value"]}},
               "workspaces": {"type": list, "items": {"fields": {"name": STRING,
                                                                 "workspace": STRING}}}},
    "required": ["name"],
}  # fmt: skip
PORTS: Schema = {"type": list, "items": {"fields": {"containerPort": {"type": int}}}}
CONTAINERS: Schema = {
    "type": list,
    "items": {"fields": {"image": STRING, "command": STRINGS, "args": STRINGS, "env": ENV,
                         "ports": PORTS}, "required": ["image"]},
}  # fmt: skip
SCHEMAS: dict[tuple[str, str], Schema] = {
    ("tekton.dev/v1", "Task"): TASK_SPEC,
    ("tekton.dev/v1", "Pipeline"): {
        "fields": {"params": {"type": list, "items": PARAM},
                   "workspaces": {"type": list, "items": NAMED},
                   "tasks": {"type": list, "items": PIPELINE_TASK}},
        "required": ["tasks"],
    },
    ("shipwright.io/v1beta1", "ClusterBuildStrategy"): {
        "fields": {"parameters": {"type": list, "items": PARAM}, "volumes": VOLUMES,
                   "steps": {"type": list, "items": STEP}},
        "required": ["steps"],
    },
    ("shipwright.io/v1beta1", "Build"): {
        "fields": {
            "source": {"fields": {"type": STRING, "contextDir": STRING,
                                  "git": {"fields": {"url": STRING, "revision": STRING}}}},
            "strategy": {"fields": {"kind": STRING, "name": STRING}, "required": ["name"]},
            "paramValues": {"type": list, "items": {"fields": {"name": STRING, "value": STRING}}},
            "output": {"fields": {"image": STRING, "pushSecret": STRING}, "required": ["image"]},
        },
        "required": ["source", "strategy", "output"],
    },
    ("serving.knative.dev/v1", "Service"): {
        "fields": {"template": {"fields": {"spec": {"fields": {"containers": CONTAINERS}}}}},
        "required": ["template"],
    },
    ("kpack.io/v1alpha2", "ClusterStore"): {
        "fields": {"sources": {"type": list, "items": {"fields": {"image": STRING}}}},
        "required": ["sources"],
    },
    ("kpack.io/v1alpha2", "ClusterStack"): {
        "fields": {"id": STRING, "buildImage": {"fields": {"image": STRING}},
                   "runImage": {"fields": {"image": STRING}}},
        "required": ["id", "buildImage", "runImage"],
    },
    ("kpack.io/v1alpha2", "ClusterBuilder"): {
        "fields": {
            "tag": STRING,
            "serviceAccountRef": {"fields": {"name": STRING, "namespace": STRING}},
            "stack": {"fields": {"name": STRING, "kind": STRING}},
            "store": {"fields": {"name": STRING, "kind": STRING}},
            "order": {"type": list, "items": {"fields": {"group": {"type": list, "items": {
                "fields": {"id": STRING, "optional": {"type": bool}}}}}}},
        },
        "required": ["tag", "stack", "store", "order"],
    },
    ("kpack.io/v1alpha2", "Image"): {
        "fields": {
            "tag": STRING, "serviceAccountName": STRING,
            "builder": {"fields": {"name": STRING, "kind": STRING}},
            "source": {"fields": {"git": {"fields": {"url": STRING, "revision": STRING}}}},
            "build": {"fields": {"env": ENV}},
        },
        "required": ["tag", "builder", "source"],
    },
}  # fmt: skip


def problems(value: Any, schema: Schema, where: str) -> list[str]:
    """Every way ``value`` breaks ``schema``, each naming its path."""
    kind = schema.get("type", dict if "fields" in schema else object)
    if not isinstance(value, kind):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    found: list[str] = []
    if "fields" in schema:
        assert isinstance(value, dict)
        for key in value:
            if key not in schema["fields"]:
                found.append(f"{where}.{key}: not a field of this kind")
            else:
                found += problems(value[key], schema["fields"][key], f"{where}.{key}")
        found += [f"{where}.{key}: required" for key in schema.get("required", [])
                  if key not in value]  # fmt: skip
    if "items" in schema:
        for index, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{index}]")
    return found


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            found.append((f"{path.relative_to(DEPLOY)}#{index}", document))
    return found


@pytest.mark.parametrize(("where", "document"), documents(), ids=[w for w, _ in documents()])
def test_each_document_has_only_its_kinds_fields(where: str, document: dict[str, Any]) -> None:
    key = (document.get("apiVersion", ""), document.get("kind", ""))
    assert key in SCHEMAS, f"{where}: {key} is not a kind deploy/ is meant to hold"
    assert set(document) <= {"apiVersion", "kind", "metadata", "spec"}
    assert problems(document.get("metadata"), METADATA, f"{where}.metadata") == []
    assert problems(document.get("spec"), SCHEMAS[key], f"{where}.spec") == []


REFERENCE = re.compile(r"\$\(([a-z]+)\.([^)\[]+?)(?:\.(path|bound))?(\[\*\])?\)")


def declared_names(spec: dict[str, Any], field: str) -> set[str]:
    return {str(entry["name"]) for entry in spec.get(field, [])}


@pytest.mark.parametrize(
    "path", ["tekton/pypack-build.yaml", "tekton/pypack-build-phases.yaml",
             "shipwright/pypack-strategy.yaml"],
)  # fmt: skip
def test_every_reference_names_something_declared(path: str) -> None:
    document = yaml.safe_load((DEPLOY / path).read_text())
    spec = document["spec"]
    params = declared_names(spec, "params") | declared_names(spec, "parameters")
    if document["kind"] == "ClusterBuildStrategy":  # what Shipwright provides
        params |= {"shp-source-root", "shp-source-context", "shp-output-image"}
        results, workspaces = {"shp-image-digest", "shp-image-size"}, {"source"}
    else:
        results, workspaces = declared_names(spec, "results"), declared_names(spec, "workspaces")
    text = yaml.safe_dump(spec)
    seen = REFERENCE.findall(text)
    assert seen
    for group, name, _attribute, _star in seen:
        declared = {"params": params, "results": results, "workspaces": workspaces}[group]
        assert name in declared, f"{path}: $({group}.{name}) names nothing declared"
    step_names = [step["name"] for step in spec["steps"]]
    assert len(set(step_names)) == len(step_names)
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in step_names)


def test_the_pipeline_passes_only_what_its_tasks_declare() -> None:
    pipeline = yaml.safe_load((DEPLOY / "tekton/pipeline.yaml").read_text())
    build_task = yaml.safe_load((DEPLOY / "tekton/pypack-build.yaml").read_text())["spec"]
    (build,) = [t for t in pipeline["spec"]["tasks"] if t["name"] == "build"]
    assert {p["name"] for p in build["params"]} <= declared_names(build_task, "params")
    assert {w["name"] for w in build["workspaces"]} <= declared_names(build_task, "workspaces")
    used = re.findall(r"\$\(tasks\.build\.results\.([A-Z_]+)\)", yaml.safe_dump(pipeline))
    assert set(used) == declared_names(build_task, "results")
