"""The home's health check and sweep: damage is found, what killed writers left is found and
removed, and nothing a live writer holds is touched."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

from pypack.fsutil import abandoned, claimed, owned_name, remove_if_abandoned
from pypack.lifecycle.cache import METADATA_FILE, VolumeCache
from pypack.oci.stores import LayoutImageStore
from pypack.pack.health import check, sweep
from pypack.pack.home import Home
from tests.unit.oci.test_layout_store import simple_image


def _hold_and_hang(path: str, ready: multiprocessing.synchronize.Event) -> None:
    with claimed(Path(path)):
        ready.set()
        signal.pause()


def killed_holder(path: Path) -> None:
    """Claim ``path`` in a child process, then SIGKILL it mid-claim."""
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_hold_and_hang, args=(str(path), ready))
    child.start()
    assert ready.wait(10)
    assert not abandoned(path)  # held by a live process
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)


def test_a_killed_writers_directory_is_abandoned_and_a_live_ones_is_not(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    killed_holder(work)
    assert abandoned(work)
    assert remove_if_abandoned(work)
    assert not work.exists()
    live = tmp_path / "live"
    live.mkdir()
    with claimed(live):
        assert not abandoned(live)
        assert not remove_if_abandoned(live)
    assert live.exists()
    assert not abandoned(tmp_path / "missing")


def test_a_file_its_live_maker_has_not_claimed_yet_is_kept(tmp_path: Path) -> None:
    fresh = tmp_path / f"{owned_name('.incoming-')}abc"  # made, not claimed yet
    fresh.write_bytes(b"x")
    assert not abandoned(fresh)
    assert not remove_if_abandoned(fresh)
    gone = tmp_path / ".incoming-999999999-abc"  # its maker's process ID is not in use
    gone.write_bytes(b"x")
    assert remove_if_abandoned(gone)


def test_store_damage_is_named_by_image_and_digest(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    store = LayoutImageStore(home.images)
    saved = store.save(simple_image(tmp_path, b"one"), ["one"])
    store.save(simple_image(tmp_path, b"two"), ["two"])
    healthy = check(home)
    assert healthy.all_problems == []
    assert healthy.store.images == 2
    assert healthy.store.blobs == 6  # two manifests, two configs, two layers

    manifest = home.images.read_document(home.images.resolve("one")).manifest()  # type: ignore[arg-type]
    layer = home.images.blob_path(manifest.layers[0].digest)
    layer.write_bytes(b"not the layer")
    config = home.images.blob_path(manifest.config.digest)
    config.unlink()
    problems = check(home).all_problems
    assert problems == [
        f"{home.images.root}: image one: config {manifest.config.digest} is missing",
        f"{home.images.root}: image one: layer {manifest.layers[0].digest} does not match "
        "its digest",
    ], saved.digest


def test_blob_leftovers_are_listed_and_swept_but_not_while_held(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    LayoutImageStore(home.images).save(simple_image(tmp_path, b"one"), ["one"])
    blobs = home.images.blob_path("sha256:" + "0" * 64).parent
    dead = blobs / ".incoming-dead"
    dead.write_bytes(b"half")
    index_tmp = home.images.root / ".index.json.abc.tmp"
    index_tmp.write_bytes(b"{")
    held = blobs / ".incoming-held"
    held.write_bytes(b"half")
    orphan = home.builds / "build-dead"
    orphan.mkdir(parents=True)
    with claimed(held):
        assert check(home).all_leftovers == sorted([dead, index_tmp, orphan])
        assert sorted(sweep(home)) == sorted([dead, index_tmp, orphan])
        assert held.exists()
    after = check(home)
    assert after.all_leftovers == [held]  # its writer is gone now
    assert after.all_problems == []


def test_a_swap_killed_between_its_renames_is_finished(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    cache = VolumeCache(home.cache_for("app"))
    cache.backup.mkdir(parents=True)
    (cache.backup / METADATA_FILE).write_text("{}")
    cache.staging.mkdir()
    found = check(home)
    assert found.all_leftovers == sorted([cache.backup, cache.staging])
    assert found.problems == [
        f"{cache.root}: committed/ is missing beside its backup (--fix restores it)"
    ]
    sweep(home)
    assert (cache.committed / METADATA_FILE).is_file()
    assert not cache.backup.exists()
    assert not cache.staging.exists()
    assert check(home).all_problems == []


def test_a_damaged_cache_layer_is_found(tmp_path: Path) -> None:
    cache = VolumeCache(Home(tmp_path).cache_for("app"))
    cache.committed.mkdir(parents=True)
    (cache.committed / METADATA_FILE).write_text("{}")
    (cache.committed / ("sha256:" + "1" * 64 + ".tar")).write_bytes(b"x")
    assert check(Home(tmp_path)).problems == [
        f"{cache.committed}/sha256:{'1' * 64}.tar: does not match its digest"
    ]
