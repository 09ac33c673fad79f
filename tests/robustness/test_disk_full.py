"""A build whose pypack home is on a small file system that fills up fails with one line, and
the store and the cache are as they were: the previous image, its cache, nothing half-written;
once there is room again, the next build succeeds."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.busybox_stack import Stack, stack
from tests.e2e.conftest import run_pypack
from tests.robustness import kills

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root"),
]
__all__ = ["stack"]

SIZE_MB = 48


@pytest.fixture
def small_home(stack: Stack) -> Iterator[Path]:
    """A pypack home on a tmpfs of SIZE_MB, holding the busybox builder and run image (where
    the build user can reach it: not under pytest's 0700 directories)."""
    mount_point = Path(tempfile.mkdtemp(prefix="small-", dir=stack.root))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0755", "tmpfs", str(mount_point)],
        check=True,
    )
    try:
        home = mount_point / "home"
        source = LayoutImageStore(Home(stack.home).images)
        target = LayoutImageStore(Home(home).images)
        for name in ("test/builder:1", "example.com/stacks/run:1"):
            image = source.load(local_name(name))
            assert image is not None
            target.save(image, [local_name(name)])
        yield home
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)
        mount_point.rmdir()


def tree_digest(root: Path) -> str:
    """Every path, mode and content under ``root``, hashed."""
    hasher = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        hasher.update(f"{path.relative_to(root)} {path.lstat().st_mode}".encode())
        if path.is_file() and not path.is_symlink():
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


def build(home: Path, app: Path) -> tuple[int, str, str]:
    result = run_pypack(
        home, "build", "filling", "--path", str(app), "--builder", "test/builder:1", check=False
    )
    return result.returncode, result.stdout, result.stderr


# An app of this many MB needs it about three times over (work tree, layer, blob): each size
# runs out of room at another step.
@pytest.mark.parametrize("app_mb", [18, 30, 50])
def test_a_full_disk_fails_in_one_line_and_loses_nothing(
    stack: Stack, small_home: Path, app_mb: int
) -> None:
    small = stack.app(f"small-{app_mb}", "small")
    code, out, err = build(small_home, small)
    assert code == 0, out + err
    home = Home(small_home)
    before = home.images.resolve(local_name("filling"))
    assert before is not None
    cache = home.cache_for(local_name("filling"))
    cache_before = tree_digest(cache)

    big = stack.app(f"big-{app_mb}", "big")
    (big / "noise.bin").write_bytes(random.Random(app_mb).randbytes(app_mb << 20))
    code, out, err = build(small_home, big)
    assert code != 0, out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ERROR: ")
    assert "No space left on device" in lines[0]
    assert "Traceback" not in out + err
    step = [line.strip() for line in out.splitlines() if line.startswith("===>")][-1:]

    after = home.images.resolve(local_name("filling"))
    assert after is not None
    assert after.digest == before.digest
    assert tree_digest(cache) == cache_before
    report = kills.doctor(small_home)
    assert kills.leftovers(report) == []
    assert list(home.builds.iterdir()) == []

    (big / "noise.bin").unlink()  # room again
    code, out, err = build(small_home, big)
    assert code == 0, out + err
    print(f"{app_mb} MB app on a {SIZE_MB} MB home, failed in {step}: {lines[0]}")
