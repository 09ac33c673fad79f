"""``pypack buildpack package`` errors name the package config as the user gave it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.pack.cli import main as cli_main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYPACK_HOME", str(tmp_path / "home"))
    (tmp_path / "pkg").mkdir()
    return tmp_path


def package(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        cli_main(["buildpack", "package", *args])
    assert isinstance(done.value.code, int)
    return done.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[buildpack]\nuri = "missing"\n',
            "pkg/package.toml: buildpack 'missing': pkg/missing has no buildpack.toml",
        ),
        (
            '[buildpack]\nuri = "bp"\n',
            "pkg/package.toml: pkg/bp/buildpack.toml: buildpack.version is required; add e.g. "
            'version = "1.0.0" under [buildpack]',
        ),
        (
            '[extension]\nuri = "bp"\n',
            "pkg/package.toml: only buildpacks can be packaged (not extensions) so far",
        ),
    ],
)
def test_errors_name_the_package_config_and_what_it_points_at(
    workdir: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    (workdir / "pkg" / "bp").mkdir()
    (workdir / "pkg" / "bp" / "buildpack.toml").write_text(
        'api = "0.10"\n[buildpack]\nid = "t/bp"\n'
    )
    (workdir / "pkg" / "package.toml").write_text(config)
    code, err = package(capsys, "out.cnb", "--config", "pkg/package.toml", "--format", "file")
    assert (code, err) == (1, f"ERROR: {message}\n")
    assert not (workdir / "out.cnb").exists()
