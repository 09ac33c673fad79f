"""pypack/python versions.py: the Python version an app asks for, and whether one satisfies it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pypack.buildpacks.python.versions import (
    PythonRequest,
    describe,
    requested_python,
    satisfies,
)

PIPFILE = """\
    [[source]]
    url = "https://index.example.invalid/simple"
    verify_ssl = true
    name = "pypi"

    [packages]
    flask = "*"

    [requires]
    python_version = "3.11"
"""

PIPFILE_LOCK = {
    "_meta": {
        "hash": {"sha256": "ab" * 32},
        "pipfile-spec": 6,
        "requires": {"python_full_version": "3.12.4", "python_version": "3.12"},
        "sources": [
            {"name": "pypi", "url": "https://index.example.invalid/simple", "verify_ssl": True}
        ],
    },
    "default": {},
    "develop": {},
}

PYPROJECT = """\
    [project]
    name = "shop"
    version = "0.1.0"
    requires-python = ">=3.12,<3.14"

    [tool.poetry.dependencies]
    python = "^3.10"
"""

POETRY_ONLY = """\
    [tool.poetry]
    name = "shop"
    version = "0.1.0"
    description = ""
    authors = ["Ops <ops@example.com>"]

    [tool.poetry.dependencies]
    python = "~3.11"
    flask = "^3.0"
