"""Safe extraction of layer tars: for unpacking images and restoring caches.

A layer is untrusted input. Extraction refuses entries that would land outside the destination
(``..`` components, absolute paths, hard links to outside) and never writes *through* a symlink:
a symlink from an earlier entry or layer is a file to replace, not a door. Absolute symlink
targets are kept as they are — they are normal in image layers and are resolved only when the
image runs. OCI whiteouts are applied: ``.wh.<name>`` deletes ``<name>`` from lower layers and
``.wh..wh..opq`` empties its directory of what lower layers put there.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pypack.errors import PypackError

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"


class UnsafeArchive(PypackError):
    """A tar entry that would escape the destination or write through a link."""


class BrokenArchive(PypackError):
    """A tar (or gzip) stream that is cut short or corrupt."""


def extract_layer(
    stream: BinaryIO,
    dest: Path,
    *,
    whiteouts: bool = True,
    same_owner: bool | None = None,
    source: str = "layer",
    only_under: str | None = None,
) -> list[str]:
    """Extract the tar (plain or gzip) read from ``stream`` into ``dest``; return the paths
    written, relative to ``dest``. ``same_owner`` (default: when running as root) keeps the
    uid/gid of entries. ``only_under`` skips entries outside that relative path (a cache layer
    also carries its parent directories, which are not the restorer's to change)."""
    try:
        return _extract(stream, dest, whiteouts, same_owner, source, only_under)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BrokenArchive(f"{source}: not a readable tar: {exc}") from None


def _extract(
    stream: BinaryIO,
    dest: Path,
    whiteouts: bool,
    same_owner: bool | None,
    source: str,
    only_under: str | None,
) -> list[str]:
    keep_owner = os.geteuid() == 0 if same_owner is None else same_owner
    dest.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(dest))
    written: list[str] = []
    written_set: set[str] = set()
    directories: list[tuple[Path, tarfile.TarInfo]] = []
    checked: set[str] = set()
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in _members(tar):
            name = _safe_name(member.name, source)
            if not name or (
                only_under and name != only_under and not name.startswith(f"{only_under}/")
            ):
                continue
            parent, base = posixpath.split(name)
            if whiteouts and base.startswith(WHITEOUT_PREFIX):
                _whiteout(root, parent, base, written_set, source, checked)
                continue
            target = _target(root, name, source, checked)
            if member.isdir():
                _make_dir(target, member)
                directories.append((target, member))
            elif member.isreg():
                _replace(target, checked)
                fileobj = tar.extractfile(member)
                assert fileobj is not None  # a regular member always has content
                with open(target, "wb") as out:
                    shutil.copyfileobj(fileobj, out, 1 << 20)
                os.chmod(target, stat.S_IMODE(member.mode))
            elif member.issym():
                _replace(target, checked)
                os.symlink(member.linkname, target)
            elif member.islnk():
                link_source = _target(root, _safe_name(member.linkname, source), source, checked)
                if not link_source.exists() or link_source.is_symlink():
                    raise UnsafeArchive(
                        f"{source}: hard link {name!r} points at {member.linkname!r}, "
                        "which is not a file extracted before it"
                    )
                _replace(target, checked)
                os.link(link_source, target)
            else:
                continue  # devices and fifos need privileges; app images do not need them
            if keep_owner:
                os.lchown(target, member.uid, member.gid)
            if not member.isdir() and not member.issym():
                os.utime(target, (member.mtime, member.mtime))
            written.append(name)
            written_set.add(name)
    for directory, member in reversed(directories):
        os.chmod(directory, stat.S_IMODE(member.mode) | stat.S_IRWXU)
        os.utime(directory, (member.mtime, member.mtime))
    return written


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The entries of ``tar``. Some writers (umoci 0.4) end a layer right after the last
    file's data, without padding or end blocks; Go readers accept that, and so does this.
    A member whose data is cut short still fails while its data is copied."""
    members = iter(tar)
    while True:
        try:
            yield next(members)
        except StopIteration:
            return
        except tarfile.ReadError as exc:
            if "unexpected end of data" in str(exc):
                return
            raise


def _safe_name(name: str, source: str) -> str:
    """The entry's path relative to the destination, or :class:`UnsafeArchive`."""
    if name.startswith("/"):
        raise UnsafeArchive(f"{source}: entry {name!r} has an absolute path")
    cleaned = posixpath.normpath(name) if name not in ("", ".", "./") else ""
    if cleaned == "." or not cleaned:
        return ""
    if cleaned == ".." or cleaned.startswith("../"):
        raise UnsafeArchive(f"{source}: entry {name!r} points outside the destination")
    return cleaned


def _target(root: Path, name: str, source: str, checked: set[str]) -> Path:
    """``root/name``, refusing when any existing parent on the way is a symlink. ``checked``
    holds the parents this extraction already found (or made) to be directories: a layer of
    thousands of files then costs one ``lstat`` per directory, not one per path component."""
    parts = name.split("/")
    prefix = ""
    for part in parts[:-1]:
        prefix = f"{prefix}/{part}" if prefix else part
        if prefix in checked:
            continue
        current = root / prefix
        checked.add(prefix)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            current.mkdir(mode=0o755)
            continue
        if stat.S_ISLNK(st.st_mode):
            raise UnsafeArchive(
                f"{source}: entry {name!r} would be written through the symlink {part!r}"
            )
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeArchive(f"{source}: entry {name!r} needs {part!r} to be a directory")
    return root / name


def _replace(target: Path, checked: set[str]) -> None:
    """Remove what is at ``target`` (a file, a link, or a directory) so an entry can take it;
    a directory removed may have been a checked parent, so nothing checked is trusted after."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(target)
        checked.clear()
    else:
        target.unlink()


def _make_dir(target: Path, member: tarfile.TarInfo) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        target.mkdir(mode=0o700)
        return
    if not stat.S_ISDIR(st.st_mode):
        target.unlink()
        target.mkdir(mode=0o700)
    else:
        os.chmod(target, stat.S_IMODE(member.mode) | stat.S_IRWXU)


def _whiteout(
    root: Path, parent: str, base: str, written: set[str], source: str, checked: set[str]
) -> None:
    directory = _target(root, f"{parent}/x" if parent else "x", source, checked).parent
    if base == OPAQUE_WHITEOUT:
        if not directory.is_dir():
            return
        for child in os.listdir(directory):
            relative = f"{parent}/{child}" if parent else child
            if relative not in written:
                _replace(directory / child, checked)
        return
    victim = base[len(WHITEOUT_PREFIX) :]
    if victim in ("", ".", "..") or "/" in victim:
        raise UnsafeArchive(f"{source}: whiteout {base!r} names no sibling")
    _replace(directory / victim, checked)
