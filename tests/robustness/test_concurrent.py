"""Builds at the same moment in one pypack home: four apps and the same app twice share the
store, the unpacked builder and the build caches. All succeed (a second build of one image
waits for the first's cache, and says so), nothing is damaged, and each name points at the
image its last build made."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess

import pytest

from pypack.lifecycle.cache import VolumeCache
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.busybox_stack import Stack, stack
from tests.e2e.conftest import PYPACK, pypack_env
from tests.robustness import kills
from tests.robustness.heavy_stack import BUILDER, build_args, heavy

pytestmark = [pytest.mark.e2e]
__all__ = ["heavy", "stack"]

WAITING = "Waiting for another build that is using the cache"


def start(stack: Stack, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYPACK, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=pypack_env(stack.home),
    )


def finish(process: subprocess.Popen[str]) -> kills.Run:
    output, _ = process.communicate(timeout=280)
    return kills.Run(output.splitlines(keepends=True), process.returncode, killed=False)


@pytest.mark.parametrize(
    "apps", [pytest.param(4, id="short"), pytest.param(10, id="long", marks=pytest.mark.slow)]
)
def test_builds_of_several_apps_and_one_app_twice_at_once_in_one_home(
    heavy: Stack, apps: int
) -> None:
    home = Home(heavy.home)
    shutil.rmtree(home.rootfs, ignore_errors=True)  # so that every build unpacks the builder
    runs = [build_args(heavy, f"at-once-{n}", f"app {n}")[1:] for n in range(apps)]
    same = build_args(heavy, "at-once-same", "same")[1:]
    processes = [start(heavy, args) for args in [*runs, same, same]]
    results = [finish(process) for process in processes]
    for result in results:
        assert result.returncode == 0, result.text
    for number, result in enumerate(results[:apps]):
        descriptor = home.images.resolve(local_name(f"at-once-{number}"))
        assert descriptor is not None
        assert descriptor.digest == result.digest()
    first, second = results[apps:]
    assert first.digest() == second.digest()  # the same inputs
    descriptor = home.images.resolve(local_name("at-once-same"))
    assert descriptor is not None
    assert descriptor.digest == first.digest()
    report = kills.doctor(heavy.home)
    assert kills.leftovers(report) == []
    assert len(os.listdir(home.rootfs)) == 1  # one unpacked builder, whoever won
    waited = sum(WAITING in result.text for result in results[apps:])
    print(f"{apps + 2} builds at once: all succeeded; {waited} of the pair waited for the cache")


def test_a_build_waits_for_the_cache_another_build_holds_and_says_so(heavy: Stack) -> None:
    args = build_args(heavy, "waits", "wait")[1:]
    cache = VolumeCache(Home(heavy.home).cache_for("waits"))
    cache.root.mkdir(parents=True, exist_ok=True)
    with open(cache.lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another build's hold
        process = start(heavy, args)
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if WAITING in line:
                break
        assert any(WAITING in line for line in seen), "".join(seen)
        assert process.poll() is None  # waiting, not failed
        fcntl.flock(lock, fcntl.LOCK_UN)
        rest = finish(process)
    assert rest.returncode == 0, "".join(seen) + rest.text
    assert "Successfully built image waits" in rest.text
    assert BUILDER in " ".join(args)