"""


def app(tmp_path: Path, **files: str) -> Path:
    """An app directory with the given files, keyed by the short names below."""
    names = {
        "python_version": ".python-version",
        "runtime": "runtime.txt",
        "pipfile_lock": "Pipfile.lock",
        "pipfile": "Pipfile",
        "pyproject": "pyproject.toml",
    }
    for key, text in files.items():
        (tmp_path / names[key]).write_text(textwrap.dedent(text))
    return tmp_path


ALL = {
    "python_version": "# pinned for uv\n\n3.13\n",
    "runtime": "python-3.12.7\n",
    "pipfile_lock": json.dumps(PIPFILE_LOCK, indent=4),
    "pipfile": PIPFILE,
    "pyproject": PYPROJECT,
}


@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        ((), PythonRequest("3.13", ".python-version")),
        (("python_version",), PythonRequest("python-3.12.7", "runtime.txt")),
        (
            ("python_version", "runtime"),
            PythonRequest("3.12.4", "Pipfile.lock _meta.requires.python_full_version"),
        ),
        (
            ("python_version", "runtime", "pipfile_lock"),
            PythonRequest("3.11", "Pipfile [requires] python_version"),
        ),
        (
            ("python_version", "runtime", "pipfile_lock", "pipfile"),
            PythonRequest(">=3.12,<3.14", "pyproject.toml [project] requires-python"),
        ),
    ],
)
def test_precedence_of_version_files(
    tmp_path: Path, removed: tuple[str, ...], expected: PythonRequest
) -> None:
    files = {key: text for key, text in ALL.items() if key not in removed}
    assert requested_python(app(tmp_path, **files)) == expected


def test_poetry_python_dependency_comes_last(tmp_path: Path) -> None:
    assert requested_python(app(tmp_path, pyproject=POETRY_ONLY)) == PythonRequest(
        "~3.11", "pyproject.toml [tool.poetry.dependencies] python"
    )


def test_pipfile_lock_python_version_when_no_full_version(tmp_path: Path) -> None:
    lock = json.loads(json.dumps(PIPFILE_LOCK))
    del lock["_meta"]["requires"]["python_full_version"]
    assert requested_python(app(tmp_path, pipfile_lock=json.dumps(lock))) == PythonRequest(
        "3.12", "Pipfile.lock _meta.requires.python_version"
    )


def test_pipfile_full_version_before_version(tmp_path: Path) -> None:
    pipfile = PIPFILE.replace('python_version = "3.11"', 'python_full_version = "3.11.9"')
    assert requested_python(app(tmp_path, pipfile=pipfile)) == PythonRequest(
        "3.11.9", "Pipfile [requires] python_full_version"
    )


def test_nothing_asked_for(tmp_path: Path) -> None:
    assert requested_python(app(tmp_path, pyproject='[project]\nname = "x"\n')) is None
    assert requested_python(tmp_path / "missing") is None


@pytest.mark.parametrize("line", ["cpython-3.13", "3.13t", "3.13.1"])
def test_python_version_styles_tolerated(tmp_path: Path, line: str) -> None:
    request = requested_python(app(tmp_path, python_version=f"{line}\n3.12\n"))
    assert request == PythonRequest(line, ".python-version")
    assert satisfies(request, "3.13.0")
    assert not satisfies(request, "3.12.8")


@pytest.mark.parametrize("name", ["system", "myproject-venv", "   \n# only comments\n"])
def test_python_version_naming_no_version_is_ignored(tmp_path: Path, name: str) -> None:
    directory = app(tmp_path, python_version=f"{name}\n", runtime="python-3.11.9")
    assert requested_python(directory) == PythonRequest("python-3.11.9", "runtime.txt")


@pytest.mark.parametrize(
    ("files", "name"),
    [
        ({"runtime": "3.13\n"}, "runtime.txt"),
        ({"runtime": ""}, "runtime.txt"),
        ({"pipfile_lock": "{"}, "Pipfile.lock"),
        ({"pipfile": "[requires\n"}, "Pipfile"),
        ({"pyproject": "[project]\nrequires-python = \n"}, "pyproject.toml"),
    ],
)
def test_unparseable_files_are_named(tmp_path: Path, files: dict[str, str], name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name.replace('.', '[.]')}: ") as raised:
        requested_python(app(tmp_path, **files))
    assert "\n" not in str(raised.value)


def test_unparseable_python_version_bytes_are_named(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_bytes(b"\xff\xfe3.13")
    with pytest.raises(ValueError, match=r"^\.python-version: cannot be read"):
        requested_python(tmp_path)


def test_describe() -> None:
    assert (
        describe(PythonRequest("3.13", ".python-version")) == "Python 3.13 (from .python-version)"
    )
    assert describe(PythonRequest("python-3.13.0", "runtime.txt")) == (
        "Python 3.13.0 (from runtime.txt)"
    )
    assert describe(PythonRequest(">=3.12", "pyproject.toml [project] requires-python")) == (
        "Python >=3.12 (from pyproject.toml [project] requires-python)"
    )


def check(
    spec: str, version: str, source: str = "pyproject.toml [project] requires-python"
) -> bool:
    return satisfies(PythonRequest(spec, source), version)


@pytest.mark.parametrize(
    ("spec", "source", "version", "expected"),
    [
        ("3.13", ".python-version", "3.13.0", True),
        ("3.13", ".python-version", "3.13.5", True),
        ("3.13", ".python-version", "3.12.9", False),
        ("3.13", ".python-version", "3.1.3", False),
        ("3.13.1", ".python-version", "3.13.4", True),  # patch cannot be chosen: major.minor
        ("3.13.1", ".python-version", "3.14.1", False),
        ("3", ".python-version", "3.11.2", True),
        ("python-3.11.9", "runtime.txt", "3.11.2", True),
        ("python-3.11.9", "runtime.txt", "3.13.0", False),
        ("3.12", "Pipfile [requires] python_version", "3.12.3", True),
        ("3.12.4", "Pipfile.lock _meta.requires.python_full_version", "3.11.2", False),
    ],
)
def test_bare_versions_match_major_minor(
    spec: str, source: str, version: str, expected: bool
) -> None:
    assert check(spec, version, source) is expected


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        (">=3.12", "3.12.0", True),
        (">=3.12", "3.11.9", False),
        (">= 3.12", "3.13.1", True),
        ("<=3.12", "3.12.0", True),
        ("<=3.12", "3.12.1", False),
        (">3.11", "3.11.0", False),
        (">3.11", "3.11.2", True),
        ("<3.13", "3.12.9", True),
        ("<3.13", "3.13.0", False),
        ("==3.11.2", "3.11.2", True),
        ("==3.11", "3.11.0", True),  # padded with zeros
        ("==3.11", "3.11.2", False),
        ("==3.11.*", "3.11.2", True),
        ("==3.11.*", "3.12.0", False),
        ("!=3.12.*", "3.12.4", False),
        ("!=3.12.*", "3.13.0", True),
        ("!=3.11.2", "3.11.2", False),
        ("!=3.11.2", "3.11.3", True),
        ("~=3.11", "3.13.1", True),
        ("~=3.11", "3.10.9", False),
        ("~=3.11", "4.0.0", False),
        ("~=3.11.2", "3.11.7", True),
        ("~=3.11.2", "3.12.0", False),
        ("===3.11.2", "3.11.2", True),
        ("===3.11", "3.11.0", False),
        (">=3.11,<3.13", "3.12.1", True),
        (">=3.11, <3.13", "3.13.0", False),
        (">=3.9,!=3.11.*,<4", "3.11.2", False),
        (">=3.9,!=3.11.*,<4", "3.13.0", True),
    ],
)
def test_pep440_specifiers(spec: str, version: str, expected: bool) -> None:
    assert check(spec, version) is expected


POETRY = "pyproject.toml [tool.poetry.dependencies] python"


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        ("^3.12", "3.12.0", True),
        ("^3.12", "3.13.1", True),
        ("^3.12", "3.11.9", False),
        ("^3.12", "4.0.0", False),
        ("^0.2", "0.2.5", True),
        ("^0.2", "0.3.0", False),
        ("~3.12", "3.12.8", True),
        ("~3.12", "3.13.0", False),
        ("~3.12.1", "3.12.0", False),
        ("~3", "3.13.0", True),
        ("~3", "4.0.0", False),
        ("3.12.*", "3.12.4", True),
        ("3.12.*", "3.13.0", False),
        ("*", "3.11.2", True),
        ("3.12", "3.12.7", True),
        ("3.12", "3.13.0", False),
        (">=3.11 <3.13", "3.12.0", True),
        (">=3.11 <3.13", "3.13.0", False),
        (">=3.11,<3.12 || >=3.13", "3.13.1", True),
        (">=3.11,<3.12 || >=3.13", "3.12.1", False),
        ("~3.11 | ~3.13", "3.13.0", True),
        ("~3.11 | ~3.13", "3.12.0", False),
        ("=3.11.2", "3.11.2", True),
    ],
)
def test_poetry_constraints(spec: str, version: str, expected: bool) -> None:
    assert check(spec, version, POETRY) is expected


@pytest.mark.parametrize(
    "spec", ["latest", ">=3.12rc1", "~=3", ">=3.*", "3.12,,", ">= ", "^", "||", "3.12 ~"]
)
def test_unparseable_spec_names_the_source(spec: str) -> None:
    with pytest.raises(
        ValueError, match=r"^pyproject\.toml \[tool\.poetry\.dependencies\] python: "
    ):
        check(spec, "3.12.0", POETRY)


@pytest.mark.parametrize(
    ("spec", "version", "differs"),
    [("3.13.1", "3.13.5", True), ("3.13.5", "3.13.5", False), ("3.13", "3.13.5", False),
     (">=3.13.1", "3.13.5", False), ("python-3.11.9", "3.11.2", True)],
)  # fmt: skip
def test_a_patch_asked_for_and_not_had_is_told(spec: str, version: str, differs: bool) -> None:
    from pypack.buildpacks.python.versions import patch_differs

    assert patch_differs(PythonRequest(spec, ".python-version"), version) is differs
