"""``--path app.zip`` (or a .jar): the app is the archive's contents, as pack builds it."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.pack.app_source import is_app_archive, unpack_app_archive


def _zip(path: Path, entries: dict[str, tuple[bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, (content, mode) in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16 if mode else 0
            zipped.writestr(info, content)
    return path


def test_a_zip_is_unpacked_with_its_modes(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "app.zip",
        {"main.py": (b"print(1)\n", 0o644), "bin/run": (b"#!/bin/sh\n", 0o755)},
    )
    assert is_app_archive(archive)
    dest = unpack_app_archive(archive, tmp_path / "out")
    assert (dest / "main.py").read_bytes() == b"print(1)\n"
    assert stat.S_IMODE((dest / "bin" / "run").stat().st_mode) == 0o755


def test_names_that_climb_out_stay_inside(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "evil.jar", {"../../outside.txt": (b"no", 0o644)})
    dest = unpack_app_archive(archive, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()
    assert (dest / "outside.txt").read_bytes() == b"no"


def test_a_plain_file_is_no_archive(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert not is_app_archive(tmp_path / "notes.txt")
    assert not is_app_archive(tmp_path)


def test_a_broken_archive_is_one_line(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "app.zip", {"a.txt": (b"a" * 100, 0o644)})
    data = bytearray(archive.read_bytes())
    data[40:60] = b"\0" * 20  # inside the member's data: the CRC no longer matches
    archive.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"^--path .*app\.zip: cannot unpack the archive: "):
        unpack_app_archive(archive, tmp_path / "out")
