"""write_atomically leaves files as Go's os.Create does in the reference lifecycle."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypack.fsutil import current_umask, relative_to_cwd, write_atomically


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0644_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "new" / "report.toml"
    write_atomically(path, b"x")
    assert path.read_bytes() == b"x"
    assert mode(path) == 0o644
    assert mode(path.parent) == 0o755
    assert [p.name for p in path.parent.iterdir()] == ["report.toml"]


def test_a_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        write_atomically(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "f") == 0o640


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"old")
    path.chmod(0o600)
    write_atomically(path, b"new", durable=True)
    assert (path.read_bytes(), mode(path)) == (b"new", 0o600)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_root_replacing_a_file_keeps_its_owner(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "analyzed.toml"
    path.write_bytes(b"old")
    os.chown(path, 1000, 1000)
    write_atomically(path, b"new")
    info = path.stat()
    assert (info.st_uid, info.st_gid, mode(path)) == (1000, 1000, 0o644)


def test_paths_under_the_working_directory_read_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = f"b.toml: {tmp_path}/bp/buildpack.toml: x; {tmp_path.parent}/other stays"
    assert relative_to_cwd(text) == f"b.toml: bp/buildpack.toml: x; {tmp_path.parent}/other stays"
    monkeypatch.chdir("/")
    assert relative_to_cwd("/etc/x") == "/etc/x"
