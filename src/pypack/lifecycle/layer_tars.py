"""The tars the exporter makes: buildpack layers, app slices, launcher, config, process types.

Every tar is reproducible (see :mod:`pypack.oci.layers`). Files under ``<layers>`` and
``<app>`` belong to the CNB user; ``/cnb/...`` entries belong to root with mode 0755. Parent
directories keep their real modes. Their owners never come from the host user that runs the
build: inside a container (``root`` is ``/``) they keep their real owners, as in the reference
lifecycle, except that a directory owned by the (non-root) user running the lifecycle is the
CNB user's; on the daemonless platform (``root`` is the build's work directory) every parent
below ``root`` is the CNB user's, as the directories it stands for are in a builder container
— so a build as root and a build as an unprivileged user write the same bytes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pypack.oci.layers import NORMALIZED_MTIME, LayerInfo, LayerWriter, write_layer_file
from pypack.oci.mediatypes import OCI_LAYER

LAUNCHER_PATH = "cnb/lifecycle/launcher"
PROCESS_DIR = "cnb/process"


class TarMaker:
    """Writes the exporter's layer tars (uncompressed) into a scratch directory.

    ``root`` is the host directory that stands for ``/`` of the image: ``/`` inside a builder
    container; the build's work directory (holding ``layers/`` and ``workspace/``) on the
    daemonless platform. Entries are named by their path below it.
    """

    def __init__(
        self,
        scratch: Path,
        uid: int,
        gid: int,
        mtime: int = NORMALIZED_MTIME,
        root: Path = Path("/"),
    ) -> None:
        self.scratch = scratch
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.root = root
        self._count = 0

    def name(self, path: Path) -> str:
        """The entry name of a host path: its path below ``root``."""
        return str(path.relative_to(self.root))

    def _parents(self, writer: LayerWriter, path: Path) -> None:
        owner = (self.uid, self.gid) if self.root != Path("/") else None
        add_real_parents(writer, path, self.root, cnb=(self.uid, self.gid), owner=owner)

    def _write(self, fill: Callable[[LayerWriter], None]) -> tuple[Path, LayerInfo]:
        self._count += 1
        path = self.scratch / f"layer-{self._count}.tar"
        return path, write_layer_file(path, fill, mtime=self.mtime)

    def directory(self, directory: Path) -> tuple[Path, LayerInfo]:
        """A layer of ``directory`` (a buildpack layer, the SBOM or config dir) at its absolute
        path: real parents, then everything in it owned by the CNB user."""

        def fill(writer: LayerWriter) -> None:
            self._parents(writer, directory)
            writer.add_tree(directory, self.name(directory), uid=self.uid, gid=self.gid)

        return self._write(fill)

    def app_slices(self, app: Path, slices: list[list[str]]) -> list[tuple[Path, LayerInfo]]:
        """One layer per slice (files matching its globs, not taken by an earlier slice), then a
        layer with the rest; an empty slice still gives a layer, as the reference lifecycle."""
        files = _relative_tree(app)
        taken: set[str] = set()
        result = []
        for globs in slices:
            chosen = [p for p in files if p not in taken and _in_slice(p, globs, files)]
            taken.update(chosen)
            result.append(self._write(self._app_fill(app, chosen, files)))
        rest = [p for p in files if p not in taken]
        result.append(self._write(self._app_fill(app, rest, files)))
        return result

    def _app_fill(
        self, app: Path, chosen_paths: list[str], files: dict[str, os.stat_result]
    ) -> Callable[[LayerWriter], None]:
        chosen = set(chosen_paths)

        def fill(writer: LayerWriter) -> None:
            self._parents(writer, app)
            root_stat = os.lstat(app)
            writer.add_dir(
                self.name(app), uid=self.uid, gid=self.gid, mode=stat.S_IMODE(root_stat.st_mode)
            )
            needed_dirs = {parent for p in chosen for parent in _parents(p)}
            for relative in files:
                st = files[relative]
                name = f"{self.name(app)}/{relative}"
                if stat.S_ISDIR(st.st_mode):
                    if relative in needed_dirs or relative in chosen:
                        writer.add_dir(
                            name, uid=self.uid, gid=self.gid, mode=stat.S_IMODE(st.st_mode)
                        )
                elif relative in chosen:
                    writer.add_tree(app / relative, name, uid=self.uid, gid=self.gid)

        return fill

    def launcher(self, script: bytes) -> tuple[Path, LayerInfo]:
        """``/cnb/lifecycle/launcher``, root-owned, mode 0755."""

        def fill(writer: LayerWriter) -> None:
            writer.add_dir("cnb")
            writer.add_dir("cnb/lifecycle")
            writer.add_bytes(LAUNCHER_PATH, script, mode=0o755)

        return self._write(fill)

    def process_types(self, types: list[str]) -> tuple[Path, LayerInfo]:
        """``/cnb/process/<type>`` symlinks to the launcher."""

        def fill(writer: LayerWriter) -> None:
            writer.add_dir("cnb")
            writer.add_dir(PROCESS_DIR)
            for process_type in sorted(types):
                writer.add_symlink(f"{PROCESS_DIR}/{process_type}", f"/{LAUNCHER_PATH}")

        return self._write(fill)


def add_real_parents(
    writer: LayerWriter,
    path: Path,
    root: Path = Path("/"),
    *,
    cnb: tuple[int, int] | None = None,
    owner: tuple[int, int] | None = None,
) -> None:
    """Directory entries for every parent of ``path`` below ``root``, with their real modes.

    Owners are ``owner`` when given; else the real ones, except that with ``cnb`` (the CNB
    uid/gid) a directory owned by the unprivileged user running this process gets ``cnb``: that
    user plays the CNB user, and its own uid must not land in an image.
    """
    parents = [p for p in reversed(path.parents) if p != root and p.is_relative_to(root)]
    running = os.geteuid()
    for parent in parents:
        st = os.stat(parent)
        uid, gid = st.st_uid, st.st_gid
        if owner is not None:
            uid, gid = owner
        elif cnb is not None and running != 0 and uid == running:
            uid, gid = cnb
        name = str(parent.relative_to(root))
        writer.add_dir(name, uid=uid, gid=gid, mode=stat.S_IMODE(st.st_mode))


def _relative_tree(root: Path) -> dict[str, os.stat_result]:
    """Every path under ``root`` (relative, walk order) with its lstat."""
    result: dict[str, os.stat_result] = {}

    def walk(directory: Path, prefix: str) -> None:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            relative = f"{prefix}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            result[relative] = st
            if stat.S_ISDIR(st.st_mode):
                walk(Path(entry.path), f"{relative}/")

    walk(root, "")
    return result


def _parents(relative: str) -> list[str]:
    parts = relative.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def go_match(pattern: str, path: str) -> bool:
    """Go's ``filepath.Match``: ``*`` and ``?`` never cross a ``/``."""
    pattern_parts, path_parts = pattern.strip("/").split("/"), path.split("/")
    if len(pattern_parts) != len(path_parts):
        return False
    return all(
        fnmatch.fnmatchcase(name, part)
        for part, name in zip(pattern_parts, path_parts, strict=True)
    )


def _in_slice(relative: str, globs: list[str], files: dict[str, os.stat_result]) -> bool:
    """A path is in a slice when it or a directory above it matches one of its globs."""
    candidates = [relative, *_parents(relative)]
    return any(go_match(glob, candidate) for glob in globs for candidate in candidates)


def normalized_copy(source: BinaryIO, path: Path, mtime: int = NORMALIZED_MTIME) -> LayerInfo:
    """An uncompressed copy at ``path`` of the layer tar read from ``source`` (compressed or
    not) with every entry's time set to ``mtime``, as the reference re-tars an extension's
    layer; owners, modes, names and contents are kept."""
    with (
        tarfile.open(fileobj=source, mode="r|*") as tar_in,
        tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar_out,
    ):
        for member in tar_in:
            member.mtime = mtime
            member.pax_headers = {}
            data = tar_in.extractfile(member) if member.isfile() else None
            tar_out.addfile(member, data)
    hasher = hashlib.sha256()
    with open(path, "rb") as written:
        while chunk := written.read(1 << 20):
            hasher.update(chunk)
    digest = "sha256:" + hasher.hexdigest()
    return LayerInfo(digest, digest, path.stat().st_size, OCI_LAYER)
