"""Reproducible layer tars, hashed (and optionally gzipped) in one streaming pass.

The same tree gives the same bytes whatever its files' mtimes, owners or the umask: entries come
in walk order (names sorted), every mtime is 1980-01-01T00:00:01Z (or a given epoch), uid and
gid are what the caller says, user and group names are empty, and PAX records appear only for
long or non-ASCII names. While the tar streams out, the diffID (sha256 of the tar) and the blob
digest (sha256 of what is stored, gzip or not) are computed, so nothing is read twice and
nothing is held in memory.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from pypack.oci import mediatypes
from pypack.oci.deflate import gzip_compressor
from pypack.oci.digest import file_digest

NORMALIZED_MTIME = 315532801
"""1980-01-01T00:00:01Z, the timestamp of every entry in a reproducible layer."""

GZIP_LEVEL = 1
_CHUNK = 1 << 20
_SMALL_FILE = 1 << 20
_BLOCK = tarfile.BLOCKSIZE


@dataclass(frozen=True)
class LayerInfo:
    """A written layer: its diffID, and the digest, size and media type of the stored blob."""

    diff_id: str
    digest: str
    size: int
    media_type: str

    @property
    def compressed(self) -> bool:
        """True when the blob is gzip-compressed."""
        return mediatypes.is_gzip_layer(self.media_type)


class _HashingSink:
    """Receives tar bytes; hashes them (diffID), compresses them if asked, hashes and writes
    what is stored."""

    def __init__(self, out: BinaryIO, *, compress: bool, level: int) -> None:
        self._out = out
        self._tar_hash = hashlib.sha256()
        self._blob_hash = hashlib.sha256() if compress else self._tar_hash
        self._zip = gzip_compressor(level) if compress else None
        self.compress = compress
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self._tar_hash.update(data)
        if self._zip is None:
            self._store(data)
        else:
            self._store(self._zip.compress(data))

    def _store(self, data: bytes | memoryview) -> None:
        if not data:
            return
        if self._zip is not None:
            self._blob_hash.update(data)
        self._out.write(data)
        self.size += len(data)

    def finish(self) -> tuple[str, str, int]:
        if self._zip is not None:
            self._store(self._zip.flush())
        return (
            "sha256:" + self._tar_hash.hexdigest(),
            "sha256:" + self._blob_hash.hexdigest(),
            self.size,
        )


class LayerWriter:
    """Write one reproducible layer tar to ``out``.

    Add entries in the order they should appear (``add_tree`` walks a directory in sorted
    order), then :meth:`close` to finish the tar and get the :class:`LayerInfo`. Paths inside
    the layer are given without a leading ``/`` (``layers/bp/venv``); ``/`` is accepted and
    stripped.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        compress: bool = False,
        level: int = GZIP_LEVEL,
        mtime: int = NORMALIZED_MTIME,
    ) -> None:
        self._sink = _HashingSink(out, compress=compress, level=level)
        self._mtime = mtime
        self._written: set[str] = set()
        self._links: dict[tuple[int, int], str] = {}
        self._closed = False

    # --- entries -----------------------------------------------------------------------------

    def add_dir(self, name: str, *, uid: int = 0, gid: int = 0, mode: int = 0o755) -> None:
        """A directory entry."""
        self._sink.write(self._header_bytes(name, tarfile.DIRTYPE, mode, uid, gid))

    def add_parents(self, name: str, *, uid: int = 0, gid: int = 0, mode: int = 0o755) -> None:
        """Directory entries for every parent of ``name`` not yet in the layer."""
        parts = _clean(name).split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            parent = "/".join(parts[:depth])
            if parent not in self._written:
                self.add_dir(parent, uid=uid, gid=gid, mode=mode)

    def add_bytes(
        self, name: str, data: bytes, *, uid: int = 0, gid: int = 0, mode: int = 0o644
    ) -> None:
        """A regular file with ``data`` as its content."""
        header = self._header_bytes(name, tarfile.REGTYPE, mode, uid, gid, size=len(data))
        self._sink.write(header + data + _padding(len(data)))

    def add_symlink(self, name: str, target: str, *, uid: int = 0, gid: int = 0) -> None:
        """A symbolic link to ``target`` (absolute targets are kept as they are)."""
        header = self._header_bytes(name, tarfile.SYMTYPE, 0o777, uid, gid, linkname=target)
        self._sink.write(header)

    def add_tree(
        self,
        source: Path,
        name: str,
        *,
        uid: int,
        gid: int,
        include_root: bool = True,
        skip: Callable[[Path], bool] | None = None,
    ) -> None:
        """Everything under ``source`` (which need not be a directory) as ``name``.

        Owners become ``uid``/``gid``; permission bits are kept as they are on disk; files with
        several links inside the tree become hard links to the first one written.
        """
        path = os.fspath(source)
        self._add_entry(path, os.lstat(path), _clean(name), uid, gid, include_root, skip)

    def _add_entry(
        self,
        path: str,
        st: os.stat_result,
        name: str,
        uid: int,
        gid: int,
        include_self: bool,
        skip: Callable[[Path], bool] | None,
    ) -> None:
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            if include_self:
                self.add_dir(name, uid=uid, gid=gid, mode=mode)
            with os.scandir(path) as scan:
                children = sorted(scan, key=lambda entry: entry.name)
            for child in children:
                if skip is not None and skip(Path(child.path)):
                    continue
                child_name = f"{name}/{child.name}" if name else child.name
                child_stat = child.stat(follow_symlinks=False)
                self._add_entry(child.path, child_stat, child_name, uid, gid, True, skip)
        elif stat.S_ISLNK(st.st_mode):
            self.add_symlink(name, os.readlink(path), uid=uid, gid=gid)
        elif stat.S_ISREG(st.st_mode):
            key = (st.st_dev, st.st_ino)
            first = self._links.get(key) if st.st_nlink > 1 else None
            if first is not None:
                header = self._header_bytes(name, tarfile.LNKTYPE, mode, uid, gid, linkname=first)
                self._sink.write(header)
                return
            if st.st_nlink > 1:
                self._links[key] = name
            self._add_file(path, name, st.st_size, mode, uid, gid)
        # sockets, fifos and devices have no place in an app layer: they are left out.

    def _add_file(self, path: str, name: str, size: int, mode: int, uid: int, gid: int) -> None:
        header = self._header_bytes(name, tarfile.REGTYPE, mode, uid, gid, size=size)
        with open(path, "rb", buffering=0) as source:
            if size <= _SMALL_FILE:
                data = source.read(size)
                if len(data) != size:
                    raise OSError(f"{path} changed size while it was being written into a layer")
                self._sink.write(header + data + _padding(size))
                return
            self._sink.write(header)
            copied = 0
            while copied < size:
                chunk = source.read(min(_CHUNK, size - copied))
                if not chunk:
                    raise OSError(f"{path} shrank while it was being written into a layer")
                self._sink.write(chunk)
                copied += len(chunk)
        self._sink.write(_padding(size))

    # --- framing -----------------------------------------------------------------------------

    def _header_bytes(
        self,
        name: str,
        kind: bytes,
        mode: int,
        uid: int,
        gid: int,
        *,
        size: int = 0,
        linkname: str = "",
    ) -> bytes:
        if self._closed:
            raise ValueError("layer already closed")
        cleaned = _clean(name)
        self._written.add(cleaned)
        header = ustar_header(cleaned, kind, mode, uid, gid, size, self._mtime, linkname)
        if header is not None:
            return header
        info = _info(cleaned, kind, mode, uid, gid, self._mtime)
        info.size = size
        info.linkname = linkname
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")

    def close(self) -> LayerInfo:
        """End the tar (two zero blocks) and return the layer's digests."""
        if not self._closed:
            self._sink.write(b"\0" * (_BLOCK * 2))
            self._closed = True
        diff_id, digest, size = self._sink.finish()
        media_type = mediatypes.OCI_LAYER_GZIP if self._sink.compress else mediatypes.OCI_LAYER
        return LayerInfo(diff_id, digest, size, media_type)


