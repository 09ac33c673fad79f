"""The two console scripts answer --version, and the lifecycle dispatches like the Go binary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pypack import __version__
from pypack.errors import ExitCode
from pypack.lifecycle.main import PHASES
from pypack.lifecycle.main import main as lifecycle_main

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("script", "expected"),
    [("pypack", f"pypack {__version__}\n"), ("pypack-lifecycle", f"{__version__}\n")],
)
def test_console_scripts_print_version(script: str, expected: str) -> None:
    result = subprocess.run(
        [BIN / script, "--version"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


@pytest.mark.parametrize("phase", PHASES)
def test_lifecycle_answers_to_phase_names(phase: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert lifecycle_main([f"/cnb/lifecycle/{phase}", "-version"]) == 0
    assert lifecycle_main(["pypack-lifecycle", phase, "-version"]) == 0
    assert capsys.readouterr().out == f"{__version__}\n" * 2


def test_lifecycle_rejects_unknown_phase(capsys: pytest.CaptureFixture[str]) -> None:
    assert lifecycle_main(["pypack-lifecycle", "exporterr"]) == ExitCode.INVALID_ARGS
    err = capsys.readouterr().err
    assert err.startswith("ERROR: unknown phase 'exporterr'; use one of: analyzer, detector")
    assert err.count("\n") == 1


def test_lifecycle_link_named_after_a_phase(tmp_path: Path) -> None:
    link = tmp_path / "detector"
    link.symlink_to(BIN / "pypack-lifecycle")
    result = subprocess.run([link, "-version"], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, f"{__version__}\n")


def test_lifecycle_does_not_import_cli_libraries() -> None:
    """The lifecycle runs inside builder images: click and rich must stay out of its imports."""
    code = (
        "import sys, pypack.lifecycle.main, pypack.spec.registry;"
        "print(sorted(m for m in ('click', 'rich', 'docker') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


def test_version_starts_without_heavy_imports() -> None:
    code = (
        "import sys; from pypack.pack import cli;"
        "print(sorted(m for m in ('rich', 'docker', 'pydantic', 'requests') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout == "[]\n"


@pytest.mark.parametrize("argv", [["buildpack", "ls"], ["buildpack", "new", "--help"]])
def test_light_commands_run_without_heavy_imports(argv: list[str]) -> None:
    code = (
        "import sys; from pypack.pack import cli\n"
        f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = ('rich', 'docker', 'pydantic', 'requests')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stderr.splitlines()[-1] == "[]"
