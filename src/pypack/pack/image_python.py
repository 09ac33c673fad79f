"""The ``python3`` of an image, found by reading its layers: nothing in the image is run.

``builder create`` must know the interpreter the lifecycle will start under, to give it the
dependencies built for that interpreter. The layers are read once as tar streams (headers,
plus the content of the few files that tell the C library's version), whiteouts applied, into a
small view of the image's file system, and in it:

- the interpreter is the first ``python3`` on the image's ``PATH``, symlinks followed
  (``/usr/bin/python3`` → ``python3.13``);
- its version is in that name (``python3.13``; ``python3.13t`` is the free-threaded build), or
  else in the one ``lib/python3.N`` beside it that has a ``_sysconfigdata`` module;
- its ABI flags and multiarch triplet are in that module's name
  (``_sysconfigdata__linux_x86_64-linux-gnu.py``, ``_sysconfigdata_t_linux_aarch64-linux-musl.py``);
- the C library's version is in glibc's ``libc.so.6`` banner (``... release version 2.41.``)
  or its file name (``libc-2.31.so``), or for musl in Alpine's package database.

Reading was chosen over running the image's ``python3`` under bubblewrap: it needs no user
namespaces, works for images of another architecture, and costs one pass over the layers
(0.9 s for the 560 MB Debian 13 build image, which takes 13.5 s to unpack; the sandboxed run
then takes another 0.03 s).
"""

from __future__ import annotations

import functools
import posixpath
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from pypack.errors import UserError
from pypack.oci.image import Image

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_MAX_KEPT = 16 << 20
_KEPT = re.compile(r"/(?:libc\.so\.6|libc-2\.\d+\.so)$|^/lib/apk/db/installed$")
_VERSIONED = re.compile(r"python3\.(\d+)(t?)")
_SYSCONFIG = re.compile(
    r"_sysconfigdata_(?P<flags>[a-z]*)_(?:linux_)?(?P<triplet>[a-z0-9_]+-linux-[a-z0-9]+)\.py"
)
_GLIBC_BANNER = re.compile(rb"GNU C Library [^\n\0]*? release version (\d+)\.(\d+)")
_MACHINES = {"i386": "i686", "i486": "i686", "i586": "i686", "powerpc64le": "ppc64le"}
_OLDEST_GLIBC = {"x86_64": 5, "i686": 5}
"""The oldest glibc minor with manylinux wheels per machine (manylinux1 is x86 only); others
start at 2.17 (manylinux2014)."""
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class Interpreter:
    """A CPython in an image, as far as picking wheels for it goes."""

    executable: str
    """Its path in the image, symlinks resolved (``/usr/bin/python3.13``)."""
    version: tuple[int, int]
    abi: str
    """``cp313``, or ``cp313t`` for the free-threaded build."""
    machine: str
    """``x86_64``, ``aarch64``, ... (as wheel platform tags spell it)."""
    libc: str
    """``glibc`` or ``musl``."""
    libc_version: tuple[int, int]

    @property
    def version_text(self) -> str:
        """``3.13``."""
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def platforms(self) -> tuple[str, ...]:
        """The wheel platform tags it runs, best first (``manylinux_2_41_x86_64``, ...,
        ``manylinux2014_x86_64``, ...)."""
        major, newest = self.libc_version
        tags: list[str] = []
        if self.libc == "musl":
            return tuple(
                f"musllinux_{major}_{minor}_{self.machine}" for minor in range(newest, -1, -1)
            )
        for minor in range(newest, _OLDEST_GLIBC.get(self.machine, 17) - 1, -1):
            tags.append(f"manylinux_{major}_{minor}_{self.machine}")
            legacy = _LEGACY_MANYLINUX.get(minor) if major == 2 else None
            if legacy:
                tags.append(f"{legacy}_{self.machine}")
        return tuple(tags)

    @property
    def key(self) -> str:
        """What the wheels for it depend on: ``cp313-manylinux_2_41_x86_64``."""
        return f"{self.abi}-{self.platforms[0]}"

    def tags(self) -> list[Tag]:
        """Every wheel tag it accepts, best first."""
        platforms = list(self.platforms)
        return [
            *cpython_tags(self.version, [self.abi], platforms),
            *compatible_tags(self.version, f"cp{self.version[0]}{self.version[1]}", platforms),
        ]

    @functools.cached_property
    def _accepted(self) -> frozenset[Tag]:
        return frozenset(self.tags())

    def accepts(self, wheel: str) -> bool:
        """True when the wheel file named ``wheel`` installs on this interpreter."""
        try:
            _name, _version, _build, tags = parse_wheel_filename(wheel)
        except InvalidWheelFilename:
            return False
        return not tags.isdisjoint(self._accepted)


