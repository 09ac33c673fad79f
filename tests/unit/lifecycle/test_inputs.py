"""Where the phases read and write when the platform names nothing: the reference defaults."""

from __future__ import annotations

from pathlib import Path

from pypack.lifecycle.cmd.common import lifecycle_paths
from pypack.lifecycle.flags import Parsed
from pypack.lifecycle.inputs import LifecyclePaths
from pypack.spec.api import ApiVersion


def test_files_default_to_the_layers_directory(tmp_path: Path) -> None:
    paths = LifecyclePaths(layers=tmp_path)
    assert paths.analyzed_file == tmp_path / "analyzed.toml"
    assert paths.group_file == tmp_path / "group.toml"
    assert paths.plan_file == tmp_path / "plan.toml"
    assert paths.report_file == tmp_path / "report.toml"
    assert paths.project_metadata_file == tmp_path / "project-metadata.toml"
    assert LifecyclePaths(layers=tmp_path, group=tmp_path / "g.toml").group_file == (
        tmp_path / "g.toml"
    )


def test_the_order_in_the_layers_directory_wins_over_the_builders(tmp_path: Path) -> None:
    paths = LifecyclePaths(layers=tmp_path)
    assert paths.order_file == Path("/cnb/order.toml")
    (tmp_path / "order.toml").write_text("")
    assert paths.order_file == tmp_path / "order.toml"
    assert LifecyclePaths(layers=tmp_path, order=Path("/x.toml")).order_file == Path("/x.toml")


def test_flags_name_paths_and_system_toml_needs_platform_0_15() -> None:
    parsed = Parsed(values={"app": "/src", "layers": "/l", "report": "/out/r.toml"}, args=[])
    paths = lifecycle_paths(parsed, ApiVersion.parse("0.14"))
    assert (paths.app, paths.layers, paths.report_file) == (
        Path("/src"),
        Path("/l"),
        Path("/out/r.toml"),
    )
    assert paths.system is None
    assert lifecycle_paths(parsed, ApiVersion.parse("0.15")).system == Path("/cnb/system.toml")
    assert paths.buildpacks == (Path("/cnb/buildpacks"),)
