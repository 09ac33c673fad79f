"""The health of a pypack home: checked the way a build relies on it (``pypack doctor``), and
cleaned up after commands that were killed.

:func:`check` reads every blob the local image store's images reach and checks it against its
digest, checks every volume cache's layers against theirs, and lists what killed commands left:
build work directories, half-unpacked builders, blob and index files being written, cache staging
directories and backups. Those are found by their ``flock`` (see :func:`pypack.fsutil.claimed`):
a live command's files are never touched. Every build ends with :func:`sweep`, so leftovers
live only until the next build.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from pypack.fsutil import TEMP_SUFFIX, abandoned, remove_if_abandoned
from pypack.lifecycle.cache import METADATA_FILE, VolumeCache
from pypack.oci.digest import file_digest
from pypack.oci.layout import LayoutCheck
from pypack.pack.home import Home
from pypack.pack.rootfs import PARTIAL_MARK


@dataclass
class HomeCheck:
    """What :func:`check` found in a pypack home."""

    store: LayoutCheck
    caches: int = 0
    cache_layers: int = 0
    problems: list[str] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)

    @property
    def all_problems(self) -> list[str]:
        """Damage anywhere: the store's and the caches'."""
        return [*self.store.problems, *self.problems]

    @property
    def all_leftovers(self) -> list[Path]:
        """Everything killed commands left, store included."""
        return sorted([*self.store.leftovers, *self.leftovers])


def check(home: Home) -> HomeCheck:
    """Check ``home``'s image store, caches and work directories; change nothing."""
    result = HomeCheck(store=home.images.check())
    result.leftovers += _abandoned_work(home)
    for root in _cache_roots(home):
        cache = VolumeCache(root)
        with _unless_in_use(cache) as free:
            if not free:
                continue  # a build is writing it: its staging is not a leftover
            result.caches += 1
            result.leftovers += [p for p in (cache.staging, cache.backup) if p.exists()]
            result.cache_layers += _check_cache(cache, result.problems)
    return result


def sweep(home: Home) -> list[Path]:
    """Remove what killed commands left in ``home`` (nothing a live command holds); finish a
    cache swap a kill interrupted. Return what was removed."""
    removed = home.images.sweep()
    removed += [p for p in _abandoned_work(home) if remove_if_abandoned(p)]
    for root in _cache_roots(home):
        cache = VolumeCache(root)
        with _unless_in_use(cache) as free:
            if free:
                leftovers = [p for p in (cache.staging, cache.backup) if p.exists()]
                cache.recover()
                removed += leftovers
    return removed


@contextmanager
def sweeping(home: Home) -> Iterator[None]:
    """Run the block, then :func:`sweep` ``home`` however it ended (a failed sweep is not
    the command's failure)."""
    try:
        yield
    finally:
        with suppress(OSError):
            sweep(home)


def _abandoned_work(home: Home) -> list[Path]:
    candidates: list[Path] = []
    if home.builds.is_dir():
        candidates += home.builds.iterdir()
    if home.rootfs.is_dir():
        candidates += [p for p in home.rootfs.iterdir() if PARTIAL_MARK in p.name]
    if (home.root / "reuse").is_dir():
        candidates += [p for p in (home.root / "reuse").iterdir() if p.name.endswith(TEMP_SUFFIX)]
    return sorted(p for p in candidates if abandoned(p))


def _cache_roots(home: Home) -> list[Path]:
    caches = home.root / "cache"
    return sorted(p for p in caches.iterdir() if p.is_dir()) if caches.is_dir() else []


@contextmanager
def _unless_in_use(cache: VolumeCache) -> Iterator[bool]:
    """Hold the cache's lock if no build holds it; say whether it was free."""
    if not cache.lock_path.exists():
        yield True  # no build of pypack has locked it yet (e.g. a lifecycle's -cache-dir)
        return
    with open(cache.lock_path, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _check_cache(cache: VolumeCache, problems: list[str]) -> int:
    """Check each committed layer tar against the digest it is named by; return the count."""
    if not cache.committed.is_dir():
        if cache.backup.is_dir():
            problems.append(
                f"{cache.root}: committed/ is missing beside its backup (--fix restores it)"
            )
        return 0
    if not (cache.committed / METADATA_FILE).is_file():
        problems.append(f"{cache.root}: committed/{METADATA_FILE} is missing")
    count = 0
    for tar in sorted(cache.committed.glob("sha256:*.tar")):
        with open(tar, "rb") as handle:
            actual, _ = file_digest(handle)
        count += 1
        if f"{actual}.tar" != tar.name:
            problems.append(f"{tar}: does not match its digest")
    return count
