"""What the lifecycle needs from PyPI-style indexes for a build image's Python, how its wheels
are kept, and how they go into the lifecycle layer."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import io
import json
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import pypack
from pypack.errors import ServiceError, UserError
from pypack.lifecycle.phases.export import SBOM_EXTENSIONS
from pypack.oci.layers import LayerWriter
from pypack.pack import lifecycle_wheels
from pypack.pack.image_python import Interpreter
from pypack.pack.lifecycle_layer import add_lifecycle, add_wheel
from pypack.pack.lifecycle_sbom import lifecycle_sbom_files
from pypack.pack.lifecycle_wheels import (
    PLATFORM_ONLY,
    Plan,
    check_supported,
    lifecycle_requirements,
    marker_environment,
    pip_download_command,
)

TRIXIE = Interpreter("/usr/bin/python3.13", (3, 13), "cp313", "x86_64", "glibc", (2, 41))
LIFECYCLE_PACKAGES = ("lifecycle", "oci", "spec")
"""What the lifecycle imports of pypack (plus its top-level modules); the import-layer
contracts keep it so."""


def names(lines: list[str]) -> set[str]:
    return {canonicalize_name(line.split("==")[0]) for line in lines}


def test_requirements_are_pinned_to_this_environment_without_platform_only_ones() -> None:
    lines = lifecycle_requirements(TRIXIE)
    assert lines == sorted(lines)
    assert {"pydantic", "pydantic-core", "requests", "docker", "tomli-w"} <= names(lines)
    assert not names(lines) & PLATFORM_ONLY
    for line in lines:
        name, _, version = line.partition("==")
        assert version == importlib.metadata.version(name), line


def test_the_requirements_are_what_the_lifecycle_imports() -> None:
    """Every third-party module the lifecycle's code imports comes from a requirement, and every
    direct requirement is imported by it (nothing rides along for the CLI's sake)."""
    root = Path(pypack.__file__).parent
    sources = sorted(root.glob("*.py"))
    for package in LIFECYCLE_PACKAGES:
        sources += sorted((root / package).rglob("*.py"))
    imported: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"pypack", "__future__"}
    providers = importlib.metadata.packages_distributions()
    distributions = {canonicalize_name(providers[module][0]) for module in third_party}
    needed = names(lifecycle_requirements(TRIXIE))
    assert distributions <= needed
    requirements = [
        Requirement(line)
        for line in importlib.metadata.requires(lifecycle_wheels.DISTRIBUTION) or []
    ]
    direct = {canonicalize_name(r.name) for r in requirements if r.marker is None}
    assert direct - PLATFORM_ONLY <= distributions


def test_markers_are_evaluated_for_the_image_python() -> None:
    requires = [
        'typing-extensions>=4; python_version >= "3.13"',
        'colorama; sys_platform == "win32"',
        'zzz-not-installed-here>=1.2; python_version < "3.12"',
        "idna; extra == 'socks'",
    ]
    on_313 = Plan(marker_environment(TRIXIE))
    on_313.add(requires, (), frozenset())
    version = importlib.metadata.version("typing-extensions")
    assert on_313.lines == {"typing-extensions": f"typing-extensions=={version}"}
    old = Interpreter("/usr/bin/python3.11", (3, 11), "cp311", "x86_64", "glibc", (2, 36))
    on_311 = Plan(marker_environment(old))
    on_311.add(requires, ("socks",), frozenset())
    assert on_311.lines["zzz-not-installed-here"] == "zzz-not-installed-here>=1.2"
    assert on_311.open == ["zzz-not-installed-here"]
    assert "typing-extensions" not in on_311.lines
    assert "idna" in on_311.lines  # asked for with the extra


def test_an_older_python_than_requires_python_is_a_one_line_error() -> None:
    old = Interpreter("/usr/bin/python3.9", (3, 9), "cp39", "x86_64", "glibc", (2, 31))
    with pytest.raises(UserError) as caught:
        check_supported(old, "build image example/build:1")
    assert str(caught.value) == (
        "build image example/build:1 has Python 3.9 (/usr/bin/python3.9); the pypack lifecycle "
        "needs Python >=3.11: use a build image with a newer python3"
    )
    check_supported(TRIXIE, "build image x")
    check_supported(
        Interpreter("/usr/bin/python3.11", (3, 11), "cp311", "x86_64", "glibc", (2, 36)), "y"
    )


