"""The stat index: content hashed again only when stat data changed or cannot be trusted."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pypack.pack import tree_digest
from pypack.pack.app_filter import AppFilter
from pypack.pack.app_source import walk_app
from pypack.pack.tree_digest import TRUST_AFTER_NS, StatIndex, path_digest


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files whose content was read, in order."""
    calls: list[Path] = []
    real = tree_digest.file_digest

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(tree_digest, "file_digest", counting)
    return calls


def _old(path: Path) -> None:
    """Set ``path``'s mtime well before now, so that an index may trust it."""
    past = time.time_ns() - 10 * TRUST_AFTER_NS
    os.utime(path, ns=(past, past))


def _hashed_once(folder: Path, *, old: bool) -> tuple[Path, Path, str]:
    """A source file hashed into a saved index: (the file, the index file, its digest)."""
    source = folder / "a.py"
    source.write_text("x = 1\n")  # mtime: now, as close to the hashing as an editor's save
    if old:
        _old(source)
    index_file = folder / "index.json"
    first = StatIndex(index_file)
    digest = first.digest(source, source.stat())
    first.save()
    return source, index_file, digest


def test_an_old_unchanged_file_is_not_read_again(tmp_path: Path, hashed: list[Path]) -> None:
    source, index_file, digest = _hashed_once(tmp_path, old=True)
    assert StatIndex(index_file).digest(source, source.stat()) == digest
    assert hashed == [source]


def test_a_file_modified_just_before_it_was_hashed_is_read_again(
    tmp_path: Path, hashed: list[Path]
) -> None:
    source, index_file, _ = _hashed_once(tmp_path, old=False)
    StatIndex(index_file).digest(source, source.stat())
    assert hashed == [source, source]


def test_changed_stat_data_is_read_again_and_a_bad_index_is_ignored(
    tmp_path: Path, hashed: list[Path]
) -> None:
    source, index_file, before = _hashed_once(tmp_path, old=True)
    source.write_text("x = 2\n")
    _old(source)
    assert StatIndex(index_file).digest(source, source.stat()) != before
    index_file.write_text("{not json")
    assert StatIndex(index_file).digest(source, source.stat()) != before
    assert len(hashed) == 3


def test_the_tree_digest_sees_names_modes_links_and_filters(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "m.py").write_text("pass\n")
    (app / ".gitignore").write_text("*.log\n")

    def digest() -> str:
        index = StatIndex(tmp_path / "index.json")
        return tree_digest.tree_digest(walk_app(app, AppFilter.for_app(app, None, None)), index)

    seen = {digest()}
    (app / "debug.log").write_text("ignored\n")
    assert digest() in seen
    for change in (
        lambda: (app / "pkg" / "m.py").chmod(0o755),
        lambda: (app / "pkg" / "m.py").rename(app / "pkg" / "n.py"),
        lambda: (app / "link").symlink_to("pkg"),
        lambda: (app / "empty").mkdir(),
    ):
        change()
        now = digest()
        assert now not in seen
        seen.add(now)


def test_a_path_digest_of_a_directory_and_of_a_file(tmp_path: Path) -> None:
    index = StatIndex(tmp_path / "index.json")
    folder = tmp_path / "bp"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "build").write_text("#!/bin/sh\n")
    os.mkfifo(folder / "fifo")  # never opened: reading it would block
    first = path_digest(folder, index)
    (folder / "bin" / "build").write_text("#!/bin/sh\necho\n")
    assert path_digest(folder, index) != first
    assert path_digest(folder / "bin" / "build", index) == tree_digest.file_digest(
        folder / "bin" / "build"
    )
