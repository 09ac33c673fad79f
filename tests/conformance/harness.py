"""A workspace for running lifecycle phases for real: fixture buildpacks written in sh, the
phase binaries started as the CNB user (uid/gid 1000) with ``setpriv``, as in a builder
container where the detector and builder refuse to run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pypack.spec.api import ApiVersion

CNB_UID = CNB_GID = 1000
PLATFORM_API = "0.15"


@dataclass
class Result:
    """A finished phase run."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Workspace:
    """``/cnb``, ``/layers``, ``/workspace`` and ``/platform`` of one test, under a temp dir."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def buildpacks(self) -> Path:
        return self.root / "cnb" / "buildpacks"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def app(self) -> Path:
        return self.root / "workspace"

    @property
    def platform(self) -> Path:
        return self.root / "platform"

    @property
    def order_path(self) -> Path:
        return self.root / "cnb" / "order.toml"

    def buildpack(
        self,
        bp_id: str,
        version: str = "1.0.0",
        *,
        api: str = "0.10",
        detect: str = "exit 0",
        build: str = "exit 0",
        toml: str = "",
        buildpack_keys: str = "",
    ) -> Path:
        """A component buildpack whose bin/detect and bin/build run the given sh snippets."""
        root = self.buildpacks / bp_id.replace("/", "_") / version
        (root / "bin").mkdir(parents=True, exist_ok=True)
        (root / "buildpack.toml").write_text(
            f'api = "{api}"\n[buildpack]\nid = "{bp_id}"\nversion = "{version}"\n'
            f"{buildpack_keys}\n{toml}"
        )
        for name, body in (("detect", detect), ("build", build)):
            script = root / "bin" / name
            script.write_text(f"#!/bin/sh\nset -e\n{body}\n")
            script.chmod(0o755)
        return root

    @property
    def extensions(self) -> Path:
        return self.root / "cnb" / "extensions"

    def extension(
        self,
        ext_id: str,
        version: str = "1.0.0",
        *,
        api: str = "0.10",
        detect: str | None = "exit 0",
        generate: str | None = "exit 0",
        toml: str = "",
    ) -> Path:
        """An image extension under ``cnb/extensions`` whose bin/detect and bin/generate run
        the given sh snippets (None: no such executable)."""
        root = self.extensions / ext_id.replace("/", "_") / version
        (root / "bin").mkdir(parents=True, exist_ok=True)
        (root / "extension.toml").write_text(
            f'api = "{api}"\n[extension]\nid = "{ext_id}"\nversion = "{version}"\n{toml}'
        )
        for name, body in (("detect", detect), ("generate", generate)):
            if body is None:
                continue
            script = root / "bin" / name
            script.write_text(f"#!/bin/sh\nset -e\n{body}\n")
            script.chmod(0o755)
        return root

    def composite(
        self, bp_id: str, version: str, groups: list[list[tuple[str, str, bool]]], api: str = "0.10"
    ) -> None:
        """A composite buildpack: an order of (id, version, optional) groups."""
        root = self.buildpacks / bp_id.replace("/", "_") / version
        root.mkdir(parents=True, exist_ok=True)
        (root / "buildpack.toml").write_text(
            f'api = "{api}"\n[buildpack]\nid = "{bp_id}"\nversion = "{version}"\n'
            + _order_toml(groups)
        )

    def order(self, groups: list[list[tuple[str, str, bool]]]) -> None:
        """The builder's /cnb/order.toml."""
        self.order_path.parent.mkdir(parents=True, exist_ok=True)
        self.order_path.write_text(_order_toml(groups))

    def run(
        self,
        phase: str,
        *flags: str,
        env: dict[str, str] | None = None,
        as_root: bool = False,
        dir_flags: bool = True,
        cwd: Path | None = None,
        cnb: Path | None = None,
    ) -> Result:
        """Run ``phase`` with the workspace's directories, as the CNB user; the directory flags
        are those the phase defines at the run's Platform API (``CNB_PLATFORM_API``).
        ``dir_flags=False`` passes none of them (a case about ``CNB_*`` variables or defaults);
        ``cwd`` is the phase's working directory (default: the caller's). ``cnb`` is a host
        directory the phase sees as ``/cnb`` (see :func:`with_cnb`), as in a builder image."""
        requested = {**self.env, **(env or {})}.get("CNB_PLATFORM_API", PLATFORM_API)
        try:
            api = ApiVersion.parse(requested)
        except ValueError:  # a case about a missing or malformed CNB_PLATFORM_API
            api = ApiVersion.parse(PLATFORM_API)
        layers = ["-layers", str(self.layers)]
        app = ["-app", str(self.app)]
        build = [
            *layers,
            *app,
            *("-platform", str(self.platform)),
            *("-buildpacks", str(self.buildpacks)),
        ]
        if api.at_least("0.11"):
            build += ["-build-config", str(self.root / "cnb" / "build-config")]
        detect = [*build, "-order", str(self.order_path)]
        if api.at_least("0.15"):
            detect += ["-system", str(self.root / "cnb" / "system.toml")]
        run_images = (
            ["-run", str(self.root / "cnb" / "run.toml")]
            if api.at_least("0.12")
            else ["-stack", str(self.root / "cnb" / "stack.toml")]
        )
        defaults = {
            "detector": detect,
            "builder": build,
            "analyzer": layers,
            "restorer": layers,
            "exporter": [*layers, *app],
            "creator": [*detect, *run_images],
        }.get(phase, [])  # fmt: skip
        if not dir_flags:
            defaults = []
        argv = [sys.executable, "-m", "pypack.lifecycle.main", phase, *defaults, *flags]
        if not as_root:
            # DAC_READ_SEARCH lets the CNB user read pypack and its venv wherever this checkout
            # lives (CI may clone into a 0700 directory); it grants no write access.
            argv = [
                shutil.which("setpriv") or "setpriv", f"--reuid={CNB_UID}", f"--regid={CNB_GID}",
                "--clear-groups", "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
                *argv,
            ]  # fmt: skip
        if cnb is not None:
            argv = with_cnb(cnb, argv)
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.root / "home"),
            "CNB_PLATFORM_API": PLATFORM_API,
            **self.env,
            **(env or {}),
        }
        done = subprocess.run(
            argv, capture_output=True, text=True, env=environment, check=False, timeout=120,
            cwd=cwd,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    def read_toml(self, name: str) -> dict[str, Any]:
        return tomllib.loads((self.layers / name).read_text())

    def group(self) -> list[str]:
        """``id@version`` of each group.toml entry."""
        return [f"{e['id']}@{e['version']}" for e in self.read_toml("group.toml").get("group", [])]


def with_cnb(cnb: Path, argv: list[str]) -> list[str]:
    """``argv`` run by bwrap in a mount namespace whose ``/`` is the host's top-level entries
    plus ``cnb`` at ``/cnb``: the host's filesystem, network and Docker socket as they are, and
    a ``/cnb`` (e.g. ``/cnb/lifecycle`` with the lifecycle's SBOM files) without touching the
    host's ``/``."""
    mounts: list[str] = []
    for entry in sorted(Path("/").iterdir()):
        if entry.name in ("proc", "dev", "cnb"):
            continue
        if entry.is_symlink():
            mounts += ["--symlink", os.readlink(entry), str(entry)]
        elif entry.is_dir():
            mounts += ["--bind", str(entry), str(entry)]
    bwrap = shutil.which("bwrap") or "bwrap"
    return [bwrap, *mounts, "--proc", "/proc", "--dev-bind", "/dev", "/dev",
            "--bind", str(cnb), "/cnb", "--die-with-parent", *argv]  # fmt: skip


def _order_toml(groups: list[list[tuple[str, str, bool]]]) -> str:
    text = ""
    for group in groups:
        text += "[[order]]\n"
        for bp_id, version, optional in group:
            text += f'[[order.group]]\nid = "{bp_id}"\nversion = "{version}"\n'
            if optional:
                text += "optional = true\n"
    return text


@pytest.fixture
def ws() -> Any:
    """A fresh workspace, readable by the CNB user, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pypack-conf-", dir="/tmp"))
    root.chmod(0o755)
    workspace = Workspace(root)
    for directory in (workspace.layers, workspace.app, workspace.platform / "env", root / "home"):
        directory.mkdir(parents=True, exist_ok=True)
        for path in (directory, *directory.parents):
            if path == root:
                break
            os.chown(path, CNB_UID, CNB_GID)
    workspace.buildpacks.mkdir(parents=True)
    yield workspace
    shutil.rmtree(root, ignore_errors=True)