def write_wheel(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, data)
    return path


def demo_wheel(directory: Path) -> Path:
    return write_wheel(
        directory / "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
        {
            "demo/__init__.py": (b"", 0o644),
            "demo/_native.cpython-313-x86_64-linux-gnu.so": (b"\x7fELF", 0o755),
            "demo/__pycache__/__init__.cpython-313.pyc": (b"", 0o644),
            "demo-1.0.data/purelib/demo_extra.py": (b"x = 1\n", 0o644),
            "demo-1.0.data/scripts/demo": (b"#!python\n", 0o755),
            "demo-1.0.dist-info/METADATA": (b"Name: demo\nVersion: 1.0\n", 0o644),
        },
    )


def layer_members(fill: object) -> dict[str, tarfile.TarInfo]:
    out = io.BytesIO()
    writer = LayerWriter(out)
    fill(writer)  # type: ignore[operator]
    writer.close()
    out.seek(0)
    with tarfile.open(fileobj=out) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_a_wheel_installs_into_lib_as_pip_target_would(tmp_path: Path) -> None:
    wheel = demo_wheel(tmp_path)
    members = layer_members(lambda w: add_wheel(w, wheel, "cnb/lifecycle/lib", set()))
    lib = "cnb/lifecycle/lib"
    assert sorted(name for name, m in members.items() if m.isfile()) == [
        f"{lib}/demo-1.0.dist-info/METADATA",
        f"{lib}/demo/__init__.py",
        f"{lib}/demo/_native.cpython-313-x86_64-linux-gnu.so",
        f"{lib}/demo_extra.py",
    ]
    assert members[f"{lib}/demo/_native.cpython-313-x86_64-linux-gnu.so"].mode == 0o755
    assert members[f"{lib}/demo/__init__.py"].mode == 0o644
    assert {m.uid for m in members.values()} == {0}


def test_a_wheel_member_leaving_lib_is_refused(tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path / "evil-1.0-py3-none-any.whl", {"../../etc/x": (b"", 0o644)})
    with pytest.raises(ServiceError, match="unsafe member name"):
        layer_members(lambda w: add_wheel(w, wheel, "cnb/lifecycle/lib", set()))


def test_the_lifecycle_layer_starts_phases_with_the_image_python(tmp_path: Path) -> None:
    wheel = demo_wheel(tmp_path)
    members = layer_members(lambda w: add_lifecycle(w, "/usr/bin/python3.13", [wheel]))
    assert "cnb/lifecycle/lib/pypack/lifecycle/main.py" in members
    assert "cnb/lifecycle/lib/demo/__init__.py" in members
    assert not [name for name in members if name.endswith(".pyc")]
    assert members["cnb/lifecycle/detector"].mode == 0o755
    assert members["cnb/lifecycle/launcher"].isfile()


def test_the_lifecycle_layer_carries_its_sboms(tmp_path: Path) -> None:
    """The files the exporter copies into app images from Platform 0.11 (else it warns)."""
    wheel = demo_wheel(tmp_path)
    files = lifecycle_sbom_files([wheel])
    members = layer_members(lambda w: add_lifecycle(w, "/usr/bin/python3.13", [wheel]))
    for component in ("lifecycle", "launcher"):
        for extension in SBOM_EXTENSIONS:
            assert members[f"cnb/lifecycle/{component}.{extension}"].mode == 0o644
    cyclonedx = json.loads(files["lifecycle.sbom.cdx.json"])
    assert cyclonedx["bomFormat"] == "CycloneDX"
    purls = {c["purl"] for c in cyclonedx["components"]}
    assert purls == {f"pkg:pypi/pypack-cnb@{pypack.__version__}", "pkg:pypi/demo@1.0"}
    spdx = json.loads(files["launcher.sbom.spdx.json"])
    assert [p["name"] for p in spdx["packages"]] == ["pypack-cnb"]
    assert files == lifecycle_sbom_files([wheel]), "reproducible"


