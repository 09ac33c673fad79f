"""The installer commands: uv when the build image has it (pypack's stacks do), else pip.

Both get the same inputs: a fresh venv, a requirements file (locked lines with ``--no-deps``
and ``--require-hashes``), then the app itself when it is a package. Index settings come from
the user's ``PIP_*``/``UV_*`` variables and bindings; uv gets the ``PIP_*`` ones translated, so
a build that worked with pip keeps working. Bytecode is compiled at build time with
``SOURCE_DATE_EPOCH`` set, so ``.pyc`` files are hash-based and two builds give the same bytes.
uv links files from its cache layer into the venv (both are under ``/layers``): a Django venv is
ready in 4-6 s instead of 9-10 s with copies (measured here); the layers are tarred apart, so
each still carries its own bytes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pypack.buildpacks.python.failures import redact

SOURCE_DATE_EPOCH = "315532800"
PIP_TO_UV = {
    "PIP_INDEX_URL": "--index-url",
    "PIP_EXTRA_INDEX_URL": "--extra-index-url",
    "PIP_FIND_LINKS": "--find-links",
    "PIP_TRUSTED_HOST": "--allow-insecure-host",
}
"""pip's variables as uv flags (pip's take several values separated by spaces)."""
TRUE = ("1", "true", "yes", "on")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class Run:
    """One finished installer process: its command, exit code and output."""

    argv: tuple[str, ...]
    code: int
    output: str
    seconds: float


@dataclass(frozen=True)
class Installer:
    """An installer program and the variables it runs with."""

    name: str
    program: str
    version: str
    env: dict[str, str]
    flags: tuple[str, ...] = ()

    @classmethod
    def choose(cls, wanted: str, settings: dict[str, str], python: str) -> Installer:
        """uv unless ``BP_PYTHON_INSTALLER=pip`` or the image has no uv; ``settings`` are the
        index variables (``PIP_*``/``UV_*``, ``SSL_CERT_FILE``) of the platform and bindings."""
        uv = shutil.which("uv")
        base = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PYTHONNOUSERSITE": "1"}
        if wanted != "pip" and uv is not None:
            env = {**base, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1",
                   "UV_LINK_MODE": "hardlink", "UV_PYTHON": python}  # fmt: skip
            flags: list[str] = []
            for name, value in sorted(settings.items()):
                if name in PIP_TO_UV:
                    flags += [f"{PIP_TO_UV[name]}={word}" for word in value.split()]
                elif name == "PIP_NO_INDEX":
                    flags += ["--no-index"] if value.strip().lower() in TRUE else []
                elif not name.startswith("PIP_"):
                    env[name] = value
            if "PIP_CERT" in settings and "SSL_CERT_FILE" not in settings:
                env["SSL_CERT_FILE"] = settings["PIP_CERT"]
            if CA_BUNDLE.is_file():
                env.setdefault("SSL_CERT_FILE", str(CA_BUNDLE))
            return cls("uv", uv, _version([uv, "--version"], env), env, tuple(flags))
        env = {**base, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", **settings}
        return cls("pip", "pip", _version([python, "-m", "pip", "--version"], env), env)

    def create_venv(self, python: str, venv: Path) -> Run:
        """A fresh venv (with pip only when pip installs into it)."""
        shutil.rmtree(venv, ignore_errors=True)
        without_pip = ["--without-pip"] if self.name == "uv" else []
        return run([python, "-m", "venv", *without_pip, str(venv)], self.env)

    def install(
        self,
        venv: Path,
        cache: Path,
        targets: Sequence[str],
        *,
        locked: bool = False,
        hashed: bool = False,
        cwd: Path | None = None,
    ) -> Run:
        """Install ``targets`` (``-r FILE`` pairs or paths) into ``venv``."""
        flags = [*(["--no-deps"] if locked else []), *(["--require-hashes"] if hashed else [])]
        if self.name == "uv":
            argv = [self.program, "pip", "install", "--python", str(venv / "bin" / "python"),
                    "--cache-dir", str(cache), "--compile-bytecode", *self.flags, *flags,
                    *targets]  # fmt: skip
        else:
            argv = [str(venv / "bin" / "pip"), "install", "--cache-dir", str(cache),
                    *flags, *targets]  # fmt: skip
        return run(argv, self.env, cwd)

    def export_uv_lock(self, app_dir: Path, groups: Sequence[str], extras: Sequence[str],
                       out: Path) -> Run:  # fmt: skip
        """``uv.lock`` as hashed requirement lines (the project itself left out)."""
        argv = [self.program, "export", "--frozen", "--format", "requirements-txt",
                "--no-header", "--no-emit-project", "--no-default-groups", "-o", str(out),
                *[f"--group={g}" for g in groups], *[f"--extra={e}" for e in extras]]  # fmt: skip
        return run(argv, self.env, app_dir)


def _version(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return done.stdout.strip() or "unknown"


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    """Run one installer command, its output kept for the log and for a failure's cause. Each
    command is shown (``  $ uv pip install ...``, credentials masked) before it starts."""
    print(f"  $ {redact(shlex.join(argv))}", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        check=False,
    )  # fmt: skip
    return Run(tuple(argv), done.returncode, done.stdout, time.monotonic() - started)
