"""pypack/python: the app's dependencies in a venv layer, the Python the app asks for, and a
start command that serves it.

- The dependency source is the most exact file the app has (``inputs``): a lock is installed
  exactly as locked, the app itself when it is a package.
- The venv is reused only while its key holds: the declaration files, the Python version and
  ABI, the installer and its version, the chosen groups and extras, the index settings without
  credentials. Unchanged: no installer process starts. Changed: a fresh venv from the warm
  download cache layer, so nothing removed lingers.
- Without a Procfile, the start command is inferred (``start``); none found is a warning that
  names what was looked for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pypack.buildpacks.python.bindings import binding_root, read_bindings
from pypack.buildpacks.python.django import collectstatic
from pypack.buildpacks.python.failures import explain, redact
from pypack.buildpacks.python.inputs import SOURCES, Choices, Dependencies, find_dependencies
from pypack.buildpacks.python.installer import TRUE, Installer, Run
from pypack.buildpacks.python.locks import normalize
from pypack.buildpacks.python.sbom import cyclonedx, installed, pinned_hashes
from pypack.buildpacks.python.start import LOOKED_FOR, find_start
from pypack.buildpacks.python.versions import (
    describe,
    patch_differs,
    requested_python,
    satisfies,
)
from pypack.buildpacks.sdk import BuildContext, BuildpackError, DetectContext, Detected
from pypack.buildpacks.sdk.layers import Layer, cache_key

MARKERS = (*SOURCES, ".python-version", "runtime.txt")
PYTHON = "python3"


def detect(ctx: DetectContext) -> Detected | None:
    if ctx.app_file(*MARKERS) is None and not any(ctx.app_dir.glob("*.py")):
        return None
    return Detected(provides=["python"], requires=["python"])


def interpreter() -> tuple[str, str]:
    """The image's ``python3``: its version (``3.11.2``) and the key of its ABI."""
    done = subprocess.run(
        [PYTHON, "-c", "import sys, sysconfig; print(sys.version.split()[0]); "
         "print(sys.version, sysconfig.get_config_var('SOABI'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    version, abi = done.stdout.splitlines()[:2]
    return version, abi


def check_version(app_dir: Path, version: str) -> str:
    """Where the version in use comes from, for messages; a one-line error when the app asks
    for a Python this image does not have."""
    try:
        request = requested_python(app_dir)
    except ValueError as error:
        raise BuildpackError(str(error)) from None
    if request is None:
        return f"Python {version}, the build image's (the app asks for no version)"
    if not satisfies(request, version):
        raise BuildpackError(
            f"{request.source}: asks for Python {request.spec}; this builder's image has "
            f"{version} (pypack/builder:default has 3.11, pypack/builder:trixie 3.13); ask for "
            "that, or build with a builder that has it"
        )
    if patch_differs(request, version):
        print(
            f"pypack/python: warning: {request.source} asks for Python {request.spec}; the "
            f"image's {version} is used (the same minor version; its patch cannot be chosen)",
            file=sys.stderr,
        )
    return f"Python {version}, which satisfies {describe(request)}"


def build(ctx: BuildContext) -> None:
    version, abi = interpreter()
    why_version = check_version(ctx.app_dir, version)
    print(f"pypack/python: {why_version}")
    try:
        dependencies = find_dependencies(ctx.app_dir, Choices.from_env(ctx.platform_env))
    except ValueError as error:
        raise BuildpackError(str(error)) from None
    if dependencies.empty:
        python_alias(ctx)
        installed_names: frozenset[str] = frozenset()
        python = PYTHON
    else:
        venv = install_venv(ctx, dependencies, abi, why_version)
        installed_names = frozenset(normalize(d.name) for d in installed(venv))
        python = str(venv / "bin" / "python")
    static(ctx, python)
    if ctx.app_file("Procfile") is None:
        start_command(ctx, installed_names)


def python_alias(ctx: BuildContext) -> None:
    """``python`` on PATH at build and launch, next to the image's ``python3``, for an app with
    no dependencies (a Procfile's ``web: python main.py`` must run; Debian has no ``python``)."""
    layer = ctx.layer("python", launch=True, build=True)
    bin_dir = layer.path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "python"
    if not link.is_symlink():
        link.symlink_to(shutil.which(PYTHON) or f"/usr/bin/{PYTHON}")


def index_settings(ctx: BuildContext) -> tuple[dict[str, str], list[str]]:
    """Installer variables from the platform env and the bindings, and their credential-free
    form for the venv key."""
    settings = {
        k: v for k, v in ctx.platform_env.items() if k.startswith(("PIP_", "UV_", "SSL_CERT_"))
    }
    bindings = read_bindings(binding_root(ctx.platform_dir, ctx.platform_env))
    settings.update(bindings.settings)
    key = [f"{k}={redact(v)}" for k, v in sorted(settings.items()) if k not in bindings.settings]
    return settings, [*key, *bindings.key]


def install_venv(ctx: BuildContext, deps: Dependencies, abi: str, why_version: str) -> Path:
    settings, settings_key = index_settings(ctx)
    wanted = ctx.env("BP_PYTHON_INSTALLER", "uv")
    installer = Installer.choose(wanted, settings, PYTHON)
    venv = ctx.layer("venv", launch=True, build=True, cache=True)
    cache = ctx.layer("download-cache", cache=True)
    choices = Choices.from_env(ctx.platform_env)
    key = cache_key(abi, installer.version, deps.source, choices.text(), *settings_key,
                    *deps.key_files)  # fmt: skip
    for name in deps.unused:
        print(f"pypack/python: {name} is not used: {deps.source} decides the dependencies")
    if venv.reuse_if(key):
        print(f"pypack/python: reusing the venv ({deps.source} unchanged)")
    else:
        started = time.monotonic()
        print(f"pypack/python: installing from {deps.source} with {installer.version}")
        lines = fill_venv(ctx, deps, installer, venv, cache, choices, why_version)
        venv.metadata["hashes"] = json.dumps(pinned_hashes(lines))
        print(f"pypack/python: venv ready in {time.monotonic() - started:.1f} s; download "
              f"cache {tree_size(cache.path) / 1e6:.1f} MB")  # fmt: skip
    hashes = json.loads(str(venv.metadata.get("hashes", "{}")))
    venv.sbom("cyclonedx", cyclonedx(installed(venv.path), hashes))
    venv.env.override("VIRTUAL_ENV", venv.path)
    venv.launch_env().default("PYTHONUNBUFFERED", "1")
    os.environ["PATH"] = f"{venv.path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return venv.path


def fill_venv(
    ctx: BuildContext,
    deps: Dependencies,
    installer: Installer,
    venv: Layer,
    cache: Layer,
    choices: Choices,
    why_version: str,
) -> list[str]:
    """Install into a fresh venv; the requirement lines installed (for the SBOM's hashes)."""
    python = why_version
    checked(installer.create_venv(PYTHON, venv.path), installer, python)
    written = ctx.layers_dir / "requirements.locked.txt"
    lines: list[str] = list(deps.lines)
    try:
        if deps.source == "uv.lock":
            if installer.name != "uv":
                raise BuildpackError(
                    "uv.lock: installing it needs uv, which this build image lacks; use a "
                    "pypack builder (their build images have uv) or add requirements.txt"
                )
            checked(installer.export_uv_lock(ctx.app_dir, choices.groups, choices.extras,
                                             written), installer, python)  # fmt: skip
            lines = written.read_text().splitlines()
        elif lines:
            written.write_text("\n".join(lines) + "\n")
        if deps.requirement_file is not None:
            lines = deps.requirement_file.read_text().splitlines()
            target = ["-r", str(deps.requirement_file)]
            checked(installer.install(venv.path, cache.path, target, cwd=ctx.app_dir),
                    installer, python)  # fmt: skip
        if lines and deps.requirement_file is None:
            run = installer.install(
                venv.path, cache.path, ["-r", str(written)], locked=deps.locked,
                hashed=deps.hashed, cwd=ctx.app_dir,
            )  # fmt: skip
            checked(run, installer, python)
        if deps.project:
            extras = f"[{','.join(deps.extras)}]" if deps.extras else ""
            project = installer.install(venv.path, cache.path, [f".{extras}"],
                                        locked=deps.locked, cwd=ctx.app_dir)  # fmt: skip
            checked(project, installer, python)
    finally:
        written.unlink(missing_ok=True)
    return lines


def checked(run: Run, installer: Installer, python: str) -> None:
    """Show a finished installer step; a failure ends the build with one line."""
    output = redact(run.output).rstrip()
    if run.code == 0:
        if output:
            print("\n".join(f"  {line}" for line in output.splitlines()[-12:]))
        return
    print("\n".join(f"  {line}" for line in output.splitlines()[-25:]))
    raise BuildpackError(explain(run.output, installer.name, python))


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def static(ctx: BuildContext, python: str) -> None:
    if ctx.env("BP_DISABLE_COLLECTSTATIC").lower() in TRUE:
        return
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = collectstatic(ctx.app_dir, python, env)
    except RuntimeError as error:
        raise BuildpackError(str(error)) from None
    if done is not None:
        print(f"pypack/python: collectstatic: {done}")


def start_command(ctx: BuildContext, installed_names: frozenset[str]) -> None:
    found = find_start(ctx.app_dir, installed_names)
    if found is None:
        print(
            f"pypack/python: warning: no start command found; looked for {LOOKED_FOR}. Add a "
            "Procfile (web: <command>) or [project.scripts] web",
            file=sys.stderr,
        )
        return
    print(f"pypack/python: process web: {found.why}")
    ctx.launch.process("web", found.command, default=True)
