"""The default builder per stack, chosen by the Python the app asks for, and the stack tools
layer that gives the build images uv."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.pack import stack_tools
from pypack.pack.default_builder import DEFAULT_BUILDERS, bundle_key, choose_default_builder


def choose(app: Path) -> tuple[str, list[str]]:
    said: list[str] = []
    return choose_default_builder(app, said.append).name, said


def test_each_default_builder_reads_its_python_from_its_stack() -> None:
    assert [(b.name, b.stack, b.python) for b in DEFAULT_BUILDERS] == [
        ("pypack/builder:default", "debian-bookworm", "3.11"),
        ("pypack/builder:trixie", "debian-trixie", "3.13"),
    ]
    assert len({bundle_key(b) for b in DEFAULT_BUILDERS}) == 2


def test_an_app_that_asks_for_nothing_gets_bookworm_and_is_told_why(tmp_path: Path) -> None:
    name, said = choose(tmp_path)
    assert name == "pypack/builder:default"
    assert said == [
        "No builder given: using pypack/builder:default (Python 3.11; the app asks for no Python "
        "version)"
    ]


@pytest.mark.parametrize(
    ("file", "text", "builder"),
    [
        (".python-version", "3.13\n", "pypack/builder:trixie"),
        (".python-version", "3.11\n", "pypack/builder:default"),
        ("runtime.txt", "python-3.13.0\n", "pypack/builder:trixie"),
        ("pyproject.toml", '[project]\nrequires-python = ">=3.12"\n', "pypack/builder:trixie"),
        ("pyproject.toml", '[project]\nrequires-python = ">=3.10"\n', "pypack/builder:default"),
    ],
)  # fmt: skip
def test_the_first_builder_whose_python_fits_is_chosen(
    tmp_path: Path, file: str, text: str, builder: str
) -> None:
    (tmp_path / file).write_text(text)
    name, said = choose(tmp_path)
    assert name == builder
    assert file in said[0]


def test_no_builder_fits_is_one_line_naming_the_file_and_the_versions(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.14\n")
    with pytest.raises(UserError) as raised:
        choose(tmp_path)
    assert str(raised.value) == (
        ".python-version: asks for Python 3.14, and the default builders have 3.11 "
        "(pypack/builder:default), 3.13 (pypack/builder:trixie); ask for one of those, or give "
        "--builder with a stack that has it"
    )


def _wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("tool-1.0.dist-info/METADATA", "Name: tool\nVersion: 1.0\n")
        wheel.writestr("tool-1.0.data/scripts/tool", b"\x7fELF fake binary")
    return path


def test_the_tools_layer_puts_a_wheels_programs_in_usr_local_bin(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "tool-1.0-py3-none-any.whl")

    def fill(writer: LayerWriter) -> None:
        writer.add_parents("usr/local/bin/")
        writer.add_dir("usr/local/bin")
        stack_tools.add_scripts(writer, wheel)

    write_layer_file(tmp_path / "layer.tar", fill)
    with tarfile.open(tmp_path / "layer.tar") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert list(members) == ["usr", "usr/local", "usr/local/bin", "usr/local/bin/tool"]
        assert members["usr/local/bin/tool"].mode == 0o755
        extracted = tar.extractfile("usr/local/bin/tool")
        assert extracted is not None
        assert extracted.read() == b"\x7fELF fake binary"


def test_a_wheel_without_programs_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "lib-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("lib/__init__.py", "")
    with pytest.raises(UserError, match=r"lib-1.0-py3-none-any.whl carries no programs"):
        write_layer_file(
            tmp_path / "l.tar",
            lambda w: stack_tools.add_scripts(w, tmp_path / "lib-1.0-py3-none-any.whl"),
        )
    assert stack_tools.tools_layer([], tmp_path) is None
