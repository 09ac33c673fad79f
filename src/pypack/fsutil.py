"""File-system helpers shared by every layer of pypack."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def work_directory(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A fresh directory for a command's temporary files (in ``parent``, default the temp
    directory), removed with everything in it when the block ends: on success, on an error and
    on Ctrl-C (KeyboardInterrupt) alike."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_atomically(path: Path, content: bytes, *, durable: bool = False) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory and a
    rename, so readers see the old file or the new one, never half of either. ``durable``
    also flushes the data to disk before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
