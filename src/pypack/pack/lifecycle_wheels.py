"""The lifecycle's third-party packages as wheels for a build image's Python.

What the lifecycle needs is pypack-cnb's own requirements without the ones only the platform
uses (the CLI: click and rich; packaging, for this module), then their requirements in turn,
with environment markers evaluated for the build image's interpreter. Each is pinned to the
version installed here — the one pypack runs and is tested with — and fetched as a wheel for
the interpreter's version, ABI and platform by this environment's pip (so its index settings
apply). A requirement this environment lacks (one whose marker holds only on the image's Python)
is fetched as specified, and the wheels' own metadata is then walked for anything still missing.

Wheel sets are kept under the pypack home by interpreter (``cp313-manylinux_2_41_x86_64``) and
requirement set, so the next builder over the same Python downloads nothing.
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from pypack.errors import ServiceError, UserError
from pypack.pack.image_python import Interpreter

DISTRIBUTION = "pypack-cnb"
PLATFORM_ONLY = frozenset({"click", "rich", "packaging", "pyyaml", "pathspec"})
"""pypack-cnb requirements the lifecycle never imports (the import-layer contract keeps click
and rich out of ``pypack.lifecycle``, ``pypack.oci`` and ``pypack.spec``; PyYAML is only for
``pypack inspect --output yaml``, pathspec for the app filter)."""
_ROUNDS = 5
_PIP_TIMEOUT = 900


def _own_metadata() -> importlib.metadata.PackageMetadata:
    try:
        return importlib.metadata.metadata(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(
            f"builder create needs {DISTRIBUTION}'s metadata to know the lifecycle's "
            f"dependencies, and {sys.executable} has none: install pypack with pip"
        ) from None


def supported_pythons() -> SpecifierSet:
    """The Python versions pypack (and so its lifecycle) runs on: its ``requires-python``."""
    return SpecifierSet(_own_metadata()["Requires-Python"] or "")


def check_supported(interpreter: Interpreter, where: str) -> None:
    """A one-line error when the lifecycle cannot run on ``interpreter``."""
    supported = supported_pythons()
    if not supported.contains(interpreter.version_text, prereleases=True):
        raise UserError(
            f"{where} has Python {interpreter.version_text} ({interpreter.executable}); the "
            f"pypack lifecycle needs Python {supported}: use a build image with a newer python3"
        )


def marker_environment(interpreter: Interpreter) -> dict[str, str]:
    """Environment-marker values of the build image's Python."""
    version = interpreter.version_text
    return {
        "python_version": version,
        "python_full_version": f"{version}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": interpreter.machine,
    }


