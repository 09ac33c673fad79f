"""pypack/python's choice of dependency source, its key files and its installer lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.buildpacks.python.inputs import Choices, find_dependencies, included_files


def write(app: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text)
    return app


def test_no_declaration_file_means_no_dependencies(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "print(1)\n"})
    assert find_dependencies(tmp_path, Choices()).empty


def test_requirements_includes_are_key_files_and_the_file_goes_to_the_installer(
    tmp_path: Path,
) -> None:
    write(tmp_path, {
        "requirements.txt": "-r base.txt\n--constraint=pins/c.txt\nflask\n",
        "base.txt": "--index-url https://example.invalid/simple\n-r requirements.txt\nrequests\n",
        "pins/c.txt": "requests==2.32.3 --hash=sha256:" + "a" * 64 + "\n",
    })  # fmt: skip
    deps = find_dependencies(tmp_path, Choices())
    assert deps.source == "requirements.txt"
    assert deps.requirement_file == tmp_path / "requirements.txt"
    assert [p.name for p in deps.key_files] == ["requirements.txt", "base.txt", "c.txt"]
    assert not deps.project


def test_a_missing_include_is_one_line_naming_it(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "-r missing.txt\n"})
    with pytest.raises(ValueError, match=r"^missing.txt: included but missing; add it"):
        included_files(tmp_path / "requirements.txt")


def test_locks_win_over_requirements_and_the_others_are_named_unused(tmp_path: Path) -> None:
    write(tmp_path, {
        "uv.lock": "version = 1\n", "requirements.txt": "flask\n",
        "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n',
    })  # fmt: skip
    deps = find_dependencies(tmp_path, Choices())
    assert (deps.source, deps.locked, deps.hashed, deps.unused) == (
        "uv.lock",
        True,
        True,
        ("requirements.txt",),
    )
    assert not deps.project  # no [build-system]: a virtual project, only its dependencies


def test_pep621_app_with_extras_and_dependency_groups(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": """
[project]
name = "svc"
version = "1"
dependencies = ["fastapi>=0.110"]
[project.optional-dependencies]
server = ["uvicorn"]
[dependency-groups]
test = ["pytest"]
prod = ["gunicorn", {include-group = "obs"}]
obs = ["prometheus-client"]
"""})  # fmt: skip
    choices = Choices.from_env({"BP_PYTHON_GROUPS": "prod", "BP_PYTHON_EXTRAS": "server"})
    deps = find_dependencies(tmp_path, choices)
    assert deps.lines == ("fastapi>=0.110", "uvicorn", "gunicorn", "prometheus-client")
    with pytest.raises(ValueError, match=r"BP_PYTHON_EXTRAS names 'db'.*\(server\)"):
        find_dependencies(tmp_path, Choices.from_env({"BP_PYTHON_EXTRAS": "db"}))


def test_a_package_installs_itself_with_its_extras(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
[project]
name = "flaskr"
version = "1"
dependencies = ["flask"]
[project.optional-dependencies]
prod = ["gunicorn"]
"""})  # fmt: skip
    deps = find_dependencies(tmp_path, Choices(extras=("prod",)))
    assert (deps.project, deps.extras, deps.lines) == (True, ("prod",), ())


def test_setup_py_alone_is_a_package(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "from setuptools import setup\nsetup(name='a')\n"})
    deps = find_dependencies(tmp_path, Choices())
    assert (deps.source, deps.project) == ("setup.py", True)


def test_poetry_app_that_is_not_a_package_needs_its_lock(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.poetry]\npackage-mode = false\n'
                     '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^3"\n'})  # fmt: skip
    with pytest.raises(
        ValueError, match=r"^pyproject.toml: .*needs poetry.lock; run `poetry lock`"
    ):
        find_dependencies(tmp_path, Choices())


def test_pipfile_without_lock_gives_unlocked_lines(tmp_path: Path) -> None:
    write(tmp_path, {"Pipfile": '[packages]\nflask = "*"\ngunicorn = ">=22"\n'
                     'rich = {version = "==13.7.1", extras = ["jupyter"]}\n'})  # fmt: skip
    deps = find_dependencies(tmp_path, Choices())
    assert deps.lines == ("flask", "gunicorn>=22", "rich[jupyter]==13.7.1")
    assert not deps.locked


def test_a_broken_pyproject_is_one_line(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project\n", "requirements.txt": "flask\n"})
    with pytest.raises(ValueError, match=r"^pyproject.toml: .*; fix the file$"):
        find_dependencies(tmp_path, Choices())


def test_choices_text_is_sorted_and_deduplicated() -> None:
    choices = Choices.from_env({"BP_PYTHON_GROUPS": "b, a b", "BP_PYTHON_EXTRAS": ""})
    assert choices.text() == "groups=a,b extras="
