"""Putting the app into the build's ``/workspace``, filtered by project.toml.

``include`` and ``exclude`` use ``.gitignore`` semantics: a pattern with a slash at its start or
middle is anchored at the app root, otherwise it matches at any depth; ``*`` stays within one
path component, ``**`` crosses them, a trailing ``/`` matches directories only, ``!`` re-includes,
and the last matching pattern decides. Excluded files never reach the build. An app given as a
zip or jar file is unpacked first, as pack does.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pypack.errors import UserError


@dataclass(frozen=True)
class Pattern:
    """One gitignore-style pattern."""

    regex: re.Pattern[str]
    negated: bool
    directories_only: bool

    @classmethod
    def compile(cls, text: str) -> Pattern | None:
        """The pattern of one line; None for blanks and comments."""
        line = text.strip()
        if not line or line.startswith("#"):
            return None
        negated = line.startswith("!")
        line = line[1:] if negated else line
        directories_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        try:
            regex = re.compile(f"^{body}$" if anchored else f"^(?:.*/)?{body}$")
        except re.error as exc:
            raise UserError(f"project.toml: pattern {text.strip()!r}: {exc}") from None
        return cls(regex, negated, directories_only)

    def matches(self, relative: str, is_dir: bool) -> bool:
        """True when the pattern matches the path itself."""
        if self.directories_only and not is_dir:
            return False
        return self.regex.match(relative) is not None


def _translate(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end]
                out.append(f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def compile_patterns(lines: list[str]) -> list[Pattern]:
    """The patterns of a list of lines."""
    return [p for p in (Pattern.compile(line) for line in lines) if p is not None]


def matched(patterns: list[Pattern], relative: str, is_dir: bool) -> bool:
    """Whether the last pattern matching ``relative`` (or a directory above it) selects it."""
    parts = relative.split("/")
    candidates = [("/".join(parts[: i + 1]), True) for i in range(len(parts) - 1)]
    candidates.append((relative, is_dir))
    result = False
    for candidate, candidate_is_dir in candidates:
        for pattern in patterns:
            if pattern.matches(candidate, candidate_is_dir):
                result = not pattern.negated
        if result and candidate != relative:
            return True  # a selected directory selects everything in it
    return result


def copy_app(
    source: Path, dest: Path, *, include: list[str] | None, exclude: list[str] | None
) -> int:
    """Copy the app at ``source`` into ``dest`` with its filters applied; return files copied."""
    includes = compile_patterns(include) if include is not None else None
    excludes = compile_patterns(exclude or [])
    copied = 0
    for root, dirs, files in os.walk(source):
        # a symlink to a directory is copied as the link, not walked into
        links = [name for name in dirs if os.path.islink(os.path.join(root, name))]
        dirs[:] = [name for name in dirs if name not in links]
        files = [*files, *links]
        relative_root = os.path.relpath(root, source)
        prefix = "" if relative_root == "." else f"{relative_root}/"
        kept_dirs = []
        for name in sorted(dirs):
            relative = prefix + name
            if excludes and matched(excludes, relative, True):
                continue
            kept_dirs.append(name)
            (dest / relative).mkdir(parents=True, exist_ok=True)
        dirs[:] = kept_dirs
        for name in sorted(files):
            relative = prefix + name
            if excludes and matched(excludes, relative, False):
                continue
            if includes is not None and not matched(includes, relative, False):
                continue
            path = Path(root) / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                continue  # sockets, fifos and devices are not app files
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                target.symlink_to(os.readlink(path))
            else:
                shutil.copy2(path, target)
            copied += 1
    if includes is not None:
        _remove_empty_dirs(dest)
    return copied


def _remove_empty_dirs(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        if stat.S_ISDIR(os.lstat(path).st_mode) and not any(path.iterdir()):
            path.rmdir()


def is_app_archive(path: Path) -> bool:
    """True for ``--path app.zip`` (or a .jar): pack builds the unpacked contents."""
    return path.is_file() and zipfile.is_zipfile(path)


def unpack_app_archive(archive: Path, dest: Path) -> Path:
    """Unpack a zip (or jar) app into ``dest`` with the permission bits it records (0644 and
    0755 when it records none); zipfile drops ``..`` and absolute names."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                written = Path(zipped.extract(member, dest))
                mode = stat.S_IMODE(member.external_attr >> 16)
                if not mode:
                    mode = 0o755 if member.is_dir() else 0o644
                written.chmod(mode | (0o700 if member.is_dir() else 0o600))
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"--path {archive}: cannot unpack the archive: {exc}") from None
    return dest