def fake_index(directory: Path, interpreter: Interpreter) -> Path:
    """A find-links directory with a pure wheel for every lifecycle requirement (pip reads their
    metadata, so they are well-formed; their code is empty)."""
    directory.mkdir()
    for line in lifecycle_requirements(interpreter):
        name, _, version = line.partition("==")
        stem = f"{name.replace('-', '_')}-{version}"
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        wheel = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        write_wheel(
            directory / f"{stem}-py3-none-any.whl",
            {
                f"{stem}.dist-info/METADATA": (metadata, 0o644),
                f"{stem}.dist-info/WHEEL": (wheel, 0o644),
                f"{stem}.dist-info/RECORD": (b"", 0o644),
            },
        )
    return directory


@pytest.fixture
def offline_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This environment's pip, with no configuration and no index: only a find-links folder."""
    links = tmp_path / "links"
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    return links


def test_wheels_are_fetched_once_per_interpreter_and_kept(
    tmp_path: Path, offline_pip: Path
) -> None:
    fake_index(offline_pip, TRIXIE)
    cache = tmp_path / "lifecycle-wheels"
    stale = cache / f"{TRIXIE.key}-000000000000"  # a set an older pypack fetched
    stale.mkdir(parents=True)
    other = cache / "cp311-manylinux_2_36_x86_64-000000000000"
    other.mkdir()
    work = tmp_path / "work"
    said: list[str] = []
    first = lifecycle_wheels.lifecycle_wheels(TRIXIE, cache, work, said.append)
    assert len(said) == 1
    assert said[0].startswith("Fetching the lifecycle's ")
    assert "for Python 3.13 (cp313-manylinux_2_41_x86_64)" in said[0]
    assert {w.name.split("-")[0] for w in first} == {
        name.replace("-", "_") for name in names(lifecycle_requirements(TRIXIE))
    }
    (kept,) = [p for p in cache.iterdir() if p.name.startswith(TRIXIE.key)]
    assert kept != stale
    assert other.is_dir()  # another Python's set stays
    assert (kept / "requirements.txt").read_text().splitlines() == lifecycle_requirements(TRIXIE)
    assert not list((work / "pip-tmp").iterdir())
    again = lifecycle_wheels.lifecycle_wheels(TRIXIE, cache, work, said.append)
    assert again == first
    assert len(said) == 1  # nothing fetched the second time


def test_a_failed_download_is_one_line_and_leaves_no_partial_set(
    tmp_path: Path, offline_pip: Path
) -> None:
    offline_pip.mkdir()
    cache = tmp_path / "lifecycle-wheels"
    with pytest.raises(ServiceError) as caught:
        lifecycle_wheels.lifecycle_wheels(TRIXIE, cache, tmp_path / "work")
    message = str(caught.value)
    assert message.startswith("lifecycle wheels for Python 3.13 (cp313-manylinux_2_41_x86_64): ")
    assert "pip download failed: ERROR: No matching distribution found for " in message
    assert "\n" not in message
    assert list(cache.iterdir()) == []


def test_a_cached_wheel_of_another_platform_is_refused(tmp_path: Path) -> None:
    recipe = "\n".join(lifecycle_requirements(TRIXIE))
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    target = tmp_path / "lifecycle-wheels" / f"{TRIXIE.key}-{digest}"
    target.mkdir(parents=True)
    write_wheel(target / "b-1.0-cp313-cp313-musllinux_1_1_x86_64.whl", {"b.py": (b"", 0o644)})
    (target / "requirements.txt").write_text(recipe + "\n")
    with pytest.raises(ServiceError, match="not a wheel for cp313-manylinux_2_41_x86_64"):
        lifecycle_wheels.lifecycle_wheels(TRIXIE, tmp_path / "lifecycle-wheels", tmp_path)


def test_pip_is_asked_for_the_image_python_and_every_platform(tmp_path: Path) -> None:
    command = pip_download_command(TRIXIE, ["pydantic==2.14.4"], tmp_path)
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    for flag in ("--no-deps", "--only-binary=:all:", "--no-cache-dir"):
        assert flag in command
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("--abi") + 1] == "cp313"
    assert command[command.index("--dest") + 1] == str(tmp_path)
    platforms = [arg.split("=", 1)[1] for arg in command if arg.startswith("--platform=")]
    assert platforms == list(TRIXIE.platforms)
    assert command[-1] == "pydantic==2.14.4"
