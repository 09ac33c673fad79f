"""pypack/python: a virtualenv with the app's dependencies, reused until they change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

from pypack.buildpacks.sdk import BuildContext, BuildpackError, DetectContext, Detected
from pypack.buildpacks.sdk.layers import cache_key

ENTRY_POINTS = ("app.py", "main.py")


def detect(ctx: DetectContext) -> Detected | None:
    has_python = any(ctx.app_dir.glob("*.py"))
    if ctx.app_file("requirements.txt", "pyproject.toml") is None and not has_python:
        return None
    return Detected(provides=["python"], requires=["python"])


def dependencies(app_dir: Path) -> list[str]:
    """Requirement lines from requirements.txt, else PEP 621 ``[project].dependencies``."""
    requirements = app_dir / "requirements.txt"
    if requirements.is_file():
        lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
        return [line for line in lines if line]
    pyproject = app_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as error:
            raise BuildpackError(f"pyproject.toml: {error}; fix the file") from None
        return [str(d) for d in project.get("dependencies", [])]
    return []


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def build(ctx: BuildContext) -> None:
    python = "python3"
    version = python_version(python)
    requirements = dependencies(ctx.app_dir)
    if requirements:
        install_venv(ctx, python, version, requirements)  # its bin/ has python
    else:
        python_alias(ctx, python)
    if ctx.app_file("Procfile") is None:
        entry = ctx.app_file(*ENTRY_POINTS) or next(iter(sorted(ctx.app_dir.glob("*.py"))), None)
        if entry is not None:
            ctx.launch.process("web", ["python3", entry.name], default=True)


def python_alias(ctx: BuildContext, python: str) -> None:
    """``python`` on PATH at build and launch, next to the image's ``python3``, for an app with
    no dependencies (a Procfile's ``web: python main.py`` must run; Debian has no ``python``)."""
    layer = ctx.layer("python", launch=True, build=True)
    bin_dir = layer.path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "python"
    if not link.is_symlink():
        link.symlink_to(shutil.which(python) or f"/usr/bin/{python}")


def install_venv(ctx: BuildContext, python: str, version: str, requirements: list[str]) -> None:
    venv = ctx.layer("venv", launch=True, build=True, cache=True)
    pip_cache = ctx.layer("pip-cache", cache=True)
    if venv.reuse_if(cache_key(version, "\n".join(requirements))):
        print(f"pypack/python: reusing the virtualenv ({len(requirements)} requirements)")
    else:
        print(f"pypack/python: installing {len(requirements)} requirements with pip")
        subprocess.run([python, "-m", "venv", str(venv.path)], check=True)
        pip_env = {
            **os.environ,
            **{k: v for k, v in ctx.platform_env.items() if k.startswith("PIP_")},
        }
        listed = ctx.layers_dir / "requirements.txt"
        listed.write_text("\n".join(requirements) + "\n")
        done = subprocess.run(
            [
                str(venv.path / "bin" / "pip"),
                "install",
                "--disable-pip-version-check",
                "--cache-dir",
                str(pip_cache.path),
                "-r",
                str(listed),
            ],
            env=pip_env,
            check=False,
        )
        listed.unlink()
        if done.returncode != 0:
            raise BuildpackError(f"pip install failed ({done.returncode}); see its output above")
        venv.metadata["python"] = version
    venv.sbom("cyclonedx", cyclonedx(installed_distributions(venv.path)))
    venv.env.override("VIRTUAL_ENV", venv.path)
    venv.launch_env().default("PYTHONUNBUFFERED", "1")


def installed_distributions(venv: Path) -> list[tuple[str, str]]:
    """(name, version) of every distribution in the venv, read from its dist-info metadata."""
    found = []
    for metadata in sorted(venv.glob("lib/python3*/site-packages/*.dist-info/METADATA")):
        fields = dict(
            line.split(": ", 1) for line in metadata.read_text().splitlines()[:20] if ": " in line
        )
        if "Name" in fields and "Version" in fields:
            found.append((fields["Name"], fields["Version"]))
    return found


def cyclonedx(distributions: list[tuple[str, str]]) -> str:
    """A CycloneDX 1.4 JSON SBOM listing ``distributions`` as PyPI libraries."""
    components = [
        {
            "type": "library",
            "name": name,
            "version": version,
            "purl": f"pkg:pypi/{name.lower().replace('_', '-')}@{version}",
        }
        for name, version in distributions
    ]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "version": 1,
        "components": components,
    }
    return json.dumps(document, indent=2, sort_keys=True)