def _padding(size: int) -> bytes:
    remainder = size % _BLOCK
    return b"\0" * (_BLOCK - remainder) if remainder else b""


_MAGIC = b"ustar\x0000"
_EMPTY_TAIL = b"\0" * (32 + 32 + 8 + 8 + 155 + 12)
_MAX_ID = 8**7
_MAX_SIZE = 8**11


def ustar_header(
    name: str, kind: bytes, mode: int, uid: int, gid: int, size: int, mtime: int, linkname: str = ""
) -> bytes | None:
    """A 512-byte USTAR header, byte for byte what :mod:`tarfile` writes for the entry in PAX
    format when no PAX record is needed; None when one is (long or non-ASCII names, big
    numbers). Built directly because ``TarInfo.tobuf`` is the slowest part of a layer with
    many small files."""
    try:
        encoded = (name + "/" if kind == tarfile.DIRTYPE else name).encode("ascii")
        link = linkname.encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(encoded) > 100 or len(link) > 100:
        return None
    if not (0 <= uid < _MAX_ID and 0 <= gid < _MAX_ID and 0 <= size < _MAX_SIZE):
        return None
    if not 0 <= mtime < _MAX_SIZE:
        return None
    header = b"".join(
        (
            encoded.ljust(100, b"\0"),
            b"%07o\0" % (mode & 0o7777),
            b"%07o\0" % uid,
            b"%07o\0" % gid,
            b"%011o\0" % size,
            b"%011o\0" % mtime,
            b"        ",
            kind,
            link.ljust(100, b"\0"),
            _MAGIC,
            _EMPTY_TAIL,
        )
    )
    return header[:148] + b"%06o\0" % sum(header) + header[155:]


