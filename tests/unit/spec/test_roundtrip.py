"""Every model loads realistic files and labels, and survives load → dump → load unchanged."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pypack.spec import Document, Label
from pypack.spec.analyzed_toml import AnalyzedFile
from pypack.spec.build_plan import DetectPlan
from pypack.spec.build_toml import BuildFile
from pypack.spec.builder_toml import BuilderConfig
from pypack.spec.buildpack_plan import BuildpackPlan
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.extension_toml import ExtensionDescriptor
from pypack.spec.group_toml import GroupFile
from pypack.spec.labels import (
    BuilderMetadataLabel,
    BuildpackageMetadataLabel,
    BuildpackLayersLabel,
    BuildpackOrderLabel,
)
from pypack.spec.launch_toml import LaunchFile
from pypack.spec.layer_toml import LayerFile
from pypack.spec.lifecycle_metadata import LifecycleMetadataLabel
from pypack.spec.lifecycle_toml import LifecycleApisLabel, LifecycleDescriptor
from pypack.spec.metadata_toml import BuildMetadata, BuildMetadataLabel
from pypack.spec.order_toml import OrderFile
from pypack.spec.package_toml import PackageConfig
from pypack.spec.plan_toml import PlanFile
from pypack.spec.project_metadata import ProjectMetadataFile, ProjectMetadataLabel
from pypack.spec.project_toml import ProjectV01, ProjectV02, load_project, parse_project
from pypack.spec.report_toml import ReportFile
from pypack.spec.run_toml import RunFile
from pypack.spec.stack_toml import StackFile
from pypack.spec.store_toml import StoreFile
from pypack.spec.system_toml import SystemFile

TOML = Path(__file__).parents[2] / "data" / "spec" / "toml"
LABELS = Path(__file__).parents[2] / "data" / "spec" / "labels"

DOCUMENTS: dict[str, type[Document]] = {
    "buildpack.component.toml": BuildpackDescriptor,
    "buildpack.composite.toml": BuildpackDescriptor,
    "buildpack.stacks.toml": BuildpackDescriptor,
    "extension.toml": ExtensionDescriptor,
    "order.toml": OrderFile,
    "group.toml": GroupFile,
    "plan.toml": PlanFile,
    "detect-plan.toml": DetectPlan,
    "buildpack-plan.toml": BuildpackPlan,
    "layer.toml": LayerFile,
    "launch.toml": LaunchFile,
    "launch.api08.toml": LaunchFile,
    "build.toml": BuildFile,
    "store.toml": StoreFile,
    "analyzed.toml": AnalyzedFile,
    "metadata.toml": BuildMetadata,
    "report.toml": ReportFile,
    "report.daemon.toml": ReportFile,
    "run.toml": RunFile,
    "stack.toml": StackFile,
    "system.toml": SystemFile,
    "project-metadata.toml": ProjectMetadataFile,
    "package.toml": PackageConfig,
    "lifecycle.toml": LifecycleDescriptor,
    "builder.toml": BuilderConfig,
    "builder.stack.toml": BuilderConfig,
    "project.v01.toml": ProjectV01,
    "project.v02.toml": ProjectV02,
    "project.v02-legacy-env.toml": ProjectV02,
    # Files other tools write, with keys these models do not know: read and kept, as the
    # reference's Go decoder reads them (it ignores them).
    "analyzed.newer.toml": AnalyzedFile,
    "group.newer.toml": GroupFile,
    "plan.newer.toml": PlanFile,
    "layer.newer.toml": LayerFile,
    "report.newer.toml": ReportFile,
    "order.newer.toml": OrderFile,
}

LABEL_MODELS: dict[str, type[Label]] = {
    "io.buildpacks.lifecycle.metadata": LifecycleMetadataLabel,
    "io.buildpacks.build.metadata": BuildMetadataLabel,
    "io.buildpacks.project.metadata": ProjectMetadataLabel,
    "io.buildpacks.builder.metadata": BuilderMetadataLabel,
    "io.buildpacks.buildpack.layers": BuildpackLayersLabel,
    "io.buildpacks.buildpackage.metadata": BuildpackageMetadataLabel,
    "io.buildpacks.buildpack.order": BuildpackOrderLabel,
    "io.buildpacks.lifecycle.apis": LifecycleApisLabel,
}


def test_every_fixture_has_a_model() -> None:
    assert sorted(p.name for p in TOML.glob("*.toml")) == sorted(DOCUMENTS)
    assert sorted(p.stem for p in LABELS.glob("*.json")) == sorted(LABEL_MODELS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_toml_round_trip(name: str, tmp_path: Path) -> None:
    model = DOCUMENTS[name]
    first = model.load(TOML / name)
    written = tmp_path / name
    first.dump(written)
    second = model.load(written)
    assert second == first
    assert second.dumps() == first.dumps()


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_toml_dump_keeps_every_value_read(name: str) -> None:
    """What was read is what is written: no key renamed, no value lost (defaults may be added)."""
    original = tomllib.loads((TOML / name).read_text())
    dumped = tomllib.loads(DOCUMENTS[name].load(TOML / name).dumps())
    assert _contains(dumped, original), f"{name}: dumped TOML lost or changed values"


def _contains(big: object, small: object) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(
            k in big and _contains(big[k], v) for k, v in small.items()
        )
    if isinstance(small, list):
        return (
            isinstance(big, list)
            and len(big) == len(small)
            and all(_contains(b, s) for b, s in zip(big, small, strict=True))
        )
    return big == small


@pytest.mark.parametrize("name", sorted(LABEL_MODELS))
def test_label_round_trip_keeps_json_keys(name: str) -> None:
    model = LABEL_MODELS[name]
    assert model.label_name == name
    text = (LABELS / f"{name}.json").read_text()
    label = model.from_label(text)
    again = model.from_label(label.to_label())
    assert again == label
    assert _contains(json.loads(label.to_label()), _without_nulls(json.loads(text)))


def _without_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_lifecycle_metadata_spells_keys_per_format() -> None:
    """TOML (analyzed.toml) says run-image/top-layer/metadata; the label runImage/topLayer/data."""
    analyzed = AnalyzedFile.load(TOML / "analyzed.toml")
    toml_text = analyzed.dumps()
    for key in (
        "[metadata.run-image]",
        "top-layer =",
        "[metadata.buildpacks.layers.cpython.metadata]",
    ):
        assert key in toml_text
    label = LifecycleMetadataLabel.model_validate(analyzed.metadata.model_dump())
    data = json.loads(label.to_label())
    assert data["runImage"]["topLayer"] == analyzed.metadata.run_image.top_layer
    assert data["buildpacks"][0]["layers"]["cpython"]["data"] == {"version": "3.12.7"}
    assert data["stack"] == {
        "runImage": {
            "image": "registry.example.com/stacks/run:bookworm",
            "mirrors": ["mirror.example.com/stacks/run:bookworm"],
        }
    }
    assert data["process-types"]["sha"].startswith("sha256:5e6f")
    assert "run-image" not in data
    assert "top-layer" not in json.dumps(data)


def test_process_buildpack_id_spelling() -> None:
    metadata = BuildMetadata.load(TOML / "metadata.toml")
    assert 'buildpack-id = "example/python-runtime"' in metadata.dumps()
    label = BuildMetadataLabel.model_validate(metadata.model_dump(exclude={"labels", "slices"}))
    processes = json.loads(label.to_label())["processes"]
    assert processes[0]["buildpackID"] == "example/python-runtime"
    assert "buildpack-id" not in processes[0]
    assert processes[0]["working-dir"] == "/workspace/src"


def test_target_variant_spellings() -> None:
    """buildpack.toml writes ``variant`` (spec, pack); analyzed.toml ``arch-variant`` (lc)."""
    descriptor = BuildpackDescriptor.load(TOML / "buildpack.component.toml")
    assert descriptor.targets is not None
    assert descriptor.targets[1].variant == "v8"
    assert "variant = " in descriptor.dumps()
    assert "arch-variant" not in descriptor.dumps()
    lc_style = BuildpackDescriptor.loads(
        'api = "0.12"\n[buildpack]\nid = "a"\n[[targets]]\nos = "linux"\narch-variant = "v7"\n'
    )
    assert lc_style.targets is not None
    assert lc_style.targets[0].variant == "v7"
    analyzed = AnalyzedFile.load(TOML / "analyzed.toml")
    assert analyzed.run_image
    assert analyzed.run_image.target
    assert analyzed.run_image.target.arch_variant == "v8"
    assert 'arch-variant = "v8"' in analyzed.dumps()


def test_exec_env_spellings_agree() -> None:
    lc = 'api = "0.12"\n[buildpack]\nid = "a"\nexec-env = ["test"]\n'
    spec = 'api = "0.12"\n[buildpack]\nid = "a"\n[[buildpack.exec-env]]\nname = "test"\n'
    assert BuildpackDescriptor.loads(lc) == BuildpackDescriptor.loads(spec)
    assert BuildpackDescriptor.loads(spec).buildpack.exec_env == ["test"]


def test_composite_buildpack_order() -> None:
    descriptor = BuildpackDescriptor.load(TOML / "buildpack.composite.toml")
    assert descriptor.is_composite
    assert descriptor.order is not None
    assert [len(g.group) for g in descriptor.order] == [5, 3, 2]
    first = descriptor.order[0].group
    assert (first[0].id, first[0].optional) == ("example/ca-certificates", True)
    assert first[1].full_name == "example/python-runtime@1.4.2"
    assert not BuildpackDescriptor.load(TOML / "buildpack.component.toml").is_composite


def test_layer_toml_keeps_native_toml_values() -> None:
    layer = LayerFile.load(TOML / "layer.toml")
    built_at = tomllib.loads(layer.dumps())["metadata"]["built-at"]
    assert built_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert not layer.ignored
    assert LayerFile.loads("[metadata]\nx = 1\n").ignored


def test_launch_toml_keeps_control_characters() -> None:
    launch = LaunchFile.load(TOML / "launch.toml")
    args = launch.processes[2].args
    assert args is not None
    assert args[2] == "\x1b[1mbold\x1b[0m"
    assert LaunchFile.loads(launch.dumps()).processes[2].args == args


def test_builder_merges_stack_and_new_keys() -> None:
    new = BuilderConfig.load(TOML / "builder.toml")
    assert new.build_image == "registry.example.com/stacks/build:bookworm"
    assert [image.image for image in new.run_images] == ["registry.example.com/stacks/run:bookworm"]
    assert new.run_images[0].mirrors == [
        "mirror-a.example.com/stacks/run:bookworm",
        "mirror-b.example.com/stacks/run:bookworm",
    ]
    assert new.build
    assert [env.file_name for env in new.build.env] == [
        "PIP_INDEX_URL",
        "PATH.prepend",
        "BP_LOG_LEVEL.default",
    ]
    old = BuilderConfig.load(TOML / "builder.stack.toml")
    assert old.build_image == "example/build:jammy"
    assert old.run_images[0].image == "example/run:jammy"
    assert old.run_images[0].mirrors == ["mirror.example.com/run:jammy"]


def test_project_schemas_normalize_alike() -> None:
    v01 = load_project(TOML / "project.v01.toml")
    v02 = load_project(TOML / "project.v02.toml")
    assert isinstance(v01, ProjectV01)
    assert isinstance(v02, ProjectV02)
    one = v01.normalized()
    assert (one.schema_version, one.exclude, one.include) == (
        "0.1",
        ["*.log", "tmp/", "/docs"],
        None,
    )
    assert [(e.name, e.value) for e in one.env] == [("BP_PYTHON_VERSION", "3.12")]
    assert [b.uri for b in one.buildpacks] == [None, "../local-buildpack"]
    two = v02.normalized()
    assert two.schema_version == "0.2"
    assert two.builder == "registry.example.com/builders/bookworm:latest"
    assert two.include == ["src/", "requirements.txt", "Procfile"]
    assert two.buildpacks[1].script
    assert two.buildpacks[1].script.shell == "/bin/sh"
    assert [b.uri for b in two.pre] == ["docker://registry.example.com/buildpacks/certs:1.0.0"]
    assert [b.id for b in two.post] == ["example/image-labels"]
    assert two.metadata == {"owner": "team-shop"}
    assert "[com.example.deploy]" in v02.dumps()
    assert "[_]" in v02.dumps()
    legacy = load_project(TOML / "project.v02-legacy-env.toml").normalized()
    assert [(e.name, e.value) for e in legacy.env] == [("JAVA_OPTS", "-Xmx512m")]


def test_project_schema_03_reads_exec_env() -> None:
    data = {
        "_": {"schema-version": "0.3"},
        "io": {"buildpacks": {"group": [{"id": "a/b", "exec-env": ["test"]}]}},
    }
    project = parse_project(data)
    assert project.normalized().buildpacks[0].exec_env == ["test"]


def test_buildpack_layers_lookup() -> None:
    layers = BuildpackLayersLabel.from_label(
        (LABELS / "io.buildpacks.buildpack.layers.json").read_text()
    )
    only = layers.get("example/python-runtime")
    assert only is not None
    assert only.layer_diff_id.startswith("sha256:5f6a")
    composite = layers.get("example/python", "3.2.0")
    assert composite is not None
    assert composite.order is not None
    assert composite.order[0].group[1].optional
    assert layers.get("example/python", "9.9.9") is None


def test_builder_label_reads_pack_license_spelling() -> None:
    """pack writes licenses without JSON tags (``Type``/``URI``); both spellings are read."""
    text = (LABELS / "io.buildpacks.builder.metadata.json").read_text()
    text = text.replace('"type"', '"Type"').replace('"uri"', '"URI"')
    assert '"Type"' in text
    label = BuilderMetadataLabel.from_label(text)
    licenses = label.buildpacks[0].licenses
    assert licenses is not None
    assert licenses[0].type == "Apache-2.0"
    assert label.created_by.name == "Pack CLI"
    assert '"createdBy"' in label.to_label()
    assert label.lifecycle.apis.platform.supported[-1].at_least("0.15")
