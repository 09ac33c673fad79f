"""Content digests of an app tree, fast when little changed: a stat index like git's.

A file's content is hashed only when its stat data (size, mtime, ctime, inode, mode) differ
from what the index recorded, or when it was modified too close to the time it was last hashed
for its mtime to be trusted (a file system's timestamps may be coarse: a second write in the
same tick leaves the mtime as it was). Standard library only: this runs before a build decides
whether it has anything to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from pypack.fsutil import write_atomically

TRUST_AFTER_NS = 2_000_000_000
"""How much older than its hashing a file's mtime must be for its stat data to be trusted."""

_INDEX_VERSION = 1


def file_digest(path: Path) -> str:
    """The sha256 of a file's content, read in blocks."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


class StatIndex:
    """Content digests by path and stat data, kept in a JSON file between runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started_ns = time.time_ns()
        self._old: dict[str, list[int | str]] = {}
        self._new: dict[str, list[int | str]] = {}
        try:
            document = json.loads(path.read_text())
            if document.get("version") == _INDEX_VERSION:
                self._old = document["entries"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no index, or an unreadable one: everything is hashed again

    def digest(self, path: Path, info: os.stat_result) -> str:
        """The content digest of the regular file ``path`` whose stat data is ``info``."""
        key = str(path)
        signature: list[int | str] = [
            info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_mode
        ]  # fmt: skip
        old = self._old.get(key)
        if old is not None and old[:5] == signature:
            hashed_at, digest = int(old[5]), str(old[6])
            if info.st_mtime_ns + TRUST_AFTER_NS <= hashed_at:
                self._new[key] = old
                return digest
        digest = file_digest(path)
        self._new[key] = [*signature, self.started_ns, digest]
        return digest

    def save(self) -> None:
        """Write the entries used since this index was read (others are dropped)."""
        document = json.dumps({"version": _INDEX_VERSION, "entries": self._new})
        write_atomically(self.path, document.encode())


def tree_digest(entries: Iterable[tuple[str, Path, bool]], index: StatIndex) -> str:
    """One digest over a tree's ``(relative path, path, is a directory)`` entries: names, kinds,
    permission bits, file contents and link targets (not owners or times, which a build
    normalises)."""
    digest = hashlib.sha256()
    for relative, path, is_dir in entries:
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if is_dir:
            line = f"d {mode:o} {relative}"
        elif stat.S_ISLNK(info.st_mode):
            line = f"l {relative} {os.readlink(path)}"
        elif stat.S_ISREG(info.st_mode):
            line = f"f {mode:o} {relative} {index.digest(path, info)}"
        else:
            continue  # sockets, fifos and devices are not content
        digest.update(line.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def path_digest(path: Path, index: StatIndex) -> str:
    """The digest of a file, or of a directory's whole tree (nothing filtered)."""
    if not path.is_dir():
        return index.digest(path, path.stat())

    def entries() -> Iterable[tuple[str, Path, bool]]:
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                full = Path(root) / name
                yield str(full.relative_to(path)), full, name in dirs and not full.is_symlink()

    return tree_digest(entries(), index)