def _clean(name: str) -> str:
    cleaned = name.strip("/")
    if any(part in ("", ".", "..") for part in cleaned.split("/")) and cleaned:
        raise ValueError(f"{name!r} is not a clean path inside a layer")
    return cleaned


def _info(name: str, kind: bytes, mode: int, uid: int, gid: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(_clean(name))
    info.type = kind
    info.mode = mode
    info.uid = uid
    info.gid = gid
    info.uname = ""
    info.gname = ""
    info.mtime = mtime
    return info


def tar_file_info(path: Path) -> LayerInfo:
    """The :class:`LayerInfo` of an existing uncompressed layer tar (its digest is its diffID)."""
    with open(path, "rb") as stream:
        digest, size = file_digest(stream)
    return LayerInfo(digest, digest, size, mediatypes.OCI_LAYER)


def write_layer_file(
    path: Path,
    fill: Callable[[LayerWriter], None],
    *,
    compress: bool = False,
    mtime: int = NORMALIZED_MTIME,
) -> LayerInfo:
    """Write a layer to the file ``path`` with ``fill`` adding its entries."""
    with open(path, "wb") as out:
        writer = LayerWriter(out, compress=compress, mtime=mtime)
        fill(writer)
        return writer.close()


def gzip_file(source: BinaryIO, out: BinaryIO, *, level: int = GZIP_LEVEL) -> tuple[str, int]:
    """Gzip ``source`` into ``out`` the same deterministic way layers are written; return the
    digest and size of what was written."""
    hasher = hashlib.sha256()
    compressor = gzip_compressor(level)
    size = 0
    while chunk := source.read(_CHUNK):
        data = compressor.compress(chunk)
        hasher.update(data)
        out.write(data)
        size += len(data)
    data = compressor.flush()
    hasher.update(data)
    out.write(data)
    size += len(data)
    return "sha256:" + hasher.hexdigest(), size


T = TypeVar("T")


def in_parallel(jobs: Iterable[Callable[[], T]], workers: int | None = None) -> list[T]:
    """Run independent jobs (layer writes) on threads; deflate and hashlib release the GIL, so
    compression of separate layers overlaps. Results come back in job order."""
    job_list = list(jobs)
    if len(job_list) <= 1:
        return [job() for job in job_list]
    with ThreadPoolExecutor(max_workers=workers or min(len(job_list), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda job: job(), job_list))