@dataclass
class _Entry:
    kind: str
    """``file``, ``dir`` or ``link``."""
    target: str = ""
    data: bytes | None = None


class ImageFiles:
    """The file tree of an image's layers (names, kinds, link targets; content of files that
    ``keep`` chose), with whiteouts applied as a container runtime would."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._children: dict[str, set[str]] | None = None

    @classmethod
    def of_image(cls, image: Image, keep: Callable[[str], bool], where: str) -> ImageFiles:
        """Read every layer of ``image``."""
        files = cls()
        for number, layer in enumerate(image.layers, start=1):
            with layer.open_uncompressed() as stream:
                files.add_layer(stream, keep, f"{where} layer {number}")
        return files

    def add_layer(self, stream: BinaryIO, keep: Callable[[str], bool], where: str) -> None:
        """Apply one layer tar on top of what is there."""
        added: dict[str, _Entry] = {}
        hidden: list[str] = []
        opaque: list[str] = []
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    path = _normal(member.name)
                    if path is None:
                        continue
                    parent, name = posixpath.split(path)
                    if name == ".wh..wh..opq":
                        opaque.append(parent)
                    elif name.startswith(".wh."):
                        hidden.append(posixpath.join(parent, name[4:]))
                    elif member.isdir():
                        added[path] = _Entry("dir")
                    elif member.issym():
                        added[path] = _Entry("link", member.linkname)
                    elif member.islnk():
                        first = _normal(member.linkname) or ""
                        original = added.get(first) or self._entries.get(first)
                        added[path] = _Entry("file", data=original.data if original else None)
                    elif member.isreg():
                        data = None
                        if keep(path) and member.size <= _MAX_KEPT:
                            content = archive.extractfile(member)
                            data = content.read() if content is not None else None
                        added[path] = _Entry("file", data=data)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise UserError(f"{where}: not a readable layer tar: {exc}") from None
        for directory in opaque:
            self._drop(directory, keep_self=True)
        for path in hidden:
            self._drop(path)
        for path, entry in added.items():
            old = self._entries.get(path)
            if old is not None and old.kind == "dir" and entry.kind != "dir":
                self._drop(path)
            self._entries[path] = entry
        self._children = None

    def _drop(self, path: str, *, keep_self: bool = False) -> None:
        below = path.rstrip("/") + "/"
        for name in [name for name in self._entries if name.startswith(below)]:
            del self._entries[name]
        if not keep_self:
            self._entries.pop(path, None)

    def _index(self) -> dict[str, set[str]]:
        if self._children is None:
            children: dict[str, set[str]] = {}
            for path in self._entries:
                while path != "/":
                    parent, name = posixpath.split(path)
                    known = parent in children
                    children.setdefault(parent, set()).add(name)
                    if known:
                        break
                    path = parent
            self._children = children
        return self._children

    def _exists(self, path: str) -> bool:
        return path in self._entries or path in self._index()

    def resolve(self, path: str) -> str | None:
        """``path`` with every symlink followed inside the image, or None if it is missing."""
        parts = [part for part in path.split("/") if part]
        current = ""
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                current = current.rsplit("/", 1)[0]
                continue
            candidate = f"{current}/{part}"
            entry = self._entries.get(candidate)
            if entry is not None and entry.kind == "link":
                hops += 1
                if hops > 40:
                    return None
                parts = [p for p in entry.target.split("/") if p] + parts
                if entry.target.startswith("/"):
                    current = ""
                continue
            if not self._exists(candidate):
                return None
            current = candidate
        return current or "/"

    def is_file(self, path: str) -> bool:
        """True when ``path`` (symlinks followed) is a regular file."""
        real = self.resolve(path)
        entry = self._entries.get(real) if real else None
        return entry is not None and entry.kind == "file"

    def read(self, path: str) -> bytes | None:
        """The content of ``path`` if it was kept while reading."""
        real = self.resolve(path)
        entry = self._entries.get(real) if real else None
        return entry.data if entry is not None else None

    def listdir(self, path: str) -> list[str]:
        """The names in directory ``path`` (symlinks followed), sorted."""
        real = self.resolve(path)
        return sorted(self._index().get(real, set())) if real else []


def _normal(name: str) -> str | None:
    """``./usr/bin/x`` → ``/usr/bin/x``; None for the root and for names leaving it."""
    parts = [part for part in name.split("/") if part and part != "."]
    if not parts or ".." in parts:
        return None
    return "/" + "/".join(parts)


def probe(image: Image, where: str) -> Interpreter | None:
    """The ``python3`` the image's ``PATH`` finds, or None when it has none."""
    files = ImageFiles.of_image(image, lambda path: bool(_KEPT.search(path)), where)
    return find_interpreter(files, image.env("PATH") or DEFAULT_PATH, where)


