"""Extraction refuses hostile tars and applies whiteouts; what it extracts is what was written."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from pypack.oci.extract import BrokenArchive, UnsafeArchive, extract_layer
from pypack.oci.layers import LayerWriter


def tar_of(*members: tuple[str, str, bytes | str]) -> io.BytesIO:
    """Build a tar from (kind, name, content-or-linkname) tuples: kinds file/dir/sym/hard."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(payload, bytes)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[
                kind
            ]
            if kind in ("sym", "hard"):
                assert isinstance(payload, str)
                info.linkname = payload
            if kind == "dir":
                info.mode = 0o755
            tar.addfile(info)
    data.seek(0)
    return data


def test_refuses_dot_dot_entry(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive, match=r"entry '\.\./evil' points outside the destination"):
        extract_layer(tar_of(("file", "../evil", b"x")), tmp_path / "root")
    assert not (tmp_path / "evil").exists()


def test_refuses_dot_dot_in_the_middle(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive, match="points outside"):
        extract_layer(tar_of(("file", "a/../../evil", b"x")), tmp_path / "root")
    assert not (tmp_path / "evil").exists()


def test_refuses_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "abs-target"
    with pytest.raises(UnsafeArchive, match="has an absolute path"):
        extract_layer(tar_of(("file", str(target), b"x")), tmp_path / "root")
    assert not target.exists()


def test_refuses_writing_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    hostile = tar_of(("sym", "link", str(outside)), ("file", "link/pwned", b"x"))
    with pytest.raises(UnsafeArchive, match="would be written through the symlink 'link'"):
        extract_layer(hostile, tmp_path / "root")
    assert list(outside.iterdir()) == []


def test_a_directory_checked_then_replaced_by_a_symlink_is_checked_again(tmp_path: Path) -> None:
    """Parents found to be directories are not looked at again, until an entry replaces one."""
    outside = tmp_path / "outside"
    outside.mkdir()
    hostile = tar_of(
        ("file", "dir/first", b"x"),  # dir/ found (made) a directory
        ("sym", "dir", str(outside)),  # then replaced by a link out
        ("file", "dir/pwned", b"x"),
    )
    with pytest.raises(UnsafeArchive, match="would be written through the symlink 'dir'"):
        extract_layer(hostile, tmp_path / "root")
    assert list(outside.iterdir()) == []


def test_refuses_writing_through_a_symlink_from_an_earlier_layer(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    extract_layer(tar_of(("sym", "etc", str(outside))), root)
    with pytest.raises(UnsafeArchive, match="through the symlink"):
        extract_layer(tar_of(("file", "etc/passwd", b"root::0:0::/:/bin/sh\n")), root)
    assert list(outside.iterdir()) == []


def test_a_file_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    root = tmp_path / "root"
    extract_layer(tar_of(("sym", "f", str(outside)), ("file", "f", b"new")), root)
    assert outside.read_text() == "keep"
    assert not (root / "f").is_symlink()
    assert (root / "f").read_bytes() == b"new"


def test_refuses_hard_link_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s")
    with pytest.raises(UnsafeArchive, match="points outside"):
        extract_layer(tar_of(("hard", "copy", "../secret")), tmp_path / "root")
    with pytest.raises(UnsafeArchive, match="absolute path"):
        extract_layer(tar_of(("hard", "copy", str(secret))), tmp_path / "root2")
    assert not (tmp_path / "root" / "copy").exists()


def test_refuses_hard_link_to_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    hostile = tar_of(("sym", "l", str(tmp_path / "secret")), ("hard", "copy", "l"))
    with pytest.raises(UnsafeArchive, match="not a file extracted before it"):
        extract_layer(hostile, tmp_path / "root")


def test_keeps_absolute_symlink_targets(tmp_path: Path) -> None:
    root = tmp_path / "root"
    extract_layer(tar_of(("sym", "usr/bin/python", "/usr/bin/python3.11")), root)
    assert os.readlink(root / "usr" / "bin" / "python") == "/usr/bin/python3.11"


def test_whiteouts(tmp_path: Path) -> None:
    root = tmp_path / "root"
    lower = tar_of(
        ("dir", "etc", b""),
        ("file", "etc/a", b"a"),
        ("file", "etc/b", b"b"),
        ("dir", "opt", b""),
        ("file", "opt/old", b"o"),
    )
    extract_layer(lower, root)
    upper = tar_of(
        ("file", "etc/.wh.a", b""),
        ("dir", "opt", b""),
        ("file", "opt/.wh..wh..opq", b""),
        ("file", "opt/new", b"n"),
    )
    extract_layer(upper, root)
    assert sorted(os.listdir(root / "etc")) == ["b"]
    assert sorted(os.listdir(root / "opt")) == ["new"]


def test_whiteout_naming_no_sibling_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive, match="names no sibling"):
        extract_layer(tar_of(("file", "etc/.wh...", b"")), tmp_path / "root")


def test_round_trip_with_writer(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = LayerWriter(out, compress=True)
    writer.add_dir("app", uid=0, gid=0, mode=0o750)
    writer.add_bytes("app/run", b"#!/bin/sh\n", mode=0o755)
    writer.add_symlink("app/link", "run")
    writer.close()
    out.seek(0)
    root = tmp_path / "root"
    written = extract_layer(out, root)
    assert written == ["app", "app/run", "app/link"]
    assert (root / "app" / "run").read_bytes() == b"#!/bin/sh\n"
    assert (root / "app" / "run").stat().st_mode & 0o777 == 0o755
    assert os.readlink(root / "app" / "link") == "run"
    assert (root / "app").stat().st_mode & 0o777 == 0o750


def test_accepts_a_layer_without_end_blocks_but_not_a_cut_file(tmp_path: Path) -> None:
    whole = tar_of(("file", "a", b"abc"), ("file", "b", b"x" * 700)).getvalue()
    no_end = whole[: 512 + 512 + 512 + 700]  # both headers and all data, no padding or end blocks
    assert extract_layer(io.BytesIO(no_end), tmp_path / "ok") == ["a", "b"]
    assert (tmp_path / "ok" / "b").read_bytes() == b"x" * 700
    cut = whole[: 512 + 512 + 512 + 100]
    with pytest.raises(BrokenArchive, match="layer: not a readable tar: unexpected end of data"):
        extract_layer(io.BytesIO(cut), tmp_path / "cut")


def test_garbage_is_a_broken_archive(tmp_path: Path) -> None:
    with pytest.raises(BrokenArchive, match="cache: not a readable tar"):
        extract_layer(io.BytesIO(b"\x1f\x8b" + b"garbage" * 100), tmp_path / "x", source="cache")
