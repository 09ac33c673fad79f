"""Reproducible layers: same tree, same digests; diffID and blob digest agree with the bytes."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from pypack.oci import mediatypes
from pypack.oci.layers import (
    NORMALIZED_MTIME,
    LayerInfo,
    LayerWriter,
    gzip_file,
    in_parallel,
    ustar_header,
    write_layer_file,
)


def make_tree(root: Path, *, umask: int = 0o022, mtime: int = 1_700_000_000) -> Path:
    old = os.umask(umask)
    try:
        (root / "app" / "static").mkdir(parents=True)
        (root / "app" / "main.py").write_text("print('hi')\n")
        (root / "app" / "static" / "style.css").write_bytes(b"body{}\n" * 3000)
        (root / "app" / "run.sh").write_text("#!/bin/sh\necho run\n")
        os.chmod(root / "app" / "run.sh", 0o755)
        os.chmod(root / "app" / "main.py", 0o644)
        os.chmod(root / "app" / "static" / "style.css", 0o644)
        for d in (root / "app", root / "app" / "static"):
            os.chmod(d, 0o755)
        (root / "app" / "current").symlink_to("static")
        (root / "app" / "abs").symlink_to("/etc/hostname")
        os.link(root / "app" / "main.py", root / "app" / "main-link.py")
    finally:
        os.umask(old)
    for path in [*root.rglob("*"), root]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root / "app"


def layer_of(
    tree: Path, *, compress: bool, tmp: Path, uid: int = 1000, gid: int = 1000
) -> tuple[LayerInfo, bytes]:
    out = tmp / f"layer-{compress}-{uid}.tar"

    def fill(writer: LayerWriter) -> None:
        writer.add_parents("workspace/app")
        writer.add_tree(tree, "workspace/app", uid=uid, gid=gid)

    info = write_layer_file(out, fill, compress=compress)
    return info, out.read_bytes()


@pytest.mark.parametrize("compress", [False, True])
def test_same_tree_same_digests_whatever_mtimes_owners_and_umask(
    tmp_path: Path, compress: bool
) -> None:
    first = make_tree(tmp_path / "one", umask=0o022, mtime=1_600_000_000)
    second = make_tree(tmp_path / "two", umask=0o077, mtime=1_700_000_000)
    if os.geteuid() == 0:
        for path in [*second.rglob("*"), second]:
            os.lchown(path, 4242, 4242)
    # the umask only touched modes set at creation; explicit chmods above fix the real ones
    a, a_bytes = layer_of(first, compress=compress, tmp=tmp_path)
    b, b_bytes = layer_of(second, compress=compress, tmp=tmp_path / "two")
    assert a == b
    assert a_bytes == b_bytes


def test_digests_match_the_bytes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src")
    plain, plain_bytes = layer_of(tree, compress=False, tmp=tmp_path)
    zipped, zipped_bytes = layer_of(tree, compress=True, tmp=tmp_path / "src")
    assert plain.media_type == mediatypes.OCI_LAYER
    assert zipped.media_type == mediatypes.OCI_LAYER_GZIP
    assert plain.diff_id == plain.digest == "sha256:" + hashlib.sha256(plain_bytes).hexdigest()
    assert plain.size == len(plain_bytes)
    assert zipped.digest == "sha256:" + hashlib.sha256(zipped_bytes).hexdigest()
    assert zipped.size == len(zipped_bytes)
    assert gzip.decompress(zipped_bytes) == plain_bytes
    assert zipped.diff_id == plain.diff_id


def test_entries_are_normalized(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src")
    _, data = layer_of(tree, compress=False, tmp=tmp_path, uid=1001, gid=1002)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == [
        "workspace",
        "workspace/app",
        "workspace/app/abs",
        "workspace/app/current",
        "workspace/app/main-link.py",
        "workspace/app/main.py",
        "workspace/app/run.sh",
        "workspace/app/static",
        "workspace/app/static/style.css",
    ]
    by_name = {m.name: m for m in members}
    assert all(m.mtime == NORMALIZED_MTIME for m in members)
    assert all(m.uname == "" and m.gname == "" for m in members)
    assert (by_name["workspace"].uid, by_name["workspace"].gid) == (0, 0)
    assert (by_name["workspace/app/main.py"].uid, by_name["workspace/app/main.py"].gid) == (
        1001,
        1002,
    )
    assert by_name["workspace/app/abs"].linkname == "/etc/hostname"
    assert by_name["workspace/app/current"].issym()
    assert by_name["workspace/app/run.sh"].mode == 0o755
    hard = by_name["workspace/app/main.py"]
    assert hard.islnk()
    assert hard.linkname == "workspace/app/main-link.py"
    assert not any(m.pax_headers for m in members)


def test_long_names_get_deterministic_pax_headers(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = LayerWriter(out)
    long_name = "d/" + "x" * 150 + "/ü.txt"
    writer.add_bytes(long_name, b"data")
    info = writer.close()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        (member,) = tar.getmembers()
    assert member.name == long_name
    assert b"PaxHeader" in out.getvalue()[:512]
    again = io.BytesIO()
    writer = LayerWriter(again)
    writer.add_bytes(long_name, b"data")
    assert writer.close() == info


def test_creation_time_can_be_set(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = LayerWriter(out, mtime=1_234_567_890)
    writer.add_bytes("f", b"x")
    writer.close()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.getmember("f").mtime == 1_234_567_890


def test_gzip_file_matches_streaming_compression(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src")
    _plain, plain_bytes = layer_of(tree, compress=False, tmp=tmp_path)
    zipped, _ = layer_of(tree, compress=True, tmp=tmp_path / "src")
    out = io.BytesIO()
    digest, size = gzip_file(io.BytesIO(plain_bytes), out)
    assert (digest, size) == (zipped.digest, zipped.size)


def test_in_parallel_keeps_order() -> None:
    jobs = [functools.partial(pow, i, 2) for i in range(6)]
    assert in_parallel(jobs, workers=2) == [0, 1, 4, 9, 16, 25]


def test_bad_names_are_refused() -> None:
    writer = LayerWriter(io.BytesIO())
    for name in ("a/../b", "a//b", "./a"):
        with pytest.raises(ValueError, match="not a clean path"):
            writer.add_bytes(name, b"")


@pytest.mark.parametrize(
    ("name", "kind", "size", "linkname"),
    [
        ("workspace", tarfile.DIRTYPE, 0, ""),
        ("workspace/app/main.py", tarfile.REGTYPE, 1234, ""),
        ("workspace/link", tarfile.SYMTYPE, 0, "/etc/os-release"),
        ("workspace/hard", tarfile.LNKTYPE, 0, "workspace/app/main.py"),
        ("x" * 100, tarfile.REGTYPE, 8**11 - 1, ""),
    ],
)
def test_fast_header_is_what_tarfile_writes(
    name: str, kind: bytes, size: int, linkname: str
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode, info.uid, info.gid, info.size, info.mtime = 0o755, 1000, 1001, size, NORMALIZED_MTIME
    info.uname = info.gname = ""
    info.linkname = linkname
    fast = ustar_header(name, kind, 0o755, 1000, 1001, size, NORMALIZED_MTIME, linkname)
    assert fast == info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("name", "size", "uid"),
    [("y" * 101, 0, 0), ("ü", 0, 0), ("big", 8**11, 0), ("uid", 0, 8**7)],
)
def test_fast_header_declines_what_needs_pax(name: str, size: int, uid: int) -> None:
    assert ustar_header(name, tarfile.REGTYPE, 0o644, uid, 0, size, NORMALIZED_MTIME) is None
