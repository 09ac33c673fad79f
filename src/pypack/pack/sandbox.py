"""Running buildpacks without Docker: bubblewrap over the builder's unpacked filesystem.

Each ``bin/detect`` and ``bin/build`` runs with the builder rootfs as a read-only ``/``, the
build's ``workspace``, ``layers`` and ``platform`` bound read-write at ``/workspace``,
``/layers`` and ``/platform``, a fresh ``/tmp``, new namespaces (the network only with
``--network host``), and the CNB uid/gid. The lifecycle works with host paths; this runner
translates them into the paths the buildpack sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pypack.errors import UserError
from pypack.lifecycle.runner import RunResult

PLAN_MOUNT = "/tmp/cnb-plan"
EXTRA_MOUNT = "/tmp/cnb-extra"
"""Where buildpacks added to the builder's (``--buildpack``) are seen."""
HOST_CA_MOUNT = "/tmp/pypack-host-ca.crt"


@dataclass(frozen=True)
class Volume:
    """A ``--volume host:target[:ro|rw]`` mount for buildpacks."""

    host: Path
    target: str
    writable: bool = False

    @classmethod
    def parse(cls, text: str) -> Volume:
        """``/host/dir:/target[:ro|rw]``. A target over what the build itself mounts is
        refused (``/cnb``, ``/layers``, ``/workspace``, ``/platform`` and its ``env``, ``/tmp``,
        ``/proc``, ``/dev``, ``/``), where pack only warns, because a buildpack would see another
        build than the lifecycle (or the host's processes); ``/platform/bindings/...`` and other
        paths under ``/platform`` are fine."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
            raise UserError(f"--volume {text!r}: expected /host/path:/target/path[:ro|rw]")
        mode = parts[2] if len(parts) == 3 else "ro"
        if mode not in ("ro", "rw"):
            raise UserError(f"--volume {text!r}: mode must be ro or rw, not {mode!r}")
        target = os.path.normpath(parts[1])
        reserved = _reserved_by(target)
        if reserved is not None:
            hint = (
                " (a binding goes under /platform/bindings/<name>)"
                if "platform" in reserved
                else ""
            )
            raise UserError(
                f"--volume {text!r}: {reserved} is reserved for the build; mount elsewhere{hint}"
            )
        host = Path(parts[0]).resolve()
        if not host.exists():
            raise UserError(f"--volume {text!r}: {host} does not exist")
        return cls(host, target, mode == "rw")


_RESERVED_EXACTLY = ("/", "/tmp", "/platform")
# /proc and /dev are the sandbox's own: a host /proc there would show the host's processes.
_RESERVED_TREES = (
    "/cnb", "/layers", "/workspace", "/platform/env", "/proc", "/dev", PLAN_MOUNT, EXTRA_MOUNT
)  # fmt: skip


def _reserved_by(target: str) -> str | None:
    """What the build mounts at or above ``target``, where a volume may not go."""
    if target in _RESERVED_EXACTLY:
        return target
    for reserved in (*_RESERVED_TREES, HOST_CA_MOUNT):
        if target == reserved or target.startswith(f"{reserved}/"):
            return reserved
    return None


@dataclass
class BwrapRunner:
    """A :class:`~pypack.lifecycle.runner.BuildpackRunner` that sandboxes with bubblewrap."""

    rootfs: Path
    work: Path
    uid: int
    gid: int
    network: bool = False
    volumes: list[Volume] = field(default_factory=list)
    host_ca: Path | None = None
    prefix: str = ""
    """Printed before each line of buildpack output (``[builder] ``)."""
    quiet: bool = False
    """Keep buildpack output back, and show it (on stderr) only when the buildpack fails."""

    def __post_init__(self) -> None:
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise UserError(
                "bubblewrap (bwrap) is not installed; install it or build with --docker"
            )
        self._bwrap = bwrap
        if os.geteuid() == 0 and self.uid != 0:
            for path in (self.rootfs, self.work, *(v.host for v in self.volumes)):
                blocked = unsearchable_ancestor(path, self.uid, self.gid)
                if blocked is not None:
                    raise UserError(
                        f"{path}: the build user (uid {self.uid}) cannot reach it because "
                        f"{blocked} is not searchable by others; chmod o+x {blocked} or set "
                        "PYPACK_HOME (and --path) outside it"
                    )
        self._mounts = {
            str(self.work / "workspace"): "/workspace",
            str(self.work / "layers"): "/layers",
            str(self.work / "platform"): "/platform",
            str(self.work / "plan"): PLAN_MOUNT,
            str(self.work / "extra"): EXTRA_MOUNT,
            str(self.rootfs): "/",
        }

    def inside(self, text: str) -> str:
        """``text`` with every host path of the build replaced by its path in the sandbox."""
        for host, target in sorted(self._mounts.items(), key=lambda item: -len(item[0])):
            if host in text:
                replacement = target if target != "/" else ""
                text = text.replace(host + "/", replacement + "/").replace(host, target)
        return text

    def argv(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> list[str]:
        """The whole bwrap command line for running ``argv``."""
        opened = self._opened_directories()
        command = [self._bwrap, *self._root_binds(opened), "--proc", "/proc", "--dev", "/dev"]
        command += ["--tmpfs", "/tmp"]
        for host, target in self._mounts.items():
            if target != "/":
                command += ["--bind", host, target]
        for volume in self.volumes:
            command += [
                "--bind" if volume.writable else "--ro-bind",
                str(volume.host),
                volume.target,
            ]
        if self.host_ca is not None:
            command += ["--ro-bind", str(self.host_ca), HOST_CA_MOUNT]
        for directory in opened:
            command += ["--remount-ro", directory]
        command += ["--unshare-all", "--die-with-parent", "--new-session"]
        if self.network:
            command += ["--share-net"]
        command += ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid)]
        command += ["--chdir", self.inside(str(cwd)), "--clearenv"]
        for key, value in sorted(env.items()):
            command += ["--setenv", key, self.inside(value)]
        command += ["--", *(self.inside(arg) for arg in argv)]
        if os.geteuid() == 0 and self.uid != 0:
            setpriv = shutil.which("setpriv") or "setpriv"
            command = [
                setpriv,
                f"--reuid={self.uid}",
                f"--regid={self.gid}",
                "--clear-groups",
                *command,
            ]
        return command

    def _opened_directories(self) -> list[str]:
        """The rootfs directories a volume's mount point must be made in: for each volume
        whose target the builder lacks, the deepest directory of its path that exists."""
        opened: set[str] = set()
        for volume in self.volumes:
            existing = Path(volume.target)
            while not os.path.lexists(self.rootfs / existing.relative_to("/")):
                existing = existing.parent
            if str(existing) != volume.target:
                opened.add(str(existing))
        return sorted(opened, key=lambda d: (d != "/", d.count("/"), d))

    def _root_binds(self, opened: list[str]) -> list[str]:
        """The rootfs read-only at ``/``. A directory in ``opened`` becomes a tmpfs holding
        read-only binds of its entries (where bubblewrap can make mount points), and is made
        read-only again once every mount is in place."""
        binds = [] if "/" in opened else ["--ro-bind", str(self.rootfs), "/"]
        for directory in opened:
            if directory != "/":
                binds += ["--tmpfs", directory]
            source = self.rootfs / directory.lstrip("/")
            for entry in sorted(os.listdir(source)):
                inside = f"{directory.rstrip('/')}/{entry}"
                if (source / entry).is_symlink():
                    binds += ["--symlink", os.readlink(source / entry), inside]
                else:
                    binds += ["--ro-bind", str(source / entry), inside]
        return binds

    def _give_to_cnb_user(self, argv: Sequence[str]) -> None:
        if os.geteuid() != 0:
            return
        for arg in argv[1:]:
            path = Path(arg)
            if path.is_relative_to(self.work) and path.exists():
                for target in (path, path.parent):
                    if target.is_relative_to(self.work):
                        os.chown(target, self.uid, self.gid)

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, capture: bool
    ) -> RunResult:
        """Run ``argv`` in the sandbox."""
        self._give_to_cnb_user(argv)
        command = self.argv(argv, env, cwd)
        if capture or self.quiet:
            done = subprocess.run(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
            )
            if not capture and done.returncode != 0:
                sys.stderr.write(done.stdout.decode("utf-8", "replace"))
            return RunResult(done.returncode, done.stdout if capture else b"")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(self.prefix + line.decode("utf-8", "replace"))
            sys.stdout.flush()
        return RunResult(process.wait())


def unsearchable_ancestor(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory on the way to ``path`` that ``uid:gid`` may not enter, if any."""
    for directory in reversed([path, *path.parents]):
        try:
            st = directory.stat()
        except FileNotFoundError:
            return None  # bwrap reports a missing source itself
        if st.st_uid == uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return directory
    return None
