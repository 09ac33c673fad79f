"""Builds, builder creations and rebases killed with SIGKILL at points of their own progress:
the next run succeeds with the digest of an uninterrupted one, and ``pypack doctor`` finds every
blob present and matching, and — once that next run has ended — nothing left behind.

The kill points are lines the command prints (spread over restore, build and export) and paths
appearing while it writes (a layer in the work tree, a blob entering the store, the cache being
staged). A short default runs the same code as the ``slow`` variant with fewer points.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.busybox_stack import Stack, stack
from tests.e2e.conftest import registry_digest
from tests.robustness import kills
from tests.robustness.heavy_stack import build_args, heavy
from tests.robustness.kills import KillPoint

pytestmark = [pytest.mark.e2e]
__all__ = ["heavy", "stack"]


@dataclass
class Tally:
    """Kills made and survived, for the figures the note gives."""

    made: int = 0
    survived: int = 0
    leftovers_found: int = 0
    points: list[str] = field(default_factory=list)


def variants(short: int, long: int) -> pytest.MarkDecorator:
    """The number of kills: ``short`` by default, ``long`` in the ``slow`` variant."""
    return pytest.mark.parametrize(
        "wanted",
        [pytest.param(short, id="short"), pytest.param(long, id="long", marks=pytest.mark.slow)],
    )


def points_for(
    wanted: int, lines: list[str], marker: str, writes: list[KillPoint]
) -> list[KillPoint]:
    """``wanted`` kill points: the writes' and the rest spread over the output; when the output
    has too few lines, the points again (a kill at the same point lands at another moment)."""
    points = kills.points_from_output(lines, max(1, wanted - len(writes)), marker) + writes
    return [points[i % len(points)] for i in range(wanted)]


def store_points(home: Path, cache_root: Path | None) -> list[KillPoint]:
    """Kill points in the middle of writes, found by the paths those writes make."""
    points = [
        KillPoint("a layer half written", root=home, path_glob="builds/*/layers/*/big/blob"),
        KillPoint(
            "a blob entering the store", root=home, path_glob="images/blobs/sha256/.incoming-*"
        ),
    ]
    if cache_root is not None:
        points.append(KillPoint("the cache being staged", root=cache_root, path_glob="staging/*"))
    return points


def kill_and_recover(
    home: Path,
    args_for: dict[str, list[str]],
    baseline: dict[str, str],
    points: list[KillPoint],
    tally: Tally,
    before_each: Callable[[int, str], None] = lambda number, state: None,
    after_each: Callable[[int, str], None] = lambda number, state: None,
) -> None:
    """For each point: kill a run of one state (the last completed run being of the other, so
    nothing is reused), check the home, run that state again and compare with the baseline."""
    states = list(args_for)
    for number, point in enumerate(points):
        state = states[number % 2]
        before_each(number, state)
        Home(home).images.gc()  # the other state's blobs go: the run must write its own
        killed = kills.run(home, args_for[state], kill_at=point)
        assert killed.killed, f"{point.description}: the run ended first:\n{killed.text}"
        tally.made += 1
        tally.points.append(point.description)
        tally.leftovers_found += len(kills.leftovers(kills.doctor(home)))
        again = kills.run(home, args_for[state])
        assert again.returncode == 0, f"after a kill at {point.description}:\n{again.text}"
        assert again.digest() == baseline[state], point.description
        assert kills.leftovers(kills.doctor(home)) == [], point.description
        after_each(number, state)
        tally.survived += 1


def baseline_of(home: Path, args_for: dict[str, list[str]]) -> tuple[dict[str, str], kills.Run]:
    """Each state run twice uninterrupted (the same digest both times); the output of a warm
    run for choosing kill points."""
    digests: dict[str, str] = {}
    reference = None
    for _ in range(2):
        for state, args in args_for.items():
            result = kills.run(home, args)
            assert result.returncode == 0, result.text
            assert digests.setdefault(state, result.digest()) == result.digest(), state
            reference = result
    assert reference is not None
    return digests, reference


@variants(10, 20)
def test_killed_daemonless_builds_recover_with_the_same_digest(heavy: Stack, wanted: int) -> None:
    args_for = {s: build_args(heavy, "killed-app", s) for s in ("A", "B")}
    baseline, reference = baseline_of(heavy.home, args_for)
    assert baseline["A"] != baseline["B"]
    writes = store_points(heavy.home, Home(heavy.home).cache_for("killed-app"))
    points = points_for(wanted, reference.lines, "===> RESTORING", writes)
    tally = Tally()
    kill_and_recover(heavy.home, args_for, baseline, points, tally)
    print(
        f"daemonless: {tally.survived} of {tally.made} kills survived, "
        f"{tally.leftovers_found} leftovers found before the next build: {tally.points}"
    )
    assert tally.survived == tally.made == len(points)


@variants(5, 20)
def test_killed_publishing_builds_recover_with_the_same_digest(
    heavy: Stack, registry: str, wanted: int
) -> None:
    run = LayoutImageStore(Home(heavy.home).images).load(local_name("example.com/stacks/run:1"))
    assert run is not None
    run_image = f"{registry}/robust/run:1"
    RegistryImageStore().save(run, [run_image])

    run_id = heavy.root.name.lower().replace("_", "-")  # the registry outlives a test run

    def published(name: str, greeting: str) -> list[str]:
        extra = ("--publish", "--run-image", run_image)
        return build_args(heavy, f"{registry}/robust/{run_id}-{name}", greeting, *extra)

    baseline, _ = baseline_of(heavy.home, {s: published("base", s) for s in ("A", "B")})
    reference = kills.run(heavy.home, published("reference", "B"))  # a first push, as the kills'
    assert reference.digest() == baseline["B"]
    storage = Path(os.environ["PYPACK_RUN"]) / "registry-data" / "docker/registry/v2/repositories"
    writes = store_points(heavy.home, None)[:1]
    writes.append(
        KillPoint("a layer being uploaded", root=storage, path_glob="robust/*/_uploads/*")
    )
    points = points_for(wanted, reference.lines, "===> RESTORING", writes)
    # Each kill goes to a repository of its own, so every blob is uploaded again.
    args_for = {s: published("killed", s) for s in ("A", "B")}

    def new_repository(number: int, state: str) -> None:
        for each in args_for:
            args_for[each] = published(f"killed-{number}", each)

    def tag_is_the_baseline(number: int, state: str) -> None:
        assert registry_digest(f"{registry}/robust/{run_id}-killed-{number}") == baseline[state]

    tally = Tally()
    kill_and_recover(
        heavy.home, args_for, baseline, points, tally, new_repository, tag_is_the_baseline
    )
    print(f"publishing: {tally.survived} of {tally.made} kills survived: {tally.points}")
    assert tally.survived == tally.made == len(points)


@variants(3, 20)
def test_killed_builder_creations_recover_with_the_same_digest(heavy: Stack, wanted: int) -> None:
    config = str(heavy.root / "heavy.toml")
    args_for = {
        s: ["--verbose", "builder", "create", f"test/heavy-{s.lower()}:1", "--config", config]
        for s in ("A", "B")
    }
    baseline, reference = baseline_of(heavy.home, args_for)
    writes = [
        KillPoint("its work directory made", root=heavy.home, path_glob="builds/pypack-builder-*"),
        KillPoint("a layer being made", root=heavy.home, path_glob="builds/pypack-builder-*/*"),
    ]
    points = points_for(wanted, reference.lines, "", writes)

    def untag_both(number: int, state: str) -> None:
        for each in args_for:
            Home(heavy.home).images.untag(local_name(f"test/heavy-{each.lower()}:1"))

    tally = Tally()
    kill_and_recover(heavy.home, args_for, baseline, points, tally, untag_both)
    print(f"builder create: {tally.survived} of {tally.made} kills survived: {tally.points}")
    assert tally.survived == tally.made == len(points)


@variants(3, 20)
def test_killed_rebases_recover_with_the_same_digest(
    heavy: Stack, registry: str, busybox_base: Image, tmp_path: Path, wanted: int
) -> None:
    run_id = heavy.root.name.lower().replace("_", "-")
    run_images: dict[str, str] = {}
    for state in ("A", "B"):  # two run images in the registry, each with a big layer to pull
        image = busybox_base.copy()
        big = tmp_path / f"run-{state}.tar"
        noise = random.Random(f"run {state}").randbytes(16 << 20)

        def fill(writer: LayerWriter, content: bytes = noise) -> None:
            writer.add_bytes("noise", content)

        image.add_layer(big, write_layer_file(big, fill))
        run_images[state] = f"{registry}/robust/{run_id}-run-{state.lower()}:1"
        RegistryImageStore().save(image, [run_images[state]])
    heavy.pypack(*build_args(heavy, "rebased-app", "A")[1:])
    args_for = {
        s: ["--verbose", "rebase", "rebased-app", "--run-image", run_images[s], "--force"]
        for s in ("A", "B")
    }
    baseline, reference = baseline_of(heavy.home, args_for)
    points = points_for(wanted, reference.lines, "", store_points(heavy.home, None)[1:])

    def forget_run_images(number: int, state: str) -> None:
        for each in run_images.values():  # pulled again by the next rebase
            Home(heavy.home).images.untag(local_name(each))

    tally = Tally()
    kill_and_recover(heavy.home, args_for, baseline, points, tally, forget_run_images)
    print(f"rebase: {tally.survived} of {tally.made} kills survived: {tally.points}")
    assert tally.survived == tally.made == len(points)
