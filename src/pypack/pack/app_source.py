"""Putting the app into the build's ``/workspace`` through its :class:`AppFilter`: excluded
files never reach the build, modes, times and symlinks are kept. An app given as a zip or jar
file is unpacked first, as pack does.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

from pypack.errors import UserError
from pypack.pack.app_filter import AppFilter


def walk_app(source: Path, app_filter: AppFilter) -> Iterator[tuple[str, Path, bool]]:
    """The app's kept entries under ``source`` as ``(relative path, path, is a directory)``,
    directories before what they hold, names in order; a symlink to a directory is an entry,
    not walked into; sockets, fifos and devices are left out."""
    for root, dirs, files in os.walk(source):
        links = [name for name in dirs if os.path.islink(os.path.join(root, name))]
        dirs[:] = [name for name in dirs if name not in links]
        relative_root = os.path.relpath(root, source)
        prefix = "" if relative_root == "." else f"{relative_root}/"
        dirs[:] = [name for name in sorted(dirs) if not app_filter.skips_dir(prefix + name)]
        for name in dirs:
            yield prefix + name, Path(root) / name, True
        for name in sorted([*files, *links]):
            relative = prefix + name
            if not app_filter.keeps_file(relative):
                continue
            path = Path(root) / name
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                yield relative, path, False


def copy_app(source: Path, dest: Path, app_filter: AppFilter) -> int:
    """Copy the app at ``source`` into ``dest`` through ``app_filter``; return files copied."""
    copied = 0
    for relative, path, is_dir in walk_app(source, app_filter):
        target = dest / relative
        if is_dir:
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_symlink():
            target.symlink_to(os.readlink(path))
            copied += 1
        else:
            shutil.copy2(path, target)
            copied += 1
    if app_filter.include is not None:
        _remove_empty_dirs(dest)
    return copied


def _remove_empty_dirs(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        if stat.S_ISDIR(os.lstat(path).st_mode) and not any(path.iterdir()):
            path.rmdir()


def is_app_archive(path: Path) -> bool:
    """True for ``--path app.zip`` (or a .jar): pack builds the unpacked contents."""
    return path.is_file() and zipfile.is_zipfile(path)


def unpack_app_archive(archive: Path, dest: Path) -> Path:
    """Unpack a zip (or jar) app into ``dest`` with the permission bits it records (0644 and
    0755 when it records none); zipfile drops ``..`` and absolute names."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                written = Path(zipped.extract(member, dest))
                mode = stat.S_IMODE(member.external_attr >> 16)
                if not mode:
                    mode = 0o755 if member.is_dir() else 0o644
                written.chmod(mode | (0o700 if member.is_dir() else 0o600))
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"--path {archive}: cannot unpack the archive: {exc}") from None
    return dest