def find_interpreter(files: ImageFiles, search_path: str, where: str) -> Interpreter | None:
    """The first ``python3`` on ``search_path`` in ``files``, described for picking wheels."""
    executable = None
    for directory in search_path.split(":"):
        if directory.startswith("/") and files.is_file(f"{directory.rstrip('/')}/python3"):
            executable = files.resolve(f"{directory.rstrip('/')}/python3")
            break
    if executable is None:
        return None
    prefix = posixpath.dirname(posixpath.dirname(executable))
    lib_dirs = [f"{prefix.rstrip('/')}/{lib}" for lib in ("lib", "lib64")]
    match = _VERSIONED.fullmatch(posixpath.basename(executable))
    if match:
        version = (3, int(match.group(1)))
        candidates = [f"{lib}/python3.{version[1]}{match.group(2)}" for lib in lib_dirs]
    else:
        candidates = [
            f"{lib}/{name}"
            for lib in lib_dirs
            for name in files.listdir(lib)
            if _VERSIONED.fullmatch(name) and _sysconfig_name(files, f"{lib}/{name}")
        ]
        versions = {int(name.rsplit(".", 1)[1].rstrip("t")) for name in candidates}
        if len(versions) != 1:
            raise UserError(
                f"{where}: cannot tell which Python {executable} is (not named python3.N, and "
                f"{len(versions)} versions under {' and '.join(lib_dirs)})"
            )
        version = (3, versions.pop())
    found = next((m for c in candidates if (m := _sysconfig_name(files, c)) is not None), None)
    if found is None:
        raise UserError(
            f"{where}: {executable} is Python {version[0]}.{version[1]} but there is no "
            f"_sysconfigdata module in {' or '.join(candidates)}: cannot tell its ABI"
        )
    flags, triplet = found.group("flags"), found.group("triplet")
    if flags not in ("", "t"):
        raise UserError(f"{where}: {executable} is a Python build with ABI flags {flags!r}")
    machine = triplet.split("-", 1)[0]
    machine = _MACHINES.get(machine, "armv7l" if machine.startswith("arm") else machine)
    libc = "musl" if triplet.rsplit("-", 1)[-1].startswith("musl") else "glibc"
    return Interpreter(
        executable=executable,
        version=version,
        abi=f"cp3{version[1]}{flags}",
        machine=machine,
        libc=libc,
        libc_version=_libc_version(files, libc, triplet),
    )


def _sysconfig_name(files: ImageFiles, directory: str) -> re.Match[str] | None:
    for name in files.listdir(directory):
        match = _SYSCONFIG.fullmatch(name)
        if match:
            return match
    return None


def _libc_version(files: ImageFiles, libc: str, triplet: str) -> tuple[int, int]:
    """glibc's or musl's version; without a trace of it, the oldest the wheel tags know
    (glibc 2.17, musl 1.1), which nearly every wheel supports."""
    if libc == "musl":
        database = (files.read("/lib/apk/db/installed") or b"").decode(errors="replace")
        found = re.search(r"^P:musl\nV:(\d+)\.(\d+)", database, re.MULTILINE)
        return (int(found.group(1)), int(found.group(2))) if found else (1, 1)
    for directory in (f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib64", "/usr/lib64", "/lib"):
        path = f"{directory}/libc.so.6"
        if not files.is_file(path):
            continue
        named = re.fullmatch(
            r"libc-(\d+)\.(\d+)\.so", posixpath.basename(files.resolve(path) or "")
        )
        if named:
            return int(named.group(1)), int(named.group(2))
        banner = _GLIBC_BANNER.search(files.read(path) or b"")
        if banner:
            return int(banner.group(1)), int(banner.group(2))
    return (2, 17)