def _applies(requirement: Requirement, environment: dict[str, str], extras: Iterable[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in {"", *extras}
    )


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _installed_requires(name: str) -> list[str] | None:
    try:
        return importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return None


class Plan:
    """Requirements found so far: one pip line per distribution, pinned where possible."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.lines: dict[str, str] = {}
        self.open: list[str] = []
        """Distributions whose own requirements are not known yet (not installed here)."""

    def add(self, requires: list[str], extras: Iterable[str], skip: frozenset[str]) -> None:
        """Add the applicable ones of ``requires`` (Requires-Dist lines) and, through this
        environment's metadata, theirs."""
        extras = tuple(extras)
        for line in requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement as exc:
                raise ServiceError(f"lifecycle requirements: {line!r}: {exc}") from None
            name = canonicalize_name(requirement.name)
            if name in skip or name in self.lines:
                continue
            if not _applies(requirement, self.environment, extras):
                continue
            version = _installed_version(name)
            if version is not None and requirement.specifier.contains(version, prereleases=True):
                self.lines[name] = f"{name}=={version}"
                self.add(_installed_requires(name) or [], requirement.extras, frozenset())
            else:
                bare = Requirement(str(requirement))
                bare.marker = None
                self.lines[name] = str(bare)
                self.open.append(name)


def _plan(interpreter: Interpreter) -> Plan:
    plan = Plan(marker_environment(interpreter))
    plan.add(_own_metadata().get_all("Requires-Dist") or [], (), PLATFORM_ONLY)
    return plan


def lifecycle_requirements(interpreter: Interpreter) -> list[str]:
    """The pip requirement lines of the lifecycle's dependencies on ``interpreter``."""
    return sorted(_plan(interpreter).lines.values())


def _wheel_requires(wheel: Path) -> tuple[str, list[str]]:
    """The distribution name and Requires-Dist lines of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1]
        metadata = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            raise ServiceError(f"wheel {wheel.name} has no .dist-info/METADATA")
        message = email.parser.Parser().parsestr(archive.read(metadata).decode("utf-8"))
    return str(message.get("Name", "")), list(message.get_all("Requires-Dist") or [])


def pip_download_command(
    interpreter: Interpreter, lines: list[str], destination: Path
) -> list[str]:
    """This environment's pip, downloading exactly ``lines`` as wheels for ``interpreter``."""
    return [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--no-cache-dir", "--no-deps", "--only-binary=:all:",
        "--python-version", interpreter.version_text, "--implementation", "cp",
        "--abi", interpreter.abi, *(f"--platform={tag}" for tag in interpreter.platforms),
        "--dest", str(destination), *lines,
    ]  # fmt: skip


def _pip_download(
    interpreter: Interpreter, lines: list[str], destination: Path, scratch: Path
) -> None:
    if importlib.util.find_spec("pip") is None:
        raise UserError(
            f"the lifecycle for Python {interpreter.version_text} needs wheels fetched with pip, "
            f"and {sys.executable} has no pip: install pip into pypack's environment"
        )
    pip_tmp = scratch / "pip-tmp"
    pip_tmp.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        pip_download_command(interpreter, lines, destination),
        env={**os.environ, "TMPDIR": str(pip_tmp)},
        capture_output=True,
        text=True,
        check=False,
        timeout=_PIP_TIMEOUT,
    )
    if done.returncode != 0:
        output = done.stderr.strip().splitlines() or ["no output"]
        errors = [line for line in output if line.startswith("ERROR")]
        raise ServiceError(
            f"lifecycle wheels for Python {interpreter.version_text} ({interpreter.key}): "
            f"pip download failed: {(errors or output)[-1]}"
        )


def _fetch(interpreter: Interpreter, plan: Plan, destination: Path, scratch: Path) -> None:
    """Download every planned wheel, then whatever the wheels' metadata adds."""
    fetched: set[str] = set()
    for _ in range(_ROUNDS):
        wanted = sorted(line for name, line in plan.lines.items() if name not in fetched)
        if not wanted:
            return
        _pip_download(interpreter, wanted, destination, scratch)
        fetched.update(plan.lines)
        opened, plan.open = plan.open, []
        for wheel in sorted(destination.glob("*.whl")):
            name, requires = _wheel_requires(wheel)
            if canonicalize_name(name) in opened:
                plan.add(requires, (), frozenset())
    raise ServiceError(f"lifecycle wheels: requirements still open after {_ROUNDS} rounds")


def lifecycle_wheels(
    interpreter: Interpreter,
    cache: Path,
    scratch: Path,
    say: Callable[[str], None] = lambda _text: None,
) -> list[Path]:
    """The wheels of the lifecycle's dependencies for ``interpreter``, from ``cache`` or
    downloaded into it (``scratch`` holds pip's temporary files)."""
    plan = _plan(interpreter)
    recipe = "\n".join(sorted(plan.lines.values()))
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    target = cache / f"{interpreter.key}-{digest}"
    if not (target / "requirements.txt").is_file():
        say(
            f"Fetching the lifecycle's {len(plan.lines)} dependencies as wheels for Python "
            f"{interpreter.version_text} ({interpreter.key}) ..."
        )
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{target.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            partial.mkdir()
            _fetch(interpreter, plan, partial, scratch)
            (partial / "requirements.txt").write_text(recipe + "\n")
            try:
                partial.rename(target)
            except OSError:  # another builder create fetched them meanwhile
                if not (target / "requirements.txt").is_file():
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        for stale in cache.glob(f"{interpreter.key}-*"):
            if stale != target:
                shutil.rmtree(stale, ignore_errors=True)
    wheels = sorted(target.glob("*.whl"))
    for wheel in wheels:
        if not interpreter.accepts(wheel.name):
            raise ServiceError(f"{wheel}: not a wheel for {interpreter.key}")
    return wheels
