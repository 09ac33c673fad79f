"""File-system helpers shared by every layer of pypack."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"
"""The suffix of :func:`write_atomically`'s temporary files (``.<name>.<random>.tmp``)."""


@contextlib.contextmanager
def work_directory(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A fresh directory for a command's temporary files (in ``parent``, default the temp
    directory), removed with everything in it when the block ends: on success, on an error and
    on Ctrl-C (KeyboardInterrupt) alike."""
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
    try:
        with claimed(path):
            yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[None]:
    """Hold an ``flock`` on the file or directory ``path`` while the block runs: the mark of a
    live writer. A process killed mid-write loses its locks with its descriptors, so what it
    left behind is :func:`abandoned` (while a slow writer's file is not, however old). Name
    what you claim with :func:`owned_name`, so that the instant between making it and claiming
    it is covered too."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def claim(fd: int) -> None:
    """Mark an open file as being written by this process (see :func:`claimed`)."""
    fcntl.flock(fd, fcntl.LOCK_EX)


def owned_name(prefix: str) -> str:
    """``prefix`` with this process's ID and a dash: the start of a temporary name."""
    return f"{prefix}{os.getpid()}-"


_OWNER = re.compile(r"[.-](\d+)(?:-|$)")


def _owner_alive(path: Path) -> bool:
    found = _OWNER.search(path.name)
    if found is None:
        return False
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def abandoned(path: Path) -> bool:
    """True when ``path`` exists, no live process holds it :func:`claimed`, and the process
    its name says made it (see :func:`owned_name`) is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return not _owner_alive(path)


def remove_if_abandoned(path: Path) -> bool:
    """Remove the file or directory ``path`` when it is :func:`abandoned`; True if it was."""
    if not abandoned(path):
        return False
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return True


@contextlib.contextmanager
def exclusive(lock_file: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the exclusive ``flock`` of ``lock_file`` (created if missing) while the block runs;
    when another process holds it, call ``on_wait`` once, then wait for it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def write_atomically(path: Path, content: bytes, *, durable: bool = False) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory and a
    rename, so readers see the old file or the new one, never half of either. ``durable``
    also flushes the data to disk before the rename.

    The file ends up with the mode and owner that Go's ``os.Create`` (which the reference
    lifecycle writes its files with) leaves: a new file gets 0666 less the umask (0644 under
    the usual 022, so containers of another uid can read it), and a file that is replaced
    keeps its mode and, where this process may set it, its owner.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old: os.stat_result | None = path.stat()
    except FileNotFoundError:
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode):
        old = None
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=owned_name(f".{path.name}."), suffix=TEMP_SUFFIX
    )
    try:
        claim(fd)
        with os.fdopen(fd, "wb") as out:
            if old is None:
                os.fchmod(out.fileno(), 0o666 & ~current_umask())
            else:
                os.fchmod(out.fileno(), stat.S_IMODE(old.st_mode))
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(PermissionError):
                        os.fchown(out.fileno(), old.st_uid, old.st_gid)
            out.write(content)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def relative_to_cwd(text: str) -> str:
    """``text`` with the paths in it under the working directory written relative to it, the
    way a user types them (``bp/buildpack.toml`` rather than ``/home/me/app/bp/buildpack.toml``)."""
    cwd = os.getcwd().rstrip("/")
    if cwd in ("", "/"):
        return text
    return text.replace(f"{cwd}/", "")
