"""The TOML/label plumbing: atomic writes, unknown-key reports, key paths in errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pypack.errors import ExitCode, PypackError, SpecError, UserError
from pypack.spec import unknown_keys
from pypack.spec.buildpack_toml import BuildpackDescriptor
from pypack.spec.labels import BuildpackLayersLabel
from pypack.spec.launch_toml import LaunchFile, ProcessEntry
from pypack.spec.lifecycle_metadata import LifecycleMetadataLabel
from pypack.spec.project_toml import load_project
from pypack.spec.store_toml import StoreFile


def test_dump_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "store.toml"
    target.write_text("[metadata]\nold = 1\n")
    StoreFile(metadata={"new": 2}).dump(target)
    assert target.read_text() == "[metadata]\nnew = 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["store.toml"]


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "store.toml"
    target.write_text("[metadata]\nold = 1\n")

    def no_room(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_room)
    with pytest.raises(OSError, match="No space left"):
        StoreFile(metadata={"new": 2}).dump(target)
    assert target.read_text() == "[metadata]\nold = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["store.toml"]


def test_a_value_toml_cannot_hold_is_refused_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "store.toml"
    target.write_text("[metadata]\nold = 1\n")
    with pytest.raises(TypeError):
        StoreFile(metadata={"bad": {1, 2}}).dump(target)
    assert target.read_text() == "[metadata]\nold = 1\n"


def test_unknown_keys_lists_paths() -> None:
    descriptor = BuildpackDescriptor.loads(
        'api = "0.10"\nextra = 1\n[buildpack]\nid = "a"\nhomepag = "x"\n[metadata]\nfree = 1\n'
    )
    assert unknown_keys(descriptor) == ["extra", "buildpack.homepag"]


def test_open_project_tables_are_not_unknown(tmp_path: Path) -> None:
    path = tmp_path / "project.toml"
    path.write_text(
        '[_]\nschema-version = "0.2"\n[io.buildpacks]\nbuildr = "x"\n[com.acme]\na = 1\n'
    )
    assert unknown_keys(load_project(path)) == ["io.buildpacks.buildr"]


def test_label_error_names_the_label_and_map_keys() -> None:
    with pytest.raises(SpecError) as info:
        BuildpackLayersLabel.from_label('{"a/b": {"1.0": {"api": "0.10"}}}')
    assert str(info.value) == 'io.buildpacks.buildpack.layers: "a/b"."1.0".layerDiffID: required'


def test_label_with_bad_json() -> None:
    with pytest.raises(SpecError, match=r"^io\.buildpacks\.lifecycle\.metadata: invalid JSON: "):
        LifecycleMetadataLabel.from_label("{not json")


def test_launch_rules_follow_the_buildpack_api() -> None:
    new = '[[processes]]\ntype = "web"\ncommand = ["node", "app.js"]\n'
    old = '[[processes]]\ntype = "web"\ncommand = "node app.js"\ndirect = false\n'
    api_09 = {
        "buildpack_api": BuildpackDescriptor.loads('api = "0.9"\n[buildpack]\nid = "a"\n').api
    }
    api_08 = {
        "buildpack_api": BuildpackDescriptor.loads('api = "0.8"\n[buildpack]\nid = "a"\n').api
    }
    assert LaunchFile.loads(new, context=api_09).processes[0].command_list == ["node", "app.js"]
    assert LaunchFile.loads(old, context=api_08).processes[0].command_list == ["node app.js"]
    with pytest.raises(
        SpecError, match=r"processes\[0\]: 'direct' is not supported from Buildpack"
    ):
        LaunchFile.loads(old.replace('"node app.js"', '["node"]'), context=api_09)
    with pytest.raises(SpecError, match=r"command must be an array from Buildpack API 0.9"):
        LaunchFile.loads(old.replace("direct = false\n", ""), context=api_09)
    with pytest.raises(SpecError, match=r"command must be a string below Buildpack API 0.9"):
        LaunchFile.loads(new, context=api_08)


def test_errors_carry_exit_codes() -> None:
    error = SpecError("f.toml", "a.b", "required")
    assert isinstance(error, UserError)
    assert isinstance(error, PypackError)
    assert (error.source, error.key, error.problem) == ("f.toml", "a.b", "required")
    assert error.exit_code == ExitCode.GENERIC
    assert SpecError("f", "", "p", exit_code=ExitCode.BUILD).exit_code == 52


@settings(max_examples=60)
@given(
    st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])), max_size=4)
)
def test_process_args_round_trip_any_text(args: list[str]) -> None:
    """tomli-w escapes every control character; the unmaintained toml package corrupted them."""
    launch = LaunchFile(processes=[ProcessEntry(type="web", command=["run"], args=args)])
    assert LaunchFile.loads(launch.dumps()).processes[0].args == args


def test_load_reports_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "buildpack.toml"
    path.mkdir()
    with pytest.raises(SpecError) as info:
        BuildpackDescriptor.load(path)
    assert str(info.value) == f"{path}: cannot read: Is a directory"
